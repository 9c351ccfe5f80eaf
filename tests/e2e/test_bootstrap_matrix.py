"""Issue 16's matrix: every bootstrap × {session, cookie, no session} × both version families,
end to end against a real ``wssc serve``, with the clients the other matrices leave out.

What runs where (one table; the cells of the other modules are not repeated here):

============  ==========================  ===============================  =====================
client        session / cookie            no session                       IssuedToken (3 modes)
============  ==========================  ===============================  =====================
Client        test_sessions.py            here (wshttp: test_variants.py)  here
AsyncClient   here                        here                             here
wssc call     here                        here                             here
zeep          test_zeep.py                here (wshttp: test_zeep.py)      here
============  ==========================  ===============================  =====================

MutualCertificate (an AsymmetricBinding there) and UserNameOverTransport also run in
WS-Security 1.0's families (``--binding wshttp-wss10``, ``ws2007-wss10``): every client in
every mode, here; every other bootstrap refuses them with a clear error (a test here).

SPNEGO and Kerberos need a KDC: their matrices are tests/session/test_spnego_sessions.py,
tests/session/test_kerberos_bootstrap.py and tests/integrations/test_zeep_{spnego,kerberos}.py.
IssuedToken's tokens come from a real ``wssc sts`` (one per module) that knows each
issued-token service as a relying party; ``wssc call --sts`` asks it itself.

The servers are the ``server`` fixture's, started with the same arguments as test_sessions.py,
test_variants.py and test_zeep.py use, so a whole run shares them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep

from servers import (
    BOOTSTRAP_NAMES,
    NEEDS_STS,
    NEGOTIATING,
    Server,
    Servers,
    client_certificate,
    client_credentials,
    free_port,
    requiring,
    signs_in,
    signs_with_certificate,
)
from wssc.bootstrap.registry import ClientCredentials, bootstrap_kind, parse_bootstrap
from wssc.certs import generate_self_signed, save
from wssc.client import AsyncClient, Client
from wssc.client.sts import StsExchange, request_token
from wssc.integrations.zeep import async_secure_session, secure_session

pytestmark = pytest.mark.e2e

BINDINGS = ["wshttp", "ws2007"]
MODES = ["session", "cookie", "none"]
ISSUED = "issued-token"
UNOT = "username-over-transport"
#: Every bootstrap that needs a token from an STS (IssuedToken, and the federation bindings' three).
FEDERATED = sorted(NEEDS_STS)
assert ISSUED in FEDERATED
ALL = [*BOOTSTRAP_NAMES, *FEDERATED]
#: WS-Security 1.0's families: the bootstraps whose registry entry lists them
#: (MutualCertificate's AsymmetricBinding, UserNameOverTransport); the others refuse them
#: (test_a_bootstrap_refuses_the_wss10_families_it_does_not_run_in).
WSS10 = ["wshttp-wss10", "ws2007-wss10"]


def runs_in(bootstrap: str, family: str) -> bool:
    return family in {f.name for f in bootstrap_kind(parse_bootstrap(bootstrap)).families}


IN_WSS10 = [b for b in ALL if all(runs_in(b, f) for f in WSS10)]
NOT_IN_WSS10 = [b for b in ALL if not any(runs_in(b, f) for f in WSS10)]
CELLS = list(itertools.product(BINDINGS, MODES, ALL)) + list(itertools.product(WSS10, MODES, IN_WSS10))
#: A bearer token is good for one message without a session (the service refuses it again:
#: tests/attacks/test_bearer_token_attacks.py): its one-shot cells are wssc call's (one
#: message, one token), and the clients' cells that send several messages leave them out.
BEARER = requiring("bearer")
CLIENT_CELLS = [c for c in CELLS if not (c[1] == "none" and c[2] in BEARER)]
#: Cells whose sync Client and zeep runs live elsewhere (see the table above).
ELSEWHERE = {
    (b, m, x) for b, m, x in CELLS if x not in FEDERATED and b in BINDINGS and (m != "none" or b == "wshttp")
}


def ids(cell: tuple[str, str, str]) -> str:
    return "-".join(cell)


@dataclass
class Sts:
    url: str
    cafile: str
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def issuer_pem(wssc_home: Path) -> Path:
    """The STS's certificate, which every issued-token service trusts (``--issuer-cert``)."""
    pem, key = wssc_home / "matrix-sts.pem", wssc_home / "matrix-sts.key"
    if not pem.exists():
        save(generate_self_signed("localhost"), pem, key)
    return pem


def serve_args(binding: str, mode: str, bootstrap: str, issuer: Path) -> tuple[str, ...]:
    """The arguments the other matrices start the same cell with (shared servers)."""
    if mode == "none" and binding == "wshttp" and bootstrap not in FEDERATED:
        return ("--bootstrap", bootstrap, "--no-secure-context")  # test_variants, test_zeep
    args: tuple[str, ...] = ("--binding", binding, "--bootstrap", bootstrap)
    args += {"session": (), "cookie": ("--no-require-cancellation",), "none": ("--no-secure-context",)}[mode]
    return args + (("--issuer-cert", str(issuer)) if bootstrap in FEDERATED else ())


