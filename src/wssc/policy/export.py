"""Export `SecureConversationSettings` as WS-Policy in WCF's shapes.

Message mode (``Bootstrap.ANONYMOUS_FOR_CERTIFICATE``; WS-SecurityPolicy 1.1 shown)::

    <wsp:Policy wsu:Id="WSHttpBinding_ICalculator_policy">
      <wsp:ExactlyOne><wsp:All>
        <sp:SymmetricBinding><wsp:Policy>
          <sp:ProtectionToken><wsp:Policy>
            <sp:SecureConversationToken sp:IncludeToken="…/IncludeToken/AlwaysToRecipient">
              <wsp:Policy>
                <sp:RequireDerivedKeys/>                 (iff require_derived_keys)
                <mssp:MustNotSendCancel/>                (iff not require_cancellation)
                <sp:BootstrapPolicy><wsp:Policy>
                  <sp:SignedParts><sp:Body/><sp:Header Name="To" Namespace="…/addressing"/>…
                  <sp:EncryptedParts><sp:Body/></sp:EncryptedParts>
                  <sp:SymmetricBinding><wsp:Policy>
                    <sp:ProtectionToken><wsp:Policy>
                      <sp:X509Token sp:IncludeToken="…/IncludeToken/Never"><wsp:Policy>
                        <sp:RequireDerivedKeys/><sp:RequireThumbprintReference/>
                        <sp:WssX509V3Token10/>
                      </wsp:Policy></sp:X509Token>
                    </wsp:Policy></sp:ProtectionToken>
                    <sp:AlgorithmSuite><wsp:Policy><sp:Basic256/></wsp:Policy></sp:AlgorithmSuite>
                    <sp:Layout><wsp:Policy><sp:Strict/></wsp:Policy></sp:Layout>
                    <sp:IncludeTimestamp/><sp:EncryptSignature/><sp:OnlySignEntireHeadersAndBody/>
                  </wsp:Policy></sp:SymmetricBinding>
                  <sp:Wss11><wsp:Policy>
                    <sp:MustSupportRefThumbprint/><sp:MustSupportRefEncryptedKey/>
                  </wsp:Policy></sp:Wss11>
                  <sp:Trust10><wsp:Policy>
                    <sp:MustSupportIssuedTokens/><sp:RequireClientEntropy/><sp:RequireServerEntropy/>
                  </wsp:Policy></sp:Trust10>
                </wsp:Policy></sp:BootstrapPolicy>
                <sp:MustNotSendAmend/>                   (SP 1.2 only, always)
                <sp:MustNotSendRenew/>                   (SP 1.2 only, see below)
              </wsp:Policy>
            </sp:SecureConversationToken>
          </wsp:Policy></sp:ProtectionToken>
          <sp:AlgorithmSuite>…</sp:AlgorithmSuite><sp:Layout>…</sp:Layout>
          <sp:IncludeTimestamp/><sp:EncryptSignature/><sp:OnlySignEntireHeadersAndBody/>
        </wsp:Policy></sp:SymmetricBinding>
        <sp:Wss11><wsp:Policy/></sp:Wss11>
        <sp:Trust10>…</sp:Trust10>
        <wsaw:UsingAddressing/>
      </wsp:All></wsp:ExactlyOne>
    </wsp:Policy>

Transport mode (``Bootstrap.USERNAME_OVER_TRANSPORT``)::

    <sp:TransportBinding><wsp:Policy>
      <sp:TransportToken><wsp:Policy><sp:HttpsToken RequireClientCertificate="false"/></wsp:Policy>
      </sp:TransportToken>
      <sp:AlgorithmSuite>…</sp:AlgorithmSuite><sp:Layout>…</sp:Layout><sp:IncludeTimestamp/>
    </wsp:Policy></sp:TransportBinding>
    <sp:EndorsingSupportingTokens><wsp:Policy>
      <sp:SecureConversationToken sp:IncludeToken="…/AlwaysToRecipient"><wsp:Policy>
        (no RequireDerivedKeys: WCF turns derivation off over transport)
        <sp:BootstrapPolicy><wsp:Policy>
          <sp:SignedParts>…</sp:SignedParts><sp:EncryptedParts>…</sp:EncryptedParts>
          <sp:TransportBinding>…</sp:TransportBinding>
          <sp:SignedSupportingTokens><wsp:Policy>          (SP 1.2: SignedEncryptedSupportingTokens)
            <sp:UsernameToken sp:IncludeToken="…/AlwaysToRecipient">
              <wsp:Policy><sp:WssUsernameToken10/></wsp:Policy>
            </sp:UsernameToken>
          </wsp:Policy></sp:SignedSupportingTokens>
          <sp:Wss11><wsp:Policy/></sp:Wss11><sp:Trust10>…</sp:Trust10>
        </wsp:Policy></sp:BootstrapPolicy>
      </wsp:Policy></sp:SecureConversationToken>
    </wsp:Policy></sp:EndorsingSupportingTokens>
    <sp:Wss11><wsp:Policy/></sp:Wss11><sp:Trust10>…</sp:Trust10><wsaw:UsingAddressing/>

Where wssc deliberately differs from, or narrows, WCF's literal output:

* The bootstrap's ``sp:RequireDerivedKeys`` and ``sp:EncryptSignature`` follow the same settings as
  the session (as WCF's ``SecurityBindingElement.SetKeyDerivation`` does for derived keys).
* The bootstrap does not ask for ``sp:RequireSignatureConfirmation`` (WCF's stock
  AnonymousForCertificate element does); the importer accepts and reports it.
* Under SP 1.2, ``sp:HttpsToken`` carries an empty nested ``wsp:Policy`` as the SP 1.2 schema
  requires (WCF writes the bare element; it reads both).
* Wss11 lists only what the tokens need (.NET 4.x behaviour), not the .NET 3.0 full list.
"""

