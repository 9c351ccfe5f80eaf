"""Line coverage reached by a fuzz corpus, measured with coverage.py (``pip install coverage``).

    python fuzz/coverage_report.py [--work fuzz/work] [--targets verify,parse,...]

Replays every input of ``WORK/corpus/<target>`` and ``WORK/seeds/<target>`` through the
harness's target function (no fuzzing, no atheris instrumentation) and prints, per target, the
line coverage of the modules that target is about. An input that raises anything but a
WsscError is counted and named: it is a finding (the fuzz run should have reported it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: target -> the source files (under src/wssc) whose coverage says how deep it got
FOCUS = {
    "verify": [
        "security/inbound.py",
        "tokens/dkt.py",
        "tokens/sct.py",
        "tokens/str_.py",
        "tokens/timestamp.py",
        "xml/c14n.py",
        "xml/ids.py",
        "crypto/primitives.py",
        "bootstrap/anonymous_for_certificate.py",
    ],
    "parse": ["xml/parse.py", "xml/soap.py"],
    "trust": ["trust/parse.py", "trust/messages.py", "trust/_xml.py"],
    "cookie": ["store/cookie.py", "store/record.py"],
    "policy": [
        "policy/wsdl_import.py",
        "policy/policy_import.py",
        "policy/normalize.py",
        "policy/explain.py",
    ],
}


def one(target: str, work: Path) -> dict[str, object]:
    """Runs in a child process: measure one target."""
    import coverage

    src = HERE.parent / "src" / "wssc"
    cov = coverage.Coverage(source=[str(src)], data_file=None)
    cov.start()
    sys.path.insert(0, str(HERE))
    mod = __import__(f"fuzz_{target}")
    from wssc.errors import WsscError

    inputs = [p for d in ("corpus", "seeds") for p in sorted((work / d / target).glob("*")) if p.is_file()]
    findings = []
    for p in inputs:
        try:
            mod.target(p.read_bytes())
        except WsscError:
            pass
        except Exception as exc:
            findings.append(f"{p.name}: {type(exc).__name__}: {exc}"[:300])
    cov.stop()
    files = {}
    total_run = total_lines = 0
    for rel in FOCUS[target]:
        path = str(src / rel)
        _, statements, _, missing, _ = cov.analysis2(path)
        run = len(statements) - len(missing)
        files[rel] = f"{run}/{len(statements)} ({100.0 * run / max(1, len(statements)):.0f}%)"
        total_run += run
        total_lines += len(statements)
    return {
        "target": target,
        "inputs": len(inputs),
        "findings": findings,
        "files": files,
        "lines": f"{total_run}/{total_lines} ({100.0 * total_run / max(1, total_lines):.0f}%)",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("WSSC_FUZZ_WORK", HERE / "work")))
    ap.add_argument("--targets", default=",".join(FOCUS))
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--report", type=Path)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.work)))
        return 0
    env = dict(os.environ, WSSC_FUZZ_WORK=str(args.work), WSSC_FUZZ_NO_INSTRUMENT="1", PYTHONPATH=str(HERE))
    results = []
    for t in args.targets.split(","):
        proc = subprocess.run(
            [sys.executable, __file__, "--one", t, "--work", str(args.work)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"{t:7} inputs={r['inputs']:6} lines={r['lines']:>16} findings={len(r['findings'])}")
        for f, v in r["files"].items():
            print(f"    {f:42} {v}")
        for f in r["findings"]:
            print(f"    FINDING {f}")
    if args.report:
        args.report.write_text(json.dumps(results, indent=1))
    return 1 if any(r["findings"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
