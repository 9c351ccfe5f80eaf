"""Live: wssc's client against a Metro (Eclipse WSIT) service, over HTTP/HTTPS on loopback.

``wssc.metro.MetroService`` publishes a WSDL written by hand in WCF's policy shapes (not by
wssc), and Metro serves it. ``Client.from_wsdl`` must read that policy, open a session (RST/SCT),
call three times and cancel. The Metro side prints ``AUTH`` and ``CALL`` lines on stdout.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from metro_peer import MetroService, Relay, change_message_id, metro_classpath, start_metro_service

from wssc.client import Client
from wssc.errors import RemoteFault

pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def metro_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., MetroService]]:
    metro_classpath()  # a missing build: loud skip, or a failure under CI
    home = tmp_path_factory.mktemp("metro-service")
    started: dict[tuple[str, ...], MetroService] = {}

    def get(*args: str) -> MetroService:
        if args not in started:
            started[args] = start_metro_service(home, *args)
        return started[args]

    yield get
    for s in started.values():
        s.stop()


def session(svc: MetroService, **kw: object) -> tuple[list[tuple[str, str]], list[object], str]:
    events: list[tuple[str, str]] = []
    mark = svc.mark()
    results: list[object] = []
    with Client.from_wsdl(
        svc.wsdl_url, verify=str(svc.cert_pem), on_event=lambda n, d: events.append((n, d)), **kw
    ) as c:
        for i in range(1, 4):
            results.append(c.Add(a=i, b=100))
        results.append(c.Echo(text="wssc \u00e9\u00e8 <&>"))
    return (
        events,
        results,
        svc.out_since(mark, until=lambda out: len(re.findall(r"^CALL Add", out, re.M)) >= 3),
    )


def check_full_session(events: list[tuple[str, str]], results: list[object], out: str) -> None:
    assert results == [101, 102, 103, "wssc \u00e9\u00e8 <&>"]
    names = [n for n, _ in events]
    assert names[0] == "issue" and names[-1] == "cancel", events
    assert names.count("issue") == 1 and names.count("cancel") == 1, events
    assert len(re.findall(r"^CALL Add (\d) 100", out, re.M)) == 3, out  # Metro ran the calls


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_username_over_transport(metro_services: Callable[..., MetroService], binding: str) -> None:
    svc = metro_services("unot", binding)
    events, results, out = session(svc, username="alice", password="secret")
    check_full_session(events, results, out)
    assert "AUTH alice ok" in out


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_anonymous_for_certificate(metro_services: Callable[..., MetroService], binding: str) -> None:
    svc = metro_services("afc", binding)
    events, results, out = session(svc)
    check_full_session(events, results, out)


@pytest.mark.parametrize("derived", [True, False], ids=["dk", "nodk"])
@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_username_for_certificate(
    metro_services: Callable[..., MetroService], binding: str, derived: bool
) -> None:
    """UserNameForCertificate: the policy Metro serves imports as UserNameForCertificate, and
    Metro's validator sees the UsernameToken wssc sends encrypted (after the ReferenceList)."""
    import httpx

    from wssc.bootstrap.registry import settings_from_wsdl
    from wssc.settings import Bootstrap

    svc = metro_services("unfc", binding, *(() if derived else ("--no-derived-keys",)))
    s = settings_from_wsdl(httpx.get(svc.wsdl_url).content).settings
    assert s.bootstrap is Bootstrap.USERNAME_FOR_CERTIFICATE
    assert s.require_derived_keys is derived
    events, results, out = session(svc, username="alice", password="secret")
    check_full_session(events, results, out)
    assert "AUTH alice ok" in out


def test_username_for_certificate_wrong_password_is_refused_by_metro(
    metro_services: Callable[..., MetroService],
) -> None:
    svc = metro_services("unfc", "ws2007")
    mark = svc.mark()
    with (
        pytest.raises(RemoteFault),
        Client.from_wsdl(svc.wsdl_url, username="alice", password="wrong") as c,
    ):
        c.Add(a=1, b=2)
    out = svc.out_since(mark, until=lambda out: "AUTH alice refused" in out)
    assert "AUTH alice refused" in out and "CALL" not in out