from __future__ import annotations

import logging

from lxml import etree

from wssc.errors import ConfigurationError
from wssc.settings import SecureConversationSettings
from wssc.xml import ns

from .shapes import BootstrapShape, SecurityMode, derived_keys_in_effect
from .vocab import dialect_for
from .writer import PolicyWriter, symmetric_binding, transport_binding, trust_assertion, wss

logger = logging.getLogger(__name__)


def _signed_parts(w: PolicyWriter) -> etree._Element:
    headers = (w.sp("Header", Name=h, Namespace=ns.WSA10) for h in ns.WSA_SIGNED_HEADERS)
    return w.sp("SignedParts", w.sp("Body"), *headers)


def _encrypted_parts(w: PolicyWriter) -> etree._Element:
    return w.sp("EncryptedParts", w.sp("Body"))


def _secure_conversation_token(
    w: PolicyWriter,
    settings: SecureConversationSettings,
    shape: BootstrapShape,
    mode: SecurityMode,
) -> etree._Element:
    d = w.d
    cancel = None if settings.require_cancellation else w.el(d.cancel_ns, "MustNotSendCancel")
    bootstrap = w.wrapped(
        "BootstrapPolicy", _signed_parts(w), _encrypted_parts(w), *shape.assertions(w, settings)
    )
    renew = d.is_sp12 and (not settings.require_cancellation or not settings.can_renew_session)
    return w.token(
        "SecureConversationToken",
        d.always_to_recipient,
        w.flag("RequireDerivedKeys", derived_keys_in_effect(settings, mode)),
        cancel,
        bootstrap,
        w.flag("MustNotSendAmend", d.is_sp12),
        w.flag("MustNotSendRenew", renew),
    )


def _session_binding(
    w: PolicyWriter,
    settings: SecureConversationSettings,
    shape: BootstrapShape,
    mode: SecurityMode,
) -> list[etree._Element]:
    sct = _secure_conversation_token(w, settings, shape, mode)
    if mode == "transport":
        return [
            transport_binding(w, settings),
            w.wrapped("EndorsingSupportingTokens", sct),
            wss(w, settings),
            trust_assertion(w, settings.key_entropy_mode),
        ]
    # WS-Security 1.0 (WCF's WSSecurity10… versions): sp:Wss10, as WCF writes it
    return [
        symmetric_binding(w, settings, sct),
        wss(w, settings),
        trust_assertion(w, settings.key_entropy_mode),
    ]


def export_notes(settings: SecureConversationSettings, mode: SecurityMode) -> list[str]:
    """What the exported policy cannot say about ``settings`` (empty when it says everything).

    WCF has no WS-SecurityPolicy 1.1 form of ``sp:MustNotSendRenew``: under SP 1.1 a service with
    ``can_renew_session=False`` still publishes a policy that a client reads as renewable.
    """
    notes: list[str] = []
    v = settings.message_security_version
    if (
        settings.establish_security_context
        and not v.is_sp12
        and settings.require_cancellation
        and not settings.can_renew_session
    ):
        notes.append(
            "can_renew_session=False is not expressible in WS-SecurityPolicy 1.1 "
            "(sp:MustNotSendRenew exists only in 1.2); the policy does not mention it"
        )
    if settings.require_derived_keys and mode == "transport":
        notes.append("derived keys are off over transport (WCF forces RequireDerivedKeys=false)")
    return notes


