"""zeep over WCF's Kerberos bootstrap: ``secure_session`` from the live WSDL of a real
``wssc serve --bootstrap kerberos`` and a real MIT KDC (`tests/kdc.py`); the SPN comes from the
WSDL's ``wsid:Spn``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import zeep

from kdc import PASSWORD, REALM, SERVICE, Kdc  # type: ignore[import-not-found]
from servers import Server
from wssc.bootstrap.registry import ClientCredentials
from wssc.integrations.zeep import secure_session


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_zeep_opens_a_session_over_kerberos(kdc: Kdc, server: Callable[..., Server], binding: str) -> None:
    srv = server(
        "--bootstrap", "kerberos", "--binding", binding, "--keytab", str(kdc.service_keytab), "--spn", SERVICE
    )
    kwargs = secure_session(
        srv.wsdl_url, credentials=ClientCredentials(username=f"alice@{REALM}", password=PASSWORD)
    )
    bodies: list[bytes] = []
    kwargs["transport"].session.hooks["response"].append(  # type: ignore[attr-defined]
        lambda r, *a, **k: bodies.append(r.request.body)
    )
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Add(a=20, b=22) == 42
        assert client.service.Add(a=1, b=1) == 2
        session = kwargs["transport"].secure_session  # type: ignore[attr-defined]
        assert session.sct is not None
    # one leg: the RST/SCT itself carries the AP-REQ
    assert b"/RST/SCT<" in bodies[0] and b"GSS_Kerberosv5_AP_REQ" in bodies[0]
    assert all(b"GSS_Kerberosv5_AP_REQ" not in b for b in bodies[1:])
