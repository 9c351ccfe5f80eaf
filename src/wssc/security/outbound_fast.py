"""The ``wsse:Security`` header of WCF's default layout, written as one string.

`protect`'s general writer builds the header element by element (a Timestamp, two
DerivedKeyTokens, a ReferenceList, the encrypted Signature), each a few lxml calls. For the
one layout WCF's symmetric binding sends (an SCT-like symmetric token, derived keys, the
Timestamp, the addressing headers and the Body signed, the Body and the Signature encrypted,
nothing else) this writer puts the whole header in one string, in the very form the general
writer serializes to, parses it once and attaches it. The token's own element is inserted as
the general writer inserts it.

It answers only for that form: `protect_wcf_layout` checks that a call fits (the
arguments' shape; the policy's shape, a symmetric key and a plain local reference to the
token, once per token and policy: `plan`; an envelope whose in-scope namespaces leave the
header's prefixes free: `_soap_prefix`); anything else goes to the general writer.
``tests/core/test_protect_fast_header.py`` and ``test_protect_plan.py`` protect the same
envelopes through both with the randomness and clock pinned and compare the bytes, and
force each departure.
"""

from __future__ import annotations

import base64
import os
import re
from binascii import b2a_base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from lxml import etree

from wssc.crypto.hmackey import HmacKey
from wssc.crypto.primitives import block_encrypt, digest_constructor, hmac_sign
from wssc.crypto.psha1 import p_sha1_keyed
from wssc.security.outbound_common import WSA_TAG_PREFIXES, Ids, ensure_id, token_ref
from wssc.security.policy import MessagePolicy
from wssc.security.tokens import EncryptedKeyProtection, ProtectionToken, SctProtection, signing_key
from wssc.security.xmlsig import _ED_TAIL, _attr, _signed_info_parts, serialize_content, str_xml
from wssc.tokens.dkt import DEFAULT_LABEL, DEFAULT_LENGTH, DerivedKeyToken
from wssc.tokens.paths import PATHS
from wssc.tokens.str_ import SecurityTokenReference
from wssc.tokens.timestamp import format_time
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n
from wssc.xml.ids import WSU_ID
from wssc.xml.soap import Envelope

#: Prefixes and namespaces the header declares itself; an envelope that has any of them in
#: scope at the Header takes the general writer (lxml might reuse or shadow a declaration).
_OWN_PREFIXES: Final = frozenset({"o", "c", "e", "ds"})
#: Text and attribute values that lxml writes as they are (no escaping, ASCII).
_PLAIN_TEXT: Final = re.compile(r"[A-Za-z0-9:._/#@+=,;()\-]+")
_OWN_NAMESPACES: Final = frozenset({ns.WSSE, ns.XENC, ns.DS, *(v.ns for v in ns.SC_VERSIONS.values())})


def _soap_prefix(header: etree._Element, soap_ns: str) -> str | None:
    """The SOAP prefix to write ``mustUnderstand`` with when the namespaces in scope at
    the Header leave the header's own prefixes free; None otherwise."""
    nsmap = header.nsmap
    if nsmap.get("u") != ns.WSU or _OWN_PREFIXES.intersection(nsmap):
        return None
    soap_prefix: str | None = None
    for prefix, uri in nsmap.items():
        if uri in _OWN_NAMESPACES:
            return None
        if uri == soap_ns:
            if soap_prefix is not None or prefix is None:
                return None  # two prefixes, or a default namespace: lxml picks one
            soap_prefix = prefix
        elif uri == ns.WSU and prefix != "u":
            return None
    return soap_prefix


def _plain_reference(ref: SecurityTokenReference) -> bool:
    return (
        ref.uri is not None
        and ref.custom is None
        and ref.key_identifier is None
        and ref.instance is None
        and not ref.wsu_id
        and not ref.token_type
    )


