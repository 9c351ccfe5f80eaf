"""Step 4 of inbound processing: decrypt, only with keys of the signing token.

Each EncryptedData named by a ReferenceList *before* the signature (SignBeforeEncrypt) is
decrypted, and only with a key whose root token is the signature's root token (the same SCT,
the same EncryptedKey). A ReferenceList after the signature is refused unless the policy
encrypts before it signs. The encrypted ``ds:Signature`` (WCF's EncryptSignature) is the only
data decrypted before authentication (`decrypt_signature`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from lxml import etree

from wssc.crypto.primitives import block_decrypt, block_decrypt_lenient, cipher_key_length
from wssc.errors import FailedCheck, InvalidSecurity, MalformedXml, UnsupportedAlgorithm
from wssc.security.context import (
    DATA_REFERENCE,
    ENCRYPTED_DATA,
    SIGNATURE,
    InboundContext,
    log_name,
    log_value,
)
from wssc.security.header_state import Recorded, Token
from wssc.security.layout import encrypted_data_parts
from wssc.security.processors import PROCESSORS, b64decode
from wssc.tokens.paths import PATHS
from wssc.xml import ns
from wssc.xml.ids import index_ids
from wssc.xml.parse import ParserLimits, fragment_start, parse_fragment


def decrypt_signature(ctx: InboundContext, rec: Recorded) -> tuple[etree._Element, Token]:
    """WCF's EncryptSignature: a header EncryptedData that holds a ds:Signature."""
    ed = rec.element
    listed = _listing(ctx, ed)
    if listed is None:
        raise InvalidSecurity("an EncryptedData in the header is not referenced")
    if listed.position > rec.position:
        raise InvalidSecurity("the ReferenceList of the signature comes after it")
    if ed.get("Type") != ns.XENC_ELEMENT:
        raise InvalidSecurity("the header EncryptedData of a signature is not an encrypted element")
    parts = encrypted_data_parts(ed)  # WCF's layout by position, checked; else general
    tok = ctx.state.token_from_keyinfo(ed, listed.default_key, parts[1] if parts else None)
    new = decrypt(ctx, ed, tok, lenient_padding=True, parts=parts)
    if new.tag != SIGNATURE:
        raise FailedCheck("the message is not signed (no ds:Signature)")
    return new, tok


def encrypted_under_message_key(ctx: InboundContext, tok: Token, signer: Token) -> bool:
    """Is ``tok`` the key this message may be decrypted with? The signer's token (a symmetric
    binding: the same SCT, the same EncryptedKey); under an AsymmetricBinding, the message's
    one EncryptedKey (the signer is an X.509 token, which cannot encrypt), the same for every
    EncryptedData of the message."""
    if not ctx.policy.asymmetric:
        return tok.base is signer.base
    base = tok.base
    if (
        base.kind != "ek"
        or base.derived
        or base.sha1 is None
        or ctx.state.ek_by_sha1.get(base.sha1) is not base
    ):
        return False
    if ctx.encryption_root is None:
        ctx.encryption_root = base
    return ctx.encryption_root is base


def _listing(ctx: InboundContext, ed: etree._Element) -> Recorded | None:
    ident = ed.get("Id") or ed.get(f"{{{ns.WSU}}}Id")
    if not ident:
        return None
    for rl in ctx.state.reference_lists:
        for dr in rl.element:
            if dr.tag == DATA_REFERENCE and dr.get("URI") == "#" + ident:
                return rl
    return None


def decrypt_before(ctx: InboundContext, position: int | None, signer: Token | None) -> None:
    """Decrypt what the ReferenceLists before ``position`` (None: all) name."""
    for rl in ctx.state.reference_lists:
        if position is not None and rl.position > position:
            continue
        _decrypt_list(ctx, rl, signer)


def decrypt_after(ctx: InboundContext, position: int, signer: Token) -> None:
    for rl in ctx.state.reference_lists:
        if rl.position > position:
            if ctx.policy.sign_before_encrypt:
                raise InvalidSecurity(
                    "a ReferenceList follows the signature (the policy signs before it encrypts)"
                )
            _decrypt_list(ctx, rl, signer)


