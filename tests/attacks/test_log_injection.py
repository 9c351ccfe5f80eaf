"""Finding 10: attacker-supplied values cannot forge service log lines.

Line breaks (``&#10;``, ``&#13;``, and the Unicode breaks U+0085 and U+2028 that
``str.splitlines`` honours) in a token reference, a DataReference and an SCT Identifier must
be escaped wherever the service logs them: no line of the log may start with the forged text.

Values the service does log (a SignatureMethod and an EncryptionMethod Algorithm, in the
fault's detail) must reach the log, escaped: the test polls the log until they are there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from attack_kit import (
    DS,
    MATRIX,
    MATRIX_IDS,
    WSSE,
    XENC,
    Keys,
    app_envelope,
    assert_fault,
    assert_generic_fault,
    body,
    craft,
    header_children,
    log_mark,
    post,
    serve_args,
    tostring,
    wait_for_log,
)
from lxml import etree

from servers import Server
from wssc.client import Client

pytestmark = pytest.mark.e2e

BREAKS = {"lf": "\n", "cr": "\r", "nel": "\x85", "ls": "\u2028"}
#: How each break reads in the log once escaped.
ESCAPED = {"lf": "\\n", "cr": "\\r", "nel": "\\x85", "ls": "\\u2028"}
#: The variants whose forged value the service logs (in the fault's detail).
LOGGED = ("signature-method", "encryption-method")


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
    # 4. the SignatureMethod Algorithm (of a plain Signature): refused before the HMAC, and
    # logged ("signature method '...'")
    root = craft(app_envelope(c, "Echo", text="x"), Keys.of(c), s.sc, s.suite, encrypt_signature=False)
    sm = header_children(root, "Signature")[0].find(f"{DS}SignedInfo/{DS}SignatureMethod")
    assert sm is not None
    sm.set("Algorithm", "x" + brk + forged(tag + "-signature-method"))
    out["signature-method"] = tostring(root)
    # 5. the Body's EncryptionMethod Algorithm (not signed: the signature covers the plaintext);
    # refused after the signature verified, and logged ("encryption method '...'")
    root = fresh()
    em = body(root).find(f"{XENC}EncryptedData/{XENC}EncryptionMethod")
    assert em is not None
    em.set("Algorithm", "x" + brk + forged(tag + "-encryption-method"))
    out["encryption-method"] = tostring(root)
    return out


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_control_characters_do_not_forge_log_lines(
    server: Callable[..., Server], binding: str, mode: str
) -> None:
    srv = server(*serve_args(binding, mode))
    tag = uuid.uuid4().hex[:8]
    expected = []
    mark = log_mark(srv)
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        for name, brk in BREAKS.items():
            for where, data in variants(c, brk, f"{tag}-{name}").items():
                r = post(srv, data)
                if where == "sct-identifier":  # an unknown SCT: WCF's BadContextToken
                    assert_fault(r, "BadContextToken", f"{name}/{where}")
                else:
                    assert_generic_fault(r, f"{name}/{where}")
                if where in LOGGED:
                    expected.append(ESCAPED[name] + forged(f"{tag}-{name}-{where}"))
    assert len(expected) == len(BREAKS) * len(LOGGED)
    # The log is written by another process: poll it until every logged value is there.
    log = wait_for_log(srv, lambda text: all(e in text for e in expected), since=mark)
    lines = log.splitlines()
    for e in expected:  # escaped, inside the service's own fault line
        line = next(ln for ln in lines if e in ln)
        assert " wssc.service: fault " in line.split(e)[0], line
    bad = [
        ln
        for ln in lines
        if ln.startswith("2031-01-01")
        or ln.lstrip().startswith("FORGED-")
        or (f"FORGED-{tag}" in ln and " wssc.service: fault " not in ln)
    ]
    assert not bad, "forged log lines:\n" + "\n".join(repr(b) for b in bad[:10])