@pytest.fixture(scope="module")
def sts(server: Servers, issuer_pem: Path, wssc_home: Path) -> Iterator[Sts]:
    """``wssc sts`` over HTTPS, alice:secret, with each issued-token service of the matrix
    as a relying party (its address and certificate). The 30 services start side by side
    (one after the other they took 30-70 s, the first federated cell's time)."""
    rps = server.many([serve_args(b, m, x, issuer_pem) for b in BINDINGS for m in MODES for x in FEDERATED])
    users = wssc_home / "matrix-users"
    users.write_text("alice:secret\n")
    port, log = free_port(), wssc_home / "matrix-sts.log"
    cmd = [sys.executable, "-m", "wssc", "--log-level", "INFO", "sts", "--port", str(port)]
    cmd += ["--cert", str(issuer_pem), "--key", str(issuer_pem.with_suffix(".key")), "--users", str(users)]
    for rp in rps:
        cmd += ["--relying-party-cert", f"{rp.url}={rp.home / 'dev-cert.pem'}"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}/sts"
    ctx = ssl.create_default_context(cafile=str(issuer_pem))
    deadline = time.monotonic() + 30
    try:
        while True:  # polled until it answers (a GET is refused with 405)
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(url, verify=ctx, timeout=2).status_code == 405:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield Sts(url, str(issuer_pem), proc, log)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def cell_server(
    request: pytest.FixtureRequest, server: Callable[..., Server], issuer_pem: Path
) -> Callable[[str, str, str], tuple[Server, dict[str, Any]]]:
    """``(binding, mode, bootstrap) -> (server, client keywords)``: the keywords are the
    registry's credentials, or a token from the module's STS for IssuedToken."""

    def get(binding: str, mode: str, bootstrap: str) -> tuple[Server, dict[str, Any]]:
        srv = server(*serve_args(binding, mode, bootstrap, issuer_pem))
        if bootstrap not in FEDERATED:
            return srv, client_credentials(bootstrap, srv.home)
        s: Sts = request.getfixturevalue("sts")
        exchange = StsExchange.new(s.url, srv.url, "alice", "secret", bearer=bootstrap in BEARER)
        token = request_token(exchange, verify=s.cafile)
        return srv, {"credentials": ClientCredentials(issued_token=token)}

    return get


def expected_events(mode: str, bootstrap: str, calls: int) -> Callable[[list[str]], None]:
    def check(events: list[str]) -> None:
        names = [e for e in events if e != "negotiate"]
        assert ("negotiate" in events) is (bootstrap in NEGOTIATING), events
        assert names.count("call") == calls, events
        assert names.count("issue") == (0 if mode == "none" else 1), events
        assert names.count("cancel") == (1 if mode == "session" else 0), events

    return check


# --- AsyncClient in every cell ------------------------------------------------------------------
@pytest.mark.parametrize(("binding", "mode", "bootstrap"), CLIENT_CELLS, ids=list(map(ids, CLIENT_CELLS)))
def test_async_client(cell_server: Callable[..., Any], binding: str, mode: str, bootstrap: str) -> None:
    srv, kw = cell_server(binding, mode, bootstrap)
    events: list[str] = []

    async def main() -> list[object]:
        c = await AsyncClient.from_wsdl(
            srv.wsdl_url, verify=srv.verify, on_event=lambda e, d: events.append(e), **kw
        )
        async with c:
            assert c.session.scs.establish_security_context is (mode != "none")
            if mode != "none":  # (without a session there is nothing to cancel)
                assert c.session.scs.require_cancellation is (mode == "session")
            # (every bootstrap's policy, UserNameOverTransport's included, reads back as its family)
            assert c.session.scs.message_security_version.name == binding
            first = await c.Echo(text="async")
            return [first, *await asyncio.gather(*(c.call("Add", a=i, b=i) for i in range(3)))]

    assert asyncio.run(main()) == ["async", 0, 2, 4]
    expected_events(mode, bootstrap, 4)(events)


# --- wssc call in every cell --------------------------------------------------------------------
def call_args(srv: Server, bootstrap: str, sts: Sts | None) -> list[str]:
    if bootstrap in FEDERATED:
        assert sts is not None
        return ["--sts", sts.url, "--sts-cafile", sts.cafile, "--username", "alice", "--password", "secret"]
    if signs_in(bootstrap):
        return ["--username", "alice", "--password", "secret"]
    if signs_with_certificate(bootstrap):
        cert, key = client_certificate(srv.home)
        return ["--client-cert", str(cert), "--client-key", str(key)]
    return []


