"""Plain words for ``wssc inspect``: what an imported endpoint's policy means for a client.

Example (WSHttpBinding, AnonymousForCertificate, cookie mode)::

    Endpoint:        http://host/echo  (SOAP 1.2, port WSHttpBinding_IEcho)
    Version family:  WSHttpBinding: WS-Trust/WS-SecureConversation February 2005, …
    Bootstrap:       AnonymousForCertificate: the client stays anonymous; ...
    ...
    Cancel:          No Cancel will be sent: the policy carries mssp:MustNotSendCancel
                     (require_cancellation=False, cookie mode).
"""

from __future__ import annotations

import hashlib
from typing import Final

from wssc.crypto.suites import get_suite
from wssc.errors import UnsupportedAlgorithm
from wssc.logs import printable
from wssc.settings import KeyEntropyMode

from .model import ImportedEndpoint
from .shapes import BootstrapShape, SecurityMode, derived_keys_in_effect

_ENTROPY: Final = {
    KeyEntropyMode.COMBINED: "both sides send entropy; key = P_SHA1(client entropy, "
    "server entropy) (CombinedEntropy)",
    KeyEntropyMode.CLIENT: "the client's entropy is the key (ClientEntropy)",
    KeyEntropyMode.SERVER: "the service chooses the key (ServerEntropy)",
}


def _line(label: str, text: str) -> str:
    return f"{label + ':':<17}{text}"


def _suite(name: str) -> str:
    try:
        s = get_suite(name)
    except UnsupportedAlgorithm:
        return name
    short = [u.rpartition("#")[2] for u in (s.encryption, s.symmetric_signature, s.asymmetric_key_wrap)]
    return f"{s.name} ({', '.join(short)})"


def _family(endpoint: ImportedEndpoint) -> str:
    v = endpoint.settings.message_security_version
    wss = "" if v.wss11 else ", WS-Security 1.0 (WCF's WSSecurity10… versions)"
    if v.is_sp12:
        return "WS2007HttpBinding: WS-Trust 1.3, WS-SecureConversation 1.3, WS-SecurityPolicy 1.2" + wss
    return "WSHttpBinding: WS-Trust/WS-SecureConversation February 2005, WS-SecurityPolicy 1.1" + wss


def _session_lines(endpoint: ImportedEndpoint) -> list[str]:
    s = endpoint.settings
    e = endpoint.evidence
    lines: list[str] = []
    if s.require_cancellation:
        lines.append(
            _line(
                "Mode",
                "session mode (require_cancellation=True): the service keeps "
                "the session state and forgets it on Cancel",
            )
        )
        lines.append(
            _line(
                "Cancel",
                "A Cancel (RST/SCT/Cancel) will be sent when the client "
                "closes: the policy has no MustNotSendCancel "
                "(require_cancellation=True, session mode).",
            )
        )
    else:
        where = e.must_not_send_cancel or "MustNotSendCancel"
        lines.append(
            _line(
                "Mode",
                "cookie mode (require_cancellation=False): the session state "
                "travels inside the token; the service keeps none",
            )
        )
        lines.append(
            _line(
                "Cancel",
                f"No Cancel will be sent: the policy carries {where} "
                "(require_cancellation=False, cookie mode).",
            )
        )
    if not s.can_renew_session:
        then = (
            "in cookie mode the client asks for a new token instead"
            if not s.require_cancellation
            else "an expired key ends the session"
        )
        lines.append(
            _line(
                "Renew",
                f"not allowed: the policy carries "
                f"{e.must_not_send_renew or 'sp:MustNotSendRenew'} "
                f"(can_renew_session=False); {then}",
            )
        )
    elif s.message_security_version.is_sp12:
        lines.append(
            _line(
                "Renew",
                "allowed: the client renews the key (RST/SCT/Renew) before "
                "it expires (no sp:MustNotSendRenew)",
            )
        )
    else:
        lines.append(
            _line(
                "Renew",
                "allowed as far as the policy says: WS-SecurityPolicy 1.1 "
                "cannot forbid Renew (no MustNotSendRenew exists there)",
            )
        )
    if e.must_not_send_amend:
        lines.append(_line("Amend", "never (sp:MustNotSendAmend; WCF does not implement Amend)"))
    return lines


