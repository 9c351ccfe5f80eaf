"""WCF secure sessions for `zeep <https://docs.python-zeep.org>`_ (``pip install 'wssc[zeep]'``).

Two added lines::

    import zeep
    from wssc.integrations.zeep import secure_session

    with zeep.Client(wsdl, **secure_session(wsdl)) as client:   # policy read from the WSDL
        client.service.Add(a=2, b=3)          # RST/SCT on first use, then a secured call
    # on exit: the Cancel, unless the policy says MustNotSendCancel (cookie mode)

and for ``zeep.AsyncClient``::

    async with zeep.AsyncClient(wsdl, **async_secure_session(wsdl)) as client:
        await client.service.Add(a=2, b=3)    # the Cancel is sent by ``aclose()``

The pieces:

- `SecureConversationWsse`, a zeep ``wsse`` plugin: signs and encrypts each outgoing
  envelope with keys derived from the session's SCT and verifies and decrypts each reply;
- `Transport` and `AsyncTransport`, subclasses of zeep's, which open the session
  (RST/RSTR under the bootstrap) on first use, renew it at 60 % of the key lifetime or after a
  ``RenewNeeded`` fault, and send the Cancel on ``close()`` / ``aclose()``. Without the plugin
  (always so for the async transport: zeep's ``wsse`` hook cannot wait for I/O) the transport
  protects and verifies each message itself, and retries once after ``RenewNeeded``.

Unsecured SOAP faults, as WCF sends security faults, become `zeep.exceptions.Fault`
(the wssc error is its ``__cause__``); secured faults reach zeep decrypted, and zeep raises
them as usual. A reply that fails verification raises the `WsscError`.

The sans-IO `ClientSession` does all the security work; this module
only moves its bytes over zeep's HTTP sessions (requests, or httpx for the async transport).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Self

try:
    import requests
    import requests.adapters
    from zeep.exceptions import Fault, TransportError
    from zeep.transports import AsyncTransport as _ZeepAsyncTransport
    from zeep.transports import Transport as _ZeepTransport
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("wssc.integrations.zeep needs zeep: pip install 'wssc[zeep]'") from exc

from lxml import etree

from wssc.bootstrap.base import ClientContext
from wssc.bootstrap.registry import ClientCredentials, bootstrap_kind
from wssc.certs import Certificate, from_der
from wssc.client.common import (
    ReplyReader,
    aread_reply,
    first_wsdl,
    make_bootstrap,
    network_failure,
    with_limits,
)
from wssc.contract import first_long_string
from wssc.errors import ConfigurationError, QuotaExceeded, WsscError, error_from_fault
from wssc.errors import TransportError as WsscTransportError
from wssc.http_body import IDENTITY
from wssc.policy.wsdl_resolve import WsdlBudget
from wssc.session.client import ClientSession, Outgoing
from wssc.settings import WCF_COMPATIBLE, Compatibility, EndpointSettings
from wssc.xml import ns
from wssc.xml.parse import parse_xml
from wssc.xml.soap import Envelope, read_fault

log = logging.getLogger("wssc.zeep")

__all__ = [
    "AsyncTransport",
    "SecureConversationWsse",
    "SecureEndpoint",
    "Transport",
    "async_secure_session",
    "secure_session",
]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class SecureEndpoint:
    """What the session needs from the WSDL: the address, the security settings read from
    its WS-Policy, and the service certificate from the endpoint identity (if any)."""

    address: str
    settings: EndpointSettings
    service_certificate: Certificate | None = None
    #: the service principal the WSDL's identity names (wsid:Spn), for SPNEGO
    spn: str | None = None

    @classmethod
    def from_wsdl(cls, wsdl: bytes, url: str | None = None) -> SecureEndpoint:
        from wssc.bootstrap.registry import settings_from_wsdl

        imported = settings_from_wsdl(wsdl)
        address = imported.address or (url.split("?", 1)[0] if url else None)
        if not address:
            raise ConfigurationError("the WSDL has no soap:address; pass the endpoint address")
        der = imported.service_certificate_der
        return cls(
            address,
            EndpointSettings(secure_conversation=imported.settings, soap_version=imported.soap_version),
            from_der(der) if der else None,
            imported.identity_spn,
        )

    def with_limits(
        self, max_received_message_size: int | None, max_string_content_length: int | None
    ) -> SecureEndpoint:
        """This endpoint under the client's own limits, where given (else WCF's defaults)."""
        settings = with_limits(self.settings, max_received_message_size, max_string_content_length)
        return replace(self, settings=settings)


class _RetryAfterRenew(Exception):
    pass


def _fault(code_ns: str, code_local: str, side: str, reason: str, cause: WsscError) -> Fault:
    fault = Fault(reason, code=side, subcodes=[etree.QName(code_ns or None, code_local)])
    fault.__cause__ = cause
    return fault


def _action_from_headers(headers: dict[str, str]) -> str | None:
    for k, v in headers.items():
        if k.lower() == "soapaction" and v.strip('"'):
            return v.strip('"')
        if k.lower() == "content-type":
            for part in v.split(";"):
                name, _, value = part.strip().partition("=")
                if name.lower() == "action" and value:
                    return value.strip('"')
    return None


class _Core:
    """The session and the per-message steps both transports share (no I/O here)."""

    def __init__(
        self,
        endpoint: SecureEndpoint,
        *,
        credentials: ClientCredentials,
        clock: Clock,
        compatibility: Compatibility,
    ) -> None:
        self.endpoint = endpoint
        self.address = endpoint.address
        boot = make_bootstrap(
            endpoint.settings,
            credentials.with_defaults(service_certificate=endpoint.service_certificate, spn=endpoint.spn),
        )
        self.session = ClientSession(endpoint.settings, boot, endpoint.address, compatibility=compatibility)
        self.clock = clock
        self.lock = threading.RLock()
        #: id(secured envelope) -> (zeep's plain envelope, headers), set by the wsse plugin
        self.plain: dict[int, tuple[etree._Element, dict[str, str]]] = {}
        self._local = threading.local()  # the bootstrap context of this thread's last request

    def check_address(self, address: str) -> None:
        """zeep posts to the address of its own WSDL binding (or one the user chose): a
        bootstrap that relies on TLS never goes to a non-https one."""
        bootstrap_kind(self.session.scs.bootstrap).check_address(address, "client")

    # --- opening, renewing, cancelling ---------------------------------------------------
    def session_step(self) -> tuple[Outgoing, float] | None:
        """The RST to send before the next message (issue, re-issue or renew), if any."""
        s = self.session
        if not s.scs.establish_security_context:
            now = self.clock()
            if s.negotiation_due(now):  # a negotiated token will protect each message
                return s.negotiation_request(now), now
            return None  # per-message security: no session to open
        now = self.clock()
        if s.issue_due(now):
            return s.issue_request(now), now
        if s.renew_due(now):
            return s.renew_request(now), now
        return None

    def session_reply(
        self, out: Outgoing, now: float, data: bytes, status: int = 200
    ) -> tuple[Outgoing, float] | None:
        """Take the reply to ``out`` (an RST/SCT, a negotiation leg or a Renew); the next
        request to send when the issue goes on (a negotiating bootstrap's next leg, or its
        RST/SCT), else None."""
        s = self.session
        try:
            self.raise_unsecured_fault(data, status=status)
        except BaseException:
            self.session_failed(out)
            raise
        if out.kind == "negotiate" and not s.scs.establish_security_context:
            leg = s.negotiation_step(data, out, now)
            return None if leg is None else (leg, self.clock())
        if out.kind in ("issue", "negotiate"):
            step = s.issue_step(data, out, now)
            if isinstance(step, Outgoing):
                return step, self.clock()
            log.debug(
                "zeep: secure session open (SCT %s%s)",
                step.identifier,
                ", cookie mode" if step.cookie else "",
            )
        else:
            sct = s.renew_response(data, out, now)
            log.debug("zeep: secure session renewed (SCT %s)", sct.identifier)
        return None

    def session_failed(self, out: Outgoing) -> None:
        """``out`` got no reply to read (the network failed, or an unsecured fault came back):
        a Renew in flight is over and the current key stays."""
        if out.kind == "renew":
            self.session.renew_failed()

    def cancel_step(self) -> Outgoing | None:
        out = self.session.cancel_request(self.clock())
        if out is None and self.session.is_open:
            log.info("zeep: no Cancel sent (the policy says MustNotSendCancel: cookie mode)")
            self.session.closed_without_cancel()
        return out

    def cancel_reply(self, out: Outgoing, data: bytes) -> None:
        self.session.cancel_response(data, out, self.clock())
        log.debug("zeep: secure session cancelled")

    def cancel_failed(self, exc: Exception) -> None:
        log.warning("zeep: the Cancel failed: %s", exc)
        self.session.closed_without_cancel()

    # --- messages --------------------------------------------------------------------------
    @staticmethod
    def is_secured(envelope: etree._Element) -> bool:
        return envelope.find(f"*/{{{ns.WSSE}}}Security") is not None

    def _addressing(self, envelope: etree._Element, headers: dict[str, str]) -> None:
        """WS-Addressing 1.0 headers as WCF expects them, unless zeep wrote them already
        (it does when the WSDL names wsaw:Action)."""
        env = Envelope(envelope)
        header = env.ensure_header()
        if header.find(f"{{{ns.WSA10}}}Action") is not None:
            if env.message_id is None:  # the reply must relate to an id of ours
                etree.SubElement(header, f"{{{ns.WSA10}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
            return
        action = _action_from_headers(headers)
        if action is None:
            raise ConfigurationError("the request has neither wsa:Action nor a SOAP action")
        mu = f"{{{env.version.ns}}}mustUnderstand"

        def add(tag: str, text: str | None = None, must: bool = False) -> etree._Element:
            el = etree.SubElement(header, f"{{{ns.WSA10}}}{tag}")
            if text is not None:
                el.text = text
            if must:
                el.set(mu, "1")
            return el

        add("Action", action, must=True)
        add("MessageID", f"urn:uuid:{uuid.uuid4()}")
        etree.SubElement(add("ReplyTo"), f"{{{ns.WSA10}}}Address").text = ns.WSA10_ANONYMOUS
        add("To", self.address, must=True)

    def secure(
        self, envelope: etree._Element, headers: dict[str, str]
    ) -> tuple[etree._Element, ClientContext | None]:
        """The secured copy of a zeep envelope (zeep's own tree is left as it was, so that a
        retry can protect it again under a new key), and, without a security context (the
        bootstrap secures each message), the context to verify its reply with."""
        import copy

        # the client's own quota, before anything is sent
        self.session.check_request_strings(Envelope(envelope).body, "the request")
        env = copy.deepcopy(envelope)
        self._addressing(env, headers)
        root, boot = self.session.protect_message(env, self.clock())
        self.session.check_request_size(len(etree.tostring(root, encoding="utf-8")))
        return root, boot

    def protect(self, envelope: etree._Element, headers: dict[str, str]) -> etree._Element:
        """`secure` for the (synchronous) wsse plugin: the reply context is kept for this
        thread's next `reply`."""
        root, boot = self.secure(envelope, headers)
        self._local.boot = boot
        self._local.request_id = Envelope(root).message_id
        return root

    def serialize(self, root: etree._Element) -> bytes:
        return etree.tostring(root, encoding="utf-8", xml_declaration=True)

    def raise_unsecured_fault(self, data: bytes, *, status: int) -> None:
        """An unsecured fault (how WCF reports security failures) raises
        `zeep.exceptions.Fault`, or ``_RetryAfterRenew`` after ``RenewNeeded`` when the
        session can renew; a reply that is not SOAP raises zeep's ``TransportError``."""
        if not data:
            raise TransportError(
                f"Server returned HTTP status {status} with an empty body", status_code=status
            )
        if len(data) > self.session.settings.max_received_message_size:
            raise self.session.reply_too_large(len(data))
        try:
            env = Envelope(parse_xml(data, self.session.parser_limits))
        except WsscError as exc:
            raise TransportError(
                f"Server returned HTTP status {status}, not a SOAP reply ({exc.detail or exc.reason})",
                status_code=status,
                content=data[:2000],
            ) from None
        if not env.security_headers():
            fault = read_fault(env)
            if fault is not None:
                err = error_from_fault(fault.code, fault.reason)
                self.session.fault_received(err)
                if err.code.local == "RenewNeeded" and self.session.scs.can_renew_session:
                    raise _RetryAfterRenew
                raise _fault(fault.code.namespace, fault.code.local, fault.code.side, fault.reason, err)

    def reply(
        self,
        data: bytes,
        *,
        status: int,
        request: etree._Element | None = None,
        boot: ClientContext | None = None,
        thread_context: bool = False,
    ) -> etree._Element:
        """Verify and decrypt a reply to ``request`` (the secured envelope sent: its reply
        must relate to its MessageID); returns the plain envelope for zeep (without the
        security header). Unsecured faults: see `raise_unsecured_fault`. ``boot``: the
        request's bootstrap context (per-message security). With ``thread_context=True``
        (the wsse plugin) both come from this thread's last `protect`."""
        self.raise_unsecured_fault(data, status=status)
        request_id = None if request is None else Envelope(request).message_id
        if thread_context:
            boot = getattr(self._local, "boot", None)
            request_id = getattr(self._local, "request_id", None)
        if boot is None and not self.session.scs.establish_security_context:
            raise ConfigurationError("a reply without its request's bootstrap context")
        result = self.session.verify_reply(data, request_id, self.clock(), boot)
        plain = result.envelope
        limit = self.session.settings.max_string_content_length
        if first_long_string(plain.body, limit) is not None:
            raise QuotaExceeded(
                f"a value in the reply is longer than max_string_content_length ({limit} "
                "characters; WCF's MaxStringContentLength)",
                limit="max_string_content_length",
                value=limit,
            )
        header = plain.header
        if header is not None:
            for sec in header.findall(f"{{{ns.WSSE}}}Security"):
                header.remove(sec)
        return plain.root


