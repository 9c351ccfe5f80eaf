"""Finding 10: attacker-supplied values cannot forge service log lines.

Line breaks (``&#10;``, ``&#13;``, and the Unicode breaks U+0085 and U+2028 that
``str.splitlines`` honours) in a token reference, a DataReference and an SCT Identifier must
be escaped wherever the service logs them: no line of the log may start with the forged text.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from attack_kit import (
    MATRIX,
    MATRIX_IDS,
    WSSE,
    XENC,
    Keys,
    app_envelope,
    craft,
    header_children,
    post,
    read_fault_bytes,
    serve_args,
    tostring,
)
from lxml import etree

from servers import Server
from wssc.client import Client

pytestmark = pytest.mark.e2e

BREAKS = {"lf": "\n", "cr": "\r", "nel": "\x85", "ls": "\u2028"}


def forged(tag: str) -> str:
    return f"2031-01-01 00:00:00,000 WARNING wssc.service: FORGED-{tag}"


def variants(c: Client, brk: str, tag: str) -> dict[str, bytes]:
    s = c.session
    out = {}

    def fresh() -> etree._Element:
        return craft(app_envelope(c, "Echo", text="x"), Keys.of(c), s.sc, s.suite)

    # 1. the signature DKT's reference to its base token
    root = fresh()
    dk = header_children(root, "DerivedKeyToken")[0]
    ref = dk.find(f"{WSSE}SecurityTokenReference/{WSSE}Reference")
    assert ref is not None
    ref.set("URI", "#x" + brk + forged(tag + "-dkt"))
    out["dkt-reference"] = tostring(root)
    # 2. a DataReference
    root = fresh()
    dr = header_children(root, "ReferenceList")[0].find(f"{XENC}DataReference")
    assert dr is not None
    dr.set("URI", "#x" + brk + forged(tag + "-dataref"))
    out["data-reference"] = tostring(root)
    # 3. the SCT Identifier
    root = fresh()
    sct = header_children(root, "SecurityContextToken")[0]
    ident = sct.find(f"{{{s.sc.ns}}}Identifier")
    assert ident is not None
    ident.text = "urn:uuid:" + str(uuid.uuid4()) + brk + forged(tag + "-identifier")
    out["sct-identifier"] = tostring(root)
    return out


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_control_characters_do_not_forge_log_lines(
    server: Callable[..., Server], binding: str, mode: str
) -> None:
    srv = server(*serve_args(binding, mode))
    tag = uuid.uuid4().hex[:8]
    sent = []
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        for name, brk in BREAKS.items():
            for where, data in variants(c, brk, f"{tag}-{name}").items():
                r = post(srv, data)
                assert r.status_code == 500 and read_fault_bytes(r.content) is not None, where
                sent.append(f"{name}/{where}")
    time.sleep(0.2)  # the log is written by another process
    log = srv.log()
    lines = log.splitlines()
    bad = [ln for ln in lines if ln.startswith("2031-01-01") or ln.lstrip().startswith("FORGED-")
           or (f"FORGED-{tag}" in ln and not ln.startswith(("20", "INFO", "WARNING")))]
    mine = [ln for ln in lines if f"FORGED-{tag}" in ln]
    print(f"\n[log injection] {len(sent)} requests; {len(mine)} log lines mention the forged "
          "text (escaped)")
    assert not bad, "forged log lines:\n" + "\n".join(repr(b) for b in bad[:10])
