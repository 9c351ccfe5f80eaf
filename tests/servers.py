"""Real services for the end-to-end and attack tests: ``python -m wssc serve ...`` (or another
launcher) in a subprocess on loopback, one per distinct argument list, shared by the whole run.

The fixtures are registered in ``tests/conftest.py``:

* ``server(*args)`` — a running ``wssc serve ARGS`` (started once per argument list);
* ``start_server(*args, command=None, env=None)`` — always a fresh one (its own log);
* ``wssc_home`` — the directory with the run's development certificate.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from wssc.bootstrap.registry import BOOTSTRAPS, Need, bootstrap_kind, parse_bootstrap
from wssc.client.common import tls_verify


def requiring(need: Need) -> frozenset[str]:
    """The ``--bootstrap`` names of the registered bootstraps that need ``need`` (their
    registry entries say: `wssc.bootstrap.registry.BootstrapKind.requires`)."""
    return frozenset(k.cli_name for k in BOOTSTRAPS.values() if k.requires(need))


#: The bootstraps that need a KDC (or NTLM accounts) and a principal's credentials (SPNEGO,
#: Kerberos): their matrices (both families, session and cookie mode, the CLI, sync and async
#: clients) are tests/attacks/test_spnego_negotiation.py, tests/session/test_spnego_sessions.py,
#: tests/attacks/test_kerberos_token.py and tests/session/test_kerberos_bootstrap.py (the ``kdc``
#: fixture).
NEEDS_KDC = requiring("kdc")
#: The bootstraps that need a token from an STS (and the service its issuer's certificate):
#: IssuedToken's matrix is tests/federation/test_issued_token_serve.py and
#: tests/attacks/test_issued_token_attacks.py.
NEEDS_STS = requiring("sts")
#: Every registered bootstrap by its ``--bootstrap`` name, but those above: the test matrices
#: (e2e, zeep, attacks, service) take their lists from here, so a new bootstrap joins them by
#: itself.
BOOTSTRAP_NAMES: list[str] = [
    k.cli_name for k in BOOTSTRAPS.values() if k.cli_name not in NEEDS_KDC | NEEDS_STS
]
#: The bootstraps that negotiate over WS-Trust legs (without a secure session, the negotiated
#: token protects each message: tests/e2e/test_variants.py, tests/attacks/test_negotiated_token_cache.py).
NEGOTIATING = requiring("negotiation")


def over_tls(bootstrap: str) -> bool:
    """Does the bootstrap named ``bootstrap`` (a ``--bootstrap`` name) run over TLS? The
    registry's security mode says."""
    return bootstrap_kind(parse_bootstrap(bootstrap)).requires("tls")


def signs_in(bootstrap: str) -> bool:
    """Does the client of the bootstrap named ``bootstrap`` sign in with a username and a
    password? Its registry entry says so."""
    return bootstrap_kind(parse_bootstrap(bootstrap)).uses("username")


def signs_with_certificate(bootstrap: str) -> bool:
    """Does the client of the bootstrap named ``bootstrap`` prove itself with its own X.509
    certificate (CertificateOverTransport, MutualCertificate,
    MutualSslNegotiated)? Its registry entry says so."""
    return bootstrap_kind(parse_bootstrap(bootstrap)).uses("certificate")


def client_certificate(home: Path) -> tuple[Path, Path]:
    """The run's client certificate and key (``home/dev-client-cert.pem``, ``…-key.pem``),
    made on first use: the one `start_server` trusts for a certificate bootstrap."""
    from wssc.certs import generate_self_signed, save

    cert, key = home / "dev-client-cert.pem", home / "dev-client-key.pem"
    if not cert.exists() or not key.exists():
        save(generate_self_signed("wssc-test-client"), cert, key)
    return cert, key


def client_credentials(bootstrap: str, home: Path) -> dict[str, Any]:
    """The client keywords for the bootstrap named ``bootstrap``: alice's username and
    password, the run's client certificate (``credentials=``), or nothing."""
    if signs_in(bootstrap):
        return {"username": "alice", "password": "secret"}
    if signs_with_certificate(bootstrap):
        from wssc.bootstrap.registry import ClientCredentials
        from wssc.certs import load

        return {"credentials": ClientCredentials(certificate=load(*client_certificate(home)))}
    return {}


def serves_tls(args: Sequence[str]) -> bool:
    """Does ``wssc serve ARGS`` serve HTTPS (its ``--bootstrap`` runs over TLS)?"""
    args = list(args)
    if "--bootstrap" not in args:
        return over_tls(next(iter(BOOTSTRAPS.values())).cli_name)
    return over_tls(args[args.index("--bootstrap") + 1])


#: The ports `free_port` hands out: below Linux's ephemeral range (32768-60999, where ``bind(0)``
#: and every outgoing connection take theirs), a slice of :data:`PORTS_PER_WORKER` per pytest-xdist
#: worker, so that two workers of one run (or a worker and a client's connection) never pick the
#: same port between the check here and the server's own bind.
PORT_BASE, PORT_TOP, PORTS_PER_WORKER = 20000, 32000, 1000
_next_port: dict[str, int] = {}


