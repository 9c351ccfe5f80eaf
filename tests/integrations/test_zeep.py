"""zeep's Client and AsyncClient over a wssc secure session (wssc.integrations.zeep), against a
running ``wssc serve`` in every {binding × session/cookie × bootstrap} variant; the service log
shows a Cancel exactly when the policy allows one."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import zeep

from servers import BOOTSTRAP_NAMES, NEGOTIATING, client_credentials
from wssc.integrations.zeep import (
    AsyncTransport,
    Transport,
    async_secure_session,
    secure_session,
)

pytestmark = pytest.mark.e2e

BINDINGS = ["wshttp", "ws2007"]
MODES = ["session", "cookie"]
BOOTSTRAPS = BOOTSTRAP_NAMES
#: establishSecurityContext=false: every bootstrap (a negotiating one's token protects each message)
PER_MESSAGE = BOOTSTRAPS


def _args(binding: str, mode: str, bootstrap: str) -> tuple[str, ...]:
    args = ("--binding", binding, "--bootstrap", bootstrap)
    return args + (("--no-require-cancellation",) if mode == "cookie" else ())


def _opts(srv: Any, bootstrap: str) -> dict[str, Any]:
    opts: dict[str, Any] = {"verify": srv.verify}
    opts.update(client_credentials(bootstrap, srv.home))
    return opts


def _wait_for(srv: Any, pattern: str, present: bool) -> None:
    """The server logs each event before it answers, but through a pipe: poll for it."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if (re.search(pattern, srv.log()) is not None) == present:
            return
        time.sleep(0.05)
    assert (re.search(pattern, srv.log()) is not None) == present, (pattern, srv.log()[-2000:])


def _until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Poll ``condition`` until it holds (a deadline, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.02)


def _record_requests(transport: Transport | AsyncTransport) -> list[bytes]:
    """The bodies of the requests ``transport`` sends, recorded at its own HTTP client as
    each goes out: once the call (or ``close``) has returned, the list is final."""
    sent: list[bytes] = []

    def seen(body: object) -> None:
        sent.append(body if isinstance(body, bytes) else str(body or "").encode())

    if isinstance(transport, AsyncTransport):

        async def hook(request: Any) -> None:
            seen(request.content)

        transport.client.event_hooks["request"].append(hook)
    else:
        transport.session.hooks["response"].append(lambda r, *a, **k: seen(r.request.body))
    return sent


def _count(sent: list[bytes], action_tail: str) -> int:
    """How many of ``sent`` carry a wsa:Action ending in ``action_tail`` (``/RST/SCT``…)."""
    return sum(f"{action_tail}</".encode() in body for body in sent)


def _check_end(srv: Any, sct_id: str, mode: str, sent: list[bytes]) -> None:
    """Session mode: one Cancel sent, and the service cancelled the SCT. Cookie mode
    (MustNotSendCancel): not one Cancel left the client (counted at its HTTP client)."""
    _wait_for(srv, rf"issued (cookie-mode )?SCT {re.escape(sct_id)}", True)
    if mode == "session":
        assert _count(sent, "/RST/SCT/Cancel") == 1
        _wait_for(srv, rf"cancelled SCT {re.escape(sct_id)}", True)
    else:
        assert _count(sent, "/RST/SCT") == 1  # the requests were recorded: the RST is there
        assert _count(sent, "/RST/SCT/Cancel") == 0


