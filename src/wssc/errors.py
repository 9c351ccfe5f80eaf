"""Typed errors. Each one carries the SOAP fault it maps to.

A service turns any `WsscError` into a SOAP fault with its ``code`` and ``reason``
(every security failure into the one generic fault: `on_the_wire`); a client raises them.
Messages never contain key material: callers pass identifiers, never secrets. Reason texts
follow WCF (``../shared/reference/wcf-secure-sessions.md`` §A.10) where WCF has one.

Where an error came from is part of its type::

    WsscError                             code + reason + detail (never a secret)
    ├── local checks of a message (security_failure: the generic fault on the wire)
    │   ├── MalformedXml, DuplicateId
    │   ├── InvalidSecurity, InvalidSecurityToken, SecurityTokenUnavailable
    │   │   └── CertificateRejected (an X.509 certificate its validator refused)
    │   ├── UnsupportedAlgorithm, FailedCheck, MessageExpired, ReplayDetected
    │   │   └── PredatesReplayCache (sent as BadContextToken)
    │   └── SecurityVerificationFailed   the generic fault itself
    ├── FailedAuthentication, TokenSerializationError
    ├── WS-SecureConversation (subcode in the message's SC namespace)
    │   └── UnknownDerivationSource, BadContextToken, RenewNeeded, UnableToRenew,
    │       UnsupportedContextToken
    ├── WS-Trust: InvalidRequest, BadCloseTarget, NegotiationFailed
    ├── .NET: ServerTooBusy, CancellationNotAllowed, SessionKeyExpired, EndpointUnavailable
    ├── SoapFault (an operation failed), ActionNotSupported, DestinationUnreachable,
    │   InvalidArgument
    ├── RemoteFault                       a fault the PEER sent; also an instance of the class
    │                                     its code maps to (RemoteFault & RenewNeeded, say)
    ├── TransportError                    the network: unreachable, HTTP error, empty reply
    └── ConfigurationError                a local mistake in settings; never sent
        └── StoreUnavailable…             (see below)

So ``except RemoteFault`` catches what the service answered, ``except TransportError`` what the
network did, and ``isinstance(e, BadContextToken)`` still holds for either side's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from wssc.xml import ns

FaultSide = Literal["Sender", "Receiver"]


@dataclass(frozen=True, slots=True)
class FaultCode:
    """A SOAP fault subcode (SOAP 1.2) or faultcode (SOAP 1.1): QName plus side."""

    namespace: str
    local: str
    side: FaultSide = "Sender"

    @property
    def clark(self) -> str:
        return f"{{{self.namespace}}}{self.local}"

    def __str__(self) -> str:
        return self.clark


class WsscError(Exception):
    """Base of every wssc error. ``code`` is the SOAP fault subcode; ``reason`` its text."""

    default_code: ClassVar[FaultCode] = FaultCode(ns.WSSE, "InvalidSecurity")
    default_reason: ClassVar[str] = "An error was discovered processing the <wsse:Security> header"
    #: True for failures of message-security processing: a service sends them all as the one
    #: generic fault (`on_the_wire`), so that no failure can be told from another.
    security_failure: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: FaultCode | None = None,
        reason: str | None = None,
        action: str | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.reason = reason or self.default_reason
        self.detail = detail
        self.action = action
        super().__init__(self.describe())

    def describe(self) -> str:
        text = f"{self.code.clark}: {self.reason}"
        return f"{text} ({self.detail})" if self.detail else text


# --- XML ---------------------------------------------------------------------------------
class MalformedXml(WsscError):
    """Not well-formed, or refused by the hardened parser (DTD, entity, size, depth)."""

    security_failure = True

    default_code = FaultCode(ns.WSSE, "InvalidSecurity")
    default_reason = "The message is not well-formed or was refused by the XML parser"


class DuplicateId(WsscError):
    default_code = FaultCode(ns.WSSE, "InvalidSecurity")
    default_reason = "The message contains duplicate wsu:Id values"
    security_failure = True


# --- WS-Security ---------------------------------------------------------------------------
class InvalidSecurity(WsscError):
    """Generic: a malformed or policy-violating security header."""

    security_failure = True


class UnsupportedAlgorithm(WsscError):
    default_code = FaultCode(ns.WSSE, "UnsupportedAlgorithm")
    default_reason = "An unsupported signature or encryption algorithm was used"
    security_failure = True


class InvalidSecurityToken(WsscError):
    default_code = FaultCode(ns.WSSE, "InvalidSecurityToken")
    default_reason = "An invalid security token was provided"
    security_failure = True


class CertificateRejected(InvalidSecurityToken):
    """An X.509 certificate refused by its `CertificateValidator` (untrusted, expired, not
    yet valid, wrong key usage, refused by a custom validator). The detail names the
    validation mode and why; a service sends the generic fault, a client raises it before it
    sends anything to the certificate's holder."""

    default_reason = "The X.509 certificate is not trusted or not valid for this use"