def test_policy_import_reads_metros_wsdl(metro_services: Callable[..., MetroService]) -> None:
    """The settings wssc takes from a policy it did not write (Metro serves it; Metro keeps
    its private key-store assertions out)."""
    import httpx

    from wssc.bootstrap.registry import settings_from_wsdl
    from wssc.client.common import tls_verify
    from wssc.settings import WS2007, WSHTTP, Bootstrap

    for bootstrap, binding, version in (("unot", "ws2007", WS2007), ("afc", "wshttp", WSHTTP)):
        svc = metro_services(bootstrap, binding)
        wsdl = httpx.get(svc.wsdl_url, verify=tls_verify(str(svc.cert_pem))).content
        assert b"<sc:KeyStore" not in wsdl and b"ValidatorConfiguration" not in wsdl
        ep = settings_from_wsdl(wsdl)
        s = ep.settings
        assert s.message_security_version == version
        assert s.bootstrap is (
            Bootstrap.USERNAME_OVER_TRANSPORT if bootstrap == "unot" else Bootstrap.ANONYMOUS_FOR_CERTIFICATE
        )
        assert s.require_cancellation
        assert s.require_derived_keys == (bootstrap == "afc")
        assert ep.service_certificate_der is not None


# --- negatives: Metro refuses, with a fault -----------------------------------------------------
def test_wrong_password_is_refused_by_metro(metro_services: Callable[..., MetroService]) -> None:
    svc = metro_services("unot", "ws2007")
    mark = svc.mark()
    with (
        pytest.raises(RemoteFault) as err,
        Client.from_wsdl(svc.wsdl_url, verify=str(svc.cert_pem), username="alice", password="wrong") as c,
    ):
        c.Add(a=1, b=2)
    out = svc.out_since(mark, until=lambda out: "AUTH alice refused" in out)
    assert "AUTH alice refused" in out
    assert "CALL" not in out
    assert err.value.code.local in ("FailedAuthentication", "InvalidSecurity", "InvalidSecurityToken"), (
        err.value
    )


def test_untrusted_tls_certificate_is_refused_by_wssc(
    metro_services: Callable[..., MetroService], tmp_path: Path
) -> None:
    from wssc.certs import generate_self_signed, save
    from wssc.errors import TransportError

    svc = metro_services("unot", "ws2007")
    other = tmp_path / "other.pem"
    save(generate_self_signed("other"), other, tmp_path / "other.key")
    with pytest.raises(TransportError, match=r"(?i)certificate|ssl|wsdl"):
        Client.from_wsdl(svc.wsdl_url, verify=str(other), username="alice", password="secret")


def test_wssc_encrypting_to_another_certificate_is_refused_by_metro(
    metro_services: Callable[..., MetroService], tmp_path: Path
) -> None:
    from wssc.certs import Certificate, generate_self_signed

    svc = metro_services("afc", "ws2007")
    other = Certificate(generate_self_signed("other").cert)
    mark = svc.mark()
    with pytest.raises(RemoteFault), Client.from_wsdl(svc.wsdl_url, service_certificate=other) as c:
        c.Add(a=1, b=2)
    assert "CALL" not in svc.out_since(mark)


def test_tampered_request_is_refused_by_metro(metro_services: Callable[..., MetroService]) -> None:
    svc = metro_services("afc", "ws2007")
    relay = Relay(svc.url, lambda n, body: change_message_id(body) if n == 0 else body)
    try:
        mark = svc.mark()
        with pytest.raises(RemoteFault) as err:  # Metro's fault, not a local check
            c = Client.from_wsdl(relay.url() + "?wsdl")
            c.address = relay.url()
            with c:
                c.Add(a=1, b=2)
    finally:
        relay.close()
    assert relay.tampered == [0]
    assert "CALL" not in svc.out_since(mark)
    assert err.value.code.local in ("InvalidSecurity", "FailedCheck"), err.value