@pytest.mark.parametrize("bootstrap", BOOTSTRAPS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("binding", BINDINGS)
def test_zeep_client(server: Callable[..., Any], binding: str, mode: str, bootstrap: str) -> None:
    srv = server(*_args(binding, mode, bootstrap))
    kwargs = secure_session(srv.wsdl_url, **_opts(srv, bootstrap))
    transport = kwargs["transport"]
    assert isinstance(transport, Transport) and kwargs["wsse"] is transport.wsse
    sent = _record_requests(transport)
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Add(a=2, b=3) == 5
        assert client.service.Echo(text="über <zeep>") == "über <zeep>"
        session = transport.secure_session
        assert session.sct is not None
        assert session.cookie_mode == (mode == "cookie")
        sct_id = session.sct.identifier
        assert client.service.Add(a=40, b=2) == 42
        assert transport.secure_session.sct.identifier == sct_id  # one session for all calls
    assert not session.is_open
    _check_end(srv, sct_id, mode, sent)


@pytest.mark.parametrize("bootstrap", BOOTSTRAPS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("binding", BINDINGS)
async def test_zeep_async_client(server: Callable[..., Any], binding: str, mode: str, bootstrap: str) -> None:
    srv = server(*_args(binding, mode, bootstrap))
    kwargs = async_secure_session(srv.wsdl_url, **_opts(srv, bootstrap))
    transport = kwargs["transport"]
    assert isinstance(transport, AsyncTransport)
    sent = _record_requests(transport)
    async with zeep.AsyncClient(srv.wsdl_url, **kwargs) as client:
        assert await client.service.Add(a=7, b=8) == 15
        assert await client.service.Echo(text="async") == "async"
        session = transport.secure_session
        assert session.sct is not None
        sct_id = session.sct.identifier
    assert not session.is_open
    _check_end(srv, sct_id, mode, sent)


def test_transport_without_the_wsse_plugin(server: Callable[..., Any]) -> None:
    # The transport secures the messages itself when zeep has no wsse plugin.
    srv = server("--binding", "ws2007")
    t = Transport.from_wsdl(srv.wsdl_url)
    sent = _record_requests(t)
    with zeep.Client(srv.wsdl_url, transport=t) as client:
        assert client.wsse is None
        assert client.service.Add(a=1, b=2) == 3
        sct_id = t.secure_session.sct.identifier
    _check_end(srv, sct_id, "session", sent)


@pytest.mark.parametrize("plugin", [True, False])
def test_unsecured_fault_becomes_zeep_fault(server: Callable[..., Any], plugin: bool) -> None:
    # WCF answers an unknown SCT with an unsecured BadContextToken fault: a zeep Fault, with
    # the wssc error as its cause (not "the reply is not secured").
    srv = server("--binding", "ws2007")
    kwargs = secure_session(srv.wsdl_url)
    if not plugin:
        del kwargs["wsse"]
    t = kwargs["transport"]
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Add(a=1, b=1) == 2
        s = t.secure_session
        s.sct = dataclasses.replace(s.sct, identifier="urn:uuid:not-a-session")
        with pytest.raises(zeep.exceptions.Fault) as info:
            client.service.Add(a=1, b=1)
        assert [q.localname for q in info.value.subcodes] == ["BadContextToken"]
        from wssc.errors import BadContextToken

        assert isinstance(info.value.__cause__, BadContextToken)
        assert not s.is_open  # the session is known to be gone: no Cancel for it


def test_wrong_password_is_a_zeep_fault(server: Callable[..., Any]) -> None:
    srv = server(*_args("wshttp", "session", "username-over-transport"))
    kwargs = secure_session(srv.wsdl_url, verify=srv.verify, username="alice", password="wrong")
    with zeep.Client(srv.wsdl_url, **kwargs) as client, pytest.raises(zeep.exceptions.Fault) as info:
        client.service.Add(a=1, b=1)
    assert info.value.subcodes and info.value.subcodes[0].localname in (
        "FailedAuthentication",
        "InvalidSecurity",
    )


def test_renews_under_zeep(server: Callable[..., Any]) -> None:
    # A short key lifetime makes the client renew (at 60 %) within the test.
    srv = server("--key-renewal", "2")
    t = Transport.from_wsdl(srv.wsdl_url)
    with zeep.Client(srv.wsdl_url, transport=t, wsse=t.wsse) as client:
        assert client.service.Add(a=1, b=1) == 2
        first = t.secure_session.sct
        _until(lambda: t.secure_session.renew_due(time.time()), "the renewal time (60 %)")
        assert client.service.Add(a=2, b=2) == 4
        renewed = t.secure_session.sct
        assert renewed.identifier == first.identifier and renewed.instance != first.instance
    _wait_for(srv, rf"renewed SCT {re.escape(first.identifier)}|renew.*{re.escape(first.identifier)}", True)


@pytest.mark.parametrize("plugin", [True, False])
def test_renew_needed_renews_and_resends(server: Callable[..., Any], plugin: bool) -> None:
    # The client misses its own renewal time; the service answers RenewNeeded once the key has
    # expired, and the transport renews and resends the call: the caller sees only the result.
    srv = server("--binding", "ws2007", "--key-renewal", "2")
    t = Transport.from_wsdl(srv.wsdl_url)
    kwargs: dict[str, Any] = {"transport": t, "wsse": t.wsse} if plugin else {"transport": t}
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Add(a=1, b=1) == 2
        s = t.secure_session
        first = s.sct
        s.renew_at = float("inf")  # never renew on time
        key_to = s.key_to
        assert key_to < time.time() + 10  # the service's 2 s key lifetime, from its RSTR
        _until(lambda: time.time() > key_to + 0.2, "the key's expiry")
        assert client.service.Add(a=20, b=22) == 42
        assert s.sct.identifier == first.identifier and s.sct.instance != first.instance
    _wait_for(srv, rf"renewed SCT {re.escape(first.identifier)}", True)
    assert "RenewNeeded" in srv.log()


@pytest.mark.parametrize("bootstrap", PER_MESSAGE)
@pytest.mark.parametrize("plugin", [True, False])
def test_per_message_security_without_a_session(
    server: Callable[..., Any], bootstrap: str, plugin: bool
) -> None:
    # establishSecurityContext=false: each message secured by the bootstrap, no RST, no Cancel.
    srv = server("--bootstrap", bootstrap, "--no-secure-context")
    kwargs = secure_session(srv.wsdl_url, **_opts(srv, bootstrap))
    if not plugin:
        del kwargs["wsse"]
    t = kwargs["transport"]
    sent = _record_requests(t)
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Add(a=3, b=4) == 7
        assert client.service.Echo(text="no session") == "no session"
        assert t.secure_session.sct is None
    # Recorded as they went out: the negotiation's legs (a negotiating bootstrap only), the two
    # calls, and no RST/SCT or Cancel before, between or after.
    legs = _count(sent, "/RST/Issue") + _count(sent, "/RSTR/Issue")
    assert (legs >= 1) == (bootstrap in NEGOTIATING) and _count(sent, "/RST/Issue") <= 1
    assert len(sent) == legs + 2 and _count(sent, "/Add") == 1 and _count(sent, "/Echo") == 1
    assert _count(sent, "/RST/SCT") == _count(sent, "/RST/SCT/Cancel") == 0


@pytest.mark.parametrize("bootstrap", PER_MESSAGE)
async def test_per_message_security_async(server: Callable[..., Any], bootstrap: str) -> None:
    import asyncio

    srv = server("--bootstrap", bootstrap, "--no-secure-context")
    kwargs = async_secure_session(srv.wsdl_url, **_opts(srv, bootstrap))
    async with zeep.AsyncClient(srv.wsdl_url, **kwargs) as client:
        # concurrent calls: each reply is verified with its own request's bootstrap context
        got = await asyncio.gather(*(client.service.Add(a=i, b=i) for i in range(4)))
        assert got == [0, 2, 4, 6]


@pytest.mark.parametrize("secure_context", [True, False])
def test_debug_logs_carry_no_password(
    server: Callable[..., Any], secure_context: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # zeep's own transport logs whole messages at DEBUG; a UsernameToken (and session tokens)
    # must not end up there.
    import logging

    caplog.set_level(logging.DEBUG)
    args = ("--bootstrap", "username-over-transport", "--user", "bob:pw-Zq8-not-in-logs")
    srv = server(*args, *(() if secure_context else ("--no-secure-context",)))
    kwargs = secure_session(srv.wsdl_url, verify=srv.verify, username="bob", password="pw-Zq8-not-in-logs")
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Add(a=1, b=2) == 3
    assert "HTTP Post to" in caplog.text  # zeep's debug line is there, without the body
    assert "pw-Zq8-not-in-logs" not in caplog.text
    assert "UsernameToken" not in caplog.text


def test_secure_session_takes_a_credentials_object(server: Callable[..., Any]) -> None:
    """``credentials=`` is the object the public API takes; the keywords are its shorthand,
    and the two cannot disagree (checked before any message is sent)."""
    from wssc.bootstrap.registry import ClientCredentials
    from wssc.errors import ConfigurationError

    srv = server(*_args("wshttp", "session", "username-over-transport"))
    creds = ClientCredentials(username="alice", password="secret")
    kwargs = secure_session(srv.wsdl_url, verify=srv.verify, credentials=creds)
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Add(a=2, b=2) == 4
    akw = async_secure_session(srv.wsdl_url, verify=srv.verify, credentials=creds)
    assert akw["transport"].core.session.bootstrap.username == "alice"
    with pytest.raises(ConfigurationError, match="username given twice"):
        secure_session(srv.wsdl_url, verify=srv.verify, credentials=creds, username="mallory")