@pytest.mark.parametrize(("binding", "mode", "bootstrap"), CELLS, ids=list(map(ids, CELLS)))
def test_wssc_call(
    request: pytest.FixtureRequest,
    server: Callable[..., Server],
    issuer_pem: Path,
    binding: str,
    mode: str,
    bootstrap: str,
) -> None:
    srv = server(*serve_args(binding, mode, bootstrap, issuer_pem))
    sts = request.getfixturevalue("sts") if bootstrap in FEDERATED else None
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "wssc",
            "call",
            "-v",
            srv.url,
            "Add",
            "20",
            "22",
            *call_args(srv, bootstrap, sts),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, WSSC_HOME=str(srv.home)),  # trusts the run's development certificate
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "42"
    events = [ln[1:].split("]", 1)[0] for ln in p.stderr.splitlines() if ln.startswith("[")]
    expected_events(mode, bootstrap, 1)(events)


# --- the sync Client and zeep where the other modules do not run them ---------------------------
HERE = [c for c in CLIENT_CELLS if c not in ELSEWHERE]


@pytest.mark.parametrize(("binding", "mode", "bootstrap"), HERE, ids=list(map(ids, HERE)))
def test_sync_client(cell_server: Callable[..., Any], binding: str, mode: str, bootstrap: str) -> None:
    srv, kw = cell_server(binding, mode, bootstrap)
    events: list[str] = []
    with Client.from_wsdl(srv.wsdl_url, verify=srv.verify, on_event=lambda e, d: events.append(e), **kw) as c:
        assert c.session.scs.establish_security_context is (mode != "none")
        assert c.Add(a=2, b=3) == 5
        assert c.Echo(text="héllo <&>") == "héllo <&>"
    expected_events(mode, bootstrap, 2)(events)


@pytest.mark.parametrize(("binding", "mode", "bootstrap"), HERE, ids=list(map(ids, HERE)))
def test_zeep(cell_server: Callable[..., Any], binding: str, mode: str, bootstrap: str) -> None:
    srv, kw = cell_server(binding, mode, bootstrap)
    kwargs = secure_session(srv.wsdl_url, verify=srv.verify, **kw)
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Add(a=2, b=3) == 5
        assert client.service.Echo(text="über <zeep>") == "über <zeep>"
        session = kwargs["transport"].secure_session
        assert (session.sct is None) is (mode == "none")
        assert session.cookie_mode is (mode == "cookie")


@pytest.mark.parametrize(("binding", "mode", "bootstrap"), HERE, ids=list(map(ids, HERE)))
async def test_zeep_async(cell_server: Callable[..., Any], binding: str, mode: str, bootstrap: str) -> None:
    srv, kw = cell_server(binding, mode, bootstrap)
    kwargs = async_secure_session(srv.wsdl_url, verify=srv.verify, **kw)
    async with zeep.AsyncClient(srv.wsdl_url, **kwargs) as client:
        assert await client.service.Add(a=7, b=8) == 15
        assert (kwargs["transport"].secure_session.sct is None) is (mode == "none")


# --- the cells wssc does not serve: a clear error, no traceback ---------------------------------
def test_the_wss10_cells_are_the_registrys() -> None:
    assert set(IN_WSS10) == {"mutual-certificate", "username-over-transport"}
    assert set(IN_WSS10) | set(NOT_IN_WSS10) == set(ALL)


@pytest.mark.parametrize("bootstrap", NOT_IN_WSS10)
def test_a_bootstrap_refuses_the_wss10_families_it_does_not_run_in(
    wssc_home: Path, issuer_pem: Path, bootstrap: str
) -> None:
    """WS-Security 1.0 changes only MutualCertificate's shape (WCF's AsymmetricBinding); the
    other message-security bootstraps' WCF shapes need WS-Security 1.1, and ``wssc serve``
    says so before it serves anything."""
    args = ["--bootstrap", bootstrap, "--binding", "ws2007-wss10", "--port", str(free_port())]
    if signs_with_certificate(bootstrap):
        args += ["--trust-client-cert", str(client_certificate(wssc_home)[0])]
    if bootstrap in FEDERATED:
        args += ["--issuer-cert", str(issuer_pem)]
    p = subprocess.run(
        [sys.executable, "-m", "wssc", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, WSSC_HOME=str(wssc_home)),
    )
    assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr
    assert "does not run in the ws2007-wss10 family (it runs in: wshttp, ws2007)" in p.stderr, p.stderr


@pytest.mark.parametrize("binding", BINDINGS)
def test_a_renew_in_cookie_mode_is_refused_with_unable_to_renew(
    server: Callable[..., Server], issuer_pem: Path, binding: str
) -> None:
    """Cookie mode has no Renew (the client never sends one); one sent all the same gets
    WCF's ``UnableToRenew``, and the session goes on."""
    from test_sessions import Raw

    from wssc.errors import UnableToRenew

    srv = server(*serve_args(binding, "cookie", "anonymous-for-certificate", issuer_pem))
    raw = Raw(srv)
    raw.issue()
    assert raw.session.cookie_mode and not raw.session.renew_due(time.time())
    now = time.time()
    out = raw.session.renew_request(now)
    with pytest.raises(UnableToRenew):
        raw.session.renew_response(raw.post(out), out, now)
    assert raw.add(2, 2) == 4
