"""An independent Kerberos peer for WCF's Kerberos bootstrap: Apache CXF's client
(``wssc.cxf.CxfKerberosClient``: CXF 4.2.3, WSS4J, Java's own JGSS Kerberos, a JAAS login from
a keytab) opens a secure session with ``wssc serve --bootstrap kerberos`` over the real MIT KDC
(`tests/kdc.py`), from the live WSDL's policy (``sp:KerberosToken`` in the bootstrap policy).
Departures: ``interop/cxf/FINDINGS.md``."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from cxf_peer import run_cxf

from kdc import REALM, SERVICE, Kdc
from servers import Server

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_cxf_client_over_kerberos(kdc: Kdc, server: Callable[..., Server], binding: str) -> None:
    srv = server(
        "--bootstrap", "kerberos", "--binding", binding, "--keytab", str(kdc.service_keytab), "--spn", SERVICE
    )
    since = len(srv.log())
    run = run_cxf(
        "wssc.cxf.CxfKerberosClient",
        "--wsdl", srv.wsdl_url, "--krb5-conf", kdc.env["KRB5_CONFIG"], "--keytab", str(kdc.client_keytab),
        "--principal", f"bob@{REALM}", "--spn", SERVICE, "--calls", "2",
    )  # fmt: skip
    assert run.ok, run.explain()
    assert run.result["results"] == [101, 102]
    deadline = time.monotonic() + 15  # the service logs from its own process: poll it
    while f"(identity 'bob@{REALM}')" not in srv.log()[since:]:
        assert time.monotonic() < deadline, srv.log()[since:][-3000:]
        time.sleep(0.05)