def test_renewal_over_transport(metro_services: Callable[..., MetroService]) -> None:
    """Metro issues SCTs that live 6 s here; wssc renews at 60 % (3.6 s) with a Renew over the
    bootstrap channel (UsernameToken + the SCT endorsing), then calls under the new key."""
    import time

    svc = metro_services("unot", "ws2007", "--sc-lifetime-ms", "6000")
    events: list[tuple[str, str]] = []
    mark = svc.mark()
    with Client.from_wsdl(
        svc.wsdl_url,
        verify=str(svc.cert_pem),
        username="alice",
        password="secret",
        on_event=lambda n, d: events.append((n, d)),
    ) as c:
        assert c.Add(a=1, b=100) == 101
        # The SCT must age on the wall clock: poll until the session is due for renewal (60 %
        # of 6 s), deadline 10 s; the next call then renews.
        deadline = time.monotonic() + 10
        while not c.session.renew_due(time.time()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.session.renew_due(time.time())
        assert c.Add(a=2, b=100) == 102
        assert c.Add(a=3, b=100) == 103
    names = [n for n, _ in events]
    assert names.count("renew") == 1 and names[-1] == "cancel", events
    assert names.index("renew") == 2, events  # issue, call, renew, call, call, cancel
    out = svc.out_since(mark, until=lambda out: len(re.findall(r"^CALL Add", out, re.M)) >= 3)
    assert len(re.findall(r"^CALL Add", out, re.M)) == 3


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_renewal_under_message_security(metro_services: Callable[..., MetroService], binding: str) -> None:
    """AnonymousForCertificate: wssc renews with WCF's Renew (a fresh EncryptedKey, the SCT
    endorsing the encrypted primary signature; FINDINGS.md W5b), Metro renews the context,
    and the calls go on under the new key."""
    import time

    svc = metro_services("afc", binding, "--sc-lifetime-ms", "6000")
    events: list[tuple[str, str]] = []
    mark = svc.mark()
    with Client.from_wsdl(
        svc.wsdl_url, verify=str(svc.cert_pem), on_event=lambda n, d: events.append((n, d))
    ) as c:
        assert c.Add(a=1, b=100) == 101
        # The SCT must age on the wall clock: poll until the session is due for renewal (60 %
        # of 6 s), deadline 10 s; the next call then renews.
        deadline = time.monotonic() + 10
        while not c.session.renew_due(time.time()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.session.renew_due(time.time())
        assert c.Add(a=2, b=100) == 102
        assert c.Add(a=3, b=100) == 103
        assert c.session is not None and c.session.sct is not None
        assert c.session.sct.instance  # the renewed generation
    names = [n for n, _ in events]
    assert names == ["issue", "call", "renew", "call", "call", "cancel"], events
    out = svc.out_since(mark, until=lambda out: len(re.findall(r"^CALL Add", out, re.M)) >= 3)
    assert len(re.findall(r"^CALL Add", out, re.M)) == 3


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_must_not_send_cancel_from_a_foreign_policy(
    metro_services: Callable[..., MetroService], binding: str
) -> None:
    """A hand-written policy with ``mssp:MustNotSendCancel`` (SP 1.1) or ``sp:MustNotSendCancel``
    (SP 1.2): wssc's client then never cancels (Metro itself keeps a session either way)."""
    import httpx

    from wssc.bootstrap.registry import settings_from_wsdl
    from wssc.client.common import tls_verify

    svc = metro_services("unot", binding, "--no-require-cancellation")
    wsdl = httpx.get(svc.wsdl_url, verify=tls_verify(str(svc.cert_pem))).content
    assert (b"mssp:MustNotSendCancel" if binding == "wshttp" else b"sp:MustNotSendCancel") in wsdl
    assert settings_from_wsdl(wsdl).settings.require_cancellation is False
    events, results, out = session(svc, username="alice", password="secret")
    assert results == [101, 102, 103, "wssc \u00e9\u00e8 <&>"]
    names = [n for n, _ in events]
    assert names.count("issue") == 1 and "cancel" not in names, events
    assert len(re.findall(r"^CALL Add", out, re.M)) == 3, out