#: how the body came framed and encoded: gone once it is read (and decoded) whole
_BODY_FRAMING = ("content-length", "content-encoding", "transfer-encoding")


def _read_reply(core: _Core, r: requests.Response) -> bytes:
    """``r``'s body (a streamed requests response), read raw and never past
    ``max_received_message_size``; a gzip body is decoded a bounded output at a time."""
    import urllib3

    with r:
        body = ReplyReader(core.session, r.headers.get("Content-Length"), r.headers.get("Content-Encoding"))
        try:
            for raw in r.raw.stream(64 * 1024, decode_content=False):
                body.feed(raw)
        except urllib3.exceptions.HTTPError as exc:  # as requests' own reading would say it
            raise requests.ConnectionError(exc) from None
        for name in _BODY_FRAMING[1:]:  # what zeep (or a user) reads next is the decoded body
            r.headers.pop(name, None)
        return body.result()


def _answered(core: _Core, status: int, content: bytes) -> tuple[bytes, int]:
    """The body of a reply to a session message, and its HTTP status (200 or 500; any other
    is a `wssc.errors.TransportError`, as from `wssc.client.Client`)."""
    if status == 413:
        raise QuotaExceeded(
            f"{core.address} refused the request as too large (HTTP 413): it is larger than "
            "the service's MaxReceivedMessageSize (raise it on the service)",
            limit="max_received_message_size",
            value=None,
        )
    if len(content) > core.session.settings.max_received_message_size:
        raise core.session.reply_too_large(len(content))
    if status not in (200, 500) or not content:
        raise WsscTransportError(
            f"{core.address} answered HTTP {status}"
            + ("" if content else " with an empty body (no SOAP fault)")
        )
    return content, status


