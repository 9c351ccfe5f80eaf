"""What Metro's MutualCertificate runners share (tests/interop/test_metro_asymmetric.py, the
WS-Security 1.0 AsymmetricBinding; tests/interop/test_metro_mutual.py, the WS-Security 1.1
shape): Metro's services that trust one client certificate, wssc's ``mutual-certificate``
services that trust it, and Metro's client run against one of wssc's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from metro_peer import (
    MetroService,
    PeerRun,
    ServiceLog,
    WsscService,
    metro_classpath,
    run_java,
    start_metro_service,
    start_wssc,
)

from wssc.certs import Certificate, save


def _trust(home: Path, client: Certificate) -> Path:
    metro_classpath()  # a missing build: loud skip, or a failure under CI
    save(client, home / "client.pem", home / "client-key.pem")
    return home / "client.pem"


@contextmanager
def metro_services(home: Path, client: Certificate) -> Iterator[Callable[[str, str], MetroService]]:
    """``get(variant, binding)``: Metro's service variant (started once) whose trust store
    holds ``client``; all are stopped on exit."""
    trusted = _trust(home, client)
    started: dict[tuple[str, str], MetroService] = {}

    def get(variant: str, binding: str) -> MetroService:
        if (variant, binding) not in started:
            started[variant, binding] = start_metro_service(
                home, variant, binding, "--trust-client-cert", str(trusted)
            )
        return started[variant, binding]

    try:
        yield get
    finally:
        for s in started.values():
            s.stop()


@contextmanager
def wssc_services(home: Path, client: Certificate) -> Iterator[Callable[..., WsscService]]:
    """``get(binding, *extra)``: ``wssc serve --bootstrap mutual-certificate --binding
    BINDING EXTRA…`` (started once) trusting ``client``; all are stopped on exit."""
    trusted = _trust(home, client)
    started: dict[tuple[str, ...], WsscService] = {}

    def get(binding: str, *extra: str) -> WsscService:
        key = (binding, *extra)
        if key not in started:
            started[key] = start_wssc(
                home,
                "--bootstrap",
                "mutual-certificate",
                "--binding",
                binding,
                "--trust-client-cert",
                str(trusted),
                *extra,
            )
        return started[key]

    try:
        yield get
    finally:
        for s in started.values():
            s.stop()


def metro_client(svc: WsscService, home: Path, cert: str = "client") -> tuple[PeerRun, ServiceLog]:
    """Metro's client against ``svc`` with ``home/CERT.pem`` (and its key), and what the
    service logged meanwhile."""
    mark = svc.mark()
    run = run_java(
        "wssc.metro.MetroClient",
        "--wsdl",
        svc.wsdl_url,
        "--server-cert",
        str(svc.cert_pem),
        "--client-cert",
        str(home / f"{cert}.pem"),
        "--client-key",
        str(home / f"{cert}-key.pem"),
    )
    return run, svc.log_since(mark)