def _decrypt_list(ctx: InboundContext, rl: Recorded, signer: Token | None) -> None:
    for dr in rl.element:
        if not isinstance(dr.tag, str):
            continue
        if dr.tag != DATA_REFERENCE:
            raise InvalidSecurity("a ReferenceList may only hold DataReferences")
        uri = dr.get("URI") or ""
        if not uri.startswith("#") or len(uri) < 2:
            raise InvalidSecurity("a DataReference must be a local #id")
        target = ctx.ids.get(uri[1:])
        if target is None:
            if uri[1:] in ctx.decrypted_ids:
                continue  # the encrypted Signature, already in place
            raise InvalidSecurity("a DataReference does not name an EncryptedData")
        if target.tag != ENCRYPTED_DATA:
            raise InvalidSecurity("a DataReference does not name an EncryptedData")
        if any(target is e.element for e in ctx.endorsing):
            continue  # an encrypted endorsing signature: opened by check_endorsing
        parts = encrypted_data_parts(target)
        tok = ctx.state.token_from_keyinfo(target, rl.default_key, parts[1] if parts else None)
        if signer is None:
            raise InvalidSecurity("encrypted data in a message without a signature")
        if not encrypted_under_message_key(ctx, tok, signer):
            raise InvalidSecurity("the data was encrypted with a key of another token than the signature's")
        new = decrypt(ctx, target, tok, parts=parts)
        if new.getparent() is ctx.state.security:
            # An encrypted header token (WCF encrypts SignatureConfirmation along with
            # the Signature): processed now that it is authentic, by a processor that says
            # its element may arrive encrypted.
            proc = PROCESSORS.get(new.tag) if isinstance(new.tag, str) else None
            if proc is None or not proc.after_decryption:
                raise InvalidSecurity(f"unexpected encrypted element {log_name(new)} in the security header")
            proc(new, ctx.state, rl.position)