def sct_xml(token: object, sc: ns.ScVersion) -> str | None:
    """An included `SctProtection`'s SecurityContextToken as the general writer serializes it
    inside the header, when it is the plain form (an Identifier alone, no Instance or cookie)
    and its id and Identifier need no escaping; None otherwise (its element is inserted)."""
    if type(token) is not SctProtection or not token.include:
        return None
    sct = token.sct
    if sct.instance is not None or sct.cookie is not None:
        return None
    if not (_PLAIN_TEXT.fullmatch(sct.identifier) and _PLAIN_TEXT.fullmatch(sct.wsu_id)):
        return None
    return (
        f'<c:SecurityContextToken xmlns:c="{sc.ns}" u:Id="{sct.wsu_id}"><c:Identifier>'
        f"{sct.identifier}</c:Identifier></c:SecurityContextToken>"
    )


def _timestamp_texts(wsu_id: str, created: float, expires: float) -> tuple[bytes, str]:
    """The Timestamp as exclusive c14n writes it (what its digest covers), and as it stands in the
    header (``u`` declared there): ``<u:Timestamp u:Id="_0"><u:Created>…</u:Expires></u:Timestamp>``."""
    rest = (
        f' u:Id="{wsu_id}"><u:Created>{format_time(created)}</u:Created>'
        f"<u:Expires>{format_time(expires)}</u:Expires></u:Timestamp>"
    )
    return f'<u:Timestamp xmlns:u="{ns.WSU}"{rest}'.encode("ascii"), "<u:Timestamp" + rest


def dkt_xml(dk: DerivedKeyToken, sc: ns.ScVersion, base_ref: SecurityTokenReference) -> str:
    """A DerivedKeyToken as `DerivedKeyToken.to_xml` serializes inside the Security header
    (``o`` and ``u`` in scope): no Algorithm, Generation or Label (the writer makes none)."""
    if dk.generation is not None or dk.label is not None or dk.algorithm:
        raise ValueError("dkt_xml writes only what protect derives")
    ol = ""
    if dk.offset or dk.length != DEFAULT_LENGTH:
        ol = f"<c:Offset>{dk.offset or 0}</c:Offset><c:Length>{dk.length}</c:Length>"
    return (
        f'<c:DerivedKeyToken xmlns:c="{sc.ns}" u:Id="{_attr(dk.wsu_id)}">{str_xml(base_ref, False)}'
        f"{ol}<c:Nonce>{base64.b64encode(dk.nonce).decode('ascii')}</c:Nonce></c:DerivedKeyToken>"
    )


def write_header(
    header: etree._Element,
    body: etree._Element,
    soap_prefix: str,
    soap_ns: str,
    token_element: etree._Element | str | None,
    content: str,
    body_ed: str,
) -> etree._Element:
    """Parse the whole header (``content``: the header's children as text) and the Body's EncryptedData in
    one go; append the header to ``header`` and the EncryptedData to the (emptied) ``body``.
    An element token goes second, after the Timestamp, as the general writer puts it."""
    text = (
        f'<w><o:Security xmlns:o="{ns.WSSE}" xmlns:{soap_prefix}="{_attr(soap_ns)}" xmlns:u="{ns.WSU}"'
        f' {soap_prefix}:mustUnderstand="1">{content}</o:Security>{body_ed}</w>'
    )
    # our own text, every foreign value in it escaped; lxml's per-thread default parser
    both = etree.fromstring(text)
    sec, ed = both[0], both[1]
    header.append(sec)
    body.append(ed)
    if token_element is not None and not isinstance(token_element, str):
        sec.insert(1, token_element)
    PATHS["protect.header.fast"] += 1
    return sec


#: The encodings `splice_wire` writes (lxml's default, ASCII, or UTF-8: both write our
#: ASCII text as it is, and neither adds an XML declaration).
WIRE_ENCODINGS: Final = frozenset({None, "utf-8", "UTF-8", "utf8", "UTF8"})
_SECURITY: Final = f"{{{ns.WSSE}}}Security"
_ENCRYPTED_DATA: Final = f"{{{ns.XENC}}}EncryptedData"
_ED_MARK: Final = f'<e:EncryptedData xmlns:e="{ns.XENC}"/>'.encode("ascii")


