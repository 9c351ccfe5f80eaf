"""An expired Kerberos ticket, presented to ``wssc serve --bootstrap spnego`` over HTTP, against
the real MIT KDC of `tests/kdc.py`.

alice gets a ticket-granting ticket that lives two seconds (``kinit -l 2s``), and from it two
AP-REQs for the service (two Kerberos contexts, so two authenticators: no replay between them).
The first is sent at once and accepted (the control). The test then polls the clock, with a
deadline, until the ticket's end (as GSSAPI reads it from the cache; the service ticket ends
no later than the TGT) plus the service's clock skew has passed, and sends the second: the
service's acceptor, whose krb5.conf allows one second of clock skew (MIT's default, five
minutes, would still take it), refuses it with the trust ``FailedAuthentication`` fault, and
logs which check refused. No fixed sleep.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from attack_kit import fault_logged, log_mark, post, read_fault_bytes
from lxml import etree

from kdc import PASSWORD, REALM, SERVICE, Kdc, _tool
from servers import Server
from wssc.xml import ns
from wssc.xml.soap import SOAP_12, new_envelope

#: The service's clock skew (its krb5.conf ``clockskew``; MIT's default is five minutes).
SKEW = 1
FAILED_AUTH = f"{{{ns.TRUST_2005}}}FailedAuthentication"


def first_leg(url: str, token: bytes) -> bytes:
    trust = ns.TRUST_FEB2005
    rst = etree.Element(f"{{{trust.ns}}}RequestSecurityToken", Context=f"uuid-{uuid.uuid4()}-1")
    be = etree.SubElement(
        rst, f"{{{trust.ns}}}BinaryExchange", ValueType=ns.SPNEGO_VALUE_TYPE, EncodingType=ns.WSS_BASE64
    )
    be.text = base64.b64encode(token).decode("ascii")
    return etree.tostring(new_envelope(SOAP_12, action=trust.rst_issue, to=url, payload=rst))


def ap_req(ccache: Path) -> bytes:
    import spnego

    ctx = spnego.client(
        spnego.KerberosCCache(f"FILE:{ccache}", principal=f"alice@{REALM}"),
        hostname=SERVICE.split("/", 1)[1],
        service="HTTP",
        protocol="kerberos",
    )
    token = ctx.step()
    assert token
    return token


def ticket_end(ccache: Path) -> float:
    """When the cache's ticket-granting ticket ends (the service ticket ends no later)."""
    import gssapi

    creds = gssapi.Credentials(usage="initiate", store={"ccache": f"FILE:{ccache}"})
    return time.time() + float(creds.lifetime)


def test_an_expired_ticket_is_refused(kdc: Kdc, start_server: Callable[..., Server], tmp_path: Path) -> None:
    conf = (
        (kdc.root / "krb5.conf")
        .read_text()
        .replace("[libdefaults]", f"[libdefaults]\n    clockskew = {SKEW}", 1)
    )
    (tmp_path / "krb5.conf").write_text(conf)
    srv = start_server(
        "--bootstrap",
        "spnego",
        "--binding",
        "wshttp",
        "--keytab",
        str(kdc.service_keytab),
        env={"KRB5_CONFIG": str(tmp_path / "krb5.conf")},
    )
    ccache = tmp_path / "short.ccache"
    kdc.run(_tool("kinit"), "-l", "2s", "-c", f"FILE:{ccache}", f"alice@{REALM}", stdin=PASSWORD + "\n")
    fresh, stale = ap_req(ccache), ap_req(ccache)
    assert ticket_end(ccache) - time.time() <= 2.5

    control = post(srv, first_leg(srv.url, fresh))
    assert control.status_code == 200 and read_fault_bytes(control.content) is None, control.text

    # Poll the clock against the ticket's own end (plus the service's one second of skew),
    # with a deadline: no fixed sleep.
    end, deadline = ticket_end(ccache) + SKEW, time.monotonic() + 30
    while time.time() <= end:
        assert time.monotonic() < deadline, "the two-second ticket did not expire within 30 s"
        time.sleep(0.05)
    since = log_mark(srv)
    r = post(srv, first_leg(srv.url, stale))
    fault = read_fault_bytes(r.content)
    assert r.status_code == 500 and fault is not None and fault.code == FAILED_AUTH, r.text
    line = fault_logged(srv, "the SPNEGO token was refused", since=since)
    assert "expired" in line.lower(), line
