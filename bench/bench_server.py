"""Server throughput: ``wssc serve`` secured calls/s and service CPU per call, 1/4/16 clients.

    .venv/bin/python bench/bench_server.py [--quick] [--json] [--clients 1,4,16]
        [--workers 2 [--shared redis|cookie]] [--before OLD/src]

* **secured**: ``python -m wssc serve`` (the real command, default settings: WSHttpBinding,
  AnonymousForCertificate, session mode, Basic256, derived keys), Echo over a secure session.
* **plain**: the same service (Calculator, uvicorn + ``AsgiApp``) without WS-Security
  (bench_sessions.py's ``UnsecuredEngine`` child), the same Echo.

The load generator is light on purpose, so that it does not decide the result: each client
opens its own session with the real :class:`wssc.client.sync.Client`, then *before timing*
its :class:`~wssc.session.client.ClientSession` protects every request of the block (each
with its own MessageID and Timestamp: the service's replay cache sees no repeat). In the
timed block each client thread only POSTs its prepared bytes over one keep-alive
``http.client`` connection and checks for HTTP 200; after the block, each client's last
reply is verified with its session (a genuine secured Echo reply). The generator's own CPU
(process time of its threads during the block) is reported beside the service's (utime +
stime of the server processes, from /proc, during the block).

Secured and plain blocks alternate, each concurrency level in turn. ``--workers 2``: two
``wssc serve`` processes with one ``--address`` (a farm), sharing sessions through one Redis
store (``--shared redis``: ``--store redis://``; needs redis-server) or through cookies
(``--shared cookie``: cookie mode, one ``--keyring`` file), clients spread over both, each
session opened on one worker and used on both; against one such worker. ``--before SRC``: a
second secured server run from another source tree, measured in the same rounds (with
``--workers``, also a single node of it on the shared store, ``one_worker_before_*``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sessions import PLAIN_CTYPE, TEXT, Server, plain_body

from wssc.certs import generate_self_signed, load, save
from wssc.client.sync import Client
from wssc.contract import get_contract
from wssc.demo import Calculator

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """utime + stime of a process (seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WsscServe:
    """``python -m wssc serve --port N [ARGS]`` with its own WSSC_HOME."""

    def __init__(self, home: Path, *args: str, port: int | None = None, src: Path | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/svc"
        self.log = home / f"serve-{self.port}.log"
        env = dict(os.environ, WSSC_HOME=str(home))
        if src is not None:  # --before: another wssc source tree
            env["PYTHONPATH"] = str(src.resolve())
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wssc", "serve", "--port", str(self.port), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.url + "?wsdl", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"wssc serve did not start:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Redis:
    def __init__(self, workdir: Path) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("bench_server --workers2: redis-server is not installed")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--save", "", "--appendonly", "no", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def post_all(url: str, bodies: list[bytes], headers: dict[str, str], replies: list[bytes]) -> None:
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=120)
    try:
        for body in bodies:
            conn.request("POST", u.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status}: {data[:300]!r}")
        replies.append(data)
    finally:
        conn.close()


def run_block(jobs: list[tuple[str, list[bytes], dict[str, str]]], pids: list[int]) -> dict[str, float]:
    """One thread per client; wall time, service CPU and generator CPU of the block."""
    replies: list[bytes] = []
    threads = [threading.Thread(target=post_all, args=(u, b, h, replies)) for u, b, h in jobs]
    s0 = sum(proc_cpu(p) for p in pids)
    g0 = time.process_time()
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    gen = time.process_time() - g0
    svc = sum(proc_cpu(p) for p in pids) - s0
    if len(replies) != len(jobs):
        raise RuntimeError("a client failed (see above)")
    calls = sum(len(b) for _, b, _ in jobs)
    return {
        "calls": calls,
        "calls_per_s": calls / wall,
        "service_cpu_ms_per_call": svc / calls * 1e3,
        "generator_cpu_ms_per_call": gen / calls * 1e3,
        "_replies": replies,  # type: ignore[dict-item]
    }


class SecuredLoad:
    """``n`` clients, each with its own session (opened through ``urls[0]``)."""

    def __init__(self, urls: list[str], n: int, cert: object) -> None:
        self.op = get_contract(Calculator).operation("Echo")
        self.urls = urls
        self.clients = []
        for i in range(n):
            c = Client.from_wsdl(urls[0] + "?wsdl")
            c.open()
            self.clients.append(c)

    def jobs(self, per_client: int) -> tuple[list[tuple[str, list[bytes], dict[str, str]]], list[object]]:
        jobs, lasts = [], []
        now = time.time()
        for i, c in enumerate(self.clients):
            cs = c.flow.session
            outs = [cs.app_request(self.op, {"text": TEXT}, now) for _ in range(per_client)]
            headers = {"Content-Type": outs[0].content_type}
            # a client's calls go to one worker; with two workers, every session was opened
            # on the first and client i calls worker i % 2 (the shared store answers)
            url = self.urls[i % len(self.urls)]
            jobs.append((url, [o.body for o in outs], headers))
            lasts.append((cs, outs[-1]))
        return jobs, lasts

    def check(self, lasts: list[object], replies: list[bytes]) -> None:
        # replies arrive in thread completion order: each must verify for one of the clients
        ok = 0
        for data in replies:
            for cs, out in lasts:  # type: ignore[misc]
                try:
                    if cs.app_response(data, out, time.time()) == TEXT:
                        ok += 1
                        break
                except Exception:
                    continue
        if ok != len(replies):
            raise RuntimeError(f"only {ok} of {len(replies)} last replies verified as secured Echo replies")

    def close(self) -> None:
        for c in self.clients:
            c.close()


Target = tuple[list[str], list[int]]  # the URLs clients call, the server pids


def measure(
    secured: dict[str, Target],
    plain: Server | None,
    clients: list[int],
    rounds: int,
    calls_per_block: int,
    log: object = print,
) -> dict[str, object]:
    """Secured blocks for each target (the first one's keys are ``secured_*``, another's
    ``NAME_*``) and plain blocks, in an order that rotates every round."""
    out: dict[str, object] = {}
    names = [*secured, *(["plain"] if plain is not None else [])]
    for n in clients:
        per_client = max(5, calls_per_block // n)
        loads = {k: SecuredLoad(urls, n, None) for k, (urls, _) in secured.items()}
        rows: dict[str, list[dict[str, float]]] = {k: [] for k in names}
        try:
            for r in range(rounds):
                for kind in names[r % len(names) :] + names[: r % len(names)]:
                    if kind == "plain":
                        assert plain is not None and plain.proc is not None
                        op = next(iter(loads.values())).op
                        body = plain_body(op, plain.address)
                        headers = {"Content-Type": PLAIN_CTYPE, "SOAPAction": f'"{op.action}"'}
                        res = run_block([(plain.address, [body] * per_client, headers)] * n, [plain.proc.pid])
                        res.pop("_replies")
                    else:
                        jobs, lasts = loads[kind].jobs(per_client)
                        res = run_block(jobs, secured[kind][1])
                        loads[kind].check(lasts, res.pop("_replies"))  # type: ignore[arg-type]
                    rows[kind].append(res)
        finally:
            for ld in loads.values():
                ld.close()

        def med(kind: str, key: str) -> float:
            return statistics.median(r[key] for r in rows[kind])

        row: dict[str, object] = {}
        for i, kind in enumerate(names):
            p = "secured" if i == 0 else kind
            row |= {
                f"{p}_calls_per_s": med(kind, "calls_per_s"),
                f"{p}_service_cpu_ms_per_call": med(kind, "service_cpu_ms_per_call"),
                f"{p}_generator_cpu_ms_per_call": med(kind, "generator_cpu_ms_per_call"),
            }
        if plain is not None:
            first = names[0]
            row["secured_over_plain"] = statistics.median(
                s["calls_per_s"] / p["calls_per_s"] for s, p in zip(rows[first], rows["plain"], strict=True)
            )
        out[str(n)] = row
        log(f"  {n:>2} clients: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()))  # type: ignore[operator]
    return out


def run(
    quick: bool,
    clients: list[int],
    workers: int,
    shared: list[str],
    before: Path | None = None,
    variants: dict[str, list[str]] | None = None,
    log: object = print,
) -> dict[str, object]:
    rounds = 3 if quick else 5
    per_block = 300 if quick else 800
    res: dict[str, object] = {
        "rounds": rounds,
        "calls_per_block": per_block,
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="wssc-bench-server-") as d:
        home = Path(d)
        certs = home / "plain-cert"
        certs.mkdir()
        save(generate_self_signed("wssc-bench"), certs / "cert.pem", certs / "key.pem")
        load(certs / "cert.pem", certs / "key.pem")
        plain = Server("plain", certs, home)
        plain.start()
        servers = [WsscServe(home)]
        targets: dict[str, Target] = {"secured": ([servers[0].url], [servers[0].proc.pid])}
        if before is not None:
            servers.append(WsscServe(home, src=before))
            targets["before"] = ([servers[-1].url], [servers[-1].proc.pid])
        for name, args in (variants or {}).items():
            servers.append(WsscServe(home, *args))
            targets[name] = ([servers[-1].url], [servers[-1].proc.pid])
        try:
            log("one worker (memory store)" + (f", against {before}" if before else "") + ":")  # type: ignore[operator]
            res["one_worker"] = measure(targets, plain, clients, rounds, per_block, log)
        finally:
            for s in servers:
                s.stop()
            plain.stop()
        for kind in shared if workers > 1 else []:
            redis = Redis(home) if kind == "redis" else None
            if redis is not None:
                common = ["--store", f"redis://127.0.0.1:{redis.port}/0"]
            else:  # cookie mode: every node reads the cookies with one key ring file
                common = ["--no-require-cancellation", "--keyring", str(home / "farm-keyring.json")]
            # a farm: every node publishes one address, node A's (the wsa:To of every
            # message); sessions open through it, and calls go to every node
            port_a = free_port()
            farm = f"http://127.0.0.1:{port_a}/svc"
            ws = [
                WsscServe(home, *common, "--address", farm, port=p)
                for p in [port_a, *(free_port() for _ in range(workers - 1))]
            ]
            single = WsscServe(home, *common)
            extra = {name: WsscServe(home, *common, *args) for name, args in (variants or {}).items()}
            if before is not None:  # the other source tree, as a single node on the same store
                extra["before"] = WsscServe(home, *common, src=before)
            try:
                log(f"{workers} workers sharing {kind}, against one worker on the same {kind}:")  # type: ignore[operator]
                # in the same rounds: secured_* is the farm, one_worker_* the single node
                res[f"{kind}_{workers}_workers"] = measure(
                    {
                        "secured": ([w.url for w in ws], [w.proc.pid for w in ws]),
                        "one_worker": ([single.url], [single.proc.pid]),
                        **{f"one_worker_{k}": ([e.url], [e.proc.pid]) for k, e in extra.items()},
                    },
                    None,
                    clients,
                    rounds,
                    per_block,
                    log,
                )
            finally:
                for w in [*ws, single, *extra.values()]:
                    w.stop()
                if redis is not None:
                    redis.stop()
    res["loadavg_at_end"] = os.getloadavg()[0]
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="3 rounds of 300 calls a block (default 5 x 800)")
    ap.add_argument("--clients", default="1,4,16", help="concurrency levels (default 1,4,16)")
    ap.add_argument(
        "--workers", type=int, default=1, help="also N wssc serve nodes against one (default 1: not)"
    )
    ap.add_argument("--workers2", action="store_true", help="the same as --workers 2")
    ap.add_argument(
        "--shared",
        default="redis",
        help="with --workers: the nodes share sessions through redis (needs redis-server), "
        "cookie, or both: redis,cookie (default redis)",
    )
    ap.add_argument(
        "--before",
        type=Path,
        metavar="SRC",
        help="also measure a wssc serve run from another source tree (its src/ directory), "
        "in the same rounds: before/after a change",
    )
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="also measure wssc serve with these extra arguments, in the same rounds (and one "
        "such node beside the --workers farm), e.g. threads4='--security-threads 4'; repeatable",
    )
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    a = ap.parse_args()
    variants = {v.split("=", 1)[0]: v.split("=", 1)[1].split() for v in a.variant}
    clients = [int(x) for x in a.clients.split(",")]
    workers = 2 if a.workers2 and a.workers < 2 else a.workers
    res = run(
        a.quick,
        clients,
        workers,
        a.shared.split(","),
        a.before,
        variants,
        log=(lambda m: print(m, file=sys.stderr)) if a.json else print,
    )
    if a.json:
        print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
