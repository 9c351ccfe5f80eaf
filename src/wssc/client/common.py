"""What the sync and async clients share: construction from settings or a WSDL, events."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

from wssc.bootstrap.base import BootstrapClient
from wssc.bootstrap.registry import ClientCredentials, bootstrap_kind, settings_from_wsdl
from wssc.certs import Certificate, from_der
from wssc.contract import ContractSpec, OperationSpec
from wssc.errors import ConfigurationError, InvalidArgument, QuotaExceeded, TransportError, WsdlLoadRefused
from wssc.http_body import IDENTITY, CappedBody
from wssc.policy.wsdl_resolve import WsdlAssembler, WsdlBudget
from wssc.security.x509_validation import CertificateValidator
from wssc.session.client import ClientSession, Outgoing
from wssc.session.flow import ClientFlow, EventHook
from wssc.settings import WCF_COMPATIBLE, Compatibility, EndpointSettings

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("wssc.client")
H = TypeVar("H")
L = TypeVar("L")


def tls_verify(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    """httpx's ``verify``: a CA file path becomes an SSL context."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


# --- network failures that say what to change -----------------------------------------------
UNTRUSTED = "The service was reached, but its HTTPS certificate is not trusted"
WRONG_SCHEME = "The service does not speak the address's scheme (http:// or https://)"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps (``__cause__``, ``__context__``, exceptions in ``args`` and
    urllib3's ``reason``), each once, at most 32."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 32:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [
            x
            for x in (e.__cause__, e.__context__, getattr(e, "reason", None), *e.args)
            if isinstance(x, BaseException)
        ]


def _with_scheme(url: str, scheme: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme=scheme))


def read_reply(r: httpx.Response, reader: Callable[[Mapping[str, str]], CappedBody]) -> bytes:
    """``r``'s body (a streamed response), read raw through ``reader(r.headers)`` and never past
    its cap. A response that is already in memory (``httpx.Response(content=…)`` from a
    transport of your own) is taken as it is, its length checked against the same cap."""
    if r.is_stream_consumed:
        body = reader({})
        body.feed(r.content)
        return body.result()
    body = reader(r.headers)
    for raw in r.iter_raw():
        body.feed(raw)
    return body.result()


async def aread_reply(r: httpx.Response, reader: Callable[[Mapping[str, str]], CappedBody]) -> bytes:
    """`read_reply`, awaited."""
    if r.is_stream_consumed:
        body = reader({})
        body.feed(r.content)
        return body.result()
    body = reader(r.headers)
    async for raw in r.aiter_raw():
        body.feed(raw)
    return body.result()


def network_failure(exc: BaseException, url: str, what: str = "cannot reach") -> TransportError:
    """The `TransportError` for an httpx or requests failure at ``url``,
    saying what to change where the cause is known: an untrusted certificate (``verify=``,
    ``--cafile``), or https:// to a plain-HTTP service and the reverse."""
    causes = list(_causes(exc))
    text = " ".join(f"{type(e).__name__}: {e}" for e in causes)
    scheme = urlsplit(url).scheme.lower()
    verify = [e for e in causes if isinstance(e, ssl.SSLCertVerificationError)]
    if verify or "CERTIFICATE_VERIFY_FAILED" in text:
        why = (verify[0].verify_message if verify else None) or "certificate verify failed"
        return TransportError(
            f"{url} was reached, but its HTTPS certificate is not trusted ({why}): trust "
            "the service's certificate or its CA with verify='ca.pem' (wssc call "
            "--cafile ca.pem), or use http:// if the service offers it",
            reason=UNTRUSTED,
        )
    if scheme == "https" and any(
        m in text
        for m in (
            "WRONG_VERSION_NUMBER",
            "wrong version number",
            "RECORD_LAYER_FAILURE",
            "record layer failure",
            "PACKET_LENGTH_TOO_LONG",
            "HTTP_REQUEST",
        )
    ):
        return TransportError(
            f"{url}: the service answered in plain HTTP, not TLS; use {_with_scheme(url, 'http')} instead",
            reason=WRONG_SCHEME,
        )
    if scheme == "http" and any(
        m in text
        for m in (
            "disconnected",
            "Disconnected",
            "ConnectionResetError",
            "Connection reset",
            "BadStatusLine",
            "Connection aborted",
        )
    ):
        return TransportError(
            f"{url} closed the connection without an HTTP answer ({exc}); if the service "
            f"speaks HTTPS, use {_with_scheme(url, 'https')} instead",
            reason=WRONG_SCHEME,
        )
    return TransportError(f"{what} {url}: {exc}")


