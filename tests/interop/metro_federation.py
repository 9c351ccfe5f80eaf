"""Shared pieces of the live federation tests with Metro (``test_metro_issued_token``,
``test_metro_federation_bindings``): Metro's STS and relying parties started once per module,
a token from Metro's STS, and wssc's STS with a relying party that names it in ``sp:Issuer``
for Metro's client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from metro_peer import (
    MetroService,
    MetroSts,
    PeerRun,
    WsscService,
    WsscSts,
    free_port,
    metro_classpath,
    run_java,
    start_metro_service,
    start_metro_sts,
    start_wssc,
    start_wssc_sts,
    wssc_sts_cert,
)

from wssc.certs import dev_certificate
from wssc.client.sts import StsExchange, request_token


@dataclass
class Federation:
    home: Path
    get_sts: Callable[..., MetroSts]
    get_metro: Callable[..., MetroService]
    get_wssc: Callable[..., WsscService]

    @property
    def rp_cert(self) -> Path:
        return self.home / "dev-cert.pem"


def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    """The body of each module's ``fed`` fixture: services started on first use, stopped at the end."""
    metro_classpath()  # a missing build: loud skip, or a failure under CI
    home = tmp_path_factory.mktemp("metro-sts")
    dev_certificate(home)  # the relying parties' key pair (wssc serve and MetroService use it)
    started: dict[tuple[str, ...], MetroSts | MetroService | WsscService] = {}

    def once(key: tuple[str, ...], make: Callable[[], MetroSts | MetroService | WsscService]) -> object:
        if key not in started:
            started[key] = make()
        return started[key]

    def get_sts(*extra: str) -> MetroSts:
        # Metro's "default" service provider: every relying party here shares the dev key pair.
        make = lambda: start_metro_sts(home, {"default": home / "dev-cert.pem"}, *extra)  # noqa: E731
        sts = once(("sts", *extra), make)
        assert isinstance(sts, MetroSts)
        return sts

    def get_metro(binding: str, sts: MetroSts, bootstrap: str = "it") -> MetroService:
        args = (bootstrap, binding, "--trust-sts-cert", str(sts.cert_pem), "--issuer", sts.url)
        svc = once(("metro", *args), lambda: start_metro_service(home, *args))
        assert isinstance(svc, MetroService)
        return svc

    def get_wssc(*args: str) -> WsscService:
        svc = once(("wssc", *args), lambda: start_wssc(home, "--bootstrap", "issued-token", *args))
        assert isinstance(svc, WsscService)
        return svc

    yield Federation(home, get_sts, get_metro, get_wssc)
    for s in started.values():
        s.stop()


def token_from(sts: MetroSts, applies_to: str, password: str = "secret") -> object:
    exchange = StsExchange.new(sts.url, applies_to, "alice", password)
    return request_token(exchange, verify=str(sts.cert_pem))


def start_wssc_federation(
    home: Path, binding: str, bootstrap: str, *extra: str
) -> tuple[WsscSts, WsscService]:
    """``wssc sts`` and ``wssc serve --bootstrap BOOTSTRAP`` naming it in ``sp:Issuer`` and
    trusting its certificate, in one family: Metro's client speaks to the STS in the WS-Trust
    version of the relying party's policy (FINDINGS M16), so the STS speaks it too
    (``--trust feb2005`` for WSHttpBinding)."""
    port = free_port()
    sts_url = f"https://127.0.0.1:{port}/sts"
    cert = str(wssc_sts_cert(home))
    svc = start_wssc(
        home,
        *("--binding", binding, "--bootstrap", bootstrap),
        *("--issuer-cert", cert, "--sts-address", sts_url, *extra),
    )
    trust = ("--trust", "feb2005") if binding == "wshttp" else ()
    try:
        sts = start_wssc_sts(home, {svc.url: svc.cert_pem}, *trust, port=port)
    except BaseException:
        svc.stop()
        raise
    return sts, svc


def metro_client(
    sts: WsscSts, svc: WsscService, password: str = "secret", server_cert: bool = False
) -> PeerRun:
    """Metro's client reads the service's WSDL, follows ``sp:Issuer`` to wssc's STS (its mex,
    no PreconfiguredSTS), signs in there, then opens a session: 3 Adds, an Echo, Cancel.
    ``server_cert``: the service's certificate in Metro's trust store (``peeralias``), which a
    bootstrap protected by the service's X.509 (never included) needs. An HTTPS service's
    certificate is trusted for TLS too."""
    tls = [str(sts.cert_pem), *((str(svc.cert_pem),) if svc.url.startswith("https://") else ())]
    return run_java(
        "wssc.metro.MetroClient",
        *("--wsdl", svc.wsdl_url, "--tls-cert", ",".join(tls)),
        *(("--server-cert", str(svc.cert_pem)) if server_cert else ()),
        *("--username", "alice", "--password", password),
    )