class SamlAssertionRejected(InvalidSecurityToken):
    """A SAML assertion (an IssuedToken) refused: malformed or over a cap, an untrusted or
    failed issuer signature, another audience, outside its lifetime, replayed, or its proof
    key unusable. The detail names the check; a service sends the generic fault."""

    default_reason = "The issued token is not valid"


class SecurityTokenUnavailable(WsscError):
    default_code = FaultCode(ns.WSSE, "SecurityTokenUnavailable")
    default_reason = "Referenced security token could not be retrieved"
    security_failure = True


class FailedCheck(WsscError):
    """A signature or decryption did not verify (wrong key, tampered content)."""

    security_failure = True

    default_code = FaultCode(ns.WSSE, "FailedCheck")
    default_reason = "The signature or decryption was invalid"


class FailedAuthentication(WsscError):
    default_code = FaultCode(ns.WSSE, "FailedAuthentication")
    default_reason = "The security token could not be authenticated or authorized"


class MessageExpired(WsscError):
    default_code = FaultCode(ns.WSSE, "MessageExpired")
    default_reason = "The message has expired"
    security_failure = True


class ReplayDetected(WsscError):
    """WCF reports a replay as a generic security fault."""

    security_failure = True

    default_code = FaultCode(ns.WSSE, "InvalidSecurity")
    default_reason = "A replay of a previously received message was detected"


class PredatesReplayCache(ReplayDetected):
    """A message under a session issued before the replay cache started, and created early
    enough that the cache could have seen it before it started (a restart, Redis restarted
    empty). The service turns it into ``BadContextToken`` so that the client opens a new
    session (`wssc.security.replay`)."""

    default_reason = "The message may have been received before the replay cache started"


class TokenSerializationError(WsscError):
    """Raised when *writing* a token would produce XML the receiver cannot read."""

    default_code = FaultCode(ns.WSSE, "InvalidSecurityToken")
    default_reason = "The security token cannot be serialized"


class SecurityVerificationFailed(WsscError):
    """WCF's one generic fault for every failure of message-security processing: all that a
    peer is told when a message does not verify, whatever the reason."""

    default_code = FaultCode(ns.WSSE, "InvalidSecurity")
    default_reason = "An error occurred when verifying security for the message."


def on_the_wire(error: WsscError) -> WsscError:
    """What a service sends for ``error``: the generic fault for a security failure (the
    detail goes only to the service log), else the error itself.

    Kept distinct, as WCF keeps them: BadContextToken, RenewNeeded, UnknownDerivationSource,
    ServerTooBusy, SecureConversationCancellationNotAllowed and FailedAuthentication, and the
    faults of the protocol after a message verified (InvalidRequest…).
    """
    if error.security_failure:
        return SecurityVerificationFailed()
    return error


# --- WS-SecureConversation (subcode namespace = the message's SC version) ------------------
class _ScError(WsscError):
    local: ClassVar[str] = ""
    side: ClassVar[FaultSide] = "Sender"

    def __init__(
        self,
        detail: str | None = None,
        *,
        sc_ns: str = ns.SC_2005,
        reason: str | None = None,
        action: str | None = None,
    ) -> None:
        self.sc_ns = sc_ns
        super().__init__(detail, code=FaultCode(sc_ns, self.local, self.side), reason=reason, action=action)


