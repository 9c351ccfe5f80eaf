"""Finding 4: no unbounded decryption amplification.

An anonymous RST/SCT carries an EncryptedKey the attacker wrapped to the service certificate
itself (anyone can: the certificate is in the WSDL), and thousands of EncryptedData items under
that key, listed by ReferenceLists, optionally with thousands of namespace declarations in
scope of each. The message is unsigned, so it must be refused; the refusal must cost at most a
small constant times a valid secured call of the same size (measured in the same run).
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from attack_kit import (
    LARGE_MESSAGES,
    MATRIX,
    MATRIX_IDS,
    Dedicated,
    assert_cost_ratio,
    serve_args,
)
from lxml import etree

from servers import Server
from wssc.bootstrap.anonymous_for_certificate import build_encrypted_key
from wssc.certs import Certificate
from wssc.client.common import endpoint_from_wsdl
from wssc.crypto.primitives import block_encrypt
from wssc.settings import MESSAGE_SECURITY_VERSIONS
from wssc.tokens.timestamp import format_time
from wssc.xml import ns

#: Measures time or CPU as ratios in one run: alone on the machine (scripts/test.sh's serial pass).
pytestmark = [pytest.mark.e2e, pytest.mark.serial]


def service_certificate(srv: Server) -> Certificate:
    wsdl = httpx.get(srv.wsdl_url).content
    cert = endpoint_from_wsdl(wsdl, srv.wsdl_url).certificate
    assert cert is not None
    return cert


def amplifier(srv: Server, binding: str, items: int, namespaces: int) -> bytes:
    cert = service_certificate(srv)
    key = os.urandom(32)
    ek = build_encrypted_key(cert, key, ns.RSA_OAEP_MGF1P)
    ek.set("Id", "ek")
    ek_xml = etree.tostring(ek).decode()
    action = MESSAGE_SECURITY_VERSIONS[binding].trust.rst_sct
    now = time.time()
    # The declarations, all in scope at the Body's EncryptedData, spread over five ancestors
    # (200 each): one element may carry at most 256 attributes, declarations included.
    chunks = [
        "".join(f' xmlns:p{i}="urn:amplify:{i}"' for i in range(k, min(namespaces, k + 200)))
        for k in range(0, 1000, 200)
    ]
    decls = chunks[0]
    lists = []
    for start in range(0, items, 32):
        refs = "".join(f'<e:DataReference URI="#d{i}"/>' for i in range(start, min(items, start + 32)))
        lists.append(f'<e:ReferenceList xmlns:e="{ns.XENC}">{refs}</e:ReferenceList>')
    str_ = (
        f'<o:SecurityTokenReference><o:Reference URI="#ek" '
        f'ValueType="{ns.WSS_ENCRYPTED_KEY}"/></o:SecurityTokenReference>'
    )
    eds = []
    for i in range(items):
        cv = base64.b64encode(block_encrypt(ns.AES256_CBC, key, b"<w:y/>")).decode()
        eds.append(
            f'<e:EncryptedData Id="d{i}" Type="{ns.XENC_ELEMENT}">'
            f'<e:EncryptionMethod Algorithm="{ns.AES256_CBC}"/>'
            f"<ds:KeyInfo>{str_}</ds:KeyInfo>"
            f"<e:CipherData><e:CipherValue>{cv}</e:CipherValue></e:CipherData></e:EncryptedData>"
        )
    return (
        f'<s:Envelope xmlns:s="{ns.SOAP12}" xmlns:a="{ns.WSA10}" xmlns:u="{ns.WSU}" '
        f'xmlns:o="{ns.WSSE}" xmlns:e="{ns.XENC}" xmlns:ds="{ns.DS}"{decls}>'
        f'<s:Header><a:Action s:mustUnderstand="1">{action}</a:Action>'
        f"<a:MessageID>urn:uuid:{uuid.uuid4()}</a:MessageID>"
        f'<a:To s:mustUnderstand="1">{srv.url}</a:To><o:Security s:mustUnderstand="1">'
        f'<u:Timestamp u:Id="_0"><u:Created>{format_time(now)}</u:Created>'
        f"<u:Expires>{format_time(now + 300)}</u:Expires></u:Timestamp>"
        f"{ek_xml}{''.join(lists)}</o:Security></s:Header>"
        f'<s:Body{chunks[1]}><w:x xmlns:w="urn:w"{chunks[2]}><w:y{chunks[3]}><w:z{chunks[4]}>'
        f"{''.join(eds)}</w:z></w:y></w:x></s:Body></s:Envelope>"
    ).encode()


SHAPES = {
    "many-encrypted-data": (2400, 0),
    "many-encrypted-data-many-namespaces": (2000, 900),  # under the 1024 declarations cap
}


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_many_encrypted_items_cost_linear(
    start_server: Callable[..., Server], binding: str, mode: str, shape: str
) -> None:
    items, namespaces = SHAPES[shape]
    with Dedicated(start_server, *serve_args(binding, mode, *LARGE_MESSAGES)) as srv:
        data = amplifier(srv, binding, items, namespaces)
        assert 0.9e6 < len(data) < 1.4e6
        assert_cost_ratio(
            srv,
            data,
            f"{shape} ({items} EncryptedData, {namespaces} xmlns) {binding}/{mode}",
            reason="the message references more than 16 EncryptedData",
        )