def _root(w: PolicyWriter, policy_id: str, extra_ns: dict[str, str]) -> etree._Element:
    nsmap: dict[str, str] = {"wsp": w.wsp_ns, "wsu": ns.WSU, "sp": w.d.ns}
    nsmap.update(extra_ns)
    root = etree.Element(ns.qn(w.wsp_ns, "Policy"), nsmap=nsmap)
    root.set(ns.qn(ns.WSU, "Id"), policy_id)
    return root


def _writer(settings: SecureConversationSettings, wsp_ns: str) -> PolicyWriter:
    if wsp_ns not in (ns.WSP15, ns.WSP12):
        raise ConfigurationError(f"unknown WS-Policy namespace {wsp_ns!r}")
    return PolicyWriter(dialect_for(settings.message_security_version), wsp_ns)


def binding_policy_element(
    settings: SecureConversationSettings,
    *,
    policy_id: str,
    bootstrap: BootstrapShape,
    mode: SecurityMode,
    wsp_ns: str = ns.WSP15,
) -> etree._Element:
    """The endpoint (binding) policy ``<wsp:Policy wsu:Id=policy_id>`` WCF would publish.

    With ``establish_security_context=False`` the policy is the bootstrap binding alone (no
    ``sp:SecureConversationToken``). ``bootstrap`` writes the bootstrap binding and ``mode`` is
    its security mode (the registry's, for ``settings.bootstrap``:
    `wssc.bootstrap.registry.policy_for`).
    ``wsp_ns`` may be `WSP12` for old clients.

    Under WS-SecurityPolicy 1.1, ``can_renew_session=False`` is not written (WCF has no form for
    it); `export_notes` reports it and it is logged at INFO.
    """
    w = _writer(settings, wsp_ns)
    for note in export_notes(settings, mode):
        logger.info("policy %s: %s", policy_id, note)
    if bootstrap.key is not settings.bootstrap:
        raise ConfigurationError(
            f"the shape of {bootstrap.key.value} cannot write {settings.bootstrap.value}"
        )
    if settings.establish_security_context:
        assertions = _session_binding(w, settings, bootstrap, mode)
    else:
        assertions = bootstrap.assertions(w, settings)
    extra = {"wsaw": ns.WSAW}
    if w.d.cancel_ns == ns.MSSP and settings.establish_security_context:
        extra["mssp"] = ns.MSSP
    root = _root(w, policy_id, extra)
    exactly_one = etree.SubElement(root, ns.qn(w.wsp_ns, "ExactlyOne"))
    alternative = etree.SubElement(exactly_one, ns.qn(w.wsp_ns, "All"))
    alternative.extend(assertions)
    alternative.append(w.el(ns.WSAW, "UsingAddressing"))
    return root


def message_policy_element(
    settings: SecureConversationSettings,
    policy_id: str,
    *,
    mode: SecurityMode,
    wsp_ns: str = ns.WSP15,
) -> etree._Element:
    """A per-operation input/output policy, as WCF attaches to each ``wsdl:input``/``output``::

        <wsp:Policy wsu:Id="WSHttpBinding_ICalculator_Add_Input_policy">
          <wsp:ExactlyOne><wsp:All>
            <sp:SignedParts><sp:Body/><sp:Header Name="To" Namespace="…"/>…</sp:SignedParts>
            <sp:EncryptedParts><sp:Body/></sp:EncryptedParts>
          </wsp:All></wsp:ExactlyOne>
        </wsp:Policy>

    Message security only: over transport WCF publishes no per-message parts.
    """
    if mode != "message":
        raise ConfigurationError(
            "per-message policies exist only for message security; "
            f"{settings.bootstrap.value} relies on the transport"
        )
    w = _writer(settings, wsp_ns)
    root = _root(w, policy_id, {})
    exactly_one = etree.SubElement(root, ns.qn(w.wsp_ns, "ExactlyOne"))
    alternative = etree.SubElement(exactly_one, ns.qn(w.wsp_ns, "All"))
    alternative.extend([_signed_parts(w), _encrypted_parts(w)])
    return root


__all__ = [
    "binding_policy_element",
    "export_notes",
    "message_policy_element",
]