class SecureConversationWsse:
    """A zeep ``wsse`` plugin: secures each request with the session's SCT (derived keys,
    signature and encryption as the policy says) and verifies and decrypts each reply.

    ``opener`` (the sync `Transport`'s ``open``) is called before each message so
    that the session is issued or renewed first. With zeep's ``AsyncClient`` leave the plugin
    out: `AsyncTransport` secures the messages itself.
    """

    def __init__(self, core: _Core, opener: Callable[[], None] | None = None) -> None:
        self._core = core
        self._opener = opener

    @property
    def session(self) -> ClientSession:
        return self._core.session

    def apply(
        self, envelope: etree._Element, headers: dict[str, str]
    ) -> tuple[etree._Element, dict[str, str]]:
        if self._opener is not None:
            self._opener()
        s = self._core.session
        if s.scs.establish_security_context and not s.is_open:
            raise ConfigurationError("the secure session is not open")
        secured = self._core.protect(envelope, headers)
        # the plain envelope, for a resend under a new key after RenewNeeded (Transport)
        self._core.plain[id(secured)] = (envelope, dict(headers))
        return secured, headers

    def verify(self, envelope: etree._Element) -> etree._Element:
        """Verify ``envelope`` (zeep's parsed reply) and replace its content, in place, by the
        decrypted envelope, which zeep then reads."""
        try:
            plain = self._core.reply(etree.tostring(envelope), status=200, thread_context=True)
        except _RetryAfterRenew:
            raise Fault("The session key needs renewal; the next call renews it", code="Sender") from None
        envelope[:] = list(plain)
        return envelope