def worker_index() -> int:
    """This process's pytest-xdist worker number (``gw3`` -> 3); 0 without xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, from this worker's own slice (see :data:`PORT_BASE`)."""
    slices = (PORT_TOP - PORT_BASE) // PORTS_PER_WORKER
    first = PORT_BASE + (worker_index() % slices) * PORTS_PER_WORKER
    for _ in range(PORTS_PER_WORKER):
        offset = _next_port.get(host, 0)
        _next_port[host] = (offset + 1) % PORTS_PER_WORKER
        with socket.socket() as s:
            try:
                s.bind((host, first + offset))
            except OSError:  # in use (a server of this run, or another program): the next one
                continue
            return first + offset
    with socket.socket() as s:  # the whole slice is taken: any port the system gives
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    home: Path
    proc: subprocess.Popen[bytes]
    args: tuple[str, ...]
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    @property
    def wsdl_url(self) -> str:
        return self.url + "?wsdl"

    @property
    def verify(self) -> str | bool:
        return str(self.home / "dev-cert.pem") if self.url.startswith("https") else True

    def log(self) -> str:
        """This server's own output (its ``--log-level INFO`` log included)."""
        return self.log_path.read_text(errors="replace")


Start = Callable[..., Server]


def wait_ready(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server {server.args} exited:\n{server.log()[-3000:]}")
        try:
            r = httpx.get(server.wsdl_url, verify=tls_verify(server.verify), timeout=2)
            if r.status_code == 200:
                return
        except (httpx.HTTPError, FileNotFoundError):  # the certificate may not exist yet
            pass
        if time.monotonic() > deadline:
            server.proc.kill()
            raise RuntimeError(f"server {server.args} did not start:\n{server.log()[-3000:]}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def wssc_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One development certificate for all servers of the run.
    return tmp_path_factory.mktemp("wssc-home")


class StartServer:
    """``start(*args, command=None, env=None, https=None)``: a fresh server on a free port
    (the ``start_server`` fixture); ``start.many(arglists)`` starts several at once."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.servers: list[Server] = []

    def launch(
        self,
        *args: str,
        command: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
        https: bool | None = None,
    ) -> Server:
        """The server's process, started; not yet waited for (`wait_ready`)."""
        port = free_port()
        tls = serves_tls(args) if https is None else https
        given = list(args)
        if (
            command is None
            and "--bootstrap" in given
            and signs_with_certificate(given[given.index("--bootstrap") + 1])
            and not {"--trust-client-cert", "--client-ca"} & set(given)
        ):  # a certificate bootstrap trusts no client by default: the run's client, as a peer
            args = (*args, "--trust-client-cert", str(client_certificate(self.home)[0]))
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/svc"
        log_path = self.home / f"serve-{port}.log"
        full_env = dict(os.environ, WSSC_HOME=str(self.home), **(env or {}))
        if command is None:
            cmd = [sys.executable, "-m", "wssc", "--log-level", "INFO", "serve"]
        else:
            cmd = list(command)
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [*cmd, "--port", str(port), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
                stdin=subprocess.DEVNULL,
            )
        server = Server(url, self.home, proc, tuple(args), log_path)
        self.servers.append(server)
        return server

    def __call__(
        self,
        *args: str,
        command: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
        https: bool | None = None,
    ) -> Server:
        server = self.launch(*args, command=command, env=env, https=https)
        wait_ready(server)
        return server

    def many(self, arglists: Sequence[Sequence[str]]) -> list[Server]:
        """``wssc serve ARGS`` for each argument list, a few side by side (as many as there are
        cores: more only thrash), each waited for before the next one past that window starts."""
        from wssc.certs import dev_certificate

        dev_certificate(self.home)  # made here once, not by several servers at the same time
        window = max(2, len(os.sched_getaffinity(0)))
        launched: list[Server] = []
        for i, args in enumerate(arglists):
            if i >= window:
                wait_ready(launched[i - window])
            launched.append(self.launch(*args))
        for server in launched[-window:]:
            wait_ready(server)
        return launched

    def stop_all(self) -> None:
        for s in self.servers:
            if s.proc.poll() is None:
                s.proc.terminate()
        for s in self.servers:
            try:
                s.proc.wait(10)
            except subprocess.TimeoutExpired:
                s.proc.kill()


@pytest.fixture(scope="session")
def start_server(wssc_home: Path) -> Iterator[StartServer]:
    """``start(*args, command=None, env=None, https=None)``: a fresh server on a free port.

    Without ``command`` it runs ``python -m wssc --log-level INFO serve --port N ARGS``;
    ``command`` replaces ``python -m wssc ... serve`` (the port is appended as ``--port N``).
    HTTPS is assumed for a bootstrap that runs over TLS (`serves_tls`) unless ``https`` says
    otherwise.
    """
    start = StartServer(wssc_home)
    yield start
    start.stop_all()


class Servers:
    """The ``server`` fixture: ``server(*args)`` is a server per distinct argument list, shared
    by the tests of the session; ``server.many(arglists)`` gets several, starting the missing
    ones side by side."""

    def __init__(self, start: StartServer) -> None:
        self.start = start
        self.cache: dict[tuple[str, ...], Server] = {}

    def __call__(self, *args: str) -> Server:
        s = self.cache.get(args)
        if s is None or s.proc.poll() is not None:
            s = self.cache[args] = self.start(*args)
        return s

    def many(self, arglists: Sequence[Sequence[str]]) -> list[Server]:
        wanted = [tuple(a) for a in arglists]
        missing: list[tuple[str, ...]] = []
        for args in wanted:
            s = self.cache.get(args)
            if (s is None or s.proc.poll() is not None) and args not in missing:
                missing.append(args)
        for args, s in zip(missing, self.start.many(missing), strict=True):
            self.cache[args] = s
        return [self.cache[a] for a in wanted]


@pytest.fixture(scope="session")
def server(start_server: StartServer) -> Servers:
    """A server per distinct argument list, shared by the tests of the session."""
    return Servers(start_server)
