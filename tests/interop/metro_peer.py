"""Drive the Metro (Eclipse WSIT) peer in ``interop/metro`` and the wssc services it talks to.

The peer is built by ``scripts/setup.sh`` (``mvn -q -B package``) into ``interop/metro/target``
(override with ``WSSC_METRO_BUILD``). Each Java program prints one line ``RESULT {json}`` and
exits 0 (ok), 1 (the other side answered with a SOAP fault) or 2 (anything else). A run with
no RESULT line, or with an exit code that disagrees with its ``ok`` flag, is a crash: it fails
the test whatever the test expected, so a crash can never pass for an expected rejection.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import servers
from java_launch import java_argv
from peers import REPO, in_ci
from wssc.client.common import tls_verify

TIMEOUT = 120


def metro_build_dir() -> Path:
    env = os.environ.get("WSSC_METRO_BUILD")
    return Path(env) if env else REPO / "interop" / "metro" / "target"


def metro_missing(what: str) -> None:
    """The Metro peer cannot run: an error under CI=true, else a loud skip."""
    if in_ci():
        pytest.fail(f"{what} (CI=true: scripts/setup.sh must build the Metro peer)")
    pytest.skip(f"!!! {what}; Metro interop NOT tested (run scripts/setup.sh) !!!")


def metro_classpath() -> str:
    build = metro_build_dir()
    classes = build / "classes"
    lib = build / "lib"
    if not (classes / "wssc" / "metro" / "MetroClient.class").is_file():
        metro_missing(f"Metro peer not built: {classes}/wssc/metro/MetroClient.class is missing")
    if not any(lib.glob("webservices-rt-*.jar")):
        metro_missing(f"Metro peer libraries missing in {lib}")
    if shutil.which("java") is None:
        metro_missing("java is not on PATH")
    return f"{classes}{os.pathsep}{lib}{os.sep}*"


@dataclass
class PeerRun:
    """One run of a Java peer program."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.result.get("ok"))

    @property
    def fault(self) -> dict[str, Any] | None:
        f = self.result.get("fault")
        return f if isinstance(f, dict) else None

    def fault_names(self) -> list[str]:
        """The local names of the fault's code and subcodes (SOAP 1.2), code first."""
        f = self.fault or {}
        names = [f.get("code") or "", *f.get("subcodes", [])]
        return [n.rpartition("}")[2] for n in names if n]

    def explain(self) -> str:
        tail = "\n".join(self.stderr.splitlines()[-40:])
        return f"{' '.join(self.argv[-12:])}\nrc={self.returncode} RESULT={self.result}\n{tail}"


def metro_argv(main: str, *args: str) -> list[str]:
    """The java argv of one of the Metro peer's programs (checked built; see ``java_launch``)."""
    metro_classpath()
    return java_argv(main, *args, peer=("metro", metro_build_dir()))