def wsdl_fallback(url: str, error: Exception) -> str | None:
    """``url?wsdl`` when ``url`` (an http(s) address without a query) answered a document
    that is not a WSDL: the service's own address was given where its metadata was meant."""
    parts = urlsplit(url)
    if (
        parts.scheme.lower() not in ("http", "https")
        or parts.query
        or not isinstance(error, ConfigurationError)
        or isinstance(error, WsdlLoadRefused)
    ):
        return None
    return urlunsplit(parts._replace(query="wsdl"))


def not_a_wsdl(url: str, alt: str, first: Exception, second: Exception) -> ConfigurationError:
    """The error when neither ``url`` nor ``url?wsdl`` gave a WSDL."""
    detail = getattr(first, "detail", None) or str(first)
    again = getattr(second, "detail", None) or str(second)
    return ConfigurationError(
        f"{url} did not answer a WSDL ({detail}), nor did {alt} "
        f"({again}): give the address of the service's WSDL"
    )


def first_wsdl(url: str, fetch: Callable[[str], bytes], budget: WsdlBudget) -> tuple[str, WsdlAssembler]:
    """The main WSDL document at ``url``, or at ``url?wsdl`` when ``url`` (no query) answered
    something else (a service's help page): the URL it came from, and its assembler."""
    try:
        return url, WsdlAssembler(fetch(url), url, budget=budget)
    except ConfigurationError as exc:
        alt = wsdl_fallback(url, exc)
        if alt is None:
            raise
        first = exc
    try:
        asm = WsdlAssembler(fetch(alt), alt, budget=budget)
    except (ConfigurationError, TransportError) as exc:
        raise not_a_wsdl(url, alt, first, exc) from None
    log.info("%s is not a WSDL; loaded %s instead", url, alt)
    return alt, asm


async def afirst_wsdl(
    url: str, fetch: Callable[[str], Awaitable[bytes]], budget: WsdlBudget
) -> tuple[str, WsdlAssembler]:
    """`first_wsdl`, awaited."""
    try:
        return url, WsdlAssembler(await fetch(url), url, budget=budget)
    except ConfigurationError as exc:
        alt = wsdl_fallback(url, exc)
        if alt is None:
            raise
        first = exc
    try:
        asm = WsdlAssembler(await fetch(alt), alt, budget=budget)
    except (ConfigurationError, TransportError) as exc:
        raise not_a_wsdl(url, alt, first, exc) from None
    log.info("%s is not a WSDL; loaded %s instead", url, alt)
    return alt, asm


def from_wsdl_note(address: str, wsdl_url: str | None) -> str:
    """What a failure to reach ``address`` adds when it came from a WSDL's soap:address."""
    if wsdl_url is None:
        return ""
    return (
        f" ({address} is the soap:address published in the WSDL at {wsdl_url}; if the "
        "service is elsewhere, pass address='...' to from_wsdl)"
    )


def with_limits(
    settings: EndpointSettings, max_received_message_size: int | None, max_string_content_length: int | None
) -> EndpointSettings:
    """``settings`` with the limits given (None: the settings' own), each checked positive."""
    size = (
        settings.max_received_message_size if max_received_message_size is None else max_received_message_size
    )
    chars = (
        settings.max_string_content_length if max_string_content_length is None else max_string_content_length
    )
    if size < 1 or chars < 1:
        raise ConfigurationError("max_received_message_size and max_string_content_length must be positive")
    if (size, chars) == (settings.max_received_message_size, settings.max_string_content_length):
        return settings
    return replace(settings, max_received_message_size=size, max_string_content_length=chars)


