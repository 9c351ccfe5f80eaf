"""Instructions per protect + verify round trip, counted by valgrind's callgrind.

    .venv/bin/python bench/callgrind_roundtrip.py [--payload BYTES] [--low 10] [--high 110]

Runs this script twice under ``valgrind --tool=callgrind`` (``--_run N``: set up, then N
round trips of bench_message's wssc benchmark) and reports ``(I(high) - I(low)) / (high -
low)``: start-up, imports and set-up cancel out, and an instruction count does not depend on
the load of a shared machine, so it compares two revisions of the code to within a fraction
of a percent. Pass ``--floor`` to count the same-bytes floor instead.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(n: int, payload: int, floor: bool) -> None:
    sys.path.insert(0, str(HERE))
    from bench_message import FloorBench, WsscBench, build_plain

    w = WsscBench(build_plain(payload))
    b = FloorBench(w) if floor else w
    for _ in range(3):  # warm caches, lazy imports
        b.verify(b.protect())
    for _ in range(n):
        b.verify(b.protect())


def collected(script: Path, args: list[str]) -> int:
    """Instructions that ``python SCRIPT ARGS`` executes under callgrind (hash seed pinned)."""
    with tempfile.TemporaryDirectory(prefix="wssc-callgrind-") as d:
        out = Path(d) / "cg.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable]
        env = dict(os.environ, PYTHONHASHSEED="0")
        proc = subprocess.run([*cmd, str(script), *args], capture_output=True, text=True, env=env)
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode != 0 or not m:
            raise SystemExit(f"callgrind failed:\n{proc.stderr[-3000:]}")
        return int(m.group(1))


def count(n: int, payload: int, floor: bool) -> int:
    args = ["--_run", str(n), "--payload", str(payload)] + (["--floor"] if floor else [])
    return collected(Path(__file__).resolve(), args)


def measure(payload: int = 1024, low: int = 10, high: int = 110, floor: bool = False) -> float:
    return (count(high, payload, floor) - count(low, payload, floor)) / (high - low)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--payload", type=int, default=1024, help="Body payload bytes (default 1024)")
    ap.add_argument("--low", type=int, default=10, help="round trips of the short run (default 10)")
    ap.add_argument("--high", type=int, default=110, help="round trips of the long run (default 110)")
    ap.add_argument("--floor", action="store_true", help="count the same-bytes floor instead of wssc")
    ap.add_argument("--_run", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._run is not None:
        _run(a._run, a.payload, a.floor)
        return 0
    per = measure(a.payload, a.low, a.high, a.floor)
    who = "floor" if a.floor else "wssc"
    print(f"{who}: {per / 1e6:.3f}M instructions per round trip ({a.payload} B payload)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
