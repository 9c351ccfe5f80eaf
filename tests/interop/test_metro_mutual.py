"""Live: wssc's client against a Metro (Eclipse WSIT) MutualCertificate service (WS-Security
1.1 shape: the service's X.509 protects, the client's X.509 endorses; Metro's trust store holds
the client certificate). Metro's verdict decides: it runs the calls (``CALL`` lines) only for a
request it accepted, and refuses a client certificate its trust store does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from metro_certificates import metro_client, metro_services, wssc_services
from metro_peer import MetroService, WsscService, expect_ok

from wssc.bootstrap.registry import ClientCredentials, settings_from_wsdl
from wssc.certs import Certificate, generate_self_signed, save
from wssc.client import Client
from wssc.errors import RemoteFault
from wssc.settings import Bootstrap

pytestmark = pytest.mark.peer

CLIENT = generate_self_signed("wssc-metro-client")


@pytest.fixture(scope="module")
def metro_mc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], MetroService]]:
    with metro_services(tmp_path_factory.mktemp("metro-mutual"), CLIENT) as get:
        yield lambda binding: get("mc", binding)


def client(svc: MetroService, cert: Certificate, events: list[str]) -> Client:
    return Client.from_wsdl(
        svc.wsdl_url, credentials=ClientCredentials(certificate=cert), on_event=lambda n, d: events.append(n)
    )


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_a_whole_session_with_a_renew(metro_mc: Callable[[str], MetroService], binding: str) -> None:
    svc = metro_mc(binding)
    s = settings_from_wsdl(httpx.get(svc.wsdl_url).content).settings
    assert s.bootstrap is Bootstrap.MUTUAL_CERTIFICATE
    mark = svc.mark()
    events: list[str] = []
    with client(svc, CLIENT, events) as c:
        assert c.Add(a=1, b=100) == 101
        c.session.force_renew = True
        assert c.Add(a=2, b=100) == 102
        assert c.Echo(text="wssc é <&>") == "wssc é <&>"
    assert events[0] == "issue" and "renew" in events and events[-1] == "cancel", events
    out = svc.out_since(mark, until=lambda o: len(re.findall(r"^CALL Add", o, re.M)) >= 2)
    assert len(re.findall(r"^CALL Add (\d) 100", out, re.M)) == 2, out


def test_metro_refuses_a_certificate_its_trust_store_lacks(metro_mc: Callable[[str], MetroService]) -> None:
    svc = metro_mc("ws2007")
    mark = svc.mark()
    with pytest.raises(RemoteFault), client(svc, generate_self_signed("stranger"), []) as c:
        c.Add(a=1, b=2)
    assert "CALL" not in svc.out_since(mark)


# --- Metro's client against wssc's service ---------------------------------------------------
@pytest.fixture(scope="module")
def wssc_mc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Callable[..., WsscService], Path]]:
    home = tmp_path_factory.mktemp("wssc-mutual")
    with wssc_services(home, CLIENT) as get:
        yield get, home


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_metros_client_opens_a_whole_session(
    wssc_mc: tuple[Callable[..., WsscService], Path], binding: str
) -> None:
    """Under SignBeforeEncrypt (WCF's ``messageProtectionOrder``; no sp:EncryptSignature):
    Metro's endorsement travels in the clear there, as the policy allows (M13)."""
    get, home = wssc_mc
    svc = get(binding, "--protection-order", "SignBeforeEncrypt")
    run, log = metro_client(svc, home)
    expect_ok(run)
    assert run.result["results"] == [101, 102, 103], run.explain()
    assert run.result["closed"] is True
    assert len(log.issued) == 1 and log.cancelled == log.issued, log.text
    assert "(identity 'CN=wssc-metro-client')" in log.text, log.text
    assert log.faults == [], log.text


def test_metros_unencrypted_endorsement_is_refused_under_encrypt_signature(
    wssc_mc: tuple[Callable[..., WsscService], Path],
) -> None:
    """Under WCF's default EncryptSignature Metro encrypts its primary signature but sends its
    X.509 endorsement in the clear (FINDINGS M13); WCF requires every signature encrypted, and
    so does wssc: refused, with the reason logged."""
    get, home = wssc_mc
    svc = get("ws2007")
    run, log = metro_client(svc, home)
    assert not run.ok, run.explain()
    assert log.faults == ["InvalidSecurity"], log.text
    assert "the endorsing signature is not encrypted" in log.text, log.text
    assert log.issued == [], log.text


def test_wssc_refuses_metros_client_with_an_untrusted_certificate(
    wssc_mc: tuple[Callable[..., WsscService], Path],
) -> None:
    get, home = wssc_mc
    save(generate_self_signed("stranger"), home / "stranger.pem", home / "stranger-key.pem")
    svc = get("ws2007", "--protection-order", "SignBeforeEncrypt")
    run, log = metro_client(svc, home, "stranger")
    assert not run.ok, run.explain()
    assert log.faults == ["InvalidSecurityToken"], log.text
    assert "'CN=stranger' was refused" in log.text, log.text
    assert log.issued == [], log.text
