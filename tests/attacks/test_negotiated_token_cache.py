"""The negotiated-token cache and per-message security over a negotiated token
(``wssc serve --bootstrap spnego|tlsnego --no-secure-context``), attacked over HTTP against a
real ``wssc serve`` (SPNEGO over the real MIT KDC of `tests/kdc.py`).

A finished negotiation's token leaves the negotiation states for the negotiated-token cache
(`wssc.session.negotiated`: ``max_cached_cookies``, WCF's 1000, and a per-peer share); past
either bound a new negotiation gets WCF's ``ServerTooBusy``. A message under a token the cache
does not hold (unknown, expired) or whose keys do not derive from the cached token's key gets
the generic fault. Each refusal is also found in the service log: which check refused.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from attack_kit import (
    app_envelope,
    assert_fault,
    assert_refused_by,
    fault_logged,
    log_mark,
    post,
    wait_for_log,
)
from lxml import etree

from kdc import PASSWORD, REALM, SERVICE, Kdc
from servers import Server
from wssc.bootstrap.registry import ClientCredentials
from wssc.bootstrap.spnego import SpnegoNegotiated
from wssc.client import Client
from wssc.errors import ServerTooBusy
from wssc.tokens.sct import SecurityContextToken
from wssc.xml import ns


@pytest.fixture
def spnego(kdc: Kdc, server: Callable[..., Server]) -> Callable[..., Server]:
    """``spnego(binding, *extra)``: ``wssc serve --bootstrap spnego --no-secure-context``."""

    def get(binding: str = "wshttp", *extra: str) -> Server:
        return server(
            "--bootstrap",
            "spnego",
            "--binding",
            binding,
            "--keytab",
            str(kdc.service_keytab),
            "--spn",
            SERVICE,
            "--no-secure-context",
            *extra,
        )

    return get


def client(srv: Server) -> Client:
    creds = ClientCredentials(username=f"alice@{REALM}", password=PASSWORD)
    return Client.from_wsdl(srv.wsdl_url, credentials=creds)


def negotiated_of(c: Client) -> SpnegoNegotiated:
    half = c.session._negotiated
    assert isinstance(half, SpnegoNegotiated)
    return half


def app_message(c: Client, under: SpnegoNegotiated, a: int = 1, b: int = 2) -> bytes:
    """An Add request protected by ``under`` (a negotiated token, real or forged)."""
    root, _ = under.secure(app_envelope(c, "Add", a=a, b=b), c.session.policy)
    return etree.tostring(root)


# --- the shape works, both families, through the CLI ----------------------------------------
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_wssc_call_without_a_session_over_spnego(spnego: Callable[..., Server], binding: str) -> None:
    srv = spnego(binding)
    wsdl = httpx.get(srv.wsdl_url, timeout=30).content
    assert b"SpnegoContextToken" in wsdl and b"SecureConversationToken" not in wsdl
    since = log_mark(srv)
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "call", srv.url, "Add", "2", "3", "--repeat", "3", "-v",
         "--username", f"alice@{REALM}", "--password", PASSWORD],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
    assert done.stderr.count("[negotiate]") == 1  # one negotiation, three messages under it
    wait_for_log(srv, f"cached for 900s (identity 'alice@{REALM}')", since=since)
    assert "issued SCT" not in srv.log()[since:]  # no session


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_wssc_call_without_a_session_over_tlsnego(server: Callable[..., Server], binding: str) -> None:
    srv = server("--bootstrap", "username-tlsnego", "--binding", binding, "--no-secure-context")
    since = log_mark(srv)
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "call", srv.url, "Echo", "hi", "--repeat", "2", "-v",
         "--username", "alice", "--password", "secret"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "hi"), done.stderr
    # the handshake is anonymous; the UsernameToken rides in each message under the token
    wait_for_log(srv, "cached for 900s (identity 'anonymous')", since=since)
    assert "issued SCT" not in srv.log()[since:]
    since = log_mark(srv)
    done = subprocess.run(
        [sys.executable, "-m", "wssc", "call", srv.url, "Echo", "hi",
         "--username", "alice", "--password", "not-the-password"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    wait_for_log(srv, "cached for 900s", since=since)  # the handshake passed; the message did not
    assert "fault" in srv.log()[since:]


# --- the cache's bounds ----------------------------------------------------------------------
def test_finished_negotiations_free_their_slot_and_the_cache_is_bounded(
    spnego: Callable[..., Server],
) -> None:
    """Two negotiation slots, three cached tokens: three negotiations finish one after the
    other (each frees its slot as it ends), the fourth finds the cache full: ServerTooBusy,
    with the cache's bound in the log."""
    srv = spnego(
        "ws2007",
        "--max-stateful-negotiations", "2",
        "--max-cached-cookies", "3",
        "--max-cached-cookies-per-peer", "0",
    )  # fmt: skip
    since = log_mark(srv)
    for n in range(3):
        with client(srv) as c:
            assert c.Add(a=n, b=1) == n + 1
    with pytest.raises(ServerTooBusy):
        with client(srv) as c:
            c.Add(a=1, b=1)
    fault_logged(srv, "max_cached_cookies (3) negotiated tokens are cached", since=since)


