"""Large messages: protect + verify from 1 KB to 5 MB against the same-bytes floor.

    .venv/bin/python bench/bench_sizes.py [--quick] [--json] [--sizes 1024,65536,1048576,5242880]

For each Body payload size, bench_message.py's ``wssc`` and ``floor`` benchmarks on the same
message (the floor checked to write wssc's bytes and to accept wssc's message, and wssc the
floor's), with the parser's quotas raised to fit the message (``raised_limits``: wssc's
limits raised, none dropped), thread CPU time, interleaved rounds. Reported per size: µs per
message, ns per payload byte, wssc / floor; and the linearity from one size to the next: how
much the cost per byte grew (1.0 = linear). Targets (issue 19): wssc / floor <= 1.2x at 1 MB,
and linear from 1 KB to 5 MB.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_message as bm

SIZES = (1024, 65536, 1048576, 5242880)


def run(sizes: list[int], rounds: int, block_ms: float, log: object = print) -> dict[str, object]:
    bm.CLOCK = time.thread_time_ns
    out: dict[str, object] = {"rounds": rounds, "loadavg_at_start": os.getloadavg()[0]}
    rows: dict[str, dict[str, float]] = {}
    for size in sizes:
        plain = bm.build_plain(size)
        wb = bm.WsscBench(plain)
        benches: list[bm.Bench] = [wb, bm.FloorBench(wb)]
        for b in benches:
            b.check()
        res = bm.measure(benches, rounds, block_ms, lambda m: None)
        w, f = float(res["wssc"]["median_us"]), float(res["floor"]["median_us"])  # type: ignore[arg-type]
        rows[str(size)] = {
            "wssc_us": w,
            "floor_us": f,
            "wssc_protect_us": float(res["wssc"]["protect_median_us"]),  # type: ignore[arg-type]
            "wssc_verify_us": float(res["wssc"]["verify_median_us"]),  # type: ignore[arg-type]
            "wssc_ns_per_byte": w * 1e3 / size,
            "floor_ns_per_byte": f * 1e3 / size,
            "wssc_over_floor": statistics.median(
                a / b
                for a, b in zip(
                    res["wssc"]["rounds_us"],  # type: ignore[arg-type]
                    res["floor"]["rounds_us"],  # type: ignore[arg-type]
                    strict=True,
                )
            ),
        }
        log(f"  {size:>8} B: " + ", ".join(f"{k} {v:.3g}" for k, v in rows[str(size)].items()))  # type: ignore[operator]
    out["sizes"] = rows
    # linearity: cost per byte at each size over the one before (the fixed per-message cost
    # makes the small sizes dearer per byte; 1 MB -> 5 MB is where a superlinear step shows)
    keys = list(rows)
    out["per_byte_growth"] = {
        f"{a}->{b}": {
            "wssc": rows[b]["wssc_ns_per_byte"] / rows[a]["wssc_ns_per_byte"],
            "floor": rows[b]["floor_ns_per_byte"] / rows[a]["floor_ns_per_byte"],
        }
        for a, b in itertools.pairwise(keys)
    }
    out["loadavg_at_end"] = os.getloadavg()[0]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="3 rounds (default 7)")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="Body payload sizes in bytes")
    ap.add_argument("--block-ms", type=float, default=300.0, help="CPU time per block (default 300)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    a = ap.parse_args()
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if a.json else print
    res = run([int(s) for s in a.sizes.split(",")], 3 if a.quick else 7, a.block_ms, log)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        for k, g in res["per_byte_growth"].items():  # type: ignore[attr-defined]
            print(f"  per-byte cost {k}: wssc x{g['wssc']:.2f}, floor x{g['floor']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
