"""The fuzz campaign's findings, sent to a running engine: each gets a SOAP fault, never an
exception out of ``handle`` and never the internal-error fault (an untyped exception)."""

from __future__ import annotations

from pathlib import Path

import pytest

from peers import REPO
from wssc.bootstrap import TransportInfo
from wssc.certs import generate_self_signed
from wssc.demo import Calculator
from wssc.service.engine import INTERNAL_ERROR, Dispatch, HttpRequest, ServiceEngine, run_dispatch_sync

FINDINGS = sorted((REPO / "fuzz" / "crashes").glob("fixed-*"))
ENGINE = ServiceEngine(Calculator(), address="http://x/svc", certificate=generate_self_signed())


def _message(path: Path) -> bytes:
    data = path.read_bytes()
    # verify and trust inputs start with a selector byte (see the harnesses)
    return data[1:] if path.name.startswith(("fixed-verify-", "fixed-trust-")) else data


@pytest.mark.parametrize("path", FINDINGS, ids=[p.name for p in FINDINGS])
def test_finding_gets_a_typed_fault(path: Path) -> None:
    r = ENGINE.handle(
        HttpRequest(
            "POST", "/svc", "", {"content-type": "application/soap+xml"}, _message(path), TransportInfo()
        )
    )
    resp = run_dispatch_sync(r) if isinstance(r, Dispatch) else r
    assert resp.status == 500 and b"Fault" in resp.body
    assert INTERNAL_ERROR.encode() not in resp.body