def _plain_ref_text(base_ref: SecurityTokenReference) -> bool:
    """The token's reference is text lxml writes unchanged."""
    if not _PLAIN_TEXT.fullmatch(base_ref.uri or ""):
        return False
    return base_ref.value_type is None or _PLAIN_TEXT.fullmatch(base_ref.value_type) is not None


def _spliceable_body(body: etree._Element, soap_prefix: str) -> bool:
    """Can `splice_wire` write this message: an ASCII SOAP prefix, and a Body in whose scope
    lxml would not rename the EncryptedData's prefixes (none of the header's namespaces in
    scope). The token's reference is the `Plan`'s look (`_plain_ref_text`)."""
    if not soap_prefix.isascii():
        return False
    for prefix, uri in body.nsmap.items():
        if uri in _OWN_NAMESPACES or prefix in _OWN_PREFIXES:
            return False
    return True


def splice_wire(
    root: etree._Element,
    header: etree._Element,
    body: etree._Element,
    soap_prefix: str,
    soap_ns: str,
    content: str,
    body_ed: tuple[str, bytes, str],
    encoding: str | None,
) -> bytes | None:
    """The wire bytes of the protected envelope without parsing the header: an empty
    ``wsse:Security`` and an empty ``xenc:EncryptedData`` stand in the tree while lxml
    serializes it, and the header's text (``content``) and the Body's EncryptedData text
    are spliced into the bytes in their place, as lxml would have written them. Each stand-in
    must be found exactly once, the header's before the Body's; else None, having changed
    nothing (a comment that holds the same text, say)."""
    sec = etree.SubElement(header, _SECURITY, nsmap={"o": ns.WSSE})
    sec.set(f"{{{soap_ns}}}mustUnderstand", "1")
    ed = etree.SubElement(body, _ENCRYPTED_DATA, nsmap={"e": ns.XENC})
    data = etree.tostring(root, encoding=encoding)
    assert isinstance(data, bytes)  # never "unicode": WIRE_ENCODINGS
    header.remove(sec)
    body.remove(ed)
    open_tag = f'<o:Security xmlns:o="{ns.WSSE}" {soap_prefix}:mustUnderstand="1"'.encode("ascii")
    sec_mark = open_tag + b"/>"
    i, j = data.find(sec_mark), data.find(_ED_MARK)
    if i < 0 or j < i or data.find(sec_mark, i + 1) >= 0 or data.find(_ED_MARK, j + 1) >= 0:
        return None
    head, cipher, tail = body_ed
    PATHS["protect.wire.splice"] += 1
    return b"".join(
        (
            data[:i],
            open_tag,
            b">",
            content.encode("ascii"),
            b"</o:Security>",
            data[i + len(sec_mark) : j],
            head.encode("ascii"),
            cipher,
            tail.encode("ascii"),
            data[j + len(_ED_MARK) :],
        )
    )