def _ssl_verify(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


class _CaFileAdapter(requests.adapters.HTTPAdapter):
    """HTTPS trusting one CA file through `ssl.create_default_context` (urllib3's own
    context is stricter and refuses self-signed development certificates)."""

    def __init__(self, cafile: str) -> None:
        self._context = ssl.create_default_context(cafile=cafile)
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def _configure(http: requests.Session, verify: bool | str) -> None:
    if isinstance(verify, str):
        http.mount("https://", _CaFileAdapter(verify))
    else:
        http.verify = verify


def _get_capped(http: requests.Session, url: str, budget: WsdlBudget, timeout: float) -> bytes:
    """GET one WSDL document, counted into ``budget`` while it streams (never buffered past
    a cap; the connection is closed there)."""
    try:
        r = http.get(url, timeout=timeout, stream=True, headers={"Accept-Encoding": "identity"})
    except requests.RequestException as exc:
        raise network_failure(exc, url, "cannot fetch the WSDL at") from None
    with r:
        if r.status_code != 200:
            raise WsscTransportError(f"fetching the WSDL at {url} gave HTTP {r.status_code}")
        body = budget.body(url, r.headers.get("Content-Encoding"), r.headers.get("Content-Length"))
        try:
            for raw in r.raw.stream(64 * 1024, decode_content=False):
                body.feed(raw)
        except requests.RequestException as exc:
            raise network_failure(exc, url, "cannot fetch the WSDL at") from None
    return body.result()


def _fetch(url: str, verify: bool | str, timeout: float) -> tuple[bytes, bytes]:
    """The WSDL at ``url`` (or a file) as fetched (zeep follows its imports itself), and with
    WCF's multi-file imports merged into it (for wssc's policy reader). Each document and the
    total are capped while read; a file WSDL's imports stay in its folder."""
    from wssc.policy.wsdl_resolve import WsdlBudget, assemble, read_local

    budget = WsdlBudget()
    if not url.startswith(("http://", "https://")):
        path = url.removeprefix("file://")
        main = read_local(path, budget)
        return main, assemble(main, path, budget=budget)
    fetched: dict[str, bytes] = {}
    with requests.Session() as http:
        _configure(http, verify)

        def fetch(doc: str) -> bytes:
            fetched[doc] = _get_capped(http, doc, budget, timeout)
            return fetched[doc]

        used, asm = first_wsdl(url, fetch, budget)  # the service address: its ?wsdl too
        while urls := asm.missing():
            for u in urls:
                asm.add(u, fetch(u))
        return fetched[used], asm.result()


class _SecureTransport:
    """What `Transport` and `AsyncTransport` share: the session core, and the
    WSDL fetched once by `from_wsdl` (its policy read, its bytes kept for zeep's own
    load). Comes first in their bases, before zeep's transport."""

    core: _Core
    _preloaded: dict[str, bytes]

    def _set_up(self, core: _Core) -> None:
        self.core = core
        self._preloaded = {}
        self._wsdl_budget = WsdlBudget()  # what zeep loads itself (imports), all together

    @classmethod
    def from_wsdl(cls, wsdl: str, *, verify: bool | str = True, timeout: float = 300, **kwargs: Any) -> Self:
        """Fetch the WSDL once, read its policy, and keep it for zeep's own load."""
        main, merged = _fetch(wsdl, verify, timeout)
        t = cls(
            SecureEndpoint.from_wsdl(merged, wsdl),  # type: ignore[call-arg]
            verify=verify,
            timeout=timeout,
            **kwargs,
        )
        t._preloaded[wsdl] = main
        return t

    @property
    def secure_session(self) -> ClientSession:
        """The sans-IO session (state, SCT identifier) for inspection."""
        return self.core.session

    def _load_remote_data(self, url: str) -> bytes:
        data = self._preloaded.get(url)
        if data is not None:
            return data
        if url.startswith(("http://", "https://")):  # zeep's own imports: capped too
            return self._get_capped(url)
        return bytes(super()._load_remote_data(url))  # type: ignore[misc]

    def _get_capped(self, url: str) -> bytes:
        raise NotImplementedError

    def __del__(self) -> None:
        """zeep's finalizer closes the HTTP session it made; it reads attributes that a
        construction which failed half-way never set. A finalizer must not raise."""
        attrs = self.__dict__
        if not attrs.get("_close_session"):
            return
        session = attrs.get("session")
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()


class Transport(_SecureTransport, _ZeepTransport):  # type: ignore[misc,unused-ignore]
    """zeep's Transport with a WS-SecureConversation session (see the module docs).

    ``verify``: ``True``, ``False`` or a CA file for HTTPS (UserNameOverTransport).
    ``max_received_message_size`` and ``max_string_content_length``: the client's own limits
    (`wssc.settings.EndpointSettings`; WCF's defaults, 64 KiB and 64 Ki characters): a
    request over them raises `wssc.errors.QuotaExceeded` before it is sent, and so does a
    reply over them, before zeep reads it.
    Other keyword arguments go to `zeep.transports.Transport` (``cache``,
    ``timeout``, ``operation_timeout``, ``session``).
    """

    def __init__(
        self,
        endpoint: SecureEndpoint,
        *,
        credentials: ClientCredentials | None = None,
        username: str | None = None,
        password: str | None = None,
        service_certificate: Certificate | None = None,
        verify: bool | str = True,
        clock: Clock = time.time,
        compatibility: Compatibility = WCF_COMPATIBLE,
        max_received_message_size: int | None = None,
        max_string_content_length: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        _configure(self.session, verify)
        creds = ClientCredentials.of(
            credentials, username=username, password=password, service_certificate=service_certificate
        )
        endpoint = endpoint.with_limits(max_received_message_size, max_string_content_length)
        self._set_up(_Core(endpoint, credentials=creds, clock=clock, compatibility=compatibility))
        self.wsse = SecureConversationWsse(self.core, opener=self.open)

    def _get_capped(self, url: str) -> bytes:
        return _get_capped(self.session, url, self._wsdl_budget, float(self.load_timeout or 300))

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
        """zeep's ``post`` without its DEBUG dump of the message: a secured message can carry
        a UsernameToken's password (over HTTPS), and replies carry session tokens."""
        self.core.check_address(address)
        self.logger.debug("HTTP Post to %s (%d bytes; secured, not logged)", address, len(message))
        # No redirects: requests would re-send the body (a 307/308) to wherever it points.
        r = self.session.post(
            address,
            data=message,
            headers={**headers, **IDENTITY},
            timeout=self.operation_timeout,
            allow_redirects=False,
            stream=True,
        )
        r._content = _read_reply(self.core, r)  # zeep reads .content: never past the cap
        return r

    def _send(self, out: Outgoing) -> tuple[bytes, int]:
        try:
            r = self.session.post(
                self.core.address,
                data=out.body,
                timeout=self.operation_timeout,
                headers={"Content-Type": out.content_type, "SOAPAction": f'"{out.action}"', **IDENTITY},
                allow_redirects=False,
                stream=True,
            )
            content = _read_reply(self.core, r)
        except requests.RequestException as exc:
            raise network_failure(exc, self.core.address) from None
        return _answered(self.core, r.status_code, content)

    def open(self) -> None:
        """Issue the session, or renew it, when due (done by the first call on its own)."""
        with self.core.lock:
            step = self.core.session_step()
            while step is not None:
                out, now = step
                try:
                    data, status = self._send(out)
                except BaseException:
                    self.core.session_failed(out)
                    raise
                step = self.core.session_reply(out, now, data, status)

    def post_xml(self, address: str, envelope: etree._Element, headers: dict[str, str]) -> Any:
        if self.core.is_secured(envelope):  # the wsse plugin did it; zeep calls its verify
            original = self.core.plain.pop(id(envelope), None)
            response = super().post_xml(address, envelope, headers)
            if original is not None:
                try:
                    self.core.raise_unsecured_fault(response.content, status=response.status_code)
                except _RetryAfterRenew:
                    log.info("zeep: the service asked for a new key (RenewNeeded); renewing")
                    self.open()
                    again = self.core.protect(*original)
                    response = super().post_xml(address, again, headers)
                except (Fault, TransportError):
                    pass  # zeep's wsse.verify raises it again, in order
            return response
        for attempt in (1, 2):
            self.open()
            secured, boot = self.core.secure(envelope, headers)
            response = self.post(address, self.core.serialize(secured), headers)
            try:
                plain = self.core.reply(
                    response.content, status=response.status_code, request=secured, boot=boot
                )
            except _RetryAfterRenew:
                if attempt == 2:
                    raise Fault("The service asked for a new key twice", code="Sender") from None
                log.info("zeep: the service asked for a new key (RenewNeeded); renewing")
                continue
            response._content = etree.tostring(plain, encoding="utf-8", xml_declaration=True)
            return response
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Send the Cancel (unless MustNotSendCancel), then close the HTTP session.
        ``zeep.Client``'s ``with`` block calls this on exit."""
        with self.core.lock:
            try:
                out = self.core.cancel_step()
                if out is not None:
                    self.core.cancel_reply(out, self._send(out)[0])
            except WsscError as exc:
                self.core.cancel_failed(exc)
            finally:
                if self._close_session:
                    self.session.close()


class AsyncTransport(_SecureTransport, _ZeepAsyncTransport):  # type: ignore[misc,unused-ignore]
    """zeep's AsyncTransport with a WS-SecureConversation session: it secures and verifies
    each message itself (zeep's ``wsse`` hook is synchronous), opens and renews the session
    before a call, and sends the Cancel on `aclose` (``async with zeep.AsyncClient``)."""

    def __init__(
        self,
        endpoint: SecureEndpoint,
        *,
        credentials: ClientCredentials | None = None,
        username: str | None = None,
        password: str | None = None,
        service_certificate: Certificate | None = None,
        verify: bool | str = True,
        clock: Clock = time.time,
        compatibility: Compatibility = WCF_COMPATIBLE,
        max_received_message_size: int | None = None,
        max_string_content_length: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(verify_ssl=_ssl_verify(verify), **kwargs)
        creds = ClientCredentials.of(
            credentials, username=username, password=password, service_certificate=service_certificate
        )
        endpoint = endpoint.with_limits(max_received_message_size, max_string_content_length)
        self._set_up(_Core(endpoint, credentials=creds, clock=clock, compatibility=compatibility))
        self._alock: asyncio.Lock | None = None

    def _get_capped(self, url: str) -> bytes:
        import httpx

        from wssc.client.wsdl_fetch import get_capped

        def status(code: int, u: str) -> None:
            if code != 200:
                raise WsscTransportError(f"fetching the WSDL at {u} gave HTTP {code}")

        try:
            return get_capped(self.wsdl_client, url, self._wsdl_budget, status)
        except httpx.HTTPError as exc:
            raise network_failure(exc, url, "cannot fetch the WSDL at") from None

    @property
    def _lock(self) -> asyncio.Lock:
        if self._alock is None:
            self._alock = asyncio.Lock()
        return self._alock

    async def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
        """zeep's ``post`` without its DEBUG dump of the message (see `Transport.post`)."""
        self.core.check_address(address)
        self.logger.debug("HTTP Post to %s (%d bytes; secured, not logged)", address, len(message))
        return await self._post_capped(address, message, headers)

    async def _post_capped(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
        """POST, the reply read raw and never past ``max_received_message_size`` (a gzip body
        decoded a bounded output at a time); an httpx response holding what was read."""
        import httpx

        async with self.client.stream(
            "POST", address, content=message, headers={**headers, **IDENTITY}, follow_redirects=False
        ) as r:
            data = await aread_reply(r, self._reader)
        kept = [(k, v) for k, v in r.headers.multi_items() if k.lower() not in _BODY_FRAMING]
        return httpx.Response(r.status_code, headers=kept, content=data, request=r.request)

    def _reader(self, headers: Mapping[str, str]) -> ReplyReader:
        return ReplyReader(self.core.session, headers.get("content-length"), headers.get("content-encoding"))

    async def _send(self, out: Outgoing) -> tuple[bytes, int]:
        import httpx

        try:
            r = await self._post_capped(
                self.core.address,
                out.body,
                {"Content-Type": out.content_type, "SOAPAction": f'"{out.action}"'},
            )
        except httpx.HTTPError as exc:
            raise network_failure(exc, self.core.address) from None
        return _answered(self.core, r.status_code, r.content)

    async def open(self) -> None:
        async with self._lock:
            step = self.core.session_step()
            while step is not None:
                out, now = step
                try:
                    data, status = await self._send(out)
                except BaseException:
                    self.core.session_failed(out)
                    raise
                step = self.core.session_reply(out, now, data, status)

    async def post_xml(self, address: str, envelope: etree._Element, headers: dict[str, str]) -> Any:
        for attempt in (1, 2):
            await self.open()
            secured, boot = self.core.secure(envelope, headers)
            response = self.new_response(await self.post(address, self.core.serialize(secured), headers))
            try:
                plain = self.core.reply(
                    response.content, status=response.status_code, request=secured, boot=boot
                )
            except _RetryAfterRenew:
                if attempt == 2:
                    raise Fault("The service asked for a new key twice", code="Sender") from None
                log.info("zeep: the service asked for a new key (RenewNeeded); renewing")
                continue
            response._content = etree.tostring(plain, encoding="utf-8", xml_declaration=True)
            return response
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        """Send the Cancel (unless MustNotSendCancel), then close the HTTP clients.
        ``async with zeep.AsyncClient(...)`` calls this on exit."""
        async with self._lock:
            try:
                out = self.core.cancel_step()
                if out is not None:
                    self.core.cancel_reply(out, (await self._send(out))[0])
            except WsscError as exc:
                self.core.cancel_failed(exc)
            finally:
                await super().aclose()
                self.wsdl_client.close()


def secure_session(
    wsdl: str,
    *,
    credentials: ClientCredentials | None = None,
    username: str | None = None,
    password: str | None = None,
    service_certificate: Certificate | None = None,
    verify: bool | str = True,
    **kwargs: Any,
) -> dict[str, Any]:
    """Keyword arguments for ``zeep.Client(wsdl, **secure_session(wsdl))``: a
    `Transport` configured from the WSDL's policy, and its ``wsse`` plugin.

    ``credentials`` (`ClientCredentials`), or its shorthand: ``username``/``password`` for
    UserNameOverTransport, ``service_certificate`` when the WSDL carries no identity;
    ``verify``: ``True``, ``False`` or a CA file for HTTPS; other
    keyword arguments go to the transport (``timeout``, ``operation_timeout``, ``cache``).
    """
    t = Transport.from_wsdl(
        wsdl,
        credentials=credentials,
        username=username,
        password=password,
        service_certificate=service_certificate,
        verify=verify,
        **kwargs,
    )
    return {"transport": t, "wsse": t.wsse}


def async_secure_session(
    wsdl: str,
    *,
    credentials: ClientCredentials | None = None,
    username: str | None = None,
    password: str | None = None,
    service_certificate: Certificate | None = None,
    verify: bool | str = True,
    **kwargs: Any,
) -> dict[str, Any]:
    """Keyword arguments for ``zeep.AsyncClient(wsdl, **async_secure_session(wsdl))``: an
    `AsyncTransport` configured from the WSDL's policy (it secures each message itself).
    The credential keywords are `secure_session`'s.
    """
    t = AsyncTransport.from_wsdl(
        wsdl,
        credentials=credentials,
        username=username,
        password=password,
        service_certificate=service_certificate,
        verify=verify,
        **kwargs,
    )
    return {"transport": t}
