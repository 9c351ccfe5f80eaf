"""The same-bytes floor: wssc's wire message, written and read with minimal glue.

:class:`SameBytesFloor` protects the plain envelope of ``bench_message.build_plain`` into
exactly the bytes :func:`wssc.security.protect` writes with its defaults (same layout, same
ids ``_0``..``_8``, same prefixes and namespace declarations, same exclusive c14n; given the
same random bytes and clock, the same bytes: :func:`same_bytes_check` proves it), and
verifies such a message by position: the layout is known, so it reads the nonces, cipher
values and Reference URIs where they are, derives both keys (P_SHA1), decrypts the Body and
the Signature, re-digests the five signed parts and checks the HMAC. It does no policy, no
limits, no fault mapping, no replay or timestamp checks: the cryptographic, c14n, parse and
serialize work only. It is a floor to measure wssc against, not a verifier to deploy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from lxml import etree

WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SC = "http://schemas.xmlsoap.org/ws/2005/02/sc"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
WSU_ID = f"{{{WSU}}}Id"
LABEL = b"WS-SecureConversationWS-SecureConversation"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, collect_ids=False, huge_tree=False)


def _p_sha1(secret: bytes, seed: bytes, length: int) -> bytes:
    out = b""
    a = seed
    while len(out) < length:
        a = hmac.digest(secret, a, "sha1")
        out += hmac.digest(secret, a + seed, "sha1")
    return out[:length]


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _encrypt(key: bytes, data: bytes) -> str:
    iv = os.urandom(16)
    pad = 16 - len(data) % 16
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return _b64(iv + enc.update(data + os.urandom(pad - 1) + bytes((pad,))) + enc.finalize())


def _decrypt(key: bytes, text: str | None) -> bytes:
    data = base64.b64decode(text or "")
    dec = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    padded = dec.update(data[16:]) + dec.finalize()
    return padded[: -padded[-1]]


def _c14n(el: etree._Element) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False)


def _time(t: float) -> str:
    whole, micro = divmod(round(t * 1_000_000), 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micro // 1000:03d}Z"


def _ed(data_id: str, kind: str, cipher: str, declare_o: bool) -> str:
    o = f' xmlns:o="{WSSE}"' if declare_o else ""
    return (
        f'<e:EncryptedData xmlns:e="{XENC}" Id="{data_id}" Type="{XENC}{kind}">'
        f'<e:EncryptionMethod Algorithm="{XENC}aes256-cbc"/><ds:KeyInfo xmlns:ds="{DS}">'
        f'<o:SecurityTokenReference{o}><o:Reference URI="#_2" ValueType="{SC}/dk"/>'
        f"</o:SecurityTokenReference></ds:KeyInfo><e:CipherData><e:CipherValue>{cipher}"
        "</e:CipherValue></e:CipherData></e:EncryptedData>"
    )


_REF = (
    '<ds:Reference URI="#{}"><ds:Transforms><ds:Transform Algorithm="' + EXC + '"></ds:Transform>'
    '</ds:Transforms><ds:DigestMethod Algorithm="' + DS + 'sha1"></ds:DigestMethod>'
    "<ds:DigestValue>{}</ds:DigestValue></ds:Reference>"
)
_SI_HEAD = (
    f'<ds:SignedInfo xmlns:ds="{DS}"><ds:CanonicalizationMethod Algorithm="{EXC}">'
    f'</ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="{DS}hmac-sha1"></ds:SignatureMethod>'
)


class SameBytesFloor:
    name = "floor"

    def __init__(self, plain: bytes, secret: bytes, sct_identifier: str, sct_wsu_id: str) -> None:
        self.plain = plain
        self.secret = secret
        self.sct = (
            f'<c:SecurityContextToken xmlns:c="{SC}" u:Id="{sct_wsu_id}"><c:Identifier>'
            f"{sct_identifier}</c:Identifier></c:SecurityContextToken>"
        )
        self.str_sct = (
            f'<o:SecurityTokenReference><o:Reference URI="#{sct_wsu_id}" ValueType="{SC}/sct"/>'
            "</o:SecurityTokenReference>"
        )

    def protect(self, now: float | None = None) -> bytes:
        now = time.time() if now is None else now
        root = etree.fromstring(self.plain, _PARSER)
        # the wsu prefix on the root, as wssc declares it (a shallow rebuild)
        nsmap = dict(root.nsmap)
        nsmap["u"] = WSU
        env = etree.Element(root.tag, nsmap=nsmap)  # type: ignore[arg-type]
        env.extend(list(root))
        header, body = env[0], env[1]
        ts = (
            f'<u:Timestamp xmlns:u="{WSU}" u:Id="_0"><u:Created>{_time(now)}</u:Created>'
            f"<u:Expires>{_time(now + 300)}</u:Expires></u:Timestamp>"
        )
        n_sig, n_enc = os.urandom(16), os.urandom(16)
        sig_key = _p_sha1(self.secret, LABEL + n_sig, 24)
        enc_key = _p_sha1(self.secret, LABEL + n_enc, 32)
        refs = [_REF.format("_0", _b64(hashlib.sha1(ts.encode()).digest()))]
        for i, h in enumerate(header, 3):
            h.set(WSU_ID, f"_{i}")
            refs.append(_REF.format(f"_{i}", _b64(hashlib.sha1(_c14n(h)).digest())))
        body.set(WSU_ID, "_6")
        refs.append(_REF.format("_6", _b64(hashlib.sha1(_c14n(body)).digest())))
        si = (_SI_HEAD + "".join(refs) + "</ds:SignedInfo>").encode()
        value = hmac.digest(sig_key, si, "sha1")
        signature = (
            f'<ds:Signature xmlns:ds="{DS}">'.encode()
            + si.replace(f' xmlns:ds="{DS}"'.encode(), b"", 1)
            + f"<ds:SignatureValue>{_b64(value)}</ds:SignatureValue><ds:KeyInfo>"
            f'<o:SecurityTokenReference xmlns:o="{WSSE}"><o:Reference URI="#_1" ValueType="{SC}/dk"/>'
            "</o:SecurityTokenReference></ds:KeyInfo></ds:Signature>".encode()
        )
        content = b"".join(etree.tostring(c, with_tail=True) for c in body)
        body_ed = _ed("_7", "Content", _encrypt(enc_key, content), True)
        sig_ed = _ed("_8", "Element", _encrypt(enc_key, signature), False)
        for c in list(body):
            body.remove(c)
        sec = (
            f'<o:Security xmlns:o="{WSSE}" s:mustUnderstand="1">'
            + ts.replace(f' xmlns:u="{WSU}"', "", 1)
            + self.sct
            + f'<c:DerivedKeyToken xmlns:c="{SC}" u:Id="_1">{self.str_sct}<c:Offset>0</c:Offset>'
            f"<c:Length>24</c:Length><c:Nonce>{_b64(n_sig)}</c:Nonce></c:DerivedKeyToken>"
            f'<c:DerivedKeyToken xmlns:c="{SC}" u:Id="_2">{self.str_sct}'
            f"<c:Nonce>{_b64(n_enc)}</c:Nonce></c:DerivedKeyToken>"
            f'<e:ReferenceList xmlns:e="{XENC}"><e:DataReference URI="#_7"/>'
            f'<e:DataReference URI="#_8"/></e:ReferenceList>{sig_ed}</o:Security>'
        )
        wire = etree.tostring(env)
        wire = wire.replace(b"</s:Header>", sec.encode() + b"</s:Header>", 1)
        body_el = b'<s:Body u:Id="_6">' + body_ed.encode() + b"</s:Body>"
        return wire.replace(b'<s:Body u:Id="_6"/>', body_el, 1)

    def verify(self, wire: bytes) -> etree._Element:
        """Raises ValueError on a wrong digest or signature; returns the decrypted envelope."""
        env = etree.fromstring(wire, _PARSER)
        header, body = env[0], env[1]
        sec = header[3]
        ts, dk_sig, dk_enc, sig_ed = sec[0], sec[2], sec[3], sec[5]
        sig_key = _p_sha1(self.secret, LABEL + base64.b64decode(dk_sig[3].text or ""), 24)
        enc_key = _p_sha1(self.secret, LABEL + base64.b64decode(dk_enc[1].text or ""), 32)
        sig = etree.fromstring(_decrypt(enc_key, sig_ed[2][0].text), _PARSER)
        ed = body[0]
        frag = etree.fromstring(b"<w>" + _decrypt(enc_key, ed[2][0].text) + b"</w>", _PARSER)
        body.remove(ed)
        body.extend(list(frag))
        si = sig[0]
        targets = (ts, header[0], header[1], header[2], body)
        for ref, target in zip(si[2:], targets, strict=True):
            if ref.get("URI") != "#" + (target.get(WSU_ID) or ""):
                raise ValueError("a Reference points elsewhere")
            want = base64.b64decode(ref[2].text or "")
            if not hmac.compare_digest(hashlib.sha1(_c14n(target)).digest(), want):
                raise ValueError("digest mismatch")
        value = base64.b64decode(sig[1].text or "")
        if not hmac.compare_digest(hmac.digest(sig_key, _c14n(si), "sha1"), value):
            raise ValueError("signature mismatch")
        return env


@contextmanager
def fixed_random(seed: bytes) -> Iterator[None]:
    """``os.urandom`` returns a deterministic stream while inside (for the same-bytes check)."""
    real: Callable[[int], bytes] = os.urandom
    counter = [0]

    def fake(n: int) -> bytes:
        out = b""
        while len(out) < n:
            counter[0] += 1
            out += hashlib.sha256(seed + counter[0].to_bytes(8, "big")).digest()
        return out[:n]

    os.urandom = fake
    try:
        yield
    finally:
        os.urandom = real


def same_bytes_check(
    wssc_protect: Callable[[float], bytes], floor: SameBytesFloor, now: float
) -> tuple[bytes, bytes]:
    """Both sides' bytes from the same random stream and clock."""
    with fixed_random(b"same-bytes"):
        a = wssc_protect(now)
    with fixed_random(b"same-bytes"):
        b = floor.protect(now)
    return a, b
