"""Live: wssc's client against a Metro (Eclipse WSIT) MutualCertificate service (WS-Security
1.1 shape: the service's X.509 protects, the client's X.509 endorses; Metro's trust store holds
the client certificate). Metro's verdict decides: it runs the calls (``CALL`` lines) only for a
request it accepted, and refuses a client certificate its trust store does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from metro_peer import MetroService, metro_classpath, start_metro_service

from wssc.bootstrap.registry import ClientCredentials, settings_from_wsdl
from wssc.certs import Certificate, generate_self_signed, save
from wssc.client import Client
from wssc.errors import RemoteFault
from wssc.settings import Bootstrap

pytestmark = pytest.mark.peer

CLIENT = generate_self_signed("wssc-metro-client")


@pytest.fixture(scope="module")
def metro_mc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], MetroService]]:
    metro_classpath()  # a missing build: loud skip, or a failure under CI
    home = tmp_path_factory.mktemp("metro-mutual")
    save(CLIENT, home / "client.pem", home / "client-key.pem")
    started: dict[str, MetroService] = {}

    def get(binding: str) -> MetroService:
        if binding not in started:
            started[binding] = start_metro_service(
                home, "mc", binding, "--trust-client-cert", str(home / "client.pem")
            )
        return started[binding]

    yield get
    for s in started.values():
        s.stop()


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