def make_bootstrap(settings: EndpointSettings, credentials: ClientCredentials) -> BootstrapClient:
    """The client half of the endpoint's bootstrap, from the registry (which validates the
    service certificate: `ClientCredentials.validated_service_certificate`)."""
    return bootstrap_kind(settings.secure_conversation.bootstrap).client_half(credentials)


@dataclass(frozen=True, slots=True)
class WsdlEndpoint:
    address: str
    settings: EndpointSettings
    contract: ContractSpec
    certificate: Certificate | None
    #: ``address`` is the WSDL's soap:address (else the WSDL's own URL without its query)
    published: bool = True
    #: the service principal the WSDL's identity names (wsid:Spn), for SPNEGO
    spn: str | None = None


def policy_first(asm: WsdlAssembler, port: str | None, exc: Exception) -> Exception:
    """The error for a WSDL whose imports could not be read (``exc``): the main document's own
    policy refusal when it has one (naming the assertion says more than a missing import),
    else ``exc``."""
    try:
        settings_from_wsdl(asm.root, port=port)
    except ConfigurationError as refused:
        if "unknown binding" in str(refused):
            return exc  # the binding is in the missing document: nothing to judge
        refused.add_note(f"(its imports were not all read either: {exc})")
        return refused
    return exc


def endpoint_from_wsdl(wsdl: bytes, url: str, port: str | None = None) -> WsdlEndpoint:
    """Everything a client needs, read from a WSDL: address, policy settings, contract, the
    service certificate (endpoint identity). The document is parsed once, under one set of
    limits (`wssc.contract.wsdl.WSDL_LIMITS`), for both the contract and the policy."""
    from wssc.contract.wsdl import WsdlImportError, parse_wsdl, parse_wsdl_operations

    root = parse_wsdl(wsdl)
    imported = settings_from_wsdl(root, port=port)
    binding = imported.binding_name  # the chosen port's portType, of several (ADFS has two)
    try:
        contract = parse_wsdl_operations(root, binding=binding)
    except WsdlImportError as exc:  # real WCF contracts: keep the operations wssc can map
        contract = parse_wsdl_operations(root, strict=False, binding=binding)
        if not contract.operations:
            raise
        log.warning("%s: operations wssc cannot map are left out (first: %s)", url, exc)
    settings = EndpointSettings(secure_conversation=imported.settings, soap_version=imported.soap_version)
    address = imported.address or url.split("?", 1)[0]
    cert = from_der(imported.service_certificate_der) if imported.service_certificate_der else None
    return WsdlEndpoint(
        address, settings, contract, cert, imported.address is not None, imported.identity_spn
    )


class ReplyReader(CappedBody):
    """A reply's body, read raw a chunk at a time and refused (`QuotaExceeded`, from
    `ClientSession.reply_too_large`) the moment it passes the client's
    ``max_received_message_size``: a lying or endless reply costs at most the limit. A
    ``Content-Length`` over the limit is refused before any of the body is read; a gzip or
    deflate body (the client asks for identity) is decoded a bounded output at a time."""

    def __init__(
        self, session: ClientSession, content_length: str | None, content_encoding: str | None = None
    ) -> None:
        self.session = session
        super().__init__(
            session.settings.max_received_message_size,
            lambda size, declared: session.reply_too_large(size if declared else None),
            content_encoding,
            content_length,
            undecodable=lambda reason: TransportError(f"the reply could not be read: {reason}"),
        )


