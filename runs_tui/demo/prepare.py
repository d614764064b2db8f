"""Demo step: pretend to fetch and prepare a data set, with some console output."""

import argparse
import random
import time

from runs_tui.report import progress

parser = argparse.ArgumentParser()
parser.add_argument("--dataset", default="cifar10")
args = parser.parse_args()

shards = random.randint(4, 8)
print(f"preparing {args.dataset}: {shards} shards", flush=True)
for i in range(shards):
    time.sleep(random.uniform(0.5, 1.5))
    print(f"shard {i + 1}/{shards} ready ({random.randint(9000, 11000)} records)", flush=True)
    progress((i + 1) / shards * 0.2)
print("done", flush=True)
