"""The small policy object that drives outbound protection and inbound verification."""

from __future__ import annotations

from dataclasses import dataclass

from wssc.crypto.suites import DEFAULT_SUITE, AlgorithmSuite
from wssc.settings import SpnegoDialect
from wssc.xml import ns
from wssc.xml.ns import ScVersion


@dataclass(frozen=True, slots=True)
class MessagePolicy:
    """How one message is protected, or what an incoming one must satisfy.

    The defaults are WCF's symmetric SCT binding: derived keys, Basic256, Timestamp + Body +
    WS-Addressing headers signed, Body and Signature encrypted
    (``SignBeforeEncryptAndEncryptSignature``), strict layout.

    ``transport=True`` is WCF's SCT over HTTPS: the SCT *endorses* the Timestamp with a
    signature made directly with the SCT key; the Body relies on TLS.
    """

    sc: ScVersion = ns.SC_FEB2005
    suite: AlgorithmSuite = DEFAULT_SUITE
    derived_keys: bool = True
    encrypt_body: bool = True
    encrypt_signature: bool = True
    transport: bool = False
    sign_addressing_headers: bool = True
    timestamp_validity: float = 300.0
    #: Write ``ValueType`` on ``#id`` references to tokens in the same header (``…/sc/dk``,
    #: ``…#EncryptedKey``, ``…/sc/sct``), as WCF and WSS4J do. Mono's WCF refuses the attribute
    #: there ("Unexpected ValueType", "Malformed reference element"); ``False`` leaves it out.
    local_reference_value_types: bool = True
    #: The SPNEGO negotiation's wire dialect (`wssc.settings.Compatibility.spnego`): what a
    #: negotiating bootstrap writes and accepts; ``"wcf"`` unless a CXF peer is declared.
    spnego: SpnegoDialect = "wcf"
    #: Supporting tokens (``protect(supporting=…)``: a UsernameToken) are covered by the
    #: message signature (WCF's SignedSupportingTokens under message security). Not under
    #: ``transport``, where TLS protects them.
    sign_supporting_tokens: bool = False
    #: ...and encrypted with the message's encryption key, after signing (WCF's
    #: SignedEncryptedSupportingTokens: a UsernameToken in a symmetric binding).
    encrypt_supporting_tokens: bool = False
    #: An AsymmetricBinding (WCF's MutualCertificate under WS-Security 1.0): the message
    #: signature is an RSA signature by an X.509 token, and what is encrypted is encrypted
    #: under one EncryptedKey (to the receiver's certificate), not under the signer's key.
    #: Outbound: `protect`'s ``encrypt_with``; inbound: the signer must be an X.509 token and
    #: every decryption key the message's one EncryptedKey.
    asymmetric: bool = False
    #: The endpoint's WS-Security version is 1.1 (WCF's ``WSSecurity11…`` versions); False:
    #: 1.0 (no SignatureConfirmation, thumbprint or EncryptedKeySHA1 references). A bootstrap
    #: whose shape depends on it (MutualCertificate) reads it here.
    wss11: bool = True
    # --- inbound only ----------------------------------------------------------------
    max_clock_skew: float = 300.0
    replay_window: float = 300.0
    require_timestamp: bool = True
    #: False only for a bootstrap over TLS (Timestamp + UsernameToken, no signature).
    require_signature: bool = True
    require_signed_body: bool = True
    #: None: encryption is accepted but not required; True: the Body must be encrypted.
    require_encrypted_body: bool | None = None
    require_signed_addressing: bool = False
    #: WCF: (1 + 1 + endorsing tokens needing derivation) x 2.
    max_derived_keys: int = 4
    #: ds:Reference elements in one signature.
    max_references: int = 32
    #: Children of the wsse:Security header (WCF's layouts use fewer than ten).
    max_header_elements: int = 64
    #: EncryptedData items one message may name (DataReferences plus header EncryptedData).
    max_encrypted_data: int = 16
    #: Namespace declarations in scope where an EncryptedData is decrypted (each decryption
    #: re-declares them around the plaintext).
    max_namespace_declarations: int = 64
    #: Accept exactly the suite's algorithms and key lengths (no downgrade). ``False`` accepts
    #: any supported algorithm: for ``wssc message verify`` on captured traffic.
    strict_algorithms: bool = True
    #: WCF's default MessageProtectionOrder (SignBeforeEncrypt…): every ReferenceList comes
    #: before the signature, and digests are checked over the plaintext.
    sign_before_encrypt: bool = True
    #: Inbound: the primary signature must arrive encrypted (WCF's EncryptSignature; WCF
    #: refuses a plain one: PrimarySignatureIsRequiredToBeEncrypted). A plain signature's
    #: digests would show the hash of the plaintext Body.
    require_encrypted_signature: bool = False
    #: Inbound: besides the primary signature the message carries exactly one *endorsing*
    #: signature, by a key of a SecurityContextToken, whose only Reference is the primary
    #: ``ds:Signature`` (WCF's and Metro's Renew under message security: the Renew is secured
    #: by the bootstrap and the session's SCT endorses it). Off, a second signature is refused.
    require_endorsing_signature: bool = False
    #: Inbound: the token types (URIs) whose key may make the endorsing signature. ``None``:
    #: the SecurityContextToken of the policy's WS-SC version (the session's SCT endorsing a
    #: Renew, as WCF and Metro send it).
    endorsing_tokens: frozenset[str] | None = None
    #: Inbound: the endorsing signatures the message must carry, one per entry, each by a
    #: token of that type (URI), none by the primary's token nor by another's: WCF's Renew
    #: under MutualCertificate carries two (the client's X.509 certificate and the session's
    #: SCT). Non-empty, it replaces ``require_endorsing_signature``/``endorsing_tokens``.
    endorsing_signatures: tuple[str, ...] = ()
    #: Inbound: every supporting token (a UsernameToken) must be covered by the message
    #: signature / must have arrived encrypted (the receiving side of the two above).
    require_signed_supporting: bool = False
    require_encrypted_supporting: bool = False
    check_expiry: bool = True
    #: Inbound: with ``derived_keys`` the signature must use a DerivedKeyToken; without, the
    #: token key itself (WCF's RequireDerivedKeys). ``None`` accepts either (debugging).
    enforce_derived_keys: bool | None = True

    @property
    def endorsing_token_types(self) -> frozenset[str]:
        """The token types an endorsing signature's key may come from."""
        if self.endorsing_tokens is not None:
            return self.endorsing_tokens
        return frozenset((self.sc.sct_token_type,))

    @property
    def required_endorsements(self) -> tuple[frozenset[str], ...]:
        """The endorsing signatures a message must carry: for each, the token types its key
        may come from (empty: no endorsing signature is accepted)."""
        if self.endorsing_signatures:
            return tuple(frozenset((t,)) for t in self.endorsing_signatures)
        if self.require_endorsing_signature:
            return (self.endorsing_token_types,)
        return ()

    @property
    def signature_algorithm(self) -> str:
        return self.suite.symmetric_signature