class ClientBase(Generic[H, L]):
    """What `Client` and `AsyncClient` share: the
    constructor, the sans-IO `ClientSession` and its
    `ClientFlow`, the contract, argument checks, and HTTP status
    handling. The subclasses only drive the flow over httpx (``H``: their httpx client type;
    ``L``: their lock type).

    ``verify``: ``True``, ``False``, a CA file or an SSL context (HTTPS); ``http``: an httpx
    client of your own (then not closed by `close`); ``compatibility``: peer quirks.
    ``credentials``: what the bootstrap may use (`ClientCredentials`); ``service_certificate``,
    ``username``, ``password`` and ``service_certificate_validator`` are shorthand for its
    fields. The validator decides on the service certificate (a `CertificateValidator`; by
    default the certificate given or from the WSDL identity is pinned, trusted as a peer),
    here, before anything is sent.

    ``max_received_message_size`` (bytes) and ``max_string_content_length`` (characters):
    the client's own limits, overriding the settings' (WCF's defaults: 64 KiB and 64 Ki). A
    reply over them raises `QuotaExceeded` (the body is read no further than the limit); so
    does a request over them, before it is sent: the client would not read it back."""

    @classmethod
    def _from_endpoint(cls, ep: WsdlEndpoint, url: str, address: str | None, **kw: Any) -> Self:
        """A client for the endpoint a WSDL described: at ``address`` or the WSDL's own, with
        the WSDL's identity as the service certificate unless one was given."""
        given = kw.get("credentials")
        if given is None or given.service_certificate is None:  # the WSDL's identity by default
            kw.setdefault("service_certificate", ep.certificate)
        if ep.spn is not None:  # the WSDL's wsid:Spn, unless one was given
            kw["credentials"] = ClientCredentials.of(given).with_defaults(spn=ep.spn)
        client = cls(address or ep.address, ep.contract, settings=ep.settings, **kw)
        if address is None and ep.published:
            client.wsdl_url = url
        return client

    def __init__(
        self,
        address: str,
        contract: ContractSpec,
        *,
        settings: EndpointSettings | None = None,
        credentials: ClientCredentials | None = None,
        service_certificate: Certificate | None = None,
        username: str | None = None,
        password: str | None = None,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 60.0,
        http: H | None = None,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.time,
        compatibility: Compatibility = WCF_COMPATIBLE,
        service_certificate_validator: CertificateValidator | None = None,
        max_received_message_size: int | None = None,
        max_string_content_length: int | None = None,
    ) -> None:
        self.address = address
        self.contract = contract
        self.settings = with_limits(
            settings or EndpointSettings(), max_received_message_size, max_string_content_length
        )
        session = ClientSession(
            self.settings,
            make_bootstrap(
                self.settings,
                ClientCredentials.of(
                    credentials,
                    service_certificate=service_certificate,
                    username=username,
                    password=password,
                    service_certificate_validator=service_certificate_validator,
                ).with_defaults(spn=f"host/{urlsplit(address).hostname or ''}"),  # WCF's default SPN
            ),
            address,
            compatibility=compatibility,
        )
        self.flow = ClientFlow(session, clock=clock, on_event=on_event)
        self.clock = clock
        self._http: H = http if http is not None else self._new_http(tls_verify(verify), timeout)
        self._own_http = http is None
        self._lock: L = self._new_lock()
        #: The WSDL whose soap:address ``address`` is (set by ``from_wsdl``), for messages.
        self.wsdl_url: str | None = None

    @property
    def session(self) -> ClientSession:
        """The sans-IO session the flow drives (state, SCT, keys)."""
        return self.flow.session

    @session.setter
    def session(self, session: ClientSession) -> None:
        self.flow.session = session

    def _new_http(self, verify: bool | ssl.SSLContext, timeout: float) -> H:
        raise NotImplementedError

    def _new_lock(self) -> L:
        raise NotImplementedError

    def _bind(
        self, name: str, args: tuple[object, ...], kwargs: dict[str, object]
    ) -> tuple[OperationSpec, dict[str, object]]:
        op = find_operation(self.contract, name)
        bound = bind_args(op, args, kwargs)
        check_arguments(op, bound)
        return op, bound

    @staticmethod
    def _headers(out: Outgoing) -> dict[str, str]:
        return {"content-type": out.content_type, "soapaction": f'"{out.action}"', **IDENTITY}

    @staticmethod
    def _fetched(status: int, url: str) -> None:
        if status != 200:
            hint = ""
            if urlsplit(url).path.rstrip("/").lower().endswith("mex"):
                hint = " (a WS-MetadataExchange endpoint? use from_mex, or wssc inspect --mex)"
            raise TransportError(f"fetching the WSDL at {url} gave HTTP {status}{hint}")

    @staticmethod
    def _mex_answered(status: int, url: str) -> None:
        """A mex Get's status: 200, or 500 with a SOAP fault (its reason is then reported)."""
        if status not in (200, 500):
            raise TransportError(f"the WS-MetadataExchange Get to {url} gave HTTP {status}")

    def _unreachable(self, exc: Exception) -> TransportError:
        err = network_failure(exc, self.address)
        note = from_wsdl_note(self.address, self.wsdl_url)
        if note and err.detail and err.reason != UNTRUSTED:
            return TransportError(err.detail + note, reason=err.reason)
        return err

    def _status(self, status: int, sent: int) -> None:
        """A reply's HTTP status, checked before its body is read: 200 or 500 (a fault);
        413 is the service's ``MaxReceivedMessageSize`` refusing the request (`QuotaExceeded`)."""
        if status == 413:
            raise QuotaExceeded(
                f"{self.address} refused the request as too large (HTTP 413): the request is "
                f"{sent} bytes, more than the service's MaxReceivedMessageSize (raise it on "
                "the service: wssc serve --max-received-message-size)",
                limit="max_received_message_size",
                value=None,
            )
        if status not in (200, 500):
            raise TransportError(f"{self.address} answered HTTP {status}")

    def _reader(self, headers: Mapping[str, str]) -> ReplyReader:
        """What counts a reply's raw body while it streams, against ``max_received_message_size``
        (for `read_reply`)."""
        return ReplyReader(self.session, headers.get("content-length"), headers.get("content-encoding"))

    def _answered(self, status: int, content: bytes, sent: int = 0) -> bytes:
        self._status(status, sent)
        if not content:
            raise TransportError(
                f"{self.address} answered HTTP {status} with an empty body (the service failed "
                "without sending a SOAP fault)"
            )
        return content