def decrypt(
    ctx: InboundContext,
    ed: etree._Element,
    tok: Token,
    *,
    lenient_padding: bool = False,
    parts: tuple[etree._Element, etree._Element, etree._Element] | None = None,
) -> etree._Element:
    """Decrypt ``ed`` in place; returns the element now holding the plaintext.

    ``parts``: ``ed``'s EncryptionMethod, KeyInfo and CipherValue when the caller has read
    them by position (`wssc.security.layout.encrypted_data_parts`), else None.
    ``lenient_padding`` (the encrypted Signature, decrypted before authentication): bad
    padding does not fail at once; the plaintext is parsed all the same and the failure
    comes after, so that bad padding and garbage plaintext take the same path."""
    p = ctx.policy
    typ = ed.get("Type")
    if typ not in (ns.XENC_CONTENT, ns.XENC_ELEMENT):
        raise InvalidSecurity("unsupported EncryptedData Type")
    method = parts[0] if parts is not None else ed.find(f"{{{ns.XENC}}}EncryptionMethod")
    alg = method.get("Algorithm") if method is not None else None
    if alg is None:
        raise InvalidSecurity("EncryptedData has no EncryptionMethod")
    if p.strict_algorithms and alg != p.suite.encryption:
        raise UnsupportedAlgorithm(f"encryption method {log_value(alg)}")
    if tok.asymmetric:
        raise InvalidSecurity("data cannot be decrypted with a public key")
    if len(tok.key) < cipher_key_length(alg):
        raise FailedCheck("the encryption key is shorter than the algorithm needs")
    cv = parts[2] if parts is not None else ed.find(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue")
    raw = b64decode(cv.text if cv is not None else None, "CipherValue")
    parent = ed.getparent()
    assert parent is not None
    scope = parent.nsmap  # a new dict on every read: read once
    if len(scope) > p.max_namespace_declarations:
        raise InvalidSecurity(f"more than {p.max_namespace_declarations} namespaces are in scope")
    if lenient_padding:
        plain, padding_ok = block_decrypt_lenient(alg, tok.key, raw)
        if not padding_ok:
            ctx.state.deferred_failure = "the decrypted data has invalid padding"
    else:
        plain = block_decrypt(alg, tok.key, raw)
    fs = fragment_scope(scope)
    nodes = _parse_fragment(plain, fs, ctx.limits)
    ed_id = ed.get("Id")
    if ed_id is not None and ctx.ids.get(ed_id) is ed:
        del ctx.ids[ed_id]
        ctx.decrypted_ids.add(ed_id)
    if typ == ns.XENC_ELEMENT:
        elems = [n for n in nodes if isinstance(n.tag, str)]
        if len(elems) != 1 or (nodes.text or "").strip():
            raise FailedCheck("the decrypted element is not a single element")
        new = elems[0]
        new.tail = ed.tail
        parent.replace(ed, new)
        ctx.result.encrypted.append((typ, new))
        if may_hold_ids(plain):
            index_ids(new, ctx.ids)
        return new
    if len(parent) != 1 or (parent.text or "").strip():
        raise InvalidSecurity("encrypted content must be the only content of its parent")
    parent.remove(ed)
    parent.text = nodes.text
    graft = _would_be_renamed(plain, fs)
    scan = may_hold_ids(plain)
    for n in list(nodes):
        if not isinstance(n.tag, str):
            continue
        if graft:
            g = _graft(n, parent)
            g.tail = n.tail
        else:  # the common case: moving keeps every prefix
            parent.append(n)
            g = n
        if scan:
            index_ids(g, ctx.ids)
    ctx.result.encrypted.append((typ, parent))
    return parent


def may_hold_ids(plain: bytes) -> bool:
    """Can the parsed plaintext hold an id attribute (``wsu:Id`` or ``Id``)? Every such
    attribute's name ends with the bytes ``Id`` in the plaintext (a name holds no character
    reference, and the fragment is parsed as UTF-8: ASCII is its own bytes), so plaintext
    without them has no id to index: the scan of the new elements (an XPath over their
    subtree) is skipped. Any ``Id`` at all (an ``Identifier``, base64) takes the scan."""
    found = b"Id" in plain
    PATHS["fragment_ids.scan" if found else "fragment_ids.skip"] += 1
    return found


@dataclass(frozen=True, slots=True)
class FragmentScope:
    """What decrypting into a parent needs of the namespaces in scope there (its ``nsmap``),
    worked out once per distinct scope (`fragment_scope`): the wrapper start tag that parses
    the plaintext in that scope (`wssc.xml.parse.fragment_start`), and each URI's prefix
    (None for the default namespace), or None in place of the map when the scope itself
    declares one URI under two prefixes (then moving nodes there may rename them)."""

    start: bytes
    prefix_of: Mapping[str, str | None] | None


#: Distinct scopes seen (a service sees a handful: one per message layout). Emptied when
#: full, so that a client sending ever new namespaces costs itself the work, not memory.
_SCOPES: dict[tuple[tuple[str | None, str], ...], FragmentScope] = {}
_MAX_SCOPES: Final = 64


def fragment_scope(scope: Mapping[str | None, str]) -> FragmentScope:
    key = tuple(scope.items())
    found = _SCOPES.get(key)
    if found is None:
        prefix_of: dict[str, str | None] = {}
        for p, u in key:
            if prefix_of.setdefault(u, p) != p:
                break
        else:
            found = FragmentScope(fragment_start(scope), prefix_of)
        if found is None:  # one URI under two prefixes
            found = FragmentScope(fragment_start(scope), None)
        if len(_SCOPES) >= _MAX_SCOPES:
            _SCOPES.clear()
        _SCOPES[key] = found
    return found


def _parse_fragment(plain: bytes, fs: FragmentScope, limits: ParserLimits) -> etree._Element:
    """Parse decrypted bytes as a fragment in the namespace scope ``fs`` of its parent."""
    try:
        return parse_fragment(fs.start, plain, limits)
    except MalformedXml:
        raise FailedCheck("the decrypted data is not well-formed XML (wrong key?)") from None


#: An ``xmlns`` or ``xmlns:p`` declaration. Possessive, and a prefix of at most 256 bytes, so
#: that a match tried at each ``xmlns`` in the plaintext reads a bounded stretch of it: with
#: ``[^\s=/>]+`` and backtracking, 48 KB of ``xmlns:xmlns:…`` took 9.5 s (each try ran to
#: the end), in a decryption any session holder can ask for. A longer prefix is not read as
#: a declaration: the nodes are then moved, not grafted, and if lxml renames a prefix the
#: digest fails, closed.
#: ``xmlns`` that start no declaration (text that names them, say): past this many the answer
#: is yes (graft), so that a plaintext of ``xmlns:xmlns:…`` costs one bounded try each for the
#: first few only, and grafting (linear) does the rest.
_MAX_MISSES: Final = 32
_XMLNS = re.compile(rb"""xmlns(?::([^\s=/>]{1,256}+))?+\s*+=\s*+(?:"([^"]*+)"|'([^']*+)')""")


def _would_be_renamed(plain: bytes, fs: FragmentScope) -> bool:
    """Would moving the parsed plaintext under a parent with namespace scope ``fs`` change its
    prefixes? lxml drops a moved element's declaration of a URI that is already declared
    under another prefix (by the new parent, or by an ancestor inside the plaintext itself:
    CXF's RSTR writes ``<wsc:SecurityContextToken xmlns:wsc=U>…<Instance xmlns=U>``), and
    points the element at that other prefix. So: is any URI declared under two prefixes,
    counting the scope and the plaintext's own ``xmlns`` declarations? (A URI written with
    character references is not recognised here: the digest then fails, closed.) The
    declarations are read left to right, each from the end of the one before, as
    ``finditer`` would; the search for the next ``xmlns`` is ``bytes.find`` (memchr). More
    than `_MAX_MISSES` ``xmlns`` that start no declaration: yes (grafting is always right,
    only slower than a move)."""
    scope = fs.prefix_of
    if scope is None:
        return True
    own: dict[str, str | None] = {}
    misses = 0
    pos = plain.find(b"xmlns")
    while pos >= 0:
        m = _XMLNS.match(plain, pos)
        if m is None:
            misses += 1
            if misses > _MAX_MISSES:
                return True  # grafting keeps every prefix, whatever the declarations
            pos = plain.find(b"xmlns", pos + 1)
            continue
        prefix = m.group(1).decode("utf-8", "replace") if m.group(1) else None
        uri = (m.group(2) if m.group(2) is not None else m.group(3) or b"").decode("utf-8", "replace")
        if uri in scope:
            if scope[uri] != prefix:
                return True
        elif own.setdefault(uri, prefix) != prefix:
            return True
        pos = plain.find(b"xmlns", m.end())
    return False


def _graft(src: etree._Element, parent: etree._Element) -> etree._Element:
    """Rebuild ``src`` (decrypted, in its own document) as the last child of ``parent``,
    keeping the sender's prefixes: each element declares what it declared in the plaintext.

    Moving the parsed nodes instead would let lxml re-point every prefix to the nearest
    declaration of the same URI in the envelope (``ns2:Id`` becoming ``wsu:Id``), and the
    exclusive c14n of the Body would no longer be what the sender digested (Metro aliases
    wsu and wsse inside its Body). Depth is bounded by the parser's limits."""
    up = src.getparent()
    inherited = up.nsmap if up is not None else {}
    own = {p: u for p, u in src.nsmap.items() if inherited.get(p) != u}
    el = etree.SubElement(parent, src.tag, nsmap=own)  # type: ignore[arg-type]
    for k, v in src.attrib.items():
        el.set(k, v)
    el.text = src.text
    for child in src:
        if isinstance(child.tag, str):
            g = _graft(child, el)
            g.tail = child.tail
    return el