class UnknownDerivationSource(_ScError):
    local = "UnknownDerivationSource"
    default_reason = "The key to derive from could not be determined from the message"


class BadContextToken(_ScError):
    local = "BadContextToken"
    default_reason = "The security context token is expired or is not valid. The message was not processed."


class RenewNeeded(_ScError):
    local = "RenewNeeded"
    default_reason = "The SecurityContextSecurityToken's key needs to be renewed."

    def __init__(self, detail: str | None = None, *, sc_ns: str = ns.SC_2005) -> None:
        super().__init__(detail, sc_ns=sc_ns, action=ns.SC_FAULT_ACTION)


class UnableToRenew(_ScError):
    local = "UnableToRenew"
    default_reason = "The SecurityContextToken cannot be renewed."


class UnsupportedContextToken(_ScError):
    local = "UnsupportedContextToken"
    default_reason = "The SecurityContextToken is not supported."


# --- WS-Trust ------------------------------------------------------------------------------
class InvalidRequest(WsscError):
    """WCF always uses the Feb 2005 trust namespace for this subcode, even under Trust 1.3."""

    default_code = FaultCode(ns.TRUST_2005, "InvalidRequest")
    default_reason = "The request was invalid or malformed"


class NegotiationFailed(WsscError):
    """A negotiation leg whose authentication failed (the GSS/SSPI context refused its token:
    wrong key, wrong password, tampered, replayed): WCF's one fault for it, the trust
    ``FailedAuthentication`` (Feb 2005 namespace, as WCF writes it under Trust 1.3 too). What
    failed goes to the service log only."""

    default_code = FaultCode(ns.TRUST_2005, "FailedAuthentication")
    default_reason = "The request for security token could not be satisfied because authentication failed."


class BadCloseTarget(WsscError):
    default_code = FaultCode(ns.TRUST_2005, "InvalidRequest")
    default_reason = "The CancelTarget does not match the token that signed the request."


# --- Microsoft (.NET) -----------------------------------------------------------------------
class ServerTooBusy(WsscError):
    default_code = FaultCode(ns.DNSE, "ServerTooBusy", "Receiver")
    default_reason = "There are too many pending secure conversations on the server. Please retry later."


class CancellationNotAllowed(WsscError):
    default_code = FaultCode(ns.DNSE, "SecureConversationCancellationNotAllowed")
    default_reason = "A secure conversation cancellation is not allowed by the binding."


class SessionKeyExpired(WsscError):
    """Key expired and the binding cannot renew (``can_renew_session=False``)."""

    default_code = FaultCode(ns.DNSE, "ExpiredSecurityContextTokenKey")
    default_reason = "The session key must be renewed before it can secure application messages."


class EndpointUnavailable(WsscError):
    default_code = FaultCode(ns.WSA10, "EndpointUnavailable", "Receiver")
    default_reason = "The endpoint is not available."


class StoreUnavailable(EndpointUnavailable):
    """The session store (Redis) cannot be reached. The peer gets ``EndpointUnavailable``; the
    operator gets one log line per outage, never a traceback."""

    default_reason = "The endpoint is not available."


# --- SOAP processing model --------------------------------------------------------------------
class MustUnderstand(WsscError):
    """A header block marked ``mustUnderstand`` for this node, which it does not process
    (WCF's ``MustUnderstandSoapException``). The code is the envelope's own
    ``MustUnderstand`` (SOAP 1.1 ``faultcode``, SOAP 1.2 ``Code``, no subcode); a SOAP 1.2
    fault also names each header in an ``env:NotUnderstood`` header block."""

    default_code = FaultCode(ns.SOAP12, "MustUnderstand")
    default_reason = "A header was not understood by the recipient of this message."

    def __init__(
        self,
        headers: list[tuple[str, str]] | None = None,
        *,
        soap_ns: str = ns.SOAP12,
        code: FaultCode | None = None,
        reason: str | None = None,
    ) -> None:
        #: (namespace, local name) of each header not understood, in document order.
        self.headers = headers or []
        if self.headers and reason is None:
            namespace, local = self.headers[0]
            # WCF's text (SFxHeaderNotUnderstood), naming the first header
            reason = (
                f"The header '{local}' from the namespace '{namespace}' was not understood by "
                "the recipient of this message, causing the message to not be processed.  This "
                "error typically indicates that the sender of this message has enabled a "
                "communication protocol that the receiver cannot process.  Please ensure that "
                "the configuration of the client's binding is consistent with the service's "
                "binding."
            )
        super().__init__(
            ", ".join(f"{{{n}}}{name}" for n, name in self.headers) + " not understood"
            if self.headers
            else None,
            code=code or FaultCode(soap_ns, "MustUnderstand"),
            reason=reason,
        )