def test_one_address_holds_its_share_of_negotiated_tokens(spnego: Callable[..., Server]) -> None:
    srv = spnego("wshttp", "--max-cached-cookies-per-peer", "2")
    since = log_mark(srv)
    for _ in range(2):
        with client(srv) as c:
            assert c.Add(a=1, b=1) == 2
    with pytest.raises(ServerTooBusy):
        with client(srv) as c:
            c.Add(a=1, b=1)
    fault_logged(srv, "the peer holds 2 negotiated tokens", since=since)


# --- messages under a token the cache does not vouch for ---------------------------------------
def test_a_message_under_an_unknown_negotiated_token_is_refused(spnego: Callable[..., Server]) -> None:
    srv = spnego("wshttp")
    with client(srv) as c:
        assert c.Add(a=1, b=1) == 2  # a real negotiation, so the service holds one token
        forged = SpnegoNegotiated(SecurityContextToken(f"urn:uuid:{uuid.uuid4()}"), bytes(32))
        since = log_mark(srv)
        r = post(srv, app_message(c, forged))
    assert_refused_by(
        srv, r, "the message's SCT is not one a finished SPNEGO negotiation issued", since=since
    )


def test_a_message_whose_key_does_not_derive_from_the_cached_token_is_refused(
    spnego: Callable[..., Server],
) -> None:
    """The cached token's identifier, and keys derived from another secret: the message does
    not decrypt (nor would it verify) under the cached token's key. The real key is the control."""
    srv = spnego("ws2007")
    with client(srv) as c:
        assert c.Add(a=1, b=1) == 2
        real = negotiated_of(c)
        since = log_mark(srv)
        r = post(srv, app_message(c, real))  # the control: the real key is accepted
        assert r.status_code == 200, r.text
        wrong = SpnegoNegotiated(real.sct, bytes(len(real.key)))
        since = log_mark(srv)
        r = post(srv, app_message(c, wrong))
    # The body, encrypted under a key derived from the other secret, does not decrypt under
    # the cached token's: AES-CBC either finds bad padding or yields bytes that are not XML.
    assert_refused_by(srv, r, "the decrypted data ", since=since)
    logged = srv.log()[since:]
    assert (
        "the decrypted data is not well-formed XML (wrong key?)" in logged
        or "the decrypted data has invalid padding" in logged
    ), logged


def test_a_message_under_an_expired_negotiated_token_is_refused(spnego: Callable[..., Server]) -> None:
    """The negotiated token lives 2 s here (``--negotiated-token-lifetime``): a message under
    it once its Lifetime has passed (the clock polled with a deadline) is refused, and the
    cache has dropped it."""
    srv = spnego("wshttp", "--negotiated-token-lifetime", "2")
    with client(srv) as c:
        assert c.Add(a=1, b=1) == 2
        real = negotiated_of(c)
        created, expires = real.lifetime
        assert created is not None and expires is not None and expires - created == pytest.approx(2, abs=1)
        deadline = time.monotonic() + 30
        while time.time() <= expires + 0.5:  # poll until the token's end has passed
            assert time.monotonic() < deadline
            time.sleep(0.05)
        since = log_mark(srv)
        r = post(srv, app_message(c, real))
    assert_refused_by(
        srv, r, "the message's SCT is not one a finished SPNEGO negotiation issued", since=since
    )


def test_the_cache_full_is_wcfs_server_too_busy_on_the_wire(spnego: Callable[..., Server]) -> None:
    """ServerTooBusy is WCF's fault for the cache too: its code on the wire, for the leg that
    would finish a negotiation, and the reason in the log."""
    srv = spnego("wshttp", "--max-cached-cookies", "1", "--max-cached-cookies-per-peer", "0")
    with client(srv) as c:
        assert c.Add(a=1, b=1) == 2
    with client(srv) as c:
        since = log_mark(srv)
        r = post(srv, c.session.negotiation_request(time.time()).body)
    fault = assert_fault(r, "ServerTooBusy")
    assert fault.code == f"{{{ns.DNSE}}}ServerTooBusy"
    fault_logged(srv, "max_cached_cookies (1) negotiated tokens are cached", since=since)