@dataclass(frozen=True, slots=True)
class Plan:
    """What one (token, policy) pair fixes in the layout's text, worked out once (`plan`)
    and reused for every message the pair protects; only the ids, nonces, times, digests and
    cipher values are written per message. Each piece is the general writer's text::

        dkt_open  + "_1" + dkt_mid[0] + base64(nonce) + DKT_CLOSE
          = <c:DerivedKeyToken xmlns:c="…/sc" u:Id="_1"><o:SecurityTokenReference>…
            </o:SecurityTokenReference><c:Offset>0</c:Offset><c:Length>24</c:Length>
            <c:Nonce>…</c:Nonce></c:DerivedKeyToken>
        ref_open[True] + "_1" + ref_close
          = <o:SecurityTokenReference xmlns:o="…"><o:Reference URI="#_1" ValueType="…/sc/dk"/>
            </o:SecurityTokenReference>
        ED_OPEN + "_7" + ed_mid[content] + (the KeyInfo's reference) + ed_close
          = <e:EncryptedData xmlns:e="…" Id="_7" Type="…#Content"><e:EncryptionMethod …/>
            <ds:KeyInfo xmlns:ds="…">(reference)</ds:KeyInfo><e:CipherData><e:CipherValue>
    """

    token: object  # the pair, compared by identity (`plan`)
    policy: MessagePolicy
    key: bytes
    base_ref: SecurityTokenReference
    #: the token's text (`sct_xml`), or None: its element is inserted per message
    token_text: str | None
    dkt_open: str
    #: after the id, up to the Nonce's text: for the signature key, for the encryption key
    dkt_mid: tuple[str, str]
    #: a reference to a DerivedKeyToken: before its id (declaring ``o``, or not), after it
    ref_open: tuple[str, str]
    ref_close: str
    #: after the EncryptedData's id, up to its KeyInfo's reference: #Content, #Element
    ed_mid: tuple[str, str]
    ed_close: str
    seed_prefix: bytes
    #: the token's key with its HMAC-SHA1 pads hashed (`p_sha1_keyed`)
    mac: HmacKey
    #: the suite's digest (a hashlib constructor) and SignedInfo's fixed text
    digest: Callable[[bytes], Any]
    si_parts: tuple[str, str, str]
    #: the token's reference is text `splice_wire` writes as lxml would (`_plain_ref_text`)
    splice_ref: bool


_DKT_CLOSE: Final = "</c:Nonce></c:DerivedKeyToken>"
_ED_OPEN: Final = f'<e:EncryptedData xmlns:e="{ns.XENC}" Id="'
_DS_DECL: Final = f' xmlns:ds="{ns.DS}"'.encode("ascii")
_SIG_OPEN: Final = f'<ds:Signature xmlns:ds="{ns.DS}">'.encode("ascii")
#: (id(token), id(policy)) -> its `Plan`. Each plan holds its token and policy, so neither
#: id can be reused by another object while the entry lives; bounded (cleared when full).
_PLANS: dict[tuple[int, int], Plan] = {}
_MAX_PLANS: Final = 64


def plan(token: ProtectionToken, policy: MessagePolicy) -> Plan | None:
    """The `Plan` of this pair when the pair fits the layout (the policy's shape, a symmetric
    key, a plain local reference to the token); None otherwise. Worked out once per pair:
    tokens and policies are frozen, and a plan is found again only for the very same two
    objects."""
    found = _PLANS.get((id(token), id(policy)))
    if found is not None and found.token is token and found.policy is policy:
        PATHS["protect.plan.reused"] += 1
        return found
    made = _make_plan(token, policy)
    if made is not None:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[(id(token), id(policy))] = made
    return made


def forget_plans(token: ProtectionToken) -> None:
    """Drop the plans of ``token`` (its session ended): they hold its key."""
    for k, p in list(_PLANS.items()):  # a copy: other threads add plans meanwhile
        if p.token is token:
            _PLANS.pop(k, None)


