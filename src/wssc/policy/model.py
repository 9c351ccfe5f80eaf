"""What an imported WSDL tells a client: settings plus the evidence they were read from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from wssc.settings import EndpointSettings, SecureConversationSettings

SoapVersionName = Literal["1.1", "1.2"]
Protection = Literal["EncryptAndSign", "Sign", "None"]


@dataclass(frozen=True, slots=True)
class PolicyEvidence:
    """The assertions behind the less obvious settings, as prefixed names (``mssp:…``/``sp:…``).

    ``must_not_send_cancel`` is ``"mssp:MustNotSendCancel"`` or ``"sp:MustNotSendCancel"`` when
    the policy carries it (then ``require_cancellation`` is False), else None; likewise
    ``must_not_send_renew``. ``bootstrap_signature_confirmation`` is True when the bootstrap's
    ``sp:Wss11`` asks for ``sp:RequireSignatureConfirmation`` (WCF's stock AnonymousForCertificate
    does): the RSTR then carries ``wsse11:SignatureConfirmation``.
    """

    must_not_send_cancel: str | None = None
    must_not_send_renew: str | None = None
    must_not_send_amend: bool = False
    bootstrap_signature_confirmation: bool = False
    #: What WCF's other assertions say (`wssc.policy.wcf_assertions`), for ``wssc inspect``.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportedPolicy:
    settings: SecureConversationSettings
    evidence: PolicyEvidence = field(default_factory=PolicyEvidence)


@dataclass(frozen=True, slots=True)
class Operation:
    """One ``wsdl:operation`` of the imported binding.

    ``protection`` comes from the input message's policy (``sp:SignedParts``/``sp:EncryptedParts``
    with ``sp:Body``); None when the WSDL attaches no per-message policy (e.g. over transport).
    """

    name: str
    soap_action: str | None = None
    input_action: str | None = None
    output_action: str | None = None
    protection: Protection | None = None


@dataclass(frozen=True, slots=True)
class ImportedEndpoint:
    """One ``wsdl:port`` with its binding's security policy turned into settings."""

    address: str | None
    soap_version: SoapVersionName
    settings: SecureConversationSettings
    service_certificate_der: bytes | None = None
    #: ``wsid:Identity/wsid:Spn`` (or ``wsid:Upn``): the principal a Windows-authenticated
    #: service runs as, which an SPNEGO client targets
    identity_spn: str | None = None
    identity_upn: str | None = None
    policy_id: str | None = None
    operations: tuple[Operation, ...] = ()
    port_name: str | None = None
    binding_name: str | None = None
    evidence: PolicyEvidence = field(default_factory=PolicyEvidence)

    def endpoint_settings(self) -> EndpointSettings:
        """`EndpointSettings` with WCF's local defaults."""
        return EndpointSettings(secure_conversation=self.settings, soap_version=self.soap_version)
