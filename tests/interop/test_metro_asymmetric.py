"""Live: MutualCertificate under WS-Security 1.0 (WCF's AsymmetricBinding: the client's X.509
signs, the service's X.509 is the recipient) against Metro (Eclipse WSIT), both directions,
as the bootstrap of a session and one-shot, in both version families. Metro's verdict
decides: its service runs the calls (``CALL`` lines) only for a request it accepted, and its
client reports each result; each side refuses a client certificate it does not trust.
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
from wssc.certs import generate_self_signed, save
from wssc.client import Client
from wssc.errors import WsscError
from wssc.settings import Bootstrap

pytestmark = pytest.mark.peer

CLIENT = generate_self_signed("wssc-metro-asym-client")
#: Metro's service variants: the AsymmetricBinding as a session's bootstrap, and alone.
METRO_VARIANTS = ["mc10", "mc10-oneshot"]


@pytest.fixture(scope="module")
def metro_amc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, str], MetroService]]:
    with metro_services(tmp_path_factory.mktemp("metro-asym"), CLIENT) as get:
        yield get


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
@pytest.mark.parametrize("variant", METRO_VARIANTS)
def test_wssc_client_calls_metros_asymmetric_service(
    metro_amc: Callable[[str, str], MetroService], variant: str, binding: str
) -> None:
    svc = metro_amc(variant, binding)
    s = settings_from_wsdl(httpx.get(svc.wsdl_url).content).settings
    assert s.bootstrap is Bootstrap.MUTUAL_CERTIFICATE
    assert s.message_security_version.wss11 is False
    session = variant == "mc10"
    assert s.establish_security_context is session
    mark = svc.mark()
    events: list[str] = []
    with Client.from_wsdl(
        svc.wsdl_url,
        credentials=ClientCredentials(certificate=CLIENT),
        on_event=lambda n, d: events.append(n),
    ) as c:
        assert c.Add(a=1, b=100) == 101
        assert c.Echo(text="wssc é <&>") == "wssc é <&>"
    assert events == (["issue", "call", "call", "cancel"] if session else ["call", "call"]), events
    out = svc.out_since(mark, until=lambda o: "CALL Echo" in o)
    assert re.search(r"^CALL Add 1 100", out, re.M) and re.search(r"^CALL Echo", out, re.M), out


def test_metro_refuses_a_certificate_its_trust_store_lacks(
    metro_amc: Callable[[str, str], MetroService],
) -> None:
    svc = metro_amc("mc10-oneshot", "ws2007")
    mark = svc.mark()
    stranger = generate_self_signed("stranger")
    with (
        pytest.raises(WsscError),  # Metro's fault (its reply is not one wssc accepts either)
        Client.from_wsdl(svc.wsdl_url, credentials=ClientCredentials(certificate=stranger)) as c,
    ):
        c.Add(a=1, b=2)
    assert "CALL" not in svc.out_since(mark)


# --- Metro's client against wssc's service ---------------------------------------------------
@pytest.fixture(scope="module")
def wssc_amc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Callable[..., WsscService], Path]]:
    home = tmp_path_factory.mktemp("wssc-asym")
    with wssc_services(home, CLIENT) as get:
        yield get, home


@pytest.mark.parametrize("session", [True, False], ids=["session", "one-shot"])
@pytest.mark.parametrize("binding", ["wshttp-wss10", "ws2007-wss10"])
def test_metros_client_calls_wssc_asymmetric_service(
    wssc_amc: tuple[Callable[..., WsscService], Path], binding: str, session: bool
) -> None:
    get, home = wssc_amc
    svc = get(binding, *(() if session else ("--no-secure-context",)))
    run, log = metro_client(svc, home)
    expect_ok(run)
    assert run.result["results"] == [101, 102, 103], run.explain()
    assert log.faults == [], log.text
    if session:
        assert len(log.issued) == 1 and log.cancelled == log.issued, log.text
        assert "(identity 'CN=wssc-metro-asym-client')" in log.text, log.text
    else:
        assert log.issued == [], log.text


def test_wssc_refuses_metros_client_with_an_untrusted_certificate(
    wssc_amc: tuple[Callable[..., WsscService], Path],
) -> None:
    get, home = wssc_amc
    save(generate_self_signed("stranger"), home / "stranger.pem", home / "stranger-key.pem")
    svc = get("ws2007-wss10", "--no-secure-context")
    run, log = metro_client(svc, home, "stranger")
    assert not run.ok, run.explain()
    assert "'CN=stranger' was refused" in log.text, log.text
    assert log.faults, log.text