def run_java(main: str, *args: str, timeout: float = TIMEOUT) -> PeerRun:
    argv = metro_argv(main, *args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    run = PeerRun(argv, p.returncode, p.stdout, p.stderr)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if len(lines) != 1:
        pytest.fail(f"the Metro peer crashed (no single RESULT line):\n{run.explain()}\n{p.stdout}")
    run.result = json.loads(lines[0][len("RESULT ") :])
    expected_rc = 0 if run.ok else (1 if run.fault else 2)
    if p.returncode != expected_rc or not isinstance(run.result.get("ok"), bool):
        pytest.fail(f"the Metro peer's exit code disagrees with its result:\n{run.explain()}")
    return run


def expect_ok(run: PeerRun) -> PeerRun:
    assert run.returncode == 0 and run.ok, run.explain()
    return run


def expect_fault(run: PeerRun, *names: str, phase: str | None = None) -> PeerRun:
    """The peer failed because the other side sent a SOAP fault with one of ``names`` among its
    code/subcodes (local names). Any other failure (a local error, a crash) fails the test."""
    assert run.returncode == 1 and not run.ok and run.fault is not None, run.explain()
    if names:
        assert set(names) & set(run.fault_names()), (
            f"expected a fault among {names}, got {run.fault_names()}\n{run.explain()}"
        )
    if phase is not None:
        assert run.result.get("phase") == phase, run.explain()
    return run


# --- wssc services (``python -m wssc serve``) ---------------------------------------------------
def free_port() -> int:
    """A free port of this test worker's own slice (`servers.free_port`)."""
    return servers.free_port()


_ISSUED = re.compile(r"issued (?:cookie-mode )?SCT (\S+)")
_CANCELLED = re.compile(r"cancelled SCT (\S+)")
_RENEWED = re.compile(r"renewed SCT (\S+?):? new instance")
_FAULT = re.compile(r"fault (\{[^}]*\}[^\s:]+)")


@dataclass
class ServiceLog:
    """What the service logged (at INFO) during one peer run."""

    text: str

    @property
    def issued(self) -> list[str]:
        return _ISSUED.findall(self.text)

    @property
    def cancelled(self) -> list[str]:
        return _CANCELLED.findall(self.text)

    @property
    def renewed(self) -> list[str]:
        return _RENEWED.findall(self.text)

    @property
    def faults(self) -> list[str]:
        return [f.rpartition("}")[2] for f in _FAULT.findall(self.text)]


@dataclass
class WsscService:
    url: str
    home: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    args: tuple[str, ...]

    @property
    def wsdl_url(self) -> str:
        return self.url + "?wsdl"

    @property
    def cert_pem(self) -> Path:
        return self.home / "dev-cert.pem"

    def mark(self) -> int:
        return self.log_path.stat().st_size

    def log_since(
        self,
        mark: int,
        settle: float = 0.3,
        until: Callable[[ServiceLog], bool] | None = None,
        timeout: float = 15.0,
    ) -> ServiceLog:
        """The log after ``mark``: polled until ``until`` holds (deadline ``timeout``), or,
        without ``until``, read after ``settle`` seconds."""

        def read() -> ServiceLog:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return ServiceLog(f.read().decode(errors="replace"))

        if until is None:
            # sleep-ok: the peer's run is over; the service writes its last lines just after
            # it answers, and callers that check for an absence have no line to poll for.
            time.sleep(settle)
            return read()
        deadline = time.monotonic() + timeout
        while not until(log := read()) and time.monotonic() < deadline:
            time.sleep(0.02)
        return log

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_wssc(home: Path, *args: str) -> WsscService:
    port = free_port()
    tls = any(
        a in args
        for a in ("username-over-transport", "certificate-over-transport", "issued-token-over-transport")
    )
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/svc"
    log_path = home / f"serve-{port}.log"
    env = dict(os.environ, WSSC_HOME=str(home))
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wssc", "--log-level", "INFO", "serve", "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    svc = WsscService(url, home, log_path, proc, args)
    _await_wsdl(
        proc,
        svc.wsdl_url,
        lambda: tls_verify(str(svc.cert_pem)) if tls else True,
        f"wssc serve {args}",
        lambda: log_path.read_text()[-3000:],
        timeout=30,
        interval=0.1,
        request_timeout=2,
    )
    return svc


def _await_wsdl(
    proc: subprocess.Popen[bytes],
    wsdl_url: str,
    verify: Callable[[], Any],
    what: str,
    tail: Callable[[], str],
    *,
    timeout: float,
    interval: float,
    request_timeout: float,
    ready: Callable[[], bool] = lambda: True,
) -> None:
    """Wait until ``proc`` serves its WSDL (once ``ready()``); raise with ``tail()`` if it
    exits or does not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{tail()}")
        if ready():
            try:
                if httpx.get(wsdl_url, verify=verify(), timeout=request_timeout).status_code == 200:
                    return
            except (httpx.HTTPError, OSError):
                pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{what} did not start:\n{tail()}")
        time.sleep(interval)


# --- a loopback HTTP relay that can tamper with one request --------------------------------------
Tamper = Callable[[int, bytes], bytes]


class Relay:
    """``http://127.0.0.1:PORT/…`` forwarded to ``target`` (the same path); ``tamper(n, body)``
    may rewrite the n-th POST body (0-based) on its way. ``posts`` counts what went through."""

    def __init__(self, target: str, tamper: Tamper, verify: Any = True) -> None:
        self.target = target.rstrip("/")
        self.tamper = tamper
        self.posts = 0
        self.tampered: list[int] = []
        relay = self
        client = httpx.Client(verify=verify, timeout=60)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else b""
                if method == "POST":
                    index = relay.posts
                    relay.posts += 1
                    new = relay.tamper(index, body)
                    if new != body:
                        relay.tampered.append(index)
                    body = new
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                }
                base = relay.target.split("/", 3)
                r = client.request(method, f"{base[0]}//{base[2]}{self.path}", content=body, headers=headers)
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/svc") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def change_message_id(body: bytes) -> bytes:
    """Alter the (signed) wsa:MessageID text by one character."""
    m = re.search(rb"(<(?:\w+:)?MessageID[^>]*>[^<]*?)([0-9a-f])(</)", body)
    assert m is not None, "no MessageID to tamper with"
    flipped = b"0" if m.group(2) != b"0" else b"1"
    return body[: m.start(2)] + flipped + body[m.end(2) :]


# --- the Metro service (wssc.metro.MetroService) ---------------------------------------------------
@dataclass
class MetroService:
    url: str
    cert_pem: Path
    out_path: Path
    err_path: Path
    proc: subprocess.Popen[bytes]

    @property
    def wsdl_url(self) -> str:
        return self.url + "?wsdl"

    def mark(self) -> int:
        return self.out_path.stat().st_size

    def out_since(
        self,
        mark: int,
        settle: float = 0.3,
        until: Callable[[str], bool] | None = None,
        timeout: float = 15.0,
    ) -> str:
        """Metro's output after ``mark``: polled until ``until`` holds (deadline
        ``timeout``), or, without ``until``, read after ``settle`` seconds."""

        def read() -> str:
            with open(self.out_path, "rb") as f:
                f.seek(mark)
                return f.read().decode(errors="replace")

        if until is None:
            # sleep-ok: Metro prints after it answers; callers that check for an absence
            # ("CALL" not in it) have no line to poll for.
            time.sleep(settle)
            return read()
        deadline = time.monotonic() + timeout
        while not until(out := read()) and time.monotonic() < deadline:
            time.sleep(0.02)
        return out

    def stderr_tail(self, n: int = 60) -> str:
        return "\n".join(self.err_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_metro_service(
    home: Path, bootstrap: str, binding: str, *extra: str, path: str = "/svc"
) -> MetroService:
    """``bootstrap`` afc|unfc|unot, ``binding`` wshttp|ws2007; the key pair is wssc's dev certificate
    in ``home`` (dev-cert.pem / dev-key.pem). ``path``: the endpoint whose WSDL says it is up
    (``/svc/<suite>`` under ``--suites``)."""
    from wssc.certs import dev_certificate

    _, cert, key = dev_certificate(home)
    port = free_port()
    out_path = home / f"metro-{port}.out"
    err_path = home / f"metro-{port}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            metro_argv(
                "wssc.metro.MetroService",
                "--bootstrap",
                bootstrap,
                "--binding",
                binding,
                "--port",
                str(port),
                "--cert",
                str(cert),
                "--key",
                str(key),
                *extra,
            ),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    scheme = "https" if bootstrap == "unot" or bootstrap.startswith("it-transport") else "http"
    svc = MetroService(f"{scheme}://127.0.0.1:{port}{path}", Path(cert), out_path, err_path, proc)
    _await_wsdl(
        proc,
        svc.wsdl_url,
        lambda: tls_verify(str(cert)) if scheme == "https" else True,
        "the Metro service",
        svc.stderr_tail,
        timeout=60,
        interval=0.2,
        request_timeout=5,
        ready=lambda: "LISTENING" in out_path.read_text(errors="replace"),
    )
    return svc


# --- Metro's STS (wssc.metro.MetroSts) ---------------------------------------------------------------
@dataclass
class MetroSts:
    url: str
    cert_pem: Path
    out_path: Path
    err_path: Path
    proc: subprocess.Popen[bytes]

    def mark(self) -> int:
        return self.out_path.stat().st_size

    def out_since(self, mark: int, until: Callable[[str], bool], timeout: float = 15.0) -> str:
        """Metro's output after ``mark``, polled until ``until`` holds (deadline ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.out_path, "rb") as f:
                f.seek(mark)
                out = f.read().decode(errors="replace")
            if until(out) or time.monotonic() > deadline:
                return out
            time.sleep(0.02)

    def stderr_tail(self, n: int = 60) -> str:
        return "\n".join(self.err_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def metro_sts_cert(home: Path) -> Path:
    """The Metro STS's key pair in ``home`` (metro-sts.pem, metro-sts.key), made once: its
    TLS certificate and the certificate that signs its assertions."""
    from wssc.certs import generate_self_signed, save

    cert = home / "metro-sts.pem"
    if not cert.exists():
        save(generate_self_signed("127.0.0.1"), cert, home / "metro-sts.key")
    return cert


def start_metro_sts(
    home: Path, relying_parties: dict[str, Path], *extra: str, port: int | None = None
) -> MetroSts:
    """Metro's STS at ``https://127.0.0.1:PORT/sts`` with `metro_sts_cert`, issuing tokens
    for ``relying_parties`` (address -> the certificate its proof keys are encrypted to)."""
    cp = metro_classpath()
    cert = metro_sts_cert(home)
    key = home / "metro-sts.key"
    port = port or free_port()
    out_path = home / f"metro-sts-{port}.out"
    err_path = home / f"metro-sts-{port}.err"
    rps = ",".join(f"{url}={pem}" for url, pem in relying_parties.items())
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [
                *("java", "-cp", cp, "wssc.metro.MetroSts", "--port", str(port)),
                *("--cert", str(cert), "--key", str(key), "--relying-party", rps, *extra),
            ],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    scheme = "http" if "unfc" in extra else "https"  # --bootstrap unfc: message security over HTTP
    sts = MetroSts(f"{scheme}://127.0.0.1:{port}/sts", cert, out_path, err_path, proc)
    _await_wsdl(
        proc,
        sts.url + "?wsdl",
        lambda: tls_verify(str(cert)) if scheme == "https" else True,
        "Metro's STS",
        sts.stderr_tail,
        timeout=60,
        interval=0.2,
        request_timeout=5,
        ready=lambda: "LISTENING" in out_path.read_text(errors="replace"),
    )
    return sts


# --- wssc's STS (``python -m wssc sts``) ---------------------------------------------------------------
@dataclass
class WsscSts:
    url: str
    cert_pem: Path
    log_path: Path
    proc: subprocess.Popen[bytes]

    def mark(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, mark: int, until: Callable[[str], bool], timeout: float = 15.0) -> str:
        """The STS's log after ``mark``, polled until ``until`` holds (deadline ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                text = f.read().decode(errors="replace")
            if until(text) or time.monotonic() > deadline:
                return text
            time.sleep(0.02)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wssc_sts_cert(home: Path) -> Path:
    """wssc's STS key pair in ``home`` (wssc-sts.pem, wssc-sts.key), made once."""
    from wssc.certs import generate_self_signed, save

    cert = home / "wssc-sts.pem"
    if not cert.exists():
        save(generate_self_signed("127.0.0.1"), cert, home / "wssc-sts.key")
    return cert


def start_wssc_sts(
    home: Path, relying_parties: dict[str, Path], *extra: str, port: int | None = None
) -> WsscSts:
    """``wssc sts`` at ``https://127.0.0.1:PORT/sts`` with `wssc_sts_cert`, user alice:secret,
    issuing for ``relying_parties`` (address -> certificate)."""
    cert, key = wssc_sts_cert(home), home / "wssc-sts.key"
    users = home / "sts-users"
    users.write_text("alice:secret\n")
    port = port or free_port()
    log_path = home / f"wssc-sts-{port}.log"
    cmd = [sys.executable, "-m", "wssc", "--log-level", "INFO", "sts", "--port", str(port)]
    cmd += ["--cert", str(cert), "--key", str(key), "--users", str(users), *extra]
    for address, pem in relying_parties.items():
        cmd += ["--relying-party-cert", f"{address}={pem}"]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    sts = WsscSts(f"https://127.0.0.1:{port}/sts", cert, log_path, proc)
    _await_wsdl(
        proc,
        sts.url + "?wsdl",
        lambda: tls_verify(str(cert)),
        "wssc sts",
        lambda: log_path.read_text()[-3000:],
        timeout=30,
        interval=0.1,
        request_timeout=2,
    )
    return sts
