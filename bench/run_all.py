"""Every benchmark of issue 19 in one command: a table on stdout, everything as JSON.

    source .wssc/env   # WSS4J_PEER_BUILD, for the JVM benchmark
    .venv/bin/python bench/run_all.py [--quick] [--out bench-results.json] [--callgrind] [--workers2]

Runs, one after another (each in its own process, so none warms another's caches):

1. bench_message.py --cpu: wssc, the same-bytes floor and zeep + xmlsec, protect + verify of
   a 1 KB message, thread CPU time; with --sizes, bench_sizes.py: 1 KB, 64 KB, 1 MB and 5 MB
   against the floor (parser limits raised), and how the cost per byte grows;
2. bench_wss4j.py: wssc against WSS4J 1.6.19 in a warmed JVM, alternating blocks;
3. bench_server.py: ``wssc serve`` secured vs plain at 1/4/16 clients, service and load
   generator CPU per call (``--workers2``: two nodes sharing sessions through Redis, then
   through cookies, against one node, in the same rounds);
4. memory per session in the MemoryStore at 100,000 sessions (bench_sessions.py's
   store_bytes_per_session: tracemalloc);
5. with ``--callgrind``: instructions per round trip, wssc and floor (callgrind_roundtrip.py).

Each benchmark checks what it measures (the floor writes wssc's bytes, each side accepts the
other's messages, the replies verify); a failed check stops the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def sub(script: str, *args: str) -> dict[str, object]:
    """Run a benchmark script with --json; its JSON result."""
    proc = subprocess.run(
        [sys.executable, str(HERE / script), *args, "--json"],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{script} {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    out: dict[str, object] = json.loads(proc.stdout)
    return out


def memory(n: int) -> float:
    sys.path.insert(0, str(HERE))
    from bench_sessions import store_bytes_per_session

    return store_bytes_per_session(n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="shorter runs of each benchmark")
    ap.add_argument("--out", type=Path, default=Path("bench-results.json"), help="JSON file to write")
    ap.add_argument(
        "--sizes", action="store_true", help="also 64 KB, 1 MB and 5 MB messages against the floor"
    )
    ap.add_argument("--callgrind", action="store_true", help="also count instructions (valgrind, ~2 min)")
    ap.add_argument(
        "--workers2", action="store_true", help="also two wssc serve nodes sharing Redis, then cookies"
    )
    ap.add_argument("--no-zeep", action="store_true", help="leave zeep + xmlsec out")
    a = ap.parse_args()
    q = ["--quick"] if a.quick else []
    t0 = time.perf_counter()
    res: dict[str, object] = {
        "env": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "loadavg_at_start": os.getloadavg()[0],
        }
    }
    print("message 1 KB ...", flush=True)
    res["message_1k"] = sub("bench_message.py", "--cpu", *q, *(["--no-zeep"] if a.no_zeep else []))
    if a.sizes:
        print("message sizes 1 KB - 5 MB ...", flush=True)
        res["sizes"] = sub("bench_sizes.py", *q)
    print("WSS4J ...", flush=True)
    res["wss4j"] = sub("bench_wss4j.py", *q)
    print("server ...", flush=True)
    res["server"] = sub(
        "bench_server.py", *q, *(["--workers", "2", "--shared", "redis,cookie"] if a.workers2 else [])
    )
    print("memory ...", flush=True)
    res["memory_bytes_per_session_100k"] = memory(100_000)
    if a.callgrind:
        print("callgrind ...", flush=True)
        sys.path.insert(0, str(HERE))
        from callgrind_roundtrip import measure

        res["callgrind_instructions_per_round_trip"] = {"wssc": measure(), "floor": measure(floor=True)}
    res["env"]["loadavg_at_end"] = os.getloadavg()[0]  # type: ignore[index]
    res["elapsed_s"] = round(time.perf_counter() - t0, 1)
    a.out.write_text(json.dumps(res, indent=2))
    for line in table(res):
        print(line)
    print(f"(JSON: {a.out}; {res['elapsed_s']} s)")
    return 0


def table(res: dict[str, object]) -> list[str]:
    rows: list[tuple[str, str, str]] = []
    m = res["message_1k"]["results"]  # type: ignore[index]
    ratios = res["message_1k"]["ratios"]  # type: ignore[index]
    w, f = m["wssc"], m["floor"]
    rows.append(("protect+verify 1 KB, wssc (CPU µs/msg)", f"{w['median_us']:.0f}", ""))
    rows.append(("  same-bytes floor (CPU µs/msg)", f"{f['median_us']:.0f}", ""))
    rows.append(("  wssc / floor", f"{ratios['wssc_over_floor']:.2f}x", "≤ 1.5x"))
    if ratios.get("zeep_over_wssc"):
        rows.append(("  zeep+xmlsec / wssc (signature only)", f"{ratios['zeep_over_wssc']:.2f}x", ""))
    if "sizes" in res:
        for size, r in res["sizes"]["sizes"].items():  # type: ignore[index]
            kb = int(size) // 1024
            rows.append(
                (
                    f"  {kb} KB: wssc µs/msg, wssc / floor",
                    f"{r['wssc_us']:.0f}, {r['wssc_over_floor']:.2f}x",
                    "≤ 1.2x" if kb == 1024 else "",
                )
            )
        for step, g in res["sizes"]["per_byte_growth"].items():  # type: ignore[index]
            rows.append((f"  cost per byte, {step} B (1 = linear)", f"x{g['wssc']:.2f}", ""))
    j = res["wss4j"]
    rows.append(("WSS4J 1.6.19, warmed JVM (CPU µs/msg)", f"{j['wss4j_cpu_us']:.0f}", ""))  # type: ignore[index]
    rows.append(("  wssc / WSS4J", f"{j['ratio_wssc_over_wss4j']:.2f}x", "< 1x"))  # type: ignore[index]
    srv = res["server"]["one_worker"]  # type: ignore[index]
    for n, r in srv.items():
        rows.append(
            (
                f"wssc serve, {n} client(s): secured calls/s",
                f"{r['secured_calls_per_s']:.0f}",
                "≥ 1-client figure" if n != "1" else "",
            )
        )
        cpu1 = srv["1"]["secured_service_cpu_ms_per_call"] if "1" in srv else None
        rows.append(
            (
                "  service CPU ms/secured call",
                f"{r['secured_service_cpu_ms_per_call']:.2f}",
                f"≤ {cpu1 * 1.1:.2f} (1-client +10 %)" if cpu1 and n != "1" else "",
            )
        )
        rows.append(("  load generator CPU ms/call", f"{r['secured_generator_cpu_ms_per_call']:.2f}", ""))
        if "secured_over_plain" in r:
            rows.append(("  secured / plain calls/s", f"{r['secured_over_plain']:.2f}x", "≥ 0.5x"))
    for kind in ("redis", "cookie"):
        for n, r in res["server"].get(f"{kind}_2_workers", {}).items():  # type: ignore[attr-defined]
            rows.append(
                (
                    f"2 workers sharing {kind}, {n} client(s): calls/s (1 worker)",
                    f"{r['secured_calls_per_s']:.0f} ({r['one_worker_calls_per_s']:.0f})",
                    "",
                )
            )
            rows.append(
                (
                    "  service CPU ms/call (1 worker)",
                    f"{r['secured_service_cpu_ms_per_call']:.2f}"
                    f" ({r['one_worker_service_cpu_ms_per_call']:.2f})",
                    "",
                )
            )
    rows.append(("MemoryStore bytes/session at 100k", f"{res['memory_bytes_per_session_100k']:.0f}", "≤ 400"))
    if "callgrind_instructions_per_round_trip" in res:
        c = res["callgrind_instructions_per_round_trip"]
        rows.append(("instructions/round trip, wssc", f"{c['wssc'] / 1e6:.2f}M", ""))  # type: ignore[index]
        rows.append(("instructions/round trip, floor", f"{c['floor'] / 1e6:.2f}M", ""))  # type: ignore[index]
    width = max(len(r[0]) for r in rows)
    out = [f"| {'measure':<{width}} | value | target |", f"|{'-' * (width + 2)}|-------|--------|"]
    out += [f"| {a:<{width}} | {b} | {c} |" for a, b, c in rows]
    return out


if __name__ == "__main__":
    raise SystemExit(main())
