"""Demo step: a "training" loop that reports loss going down and accuracy going up."""

import argparse
import math
import random
import sys
import time

from runs_tui.report import log_metric, progress

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--fail-rate", type=float, default=0.15)
args = parser.parse_args()

total = random.randint(40, 120)
fail_at = random.randint(total // 3, total - 1) if random.random() < args.fail_rate else None
quality = random.uniform(0.8, 1.2) * (1.3 if args.lr > 0.02 else 1.0)
print(f"training: lr={args.lr} epochs={args.epochs} batch={args.batch_size}", flush=True)
for i in range(total):
    time.sleep(0.5)
    x = (i + 1) / total
    loss = quality * (0.25 + 2.0 * math.exp(-4 * x)) + random.uniform(-0.03, 0.03)
    log_metric("loss/train", loss, step=i)
    if i % 5 == 4:
        log_metric("loss/val", loss + 0.05, step=i)
        log_metric("accuracy/val", min(0.99, 0.97 / quality * (1 - math.exp(-3 * x))), step=i)
        print(f"epoch {int(x * args.epochs)}: step {i} loss {loss:.4f}", flush=True)
    progress(0.2 + 0.7 * x)
    if fail_at is not None and i == fail_at:
        print(f"RuntimeError: CUDA out of memory at step {i}", file=sys.stderr, flush=True)
        sys.exit(1)
print("training done", flush=True)