def _make_plan(token: ProtectionToken, policy: MessagePolicy) -> Plan | None:
    key = signing_key(token)
    if (
        policy.transport
        or not policy.derived_keys
        or not policy.encrypt_body
        or not policy.encrypt_signature
        or not isinstance(key, bytes)
    ):
        return None
    base_ref = token_ref(token, policy)
    if not _plain_reference(base_ref):
        return None
    sc, suite = policy.sc, policy.suite
    digest = digest_constructor(suite.digest)
    if digest is None:
        return None  # the general writer refuses it
    base = str_xml(base_ref, False)
    mids = []
    for length in (suite.signature_key_length, suite.encryption_key_length):
        ol = "" if length == DEFAULT_LENGTH else f"<c:Offset>0</c:Offset><c:Length>{length}</c:Length>"
        mids.append(f'">{base}{ol}<c:Nonce>')
    dk_type = sc.dk_token_type if policy.local_reference_value_types else None
    vt = f' ValueType="{_attr(dk_type)}"' if dk_type else ""
    ref_open = '<o:SecurityTokenReference><o:Reference URI="#'
    ref_open_declared = f'<o:SecurityTokenReference xmlns:o="{ns.WSSE}"><o:Reference URI="#'
    alg = _attr(suite.encryption)
    ed_mid = tuple(
        f'" Type="{_attr(t)}"><e:EncryptionMethod Algorithm="{alg}"/><ds:KeyInfo xmlns:ds="{ns.DS}">'
        for t in (ns.XENC_CONTENT, ns.XENC_ELEMENT)
    )
    return Plan(
        token=token,
        policy=policy,
        key=key,
        base_ref=base_ref,
        token_text=sct_xml(token, sc),
        dkt_open=f'<c:DerivedKeyToken xmlns:c="{sc.ns}" u:Id="',
        dkt_mid=(mids[0], mids[1]),
        ref_open=(ref_open_declared, ref_open),
        ref_close=f'"{vt}/></o:SecurityTokenReference>',
        ed_mid=(ed_mid[0], ed_mid[1]),
        ed_close="</ds:KeyInfo><e:CipherData><e:CipherValue>",
        seed_prefix=DEFAULT_LABEL.encode("utf-8"),
        mac=HmacKey(key),
        digest=digest,
        si_parts=_signed_info_parts(suite.symmetric_signature, suite.digest),
        splice_ref=_plain_ref_text(base_ref),
    )


