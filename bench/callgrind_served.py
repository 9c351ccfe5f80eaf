"""Instructions a served call costs the server process: ``wssc serve`` under callgrind.

    .venv/bin/python bench/callgrind_served.py [--calls 40] [--only secured,inline,plain]

`callgrind_service.py` counts ``ServiceEngine.handle`` in process; this counts the whole
server process over HTTP on loopback: uvicorn, httptools, the event loop, ``AsgiApp``, the
hand-over to the security threads and the call itself. Each mode starts one server under
``valgrind --tool=callgrind``, makes 5 warm-up calls, zeroes the counters
(``callgrind_control -z``), makes ``--calls`` more and dumps them (``callgrind_control -d``):

* ``secured``: ``wssc serve`` with its defaults (four security threads taking turns), the
  demo Calculator's Echo over one open session (the client, outside valgrind, secures its
  requests beforehand);
* ``inline``: the same with ``--inline-limit 65536`` (the whole call on the event loop: no
  hand-over to a thread);
* ``plain``: bench_sessions.py's plain server (the same host and contract, no WS-Security)
  and a plain request.

What callgrind counts is user-space instructions: the kernel's share of a call (the socket
system calls, thread wake-ups) is not in it, so a count compares the work two servers do, not
their CPU time. Starting a server under valgrind takes about a minute a mode.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bench_server import SecuredLoad, free_port, post_all
from bench_sessions import PLAIN_CTYPE, address, plain_body

from wssc.certs import generate_self_signed, save
from wssc.contract import get_contract
from wssc.demo import Calculator

HERE = Path(__file__).resolve().parent
MODES = ("secured", "inline", "plain")


def _server_cmd(mode: str, port: int, home: Path) -> tuple[list[str], str]:
    if mode == "plain":
        certs = home / "certs"
        certs.mkdir()
        save(generate_self_signed("wssc-bench"), certs / "cert.pem", certs / "key.pem")
        args = ["--_serve", "plain", "--_port", str(port), "--_cert-dir", str(certs)]
        return [str(HERE / "bench_sessions.py"), *args], address(port)
    extra = ["--inline-limit", "65536"] if mode == "inline" else []
    return ["-m", "wssc", "serve", "--port", str(port), *extra], f"http://127.0.0.1:{port}/svc"


def count(mode: str, calls: int, start_timeout: float = 600.0) -> float:
    """Instructions per call of ``mode``'s server, counted over ``calls`` calls."""
    with tempfile.TemporaryDirectory(prefix="wssc-cg-served-") as d:
        home = Path(d)
        port = free_port()
        args, url = _server_cmd(mode, port, home)
        out = home / "cg.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, *args]
        env = dict(os.environ, WSSC_HOME=str(home), PYTHONHASHSEED="0")
        with open(home / "server.log", "wb") as log:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        try:
            probe = url if mode == "plain" else url + "?wsdl"
            deadline = time.monotonic() + start_timeout
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (home / "server.log").read_text()[-3000:]
                    raise SystemExit(f"the {mode} server did not start:\n{tail}")
                try:
                    if httpx.get(probe, timeout=60).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)  # valgrind's start-up: poll until the port answers
            if mode == "plain":
                op = get_contract(Calculator).operation("Echo")
                headers = {"Content-Type": PLAIN_CTYPE, "SOAPAction": f'"{op.action}"'}

                def run(n: int) -> None:
                    post_all(url, [plain_body(op, url)] * n, headers, [])

            else:
                load = SecuredLoad([url], 1, None)

                def run(n: int) -> None:
                    jobs, lasts = load.jobs(n)
                    replies: list[bytes] = []
                    for u, bodies, headers in jobs:
                        post_all(u, bodies, headers, replies)
                    load.check(lasts, replies)

            run(5)
            _control("-z", proc.pid)
            run(calls)
            _control("-d", proc.pid)
            dumps = sorted(home.glob("cg.out*"), key=os.path.getmtime)
            text = dumps[-1].read_text()
            m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            if m is None:
                raise SystemExit(f"no totals in {dumps[-1]}")
            return int(m.group(1)) / calls
        finally:
            proc.terminate()
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)


def _control(flag: str, pid: int) -> None:
    r = subprocess.run(["callgrind_control", flag, str(pid)], capture_output=True, text=True)
    if r.returncode != 0 or "OK" not in r.stdout:
        raise SystemExit(f"callgrind_control {flag} failed:\n{r.stdout}{r.stderr}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--calls", type=int, default=40, help="calls counted per mode (default 40)")
    ap.add_argument(
        "--only", default=",".join(MODES), help="comma-separated modes: secured, inline, plain (default all)"
    )
    a = ap.parse_args()
    modes = [m for m in a.only.split(",") if m]
    bad = [m for m in modes if m not in MODES]
    if bad:
        ap.error(f"unknown mode(s) {', '.join(bad)}; choose from {', '.join(MODES)}")
    got = {}
    for mode in modes:
        got[mode] = count(mode, a.calls)
        print(f"{mode:8}: {got[mode] / 1e6:.3f}M instructions per served call", flush=True)
    if "secured" in got and "plain" in got:
        print(f"secured / plain: {got['secured'] / got['plain']:.2f}x (instructions, user space only)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