# --- Application / transport ----------------------------------------------------------------
class SoapFault(WsscError):
    """A fault received from a peer (client side), or raised by an operation (service side)."""

    default_code = FaultCode(ns.SOAP12, "Receiver", "Receiver")
    default_reason = "The server was unable to process the request."


class DestinationUnreachable(WsscError):
    """The message's ``wsa:To`` is not this endpoint's address (WCF's AddressFilter mismatch);
    the subcode is in the message's WS-Addressing namespace (``wsa_ns``)."""

    default_code = FaultCode(ns.WSA10, "DestinationUnreachable")
    default_reason = (
        "The message cannot be processed at the receiver, due to an AddressFilter mismatch at "
        "the EndpointDispatcher. Check that the sender and receiver's EndpointAddresses agree."
    )

    def __init__(
        self,
        detail: str | None = None,
        *,
        wsa_ns: str = ns.WSA10,
        code: FaultCode | None = None,
        reason: str | None = None,
        action: str | None = None,
    ) -> None:
        fault_action = ns.WSA2004_FAULT_ACTION if wsa_ns == ns.WSA2004 else ns.WSA10_FAULT_ACTION
        super().__init__(
            detail,
            code=code or FaultCode(wsa_ns, "DestinationUnreachable"),
            reason=reason,
            action=action or fault_action,
        )


class ActionNotSupported(WsscError):
    default_code = FaultCode(ns.WSA10, "ActionNotSupported")
    default_reason = "The message's action is not supported by the endpoint."


class _LocalError(WsscError):
    """An error that is never a fault on the wire: its text is the detail alone, without the
    placeholder fault code (``str()`` reads "cannot reach …", not "{…}Transport: …")."""

    def __str__(self) -> str:
        return self.detail or self.reason


class ConfigurationError(_LocalError):
    """A local mistake in settings; never sent as a fault."""

    default_code = FaultCode(ns.DNSE, "Configuration", "Receiver")
    default_reason = "Invalid configuration"


class WsdlLoadRefused(ConfigurationError):
    """A WSDL document that is not loaded: larger than a cap, or a location its WSDL may not
    follow (a file WSDL follows only relative paths to regular files under its folder)."""

    default_reason = "The WSDL was not loaded"


class GeneratedCodeRejected(ConfigurationError):
    """``wssc svcutil``'s module failed its check against the contract; nothing was written."""

    default_reason = "The generated client was refused"


class BindingNotSupported(ConfigurationError):
    """A WCF binding preset's combination that wssc cannot serve (yet); the message names the
    combination, WCF's bootstrap for it, and what works instead."""

    default_reason = "The binding's security is not supported"


class IssuerUnknown(ConfigurationError):
    """An IssuedToken endpoint whose policy names no security token service (no
    ``sp:Issuer``), and none was given (``sts=``, ``wssc call --sts``)."""

    default_reason = "No security token service is known for the issued token"


class IssuerMetadataUnavailable(ConfigurationError):
    """The security token service's metadata (its mex, or its ``?wsdl``) could not be
    fetched or read; each address tried and why is in the message."""

    default_reason = "The security token service's metadata could not be read"


class IssuerBindingUnsupported(ConfigurationError):
    """The security token service's metadata offers no endpoint whose binding wssc can sign
    in to (named in WCF's words: its bootstrap, EstablishSecurityContext)."""

    default_reason = "The security token service's binding is not supported"