def find_operation(contract: ContractSpec, name: str) -> OperationSpec:
    try:
        return contract.operation(name)
    except Exception:
        raise ConfigurationError(
            f"the contract has no operation {name!r}; it has: " + ", ".join(contract.operation_names)
        ) from None


def signature(op: OperationSpec) -> str:
    """``Add(a: int, b: int) -> int``, for messages."""
    params = ", ".join(f"{p.name}: {p.type.annotation}" for p in op.parameters)
    result = op.result.annotation if op.result is not None else "None"
    return f"{op.name}({params}) -> {result}"


def check_arguments(op: OperationSpec, bound: dict[str, object]) -> None:
    """Refuse, locally, arguments that do not fit the contract (missing, wrong type, out of
    range): `InvalidArgument`, and nothing is sent."""
    from wssc.contract import SerializationFailed, encode_request

    try:
        encode_request(op, bound)
    except SerializationFailed as exc:
        raise InvalidArgument(f"{exc.detail}; the contract says {signature(op)} (nothing was sent)") from None


def bind_args(op: OperationSpec, args: tuple[object, ...], kwargs: dict[str, object]) -> dict[str, object]:
    names = [p.name for p in op.parameters]
    if len(args) > len(names):
        raise InvalidArgument(f"{op.name} takes {len(names)} arguments, got {len(args)}: {signature(op)}")
    bound = dict(zip(names, args, strict=False))
    for k, v in kwargs.items():
        if k not in names:
            raise InvalidArgument(f"{op.name} has no parameter {k!r}: {signature(op)}")
        if k in bound:
            raise InvalidArgument(f"{op.name} got {k!r} twice")
        bound[k] = v
    return bound
