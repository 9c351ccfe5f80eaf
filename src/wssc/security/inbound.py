"""Inbound: verify and decrypt the ``wsse:Security`` header of a received message.

The order of work is fixed, for safety (no decryption oracle, no key mixing)::

    1. read the header     (here) one linear pass; each child goes to its processor by QName
                           (wssc.security.processors): tokens are resolved, SCT secrets come
                           from the resolver, EncryptedKeys are unwrapped, DKTs derived;
                           ReferenceLists, the Signature and header EncryptedData are only
                           *recorded*. Nothing is decrypted.
    2. authenticate        (authenticate) find the ds:Signature: in the header, or, with
                           WCF's EncryptSignature, in the last header EncryptedData: the only
                           data decrypted before authentication. Check SignatureValue over
                           SignedInfo (HMAC or RSA, chosen by algorithm and key type).
    3. charge replay       (charge) the verified SignatureValue goes to the replay cache
                           before anything else is decrypted.
    4. decrypt             (decrypt) each EncryptedData named by a ReferenceList *before* the
                           signature (SignBeforeEncrypt), and only with a key whose root token
                           is the signature's root token (the same SCT, the same EncryptedKey).
                           A ReferenceList after the signature is refused unless the policy
                           encrypts before it signs.
    5. digests             (digests) each ds:Reference over the (decrypted) element; then
                           (endorsing) the endorsing signature, where the policy has one.
    6. policy              (enforce) by element identity: the Body the application reads is
                           the element that was signed (this defeats signature wrapping); the
                           Timestamp is signed; derived keys as the policy says; the Body
                           encrypted.

Work is linear in the message size and capped by the policy's quotas (header elements,
EncryptedData, signature references, derived keys, namespaces in scope at a decryption).

The errors raised here are detailed and typed, for logs and for ``wssc message verify``. A
service sends none of the details: `wssc.errors.on_the_wire` turns every one of them
into WCF's single generic fault.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from wssc.errors import InvalidSecurity, InvalidSecurityToken, WsscError
from wssc.security.authenticate import SIGNATURE_CHECKS, authenticate
from wssc.security.charge import ReplayCharge
from wssc.security.context import ENCRYPTED_DATA, InboundContext, VerifiedMessage, log_name
from wssc.security.decrypt import decrypt_after, decrypt_before
from wssc.security.digests import check_references
from wssc.security.endorsing import check_endorsing
from wssc.security.enforce import enforce
from wssc.security.header_state import HeaderState, KeyResolver
from wssc.security.policy import MessagePolicy
from wssc.security.processors import PROCESSORS
from wssc.security.replay import ReplayCache
from wssc.security.x509_validation import REFUSE_ALL, CertificateValidator
from wssc.tokens.sct import SecurityContextToken
from wssc.xml.parse import DEFAULT_LIMITS, ParserLimits, parse_xml
from wssc.xml.soap import Envelope


# --- step 1: read the header ---------------------------------------------------------------
def read_header(ctx: InboundContext) -> None:
    st, p = ctx.state, ctx.policy
    position = 0
    for child in st.security:  # one linear pass; never index lxml children
        if not isinstance(child.tag, str):
            continue
        position += 1
        if position > p.max_header_elements:
            raise InvalidSecurity(f"the security header has more than {p.max_header_elements} elements")
        proc = PROCESSORS.get(child.tag)
        if proc is None:
            raise InvalidSecurity(f"unexpected element {log_name(child)} in the security header")
        proc(child, st, position)


# --- the whole order ------------------------------------------------------------------------
def _run(ctx: InboundContext) -> VerifiedMessage:
    st, r = ctx.state, ctx.result
    read_header(ctx)
    r.timestamp = st.timestamp
    r.signature_confirmations = st.confirmations
    r.sc = st.sc
    signed = authenticate(ctx)  # and charge the replay cache
    if signed is None:
        r.username_token = st.username_token
        if st.reference_lists or st.header_encrypted:
            raise InvalidSecurity("encrypted data in a message without a signature")
        enforce(ctx, None)
        return r
    tok, sig, position = signed
    if ctx.policy.asymmetric and tok.base.kind != "x509":
        raise InvalidSecurity("the message is not signed by an X.509 token (the policy is asymmetric)")
    decrypt_before(ctx, position, tok)
    r.signed = check_references(ctx, sig)
    decrypt_after(ctx, position, tok)
    if ctx.policy.required_endorsements:
        check_endorsing(ctx, sig, tok)
    for rec in st.header_encrypted:  # every header EncryptedData must have been listed
        if rec.element.getparent() is not None and rec.element.tag == ENCRYPTED_DATA:
            raise InvalidSecurity("an EncryptedData in the header is not referenced")
    r.username_token = st.username_token
    base = tok.base
    r.derived_keys_used = tok.derived
    r.signing_key = None if base.asymmetric else base.key
    r.signing_kind = base.kind
    r.signing_sct = base.sct
    r.signing_certificate = base.certificate
    if base.sc is not None:
        r.sc = base.sc
    r.encrypted_key_sha1 = base.sha1
    enforce(ctx, sig)
    return r


def verify(
    message: bytes | bytearray | str | etree._Element,
    *,
    resolver: KeyResolver | None = None,
    policy: MessagePolicy = MessagePolicy(),  # noqa: B008 - frozen
    now: float | None = None,
    replay_cache: ReplayCache | None = None,
    private_key: rsa.RSAPrivateKey | None = None,
    encrypted_key_sha1_keys: Mapping[str, bytes] | None = None,
    context_sct: SecurityContextToken | None = None,
    limits: ParserLimits = DEFAULT_LIMITS,
    private_key_thumbprint: str | None = None,
    replay_partition: str = "",
    issued_at: Callable[[SecurityContextToken], float | None] | None = None,
    certificate_validator: CertificateValidator = REFUSE_ALL,
    kerberos_keys: Mapping[str, bytes] | None = None,
    known_certificates: tuple[x509.Certificate, ...] = (),
    issued_keys: Mapping[str, bytes] | None = None,
) -> VerifiedMessage:
    """Verify and decrypt a secured message, or raise a typed `WsscError`.

    ``message`` bytes are parsed with the hardened parser; an element is processed in place.
    ``replay_partition`` names who the replay cache charges the entry to when the message is
    not signed by an SCT (a peer address, say); an SCT-signed message is charged to its SCT.
    ``issued_at`` says when the session of a signing SCT was issued (service clock): with it,
    the replay cache also refuses an SCT-signed message it could have seen before it started
    (`wssc.security.replay`). ``certificate_validator`` decides whether the certificate of
    a BinarySecurityToken may sign (`wssc.security.x509_validation`; by default none may).
    ``kerberos_keys`` are the session keys of the Kerberos AP-REQs the bootstrap accepted, by
    their Kerberosv5APREQSHA1 (`wssc.bootstrap.kerberos`); any other AP-REQ is refused.
    ``known_certificates``: certificates an external reference may name as the signer (a
    client's pinned service certificate under an AsymmetricBinding). ``issued_keys``: the
    proof keys of the issued tokens (SAML assertions) the bootstrap validated, by their ID.
    """
    root: etree._Element
    if isinstance(message, etree._Element):
        root = message
        # Exclusive c14n without comments leaves comments out of every digest, while
        # ``.text`` stops at a comment: strip them so the application reads exactly what
        # was signed. (`parse_xml` drops them while parsing: bytes arrive without any.)
        etree.strip_tags(root, etree.Comment)
    elif isinstance(message, str):
        root = parse_xml(message, limits)
    else:
        root = parse_xml(bytes(message), limits)
    now = time.time() if now is None else now
    env = Envelope(root)
    secs = env.security_headers()
    if not secs:
        raise InvalidSecurity("the message has no wsse:Security header")
    if len(secs) > 1:
        raise InvalidSecurity("the message has more than one wsse:Security header")
    state = HeaderState(
        env,
        secs[0],
        policy,
        resolver,
        now,
        private_key,
        private_key_thumbprint,
        encrypted_key_sha1_keys or {},
        context_sct,
        certificate_validator=certificate_validator,
        kerberos_keys=kerberos_keys or {},
        known_certificates=known_certificates,
        issued_keys=issued_keys or {},
    )
    replay = (
        ReplayCharge(replay_cache, policy, now, replay_partition, issued_at)
        if replay_cache is not None
        else None
    )
    try:
        return _run(InboundContext(state, limits, replay))
    except WsscError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, etree.LxmlError) as exc:
        raise InvalidSecurity(f"the security header could not be processed ({type(exc).__name__})") from None


__all__ = [
    "PROCESSORS",
    "SIGNATURE_CHECKS",
    "InvalidSecurityToken",
    "KeyResolver",
    "VerifiedMessage",
    "verify",
]
