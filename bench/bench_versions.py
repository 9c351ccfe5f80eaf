"""What a change costs per message: protect + verify under two versions of wssc, in one run.

    .venv/bin/python bench/bench_versions.py --before REV [--after REV|WORKTREE] [--rounds N]

``--before`` is a git revision (checked out into a temporary worktree) or a directory holding a
``src/wssc``; ``--after`` defaults to this checkout. Each version runs in a worker process of
its own (``PYTHONPATH=<tree>/src``) on the message and workload of ``bench_message.WsscBench``
(1 KB Body, Basic256, derived keys, Timestamp + addressing headers + Body signed, Body and
Signature encrypted). The parent hands out blocks of iterations alternately, ABBA, so that
machine noise hits both alike; the figure is the median per-message time over rounds, and the
result is the ratio after/before. Only one worker runs at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def worker(payload: int, cpu: bool) -> int:
    """Read ``N`` lines on stdin; run N round trips; answer the elapsed nanoseconds."""
    sys.path.insert(0, str(HERE))
    import gc

    from bench_message import WsscBench, build_plain

    import wssc

    clock = time.thread_time_ns if cpu else time.perf_counter_ns
    bench = WsscBench(build_plain(payload))
    bench.check()
    print(json.dumps({"ready": str(Path(wssc.__file__).parent)}), flush=True)
    for line in sys.stdin:
        n = int(line)
        gc.disable()
        t0 = clock()
        for _ in range(n):
            bench.verify(bench.protect())
        dt = clock() - t0
        gc.enable()
        print(dt, flush=True)
    return 0


class Worker:
    def __init__(self, name: str, tree: Path, payload: int, cpu: bool) -> None:
        self.name = name
        env = dict(os.environ, PYTHONPATH=str(tree / "src"))
        args = [sys.executable, str(Path(__file__).resolve()), "--worker", "--payload", str(payload)] + (
            ["--cpu"] if cpu else []
        )
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=str(tree)
        )
        assert self.proc.stdout is not None
        ready = json.loads(self.proc.stdout.readline())
        self.where = ready["ready"]
        if not Path(self.where).is_relative_to(tree):
            raise SystemExit(f"{name}: imported wssc from {self.where}, not from {tree}")

    def run(self, n: int) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline()) / n / 1000.0  # µs per message

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(10)


def checkout(rev: str, into: Path) -> Path:
    if Path(rev).is_dir():
        return Path(rev).resolve()
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(into), rev], check=True)
    return into


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", help="git revision or directory with src/wssc")
    ap.add_argument("--after", default=str(REPO), help="git revision or directory (default: here)")
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--block-ms", type=float, default=120.0)
    ap.add_argument("--payload", type=int, default=1024)
    ap.add_argument("--cpu", action="store_true", help="thread CPU time instead of wall time")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.payload, args.cpu)
    if not args.before:
        ap.error("--before is required")

    tmp = Path(tempfile.mkdtemp(prefix="wssc-versions-"))
    made: list[Path] = []
    try:
        trees = []
        for label, rev in (("before", args.before), ("after", args.after)):
            tree = checkout(rev, tmp / label)
            if tree.is_relative_to(tmp):
                made.append(tree)
            trees.append(Worker(label, tree, args.payload, args.cpu))
        a, b = trees
        # Calibrate: iterations that take about block_ms under the slower of the two.
        n = 20
        for _ in range(2):
            per = max(a.run(n), b.run(n))
            n = max(5, int(args.block_ms * 1000 / per))
        times: dict[str, list[float]] = {a.name: [], b.name: []}
        for r in range(args.rounds):
            order = (a, b) if r % 2 == 0 else (b, a)
            for w in order:
                times[w.name].append(w.run(n))
        for w in trees:
            w.close()
        med = {k: statistics.median(v) for k, v in times.items()}
        ratios = [y / x for x, y in zip(times["before"], times["after"], strict=True)]
        result = {
            "before": {
                "tree": a.where,
                "median_us": round(med["before"], 1),
                "min_us": round(min(times["before"]), 1),
            },
            "after": {
                "tree": b.where,
                "median_us": round(med["after"], 1),
                "min_us": round(min(times["after"]), 1),
            },
            "after_over_before": round(med["after"] / med["before"], 3),
            "paired_ratio_median": round(statistics.median(ratios), 3),
            "rounds": args.rounds,
            "iterations_per_block": n,
            "payload": args.payload,
            "clock": "thread_time_ns" if args.cpu else "perf_counter_ns",
        }
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(f"before  {med['before']:8.1f} µs/msg   ({a.where})")
            print(f"after   {med['after']:8.1f} µs/msg   ({b.where})")
            print(
                f"after/before {result['after_over_before']:.3f}x  "
                f"(median of paired block ratios {result['paired_ratio_median']:.3f}x; "
                f"{args.rounds} rounds x {n} messages, ABBA)"
            )
        return 0
    finally:
        for tree in made:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
