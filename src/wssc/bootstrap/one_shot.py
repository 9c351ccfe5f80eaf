"""The service half the one-shot bootstraps share: verify a request their own key protects,
with no session (an RST/SCT, a Renew, or without secure conversation every message), and
secure the reply under that same key.

A one-shot bootstrap (AnonymousForCertificate, UserNameForCertificate, MutualCertificate
under WS-Security 1.1, Kerberos, IssuedToken) finds its key in the request itself: an
EncryptedKey to the service's certificate, a Kerberos AP-REQ, an issued token's proof key.
What each does before the signature check (unwrap, accept the ticket, validate the
assertion) is its own; what follows is this module's::

    request  ─ bootstrap_policy ─ verify_request(…, signed_by=kind) ─ accepted(…)  → ServiceResult
    reply    ─ secure_reply(…, token=<the key, referenced by its identifier>)

A Renew (``endorsing``: the session's keys) must also carry one endorsing signature by the
session's SCT over the primary one, unless the bootstrap names its endorsing signatures
itself (MutualCertificate: the client's certificate, then the SCT).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from wssc.bootstrap.base import ServiceResult
from wssc.errors import InvalidSecurity
from wssc.security.inbound import KeyResolver, VerifiedMessage, verify
from wssc.security.outbound import protect
from wssc.security.policy import MessagePolicy
from wssc.security.replay import ReplayCache
from wssc.security.tokens import ProtectionToken
from wssc.security.x509_validation import REFUSE_ALL, CertificateValidator


def bootstrap_policy(policy: MessagePolicy) -> MessagePolicy:
    """The policy of a message the bootstrap's key protects: signed and encrypted (the Body,
    the signature) under message security, derived keys as the session's setting says (the
    bootstrap token's RequireDerivedKeys is written from the same setting; WCF's
    SetKeyDerivation)."""
    return replace(
        policy,
        encrypt_body=True,
        transport=False,
        require_signature=True,
        require_signed_body=True,
        require_encrypted_body=True,
        enforce_derived_keys=True,
    )


def verify_request(
    data: bytes | etree._Element,
    policy: MessagePolicy,
    now: float,
    replay_cache: ReplayCache | None,
    endorsing: KeyResolver | None,
    *,
    partition: str,
    signed_by: str | None,
    refusal: str = "",
    private_key: rsa.RSAPrivateKey | None = None,
    private_key_thumbprint: str | None = None,
    certificate_validator: CertificateValidator = REFUSE_ALL,
    kerberos_keys: Mapping[str, bytes] | None = None,
    issued_keys: Mapping[str, bytes] | None = None,
) -> VerifiedMessage:
    """Verify a request under ``policy`` (the bootstrap's: `bootstrap_policy` or its own
    variant), its replays charged to ``partition``, with the key material the bootstrap
    found; with ``endorsing``, a Renew endorsed by the session's SCT. The primary signature
    must be by the bootstrap's key (``signed_by``, a `VerifiedMessage.signing_kind`), else
    ``InvalidSecurity(refusal)`` is raised (None: the caller checks it itself)."""
    if endorsing is not None and not policy.endorsing_signatures:
        policy = replace(policy, require_endorsing_signature=True)
    result = verify(
        data,
        policy=policy,
        now=now,
        private_key=private_key,
        private_key_thumbprint=private_key_thumbprint,
        replay_cache=replay_cache,
        replay_partition=partition,
        resolver=endorsing,
        certificate_validator=certificate_validator,
        kerberos_keys=kerberos_keys,
        issued_keys=issued_keys,
    )
    if signed_by is not None and result.signing_kind != signed_by:
        raise InvalidSecurity(refusal)
    return result


def accepted(result: VerifiedMessage, identity: str, key_id: str, key: bytes) -> ServiceResult:
    """What the engine gets: the identity, and the key (by the identifier the reply names it
    by) to secure the reply under."""
    return ServiceResult(result, identity, {key_id: key}, key_id)


def secure_reply(
    envelope: etree._Element,
    result: ServiceResult,
    policy: MessagePolicy,
    now: float | None,
    *,
    token: Callable[[str, bytes], ProtectionToken],
    missing: str,
    confirmations: Sequence[bytes] | None = None,
) -> etree._Element:
    """The reply under the request's key: ``token(key_id, key)`` references it (not included);
    ``policy`` is the bootstrap's. No key: ``InvalidSecurity(missing)``."""
    key_id = result.reply_sha1
    if key_id is None or key_id not in result.reply_keys:
        raise InvalidSecurity(missing)
    return protect(
        envelope, token(key_id, result.reply_keys[key_id]), policy, now=now, confirmations=confirmations
    )


def request_confirmations(message: VerifiedMessage) -> list[bytes] | None:
    """What a reply confirms under WCF's ``RequireSignatureConfirmation``: the SignatureValue
    of each signature of the request ``message``, the primary first, then the endorsing ones
    (None when the request had no signature)."""
    if message.signature_value is None:
        return None
    return [message.signature_value, *message.endorsing_signature_values]


__all__ = ["accepted", "bootstrap_policy", "request_confirmations", "secure_reply", "verify_request"]