def protect_wcf_layout(
    env: Envelope,
    header: etree._Element,
    token: ProtectionToken,
    policy: MessagePolicy,
    now: float,
    content: bytes | None,
    ids: Ids,
    signature_values: list[bytes] | None,
    supporting: Sequence[etree._Element],
    confirmations: Sequence[bytes] | None,
    endorsing: ProtectionToken | Sequence[ProtectionToken] | None,
    encrypt_with: EncryptedKeyProtection | None,
    wire: bool = False,
    encoding: str | None = None,
) -> bool | bytes:
    """WCF's default layout with its header written as one string (`outbound_fast`): the
    same steps, ids, random draws and bytes as the general writer below. False, having
    changed nothing, when the call departs from that layout in any way.

    With ``wire``, the wire bytes (``etree.tostring(root, encoding=encoding)`` of what the
    element path makes) when `splice_wire` can write them; else True, the header attached
    to the envelope as without ``wire``."""
    if supporting or confirmations or endorsing or encrypt_with is not None:
        return False
    p = plan(token, policy)
    if p is None:
        return False
    soap_prefix = _soap_prefix(header, env.version.ns)
    if soap_prefix is None:
        return False
    # No id anywhere outside the Body's content (`Ids` starts from every id in use): no
    # header or Body carries one, and each gets a new one without being asked.
    no_ids = not ids.taken
    suite = policy.suite
    ref_open, ref_close = p.ref_open, p.ref_close
    ts_id = ids.next()
    ts_c14n, ts_text = _timestamp_texts(ts_id, now, now + policy.timestamp_validity)
    token_el = p.token_text or token.header_element(policy.sc)
    dkts: list[str] = []
    keys: list[tuple[bytes, str]] = []
    for length, mid in zip((suite.signature_key_length, suite.encryption_key_length), p.dkt_mid, strict=True):
        nonce, dk_id = os.urandom(16), ids.next()
        dkts.append(f"{p.dkt_open}{dk_id}{mid}{_b64(nonce)}{_DKT_CLOSE}")
        keys.append((p_sha1_keyed(p.mac, p.seed_prefix + nonce, length), dk_id))
    (sig_key, sig_dk), (enc_key, enc_dk) = keys
    targets: list[tuple[str, etree._Element | bytes]] = [(ts_id, ts_c14n)]
    if policy.sign_addressing_headers:
        for h in header:
            tag = h.tag
            if isinstance(tag, str) and tag.startswith(WSA_TAG_PREFIXES):
                targets.append((_new_id(h, ids) if no_ids else ensure_id(h, ids), h))
    body = env.body
    targets.append((_new_id(body, ids) if no_ids else ensure_id(body, ids), body))
    si = _signed_info(p, targets, no_ids)
    value = hmac_sign(suite.symmetric_signature, sig_key, si)
    if signature_values is not None:
        signature_values.append(value)
    signature = b"".join(
        (
            _SIG_OPEN,
            si.replace(_DS_DECL, b"", 1),
            f"<ds:SignatureValue>{_b64(value)}</ds:SignatureValue>"
            f"<ds:KeyInfo>{ref_open[0]}{sig_dk}{ref_close}</ds:KeyInfo></ds:Signature>".encode("ascii"),
        )
    )
    enc_ref = f"{ref_open[0]}{enc_dk}{ref_close}"
    body_data_id = ids.next()
    body_ed = (
        f"{_ED_OPEN}{body_data_id}{p.ed_mid[0]}{enc_ref}{p.ed_close}",
        b2a_base64(
            block_encrypt(suite.encryption, enc_key, serialize_content(body) if content is None else content),
            newline=False,
        ),
        _ED_TAIL,
    )
    sig_data_id = ids.next()
    sig_ed = (
        f"{_ED_OPEN}{sig_data_id}{p.ed_mid[1]}{ref_open[1]}{enc_dk}{ref_close}{p.ed_close}"
        f"{_b64(block_encrypt(suite.encryption, enc_key, signature))}{_ED_TAIL}"
    )
    for child in list(body):
        body.remove(child)
    body.text = None
    text = (
        f"{ts_text}{token_el if isinstance(token_el, str) else ''}{dkts[0]}{dkts[1]}"
        f'<e:ReferenceList xmlns:e="{ns.XENC}"><e:DataReference URI="#{body_data_id}"/>'
        f'<e:DataReference URI="#{sig_data_id}"/></e:ReferenceList>{sig_ed}'
    )
    if (
        wire
        and encoding in WIRE_ENCODINGS
        and (token_el is None or isinstance(token_el, str))
        and p.splice_ref
        and _spliceable_body(body, soap_prefix)
    ):
        out = splice_wire(env.root, header, body, soap_prefix, env.version.ns, text, body_ed, encoding)
        if out is not None:
            PATHS["protect.header.fast"] += 1
            return out
    head, cipher, tail = body_ed
    write_header(
        header, body, soap_prefix, env.version.ns, token_el, text, head + cipher.decode("ascii") + tail
    )
    return True


def _b64(data: bytes) -> str:
    return b2a_base64(data, newline=False).decode("ascii")


def _signed_info(p: Plan, targets: Sequence[tuple[str, etree._Element | bytes]], own_ids: bool) -> bytes:
    """`signed_info_xml` with the plan's digest and fixed text; with ``own_ids`` every id is
    one of ours (``_N``: nothing to escape)."""
    head, ref_open, ref_mid = p.si_parts
    digest = p.digest
    parts = [head]
    for wsu_id, el in targets:
        dv = _b64(digest(el if isinstance(el, bytes) else exc_c14n(el)).digest())
        parts.append(
            f"{ref_open}{wsu_id if own_ids else _attr(wsu_id)}{ref_mid}{dv}</ds:DigestValue></ds:Reference>"
        )
    parts.append("</ds:SignedInfo>")
    return "".join(parts).encode("utf-8")


def _new_id(el: etree._Element, ids: Ids) -> str:
    """`ensure_id` for an element known to carry no id."""
    new = ids.next()
    el.set(WSU_ID, new)
    return new


__all__ = [
    "WIRE_ENCODINGS",
    "Plan",
    "dkt_xml",
    "plan",
    "protect_wcf_layout",
    "sct_xml",
    "splice_wire",
    "write_header",
]