class InvalidArgument(ConfigurationError, TypeError):
    """A call's arguments do not fit the operation's contract (wrong type, missing, unknown);
    raised by the client before anything is sent."""

    default_reason = "Invalid argument"


#: Optional dependency -> the wssc extra that installs it.
EXTRAS = {
    "httpx": "client",
    "uvicorn": "service",
    "redis": "redis",
    "zeep": "zeep",
    "spnego": "spnego",
    "signxml": "federation",
}


class MissingExtra(ConfigurationError, ModuleNotFoundError):
    """An optional dependency is not installed; the message names the extra that installs it
    (``pip install 'wssc[client]'``). Also a `ModuleNotFoundError`."""

    default_reason = "An optional dependency is not installed"


def missing_extra(exc: ModuleNotFoundError, what: str) -> MissingExtra:
    """The `MissingExtra` for ``exc`` raised while importing ``what``, or ``exc``'s own
    message when the missing module is not an extra's."""
    module = (exc.name or "").partition(".")[0]
    extra = EXTRAS.get(module)
    if extra is None:
        err = MissingExtra(str(exc))
    else:
        err = MissingExtra(f"{what} needs {module}, which is not installed: pip install 'wssc[{extra}]'")
    err.name = exc.name
    return err


class TransportError(_LocalError):
    """The network failed: the service could not be reached, answered with an HTTP error
    or with an empty body. Never sent as a fault."""

    default_code = FaultCode(ns.DNSE, "Transport", "Receiver")
    default_reason = "The service could not be reached"


class QuotaExceeded(_LocalError):
    """A message or value over a configured limit, on the client (WCF's
    ``QuotaExceededException``): a request its own limits would refuse to read back (raised
    before anything is sent), a reply larger than its ``max_received_message_size``, or the
    service's HTTP 413. ``limit`` names the setting, ``value`` is its value. Never a fault."""

    default_code = FaultCode(ns.DNSE, "QuotaExceeded", "Receiver")
    default_reason = "A quota was exceeded"

    def __init__(self, detail: str, *, limit: str, value: int | None) -> None:
        self.limit = limit
        self.value = value
        super().__init__(detail)


class RemoteFault(WsscError):
    """A fault received from the peer. `error_from_fault` returns an instance of a
    subclass that is also the typed error the fault's code maps to (``RemoteRenewNeeded`` is
    a ``RemoteFault`` and a ``RenewNeeded``), so a client can tell a fault the service sent
    from a check that failed locally."""


_REMOTE: dict[type[WsscError], type[WsscError]] = {}


def _remote(cls: type[WsscError]) -> type[WsscError]:
    sub = _REMOTE.get(cls)
    if sub is None:
        sub = type(f"Remote{cls.__name__}", (RemoteFault, cls), {"__module__": __name__})
        _REMOTE[cls] = sub
    return sub


def _all_subclasses(cls: type[WsscError]) -> list[type[WsscError]]:
    out: list[type[WsscError]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def error_from_fault(code: FaultCode, reason: str) -> WsscError:
    """The typed error for a fault received from a peer (client side).

    SC subcodes map by local name in either SC namespace; others by exact QName; anything
    unknown becomes `SoapFault` carrying the code and reason.
    """
    if code.namespace in (ns.SC_2005, ns.SC_13):
        for sub in _all_subclasses(_ScError):
            if issubclass(sub, _ScError) and sub.local == code.local and sub not in _REMOTE.values():
                if sub is RenewNeeded:
                    return _remote(RenewNeeded)(sc_ns=code.namespace)  # type: ignore[call-arg]
                return _remote(sub)(
                    sc_ns=code.namespace,  # type: ignore[call-arg]
                    reason=reason or None,
                )
    if code.clark == SecurityVerificationFailed.default_code.clark:
        return _remote(SecurityVerificationFailed)(reason=reason or None)
    for sub in _all_subclasses(WsscError):
        if sub in (SoapFault, RemoteFault) or issubclass(sub, (_ScError, RemoteFault, _LocalError)):
            continue
        if sub.default_code.clark == code.clark:
            return _remote(sub)(code=code, reason=reason or None)
    return _remote(SoapFault)(code=code, reason=reason or None)
