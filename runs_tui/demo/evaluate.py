"""Demo step: a short evaluation."""

import argparse
import random
import time

from runs_tui.report import log_metric, progress

parser = argparse.ArgumentParser()
parser.add_argument("--dataset", default="cifar10")
args = parser.parse_args()

print(f"evaluating on {args.dataset} test split", flush=True)
for i in range(4):
    time.sleep(random.uniform(0.5, 1.0))
    print(f"batch {i + 1}/4", flush=True)
log_metric("accuracy/test", random.uniform(0.8, 0.95))
progress(1.0)
print("evaluation done", flush=True)
