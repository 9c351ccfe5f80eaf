"""Run the coverage-guided fuzz campaign: every target for its share of a time budget.

    python fuzz/run.py --budget 60                  CI: 60 s in all
    python fuzz/run.py --budget 3000 --targets verify,trust
    python fuzz/run.py --budget 60 --work /tmp/fz   keep the corpus somewhere else

Steps: make the seed corpus (``fuzz/seeds.py``) in the work directory, then run each harness
under atheris/libFuzzer with ``-max_total_time`` = its share, ``-timeout`` = the per-input
limit (a hang), ``-rss_limit_mb`` and the XML dictionary ``fuzz/xml.dict``. The corpus grows
in ``WORK/corpus/<target>`` and is reused by the next run.

Fails (exit 1) when a target crashes, hangs, runs out of memory or raises an exception that is
not a :class:`wssc.errors.WsscError`; libFuzzer then writes the input to
``fuzz/crashes/<target>-crash-…`` (or ``-timeout-…``, ``-oom-…``). Reproduce one with
``python fuzz/fuzz_<target>.py fuzz/crashes/<file>``.

Prints, per target: executions, execs/s, coverage (libFuzzer's ``cov``: instrumented edges of
wssc's Python code reached; ``ft``: features), corpus size and the verdict; ``--report FILE``
also writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: target -> weight in the budget (the Security-header processor is the one that matters most).
TARGETS = {"verify": 3, "parse": 1, "trust": 2, "cookie": 1, "policy": 2}
_STAT = re.compile(r"^#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED)\s+cov: (\d+) ft: (\d+) corp: (\d+)")
_FINAL = re.compile(r"^stat::(\w+):\s+(\d+)")


def shares(budget: float, names: list[str]) -> dict[str, int]:
    total = sum(TARGETS[n] for n in names)
    return {n: max(5, int(budget * TARGETS[n] / total)) for n in names}


def run_target(
    name: str, seconds: int, work: Path, timeout: int, rss_mb: int, crashes: Path
) -> dict[str, object]:
    corpus = work / "corpus" / name
    seeds = work / "seeds" / name
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    before = set(crashes.iterdir())
    cmd = [
        sys.executable,
        str(HERE / f"fuzz_{name}.py"),
        f"-max_total_time={seconds}",
        f"-timeout={timeout}",
        f"-rss_limit_mb={rss_mb}",
        f"-dict={HERE / 'xml.dict'}",
        f"-artifact_prefix={crashes}/{name}-",
        "-print_final_stats=1",
        "-max_len=65536",
        "-reload=0",
        str(corpus),
        str(seeds),
    ]
    env = dict(os.environ, WSSC_FUZZ_WORK=str(work), PYTHONPATH=str(HERE))
    t0 = time.monotonic()
    # A hard stop well past the budget: libFuzzer's own timers should end it long before.
    try:
        # atheris prints a Python traceback on stdout, libFuzzer its figures on stderr
        proc = subprocess.run(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=seconds + 10 * timeout + 120,
        )
        rc, err = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout
        rc, err = -1, (out.decode() if isinstance(out, bytes) else out or "")
        err += "\nrun.py: the target did not stop on its own (hang)"
    elapsed = time.monotonic() - t0
    cov = ft = corp = execs = 0
    for line in err.splitlines():
        m = _STAT.match(line)
        if m:
            execs, cov, ft, corp = (int(g) for g in m.groups())
        f = _FINAL.match(line)
        if f and f.group(1) == "number_of_executed_units":
            execs = int(f.group(2))
    # only what libFuzzer wrote for this target (its artifact prefix), not files moved meanwhile
    artifacts = sorted(str(p) for p in set(crashes.iterdir()) - before if p.name.startswith(f"{name}-"))
    ok = rc == 0 and not artifacts
    result: dict[str, object] = {
        "target": name,
        "seconds": round(elapsed, 1),
        "execs": execs,
        "execs_per_s": round(execs / elapsed, 1) if elapsed else 0,
        "cov": cov,
        "ft": ft,
        "corpus": corp,
        "rc": rc,
        "ok": ok,
        "artifacts": artifacts,
    }
    if not ok:
        tail = "\n".join(err.splitlines()[-60:])
        result["log_tail"] = tail
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, required=True, help="total seconds for all targets")
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("WSSC_FUZZ_WORK", HERE / "work")))
    ap.add_argument("--timeout", type=int, default=10, help="per-input limit in seconds (a hang)")
    ap.add_argument("--rss-mb", type=int, default=2048)
    ap.add_argument("--crashes", type=Path, default=HERE / "crashes")
    ap.add_argument("--report", type=Path, help="write the figures as JSON")
    args = ap.parse_args(argv)
    names = [n for n in args.targets.split(",") if n]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        ap.error(f"unknown targets: {unknown}; choose from {list(TARGETS)}")
    args.work.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(HERE / "seeds.py"), str(args.work)], check=True, stdout=subprocess.DEVNULL
    )
    results = []
    for name, seconds in shares(args.budget, names).items():
        r = run_target(name, seconds, args.work, args.timeout, args.rss_mb, args.crashes)
        results.append(r)
        print(
            f"fuzz {name:7} {'ok' if r['ok'] else 'FAILED':6} {r['seconds']:7}s "
            f"execs={r['execs']} ({r['execs_per_s']}/s) cov={r['cov']} ft={r['ft']} "
            f"corpus={r['corpus']}",
            flush=True,
        )
        if not r["ok"]:
            print(f"  rc={r['rc']} artifacts={r['artifacts']}\n{r.get('log_tail', '')}", flush=True)
    if args.report:
        args.report.write_text(json.dumps(results, indent=1))
    failed = [r["target"] for r in results if not r["ok"]]
    if failed:
        print(f"fuzz: FAILED: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    print("fuzz: no crash, no hang, no untyped exception")
    return 0


if __name__ == "__main__":
    sys.exit(main())