def explain_endpoint(endpoint: ImportedEndpoint, bootstrap: BootstrapShape, mode: SecurityMode) -> str:
    """Describe the endpoint: bootstrap, version family, suite, derived keys, session or cookie
    mode, whether a Cancel will be sent and why, and whether Renew is allowed. ``bootstrap``
    and ``mode`` are the registry's shape and security mode for ``endpoint.settings.bootstrap``
    (`wssc.bootstrap.registry.explain`)."""
    s = endpoint.settings
    where = f"  (SOAP {endpoint.soap_version}"
    where += f", port {endpoint.port_name})" if endpoint.port_name else ")"
    lines = [
        _line("Endpoint", (endpoint.address or "(no address)") + where),
        _line("Policy", f"#{endpoint.policy_id}" if endpoint.policy_id else "(inline)"),
        _line("Version family", _family(endpoint)),
        _line("Bootstrap", bootstrap.description),
    ]
    if s.issuer_address is not None:
        meta = f" (metadata: {printable(s.issuer_metadata, 200)})" if s.issuer_metadata else ""
        sts = printable(s.issuer_address, 200)
        lines.append(_line("STS", f"{sts}{meta}: the client asks it for the issued token"))
    cert = endpoint.service_certificate_der
    if cert is not None:
        thumb = hashlib.sha1(cert, usedforsecurity=False).hexdigest().upper()
        lines.append(
            _line("Service cert", f"published in the WSDL ({len(cert)} bytes, SHA-1 thumbprint {thumb})")
        )
    elif bootstrap.needs_service_certificate:
        lines.append(_line("Service cert", "not in the WSDL: supply it out of band"))
    if endpoint.identity_spn is not None:
        lines.append(
            _line(
                "Service SPN",
                f"{endpoint.identity_spn} (wsid:Spn; a Windows (SPNEGO, Kerberos) client targets it)",
            )
        )
    if endpoint.identity_upn is not None:
        lines.append(_line("Service UPN", f"{endpoint.identity_upn} (wsid:Upn)"))
    lines.append(_line("Algorithm suite", _suite(s.algorithm_suite)))
    if derived_keys_in_effect(s, mode):
        lines.append(
            _line(
                "Derived keys",
                "on: every message signs and encrypts with DerivedKeyTokens (sp:RequireDerivedKeys)",
            )
        )
    else:
        why = (
            "over transport WCF signs with the token key itself"
            if mode == "transport"
            else "no sp:RequireDerivedKeys"
        )
        lines.append(_line("Derived keys", f"off: {why}"))
    lines.append(_line("Key entropy", _ENTROPY[s.key_entropy_mode]))
    if s.establish_security_context:
        lines.append(
            _line(
                "Secure session",
                "yes: the client first obtains a SecurityContextToken (sp:SecureConversationToken)",
            )
        )
        lines.extend(_session_lines(endpoint))
    else:
        lines.append(
            _line(
                "Secure session",
                "no: the policy has no sp:SecureConversationToken "
                "(establish_security_context=False); every message "
                "is secured by the bootstrap binding itself, so "
                "Cancel and Renew do not apply",
            )
        )
    if endpoint.evidence.bootstrap_signature_confirmation:
        lines.append(
            _line(
                "Confirmation",
                "the bootstrap requires signature confirmation (sp:RequireSignatureConfirmation)",
            )
        )
    if s.message_security_version.wss11 is False:
        lines.append(_line("WS-Security", "1.0 (sp:Wss10): WCF's WSSecurity10… message security version"))
    for note in endpoint.evidence.notes:
        lines.append(_line("Note", note))
    if endpoint.operations:
        lines.append(_line("Operations", ", ".join(op.name for op in endpoint.operations)))
    return "\n".join(lines)
