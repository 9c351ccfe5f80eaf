"""The sans-IO service engine: HTTP request in, HTTP response (or an operation to run) out.

One engine serves the ASGI app, the WSGI app and the tests. It never touches a socket::

    engine = ServiceEngine(Calculator(), settings=..., certificate=..., address=...)
    out = engine.handle(HttpRequest("POST", "/svc", "", headers, body, TransportInfo()))
    if isinstance(out, Dispatch):              # an application operation to run
        out = out.finish(run(out.operation, out.args))   # driver runs sync or async code
    send(out.status, out.headers, out.body)

Message routing by WS-Addressing Action:

* ``{trust}/RST/Issue``, ``{trust}/RSTR/Issue`` with no security header → a leg of a
  negotiating bootstrap (`wssc.bootstrap.base.NegotiatingService`), its state kept under the
  leg's ``Context`` (`wssc.session.negotiation`); the token a finished negotiation issues
  moves to the negotiated-token cache (`wssc.session.negotiated`), freeing its slot;
* ``{trust}/RST/SCT``        → bootstrap-secured Issue (RSTR, or RSTRC under Trust 1.3);
* ``{trust}/RST/SCT/Renew``  → a new Instance and key for a session;
* ``{trust}/RST/SCT/Cancel`` → the session is forgotten (cookie mode: a Sender fault);
* anything else             → an application message secured by the SCT (or by the
  bootstrap alone with ``establish_security_context=False``; for a negotiating bootstrap, by
  the negotiated SCT, looked up in that cache until its Lifetime ends).

The operation runs with the caller's identity and claims (`wssc.service.caller`).
"""

from __future__ import annotations

import copy
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from lxml import etree

from wssc.bootstrap.base import (
    BootstrapService,
    NegotiatingService,
    ServiceResult,
    TransportInfo,
    UsernameValidator,
)
from wssc.bootstrap.registry import ServiceCredentials, bootstrap_kind
from wssc.certs import Certificate
from wssc.claims import Claim
from wssc.contract import (
    ContractSpec,
    OperationSpec,
    decode_request,
    encode_response,
    get_contract,
    string_limits,
)
from wssc.crypto.suites import get_suite
from wssc.errors import (
    BadContextToken,
    CancellationNotAllowed,
    DestinationUnreachable,
    InvalidRequest,
    InvalidSecurity,
    MalformedXml,
    PredatesReplayCache,
    SoapFault,
    UnableToRenew,
    WsscError,
    on_the_wire,
)
from wssc.logs import printable
from wssc.security.inbound import VerifiedMessage, verify
from wssc.security.outbound import protect_wire
from wssc.security.outbound_fast import forget_plans
from wssc.security.replay import MemoryReplayCache, PeerCharged, ReplayCache
from wssc.security.tokens import SctProtection
from wssc.security.x509_validation import CertificateValidator
from wssc.service.address import AddressFilter
from wssc.service.caller import with_caller
from wssc.session.negotiated import NegotiatedTokens
from wssc.session.negotiation import NegotiationStates
from wssc.session.service import SessionManager
from wssc.settings import WCF_COMPATIBLE, Compatibility, EndpointSettings
from wssc.store.base import SessionStore
from wssc.store.cookie import CookieCodec, KeyRing
from wssc.store.memory import MemoryStore
from wssc.store.record import SessionRecord
from wssc.tokens.sct import SecurityContextToken
from wssc.trust import (
    CancelRequest,
    CancelResponse,
    IssueRequest,
    Lifetime,
    RenewRequest,
    issue_key,
    parse_rst,
)
from wssc.xml import ns
from wssc.xml.ns import ScVersion
from wssc.xml.parse import DEFAULT_LIMITS, parse_xml
from wssc.xml.soap import SOAP_11, SOAP_12, Envelope, SoapVersion, fault_from_error, new_envelope

log = logging.getLogger("wssc.service")


#: The header blocks the engine processes: wsse:Security and the binding's WS-Addressing
#: 1.0 headers. Any other marked mustUnderstand for this node gets WCF's MustUnderstand fault,
#: checked after security processing (as WCF's dispatcher does): a message that fails
#: security gets the generic fault whatever headers it carries.
UNDERSTOOD_HEADERS = frozenset(
    {f"{{{ns.WSSE}}}Security"}
    | {
        f"{{{ns.WSA10}}}{name}"
        for name in ("Action", "To", "MessageID", "RelatesTo", "ReplyTo", "FaultTo", "From")
    }
)

INTERNAL_ERROR = "The server was unable to process the request due to an internal error."


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    transport: TransportInfo = field(default_factory=TransportInfo)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(slots=True)
class Dispatch:
    """An application operation the driver must run, then hand the result to ``finish``."""

    operation: OperationSpec
    method: Callable[..., Any]
    args: dict[str, object]
    finish: Callable[[object, BaseException | None], HttpResponse]


_MAX_REPLY_TOKENS = 64
#: `ServiceEngine.handle_on_loop`'s answer for work that may wait on I/O: call it on a thread
ForThread = Callable[[], "HttpResponse | Dispatch"]


def _xml_response(status: int, version: SoapVersion, root: etree._Element | bytes) -> HttpResponse:
    body = root if isinstance(root, bytes) else etree.tostring(root, encoding="utf-8")
    ctype = f"{version.content_type}; charset=utf-8"
    return HttpResponse(status, [("content-type", ctype)], body)


class ServiceEngine:
    def __init__(
        self,
        service: object,
        *,
        settings: EndpointSettings | None = None,
        address: str,
        credentials: ServiceCredentials | None = None,
        certificate: Certificate | None = None,
        store: SessionStore | None = None,
        keyring: KeyRing | None = None,
        username_validator: UsernameValidator | None = None,
        contract: ContractSpec | None = None,
        clock: Callable[[], float] = time.time,
        require_tls_for_username: bool | None = None,
        compatibility: Compatibility = WCF_COMPATIBLE,
        replay_cache: ReplayCache | None = None,
        client_certificate_validator: CertificateValidator | None = None,
    ) -> None:
        """The bootstrap comes from the registry (`wssc.bootstrap.registry`) by
        ``settings.secure_conversation.bootstrap``; each kind takes from ``credentials``
        (`ServiceCredentials`) what it needs. ``certificate``, ``username_validator`` and
        ``require_tls_for_username`` (default True) are shorthand for its fields.
        ``compatibility`` gathers peer quirks (`Compatibility`).
        ``replay_cache``: a shared one for a farm (``RedisReplayCache``); by default one in
        memory, sized by ``settings.service``.
        ``client_certificate_validator`` decides on a client's certificate in a
        BinarySecurityToken (`CertificateValidator`; by default none is trusted).
        """
        self.service = service
        self.settings = settings or EndpointSettings()
        self.contract = contract or get_contract(service)
        self.address = address
        self.address_filter = AddressFilter(address, self.settings.host_name_comparison_mode)
        creds = ServiceCredentials.of(
            credentials,
            certificate=certificate,
            username_validator=username_validator,
            require_tls=require_tls_for_username,
            client_certificate_validator=client_certificate_validator,
        )
        self.credentials = creds
        self.certificate = creds.certificate
        self.clock = clock
        scs = self.settings.secure_conversation
        self.scs = scs
        self.sc: ScVersion = scs.message_security_version.sc
        self.trust = self.sc.trust
        self.suite = get_suite(scs.algorithm_suite)
        self.soap = SOAP_12 if self.settings.soap_version == "1.2" else SOAP_11
        svc = self.settings.service
        self.kind = bootstrap_kind(scs.bootstrap)
        self.kind.check_address(address, "service")  # never publish TLS-only creds on http
        self.bootstrap: BootstrapService = self.kind.service_half(creds, svc)
        self.client_certificate_validator = creds.client_certificate_validator
        #: the live negotiations of a negotiating bootstrap (WCF's state cache)
        self.negotiations: NegotiationStates | None = None
        #: the tokens finished negotiations issued (WCF's issued-token cache, MaxCachedCookies)
        self.negotiated: NegotiatedTokens | None = None
        if isinstance(self.bootstrap, NegotiatingService):
            self.negotiations = NegotiationStates(
                svc.max_stateful_negotiations,
                svc.negotiation_timeout.total_seconds(),
                svc.max_pending_sessions_per_peer,
            )
            self.negotiated = NegotiatedTokens(svc.max_cached_cookies, svc.max_cached_cookies_per_peer)
        self.require_tls = creds.require_tls and self.kind.security_mode == "transport"
        codec = None
        if not scs.require_cancellation:
            codec = CookieCodec(keyring or KeyRing.generate(), endpoint=address)
        self.sessions = SessionManager(self.settings, store, codec)
        # WCF turns replay detection off for SCT over transport.
        self.replay: ReplayCache | None = None
        if svc.detect_replays and self.kind.security_mode == "message":
            # A cache of its own starts now: its epoch (wssc.security.replay).
            self.replay = (
                replay_cache
                if replay_cache is not None
                else MemoryReplayCache(
                    svc.replay_cache_size,
                    svc.replay_quota_per_session,
                    svc.replay_quota_per_peer,
                    epoch=clock(),
                )
            )
        self.policy = self.kind.message_policy(self.settings, "service", compatibility)
        self._wsdl: bytes | None = None
        #: reply envelopes without their RelatesTo and payload, by (SOAP namespace, action)
        self._reply_templates: dict[tuple[str, str], etree._Element] = {}
        #: (Identifier, Instance, wsu:Id) of an SCT -> its replies' protection (`_reply_token`)
        self._reply_tokens: dict[tuple[str, str | None, str], SctProtection] = {}
        size = self.settings.max_received_message_size
        self.parser_limits = replace(DEFAULT_LIMITS, max_bytes=max(size, DEFAULT_LIMITS.max_bytes))
        self.contract_limits = string_limits(self.settings.max_string_content_length)
        #: why `handle_on_loop` hands every request to a thread (None: it verifies and secures
        #: application messages itself)
        self.waits_on_io = _waits_on_io(
            scs.establish_security_context,
            self.sessions.store,
            self.replay,
            creds.client_certificate_validator,
        )
        t = self.trust
        #: the actions `handle_on_loop` always hands to a thread
        self._thread_actions = frozenset(
            (t.rst_sct, t.rst_sct_renew, t.rst_sct_cancel, t.rst_issue, t.rstr_issue)
        )

    def _replay_for(self, transport: TransportInfo) -> ReplayCache | None:
        """The replay cache for one request: its entries charged to the sender's address
        too (``replay_quota_per_peer``), so several sessions of one peer cannot fill it."""
        if self.replay is None or not transport.peer:
            return self.replay
        return PeerCharged(self.replay, transport.peer)

    # --- HTTP ---------------------------------------------------------------------------------
    def handle(self, req: HttpRequest) -> HttpResponse | Dispatch:
        env = self._read(req)
        if isinstance(env, HttpResponse):
            return env
        return self._post_or_fault(env, req.transport)

    def handle_on_loop(self, req: HttpRequest) -> HttpResponse | Dispatch | ForThread:
        """`handle`, for a host's event loop: the work that never waits on I/O is done here,
        the rest is returned as a function for a thread to call (its result is `handle`'s).

        Done here: a GET, a refusal, the parse, and an application message in a session, when
        the session store, the replay cache and the certificate validator are this process's
        own (``waits_on_io`` None). Returned: every other request (an Issue, Renew or Cancel,
        a negotiation leg, a message of an endpoint without sessions), which may call a
        username validator, a KDC or a store over the network; and the one request that
        purges the store, every few seconds (`SessionManager.purge_due`)."""
        env = self._read(req)
        if isinstance(env, HttpResponse):
            return env
        if (
            self.waits_on_io is not None
            or env.action in self._thread_actions
            or self.sessions.purge_due(self.clock())
        ):
            return partial(self._post_or_fault, env, req.transport)
        return self._post_or_fault(env, req.transport)

    def _read(self, req: HttpRequest) -> HttpResponse | Envelope:
        """A POST's Envelope, or the answer to a request that has none."""
        if req.method == "GET":
            return self._get(req)
        if req.method != "POST":
            return HttpResponse(405, [("allow", "GET, POST")], b"")
        if len(req.body) > self.settings.max_received_message_size:
            return self.too_large(len(req.body))
        version = self._version_from_headers(req.headers)
        try:
            return Envelope(parse_xml(req.body, self.parser_limits))
        except MalformedXml as exc:
            return self._fault(version, exc, None)

    def _post_or_fault(self, env: Envelope, transport: TransportInfo) -> HttpResponse | Dispatch:
        try:
            return self._post(env, transport)
        except WsscError as exc:
            return self._fault(env.version, exc, env.message_id)
        except Exception:  # never a traceback to the peer
            log.exception("internal error while processing a message")
            return self._fault(env.version, SoapFault(reason=INTERNAL_ERROR), env.message_id)

    def too_large(self, size: int | None) -> HttpResponse:
        """WCF's answer to a request over ``MaxReceivedMessageSize``: HTTP 413, no SOAP. The
        drivers call it before reading such a body (``size`` None: not known yet)."""
        limit = self.settings.max_received_message_size
        log.info(
            "refused: the request (%s bytes) is larger than max_received_message_size (%d bytes)",
            f"more than {limit}" if size is None else size,
            limit,
        )
        return HttpResponse(
            413,
            [("content-type", "text/plain; charset=utf-8")],
            f"The request is larger than {limit} bytes.\n".encode(),
        )

    def _version_from_headers(self, headers: Mapping[str, str]) -> SoapVersion:
        ctype = headers.get("content-type", "")
        return SOAP_12 if "application/soap+xml" in ctype else SOAP_11

    def _get(self, req: HttpRequest) -> HttpResponse:
        from wssc.contract.wsdl import build_xsd, metadata_kind

        kind = metadata_kind(req.query)
        if kind == "xsd":
            return HttpResponse(200, [("content-type", "text/xml; charset=utf-8")], build_xsd(self.contract))
        if kind == "wsdl":
            return HttpResponse(200, [("content-type", "text/xml; charset=utf-8")], self.wsdl())
        text = (
            f"This is a wssc secure-session service ({self.contract.name}). Metadata: {self.address}?wsdl\n"
        ).encode()
        return HttpResponse(200, [("content-type", "text/plain; charset=utf-8")], text)

    def wsdl(self) -> bytes:
        if self._wsdl is None:
            from wssc.bootstrap.registry import policy_for
            from wssc.contract.wsdl import build_wsdl
            from wssc.policy.export import message_policy_element

            kind = "WSHttp" if self.soap is SOAP_12 else "Custom"
            policy_id = f"{kind}Binding_{self.contract.name}_policy"
            policies = [policy_for(self.scs, policy_id=policy_id)]
            # WCF attaches SignedParts/EncryptedParts to each wsdl:input/output (message
            # security only); without them a strict SP engine (Metro) signs the Timestamp alone.
            op_ids: tuple[str, str] | None = None
            if self.kind.security_mode == "message":
                base = policy_id.removesuffix("_policy")
                op_ids = (f"{base}_Input_policy", f"{base}_Output_policy")
                policies += [
                    message_policy_element(self.scs, i, mode=self.kind.security_mode) for i in op_ids
                ]
            self._wsdl = build_wsdl(
                self.contract,
                address=self.address,
                soap_version=self.soap,
                policies=policies,
                binding_policy_id=policy_id,
                operation_policy_ids=op_ids,
                identity_certificate_der=self.certificate.der if self.certificate else None,
                identity_spn=self.credentials.spn,
            )
        return self._wsdl

    def _fault(self, version: SoapVersion, error: WsscError, relates_to: str | None) -> HttpResponse:
        """Every security failure goes out as WCF's one generic fault; the detail stays here,
        in the service log, with control characters escaped."""
        log.info("fault %s: %s", error.code.clark, printable(error.detail or error.reason))
        wire = on_the_wire(error)
        return _xml_response(500, version, fault_from_error(version, wire, relates_to))

    # --- SOAP -------------------------------------------------------------------------------
    def _post(self, env: Envelope, transport: TransportInfo) -> HttpResponse | Dispatch:
        action = env.action
        now = self.clock()
        t = self.trust
        if env.version is not self.soap:
            raise InvalidSecurity(f"a SOAP {env.version.name} message to a SOAP {self.soap.name} endpoint")
        if (
            self.negotiations is not None
            and action in (t.rst_issue, t.rstr_issue)
            and not env.security_headers()
        ):
            return self._negotiate(env, transport, now)
        if not self.scs.establish_security_context:
            if self.negotiated is not None:  # the negotiated SCT protects each message
                tokens = self.negotiated
                assert isinstance(self.bootstrap, NegotiatingService)
                boot = self.bootstrap.verify_negotiated(
                    env.root,
                    transport,
                    self.policy,
                    now,
                    lambda key: tokens.get(key, now),
                    self._replay_for(transport),
                )
            else:
                boot = self.bootstrap.verify(
                    env.root, transport, self.policy, now, self._replay_for(transport)
                )
            self._check_destination(boot.message.envelope, transport)
            env.check_must_understand(UNDERSTOOD_HEADERS)
            return self._application(
                env, boot.message, now, bootstrap=boot, identity=boot.identity, claims=boot.claims
            )
        if self.sessions.maybe_purge(now):  # time-gated: at most every few seconds
            self._forget_reply_tokens(lambda ident: self.sessions.store.get(ident) is None)
        if action == t.rst_sct:
            return self._issue(env, transport, now)
        if action == t.rst_sct_cancel and self.sessions.cookie_mode:
            raise CancellationNotAllowed()
        if not transport.secure and self.require_tls:
            raise InvalidSecurity("this endpoint requires HTTPS")
        # The bootstrap says how it secures a Renew (WCF's and Metro's layout for it).
        by_bootstrap = self.bootstrap.secured_by_bootstrap(env)
        if action == t.rst_sct_renew and by_bootstrap:
            return self._renew_under_bootstrap(env, transport, now)
        if by_bootstrap:  # a Cancel, or an application message
            raise InvalidSecurity(
                ("the Cancel" if action == t.rst_sct_cancel else "the message")
                + " is not signed by the session's key (it carries the bootstrap's protection: "
                "only a Renew may be secured by the bootstrap)"
            )
        exempt = action in (t.rst_sct_cancel, t.rst_sct_renew)
        records: list[SessionRecord] = []
        resolve = self._session_keys(records, now, exempt)
        policy = self.policy
        if action == t.rst_sct_cancel and policy.require_encrypted_body:
            # WCF's session protocol signs the Cancel Body but encrypts NoParts of it (and of
            # its reply); Metro sends it so, with its signature in the clear. The signature
            # stays required; the Body holds only the CancelTarget, nothing secret.
            policy = replace(policy, require_encrypted_body=None, require_encrypted_signature=False)
        try:
            result = verify(
                env.root,
                resolver=resolve,
                policy=policy,
                now=now,
                replay_cache=self._replay_for(transport),
                issued_at=_issued_at(records),
                certificate_validator=self.client_certificate_validator,
            )
        except PredatesReplayCache as exc:
            # Not a replay for sure, but one the cache cannot rule out: the client opens a new
            # session on BadContextToken, so a legitimate one loses one message, not minutes.
            raise BadContextToken(exc.detail, sc_ns=self.sc.ns) from None
        sct = result.signing_sct
        if sct is None or not records:
            raise InvalidSecurity("the message is not secured by a SecurityContextToken")
        self._check_destination(result.envelope, transport)
        rec = next(r for r in records if r.context_id == sct.identifier)
        env.check_must_understand(UNDERSTOOD_HEADERS)
        if action == t.rst_sct_cancel:
            return self._cancel(result, sct, rec, now)
        if action == t.rst_sct_renew:
            key = result.signing_key
            assert key is not None
            return self._renew(
                result,
                sct,
                rec,
                now,
                self.bootstrap.renew_identity(result, transport, now),
                lambda reply: self._secure_with_sct(reply, sct, key, now),
            )
        self.sessions.activate(rec, now)
        return self._application(
            env, result, now, sct=sct, key=result.signing_key, identity=rec.identity, claims=rec.claims
        )

    def _check_destination(self, env: Envelope, transport: TransportInfo) -> None:
        """WCF's address filter: the message's ``wsa:To`` must name this endpoint
        (`wssc.service.address`), else ``DestinationUnreachable``. Under message
        security the policy (``require_signed_addressing``) has refused an unsigned To
        (a negotiation leg is not signed: its To is checked all the same)."""
        header = env.header
        for wsa in (ns.WSA10, ns.WSA2004):
            to = header.find(f"{{{wsa}}}To") if header is not None else None
            if to is not None:
                break
        if to is None:
            raise DestinationUnreachable("the message has no wsa:To")
        value = (to.text or "").strip()
        if not self.address_filter.matches(value, transport.origin):
            via = f" or {transport.origin} (as the proxy reports)" if transport.origin else ""
            raise DestinationUnreachable(
                f"wsa:To {printable(value, 200)!r} is not this endpoint's address "
                f"({self.address}{printable(via, 200)})",
                wsa_ns=wsa,
            )

    def _session_keys(
        self, records: list[SessionRecord], now: float, exempt: bool
    ) -> Callable[[SecurityContextToken, ScVersion], bytes | None]:
        """The key resolver for SCTs of this service's sessions; each record it finds is
        appended to ``records``. ``exempt``: an expired key still resolves (Renew, Cancel)."""

        def resolve(sct: SecurityContextToken, sc: ScVersion) -> bytes | None:
            if sc.ns != self.sc.ns:
                raise BadContextToken("the SCT is of another WS-SecureConversation version", sc_ns=self.sc.ns)
            key, rec = self.sessions.key_for(sct, now, exempt_from_expiry=exempt)
            records.append(rec)
            return key

        return resolve

    def _renew_under_bootstrap(self, env: Envelope, transport: TransportInfo, now: float) -> HttpResponse:
        records: list[SessionRecord] = []
        boot = self.bootstrap.verify(
            env.root,
            transport,
            self.policy,
            now,
            self._replay_for(transport),
            endorsing=self._session_keys(records, now, True),
        )
        result = boot.message
        self._check_destination(result.envelope, transport)
        sct = result.endorsing_sct
        rec = next((r for r in records if sct is not None and r.context_id == sct.identifier), None)
        if sct is None or rec is None:
            raise InvalidSecurity("the Renew is not endorsed by a SecurityContextToken")
        env.check_must_understand(UNDERSTOOD_HEADERS)
        return self._renew(
            result,
            sct,
            rec,
            now,
            boot.identity,
            lambda reply: self.bootstrap.secure_reply(reply, boot, self.policy, now),
        )

    def _payload(self, env: Envelope) -> etree._Element:
        p = env.payload
        if p is None:
            raise InvalidRequest("the Body is empty")
        return p

    def _reply(self, env: Envelope, action: str, payload: etree._Element) -> etree._Element:
        """A reply: RelatesTo the request's MessageID, or (none sent) a MessageID of its own.

        With a MessageID to relate to, the envelope is a copy of one built once per (SOAP
        version, action) by `new_envelope` (the same elements and namespaces; a copy costs
        a fifth of building it), its RelatesTo filled in."""
        relates_to = env.message_id
        if relates_to is None:
            return new_envelope(env.version, action=action, payload=payload, reply_to_anonymous=False)
        key = (env.version.ns, action)
        template = self._reply_templates.get(key)
        if template is None:
            template = new_envelope(env.version, action=action, relates_to="", reply_to_anonymous=False)
            if len(self._reply_templates) < 256:  # the contract's and the protocol's actions
                self._reply_templates[key] = template
        reply = copy.deepcopy(template)
        reply[0][1].text = relates_to  # Header: Action, RelatesTo
        reply[1].append(payload)
        return reply

    def _secure_with_sct(
        self,
        reply: etree._Element,
        sct: SecurityContextToken,
        key: bytes,
        now: float,
        *,
        sign_only: bool = False,
    ) -> bytes:
        """``sign_only``: WCF's session protocol signs the Cancel reply and encrypts NoParts
        of it (Metro refuses an encrypted one when the signature is not encrypted)."""
        policy = self.policy
        if sign_only:
            policy = replace(policy, encrypt_body=False, encrypt_signature=False)
        return protect_wire(reply, self._reply_token(sct, key), policy, now=now, encoding="utf-8")

    def _reply_token(self, sct: SecurityContextToken, key: bytes) -> SctProtection:
        """The `SctProtection` a session's replies are secured with: one object per session
        and key (protect's plan for it is worked out once, `wssc.security.outbound_fast.plan`),
        at most 64 kept, emptied when full."""
        name = (sct.identifier, sct.instance, sct.wsu_id)
        t = self._reply_tokens.get(name)
        if t is None or not hmac.compare_digest(t.key, key):
            if len(self._reply_tokens) >= _MAX_REPLY_TOKENS:
                self._reply_tokens.clear()
            ref = SecurityContextToken(sct.identifier, sct.instance, None, sct.wsu_id)
            t = self._reply_tokens[name] = SctProtection(ref, key, include=False)
        return t

    def _forget_reply_tokens(self, ended: Callable[[str], bool]) -> None:
        """Drop the reply protections, and protect's plans for them (they hold the session's
        key), of the sessions whose SCT Identifier ``ended``."""
        for name in list(self._reply_tokens):  # a copy: other threads add tokens meanwhile
            t = self._reply_tokens.pop(name, None) if ended(name[0]) else None
            if t is not None:
                forget_plans(t)

    def _negotiate(self, env: Envelope, transport: TransportInfo, now: float) -> HttpResponse:
        """One leg of a negotiation (WCF's NegotiationTokenAuthenticator): a first leg
        (``RST/Issue``, a ``wst:RequestSecurityToken``) reserves its ``Context`` under the
        quotas; a later one (``RSTR/Issue``) finds the state the previous leg kept. The
        bootstrap answers it; whatever goes wrong drops the negotiation's state::

            <wst:RequestSecurityTokenResponse Context="uuid-…">…</…>   (the reply's Body)
        """
        states, bootstrap = self.negotiations, self.bootstrap
        assert states is not None and isinstance(bootstrap, NegotiatingService)
        t = self.trust
        self._check_destination(env, transport)
        env.check_must_understand(UNDERSTOOD_HEADERS)
        payload = self._payload(env)
        first = env.action == t.rst_issue
        local = "RequestSecurityToken" if first else "RequestSecurityTokenResponse"
        if payload.tag != f"{{{t.ns}}}{local}":
            raise InvalidRequest(f"a negotiation leg under {env.action} must carry a wst:{local}")
        context = payload.get("Context") or ""
        state: object | None = None
        if first:
            states.begin(context, transport.peer, now)
        else:
            state = states.get(context, now)
        try:
            step = bootstrap.negotiate(payload, state, transport, self.policy, now)
            if step.state is None:
                states.drop(context)
            elif step.keep_as is not None:
                # Finished: the issued token moves to the negotiated-token cache (under the
                # key the RST/SCT or each message names) and the negotiation's slot is free.
                assert self.negotiated is not None
                lifetime = step.keep_for if step.keep_for is not None else states.timeout
                self.negotiated.add(step.keep_as, step.state, transport.peer, now + lifetime, now)
                states.drop(context)
                log.info(
                    "negotiated SCT %s cached for %gs (identity %r)",
                    printable(step.keep_as, 100),
                    lifetime,
                    getattr(step.state, "identity", "") or "anonymous",
                )
            else:
                states.keep(context, step.state, now, step.keep_for)
        except BaseException:
            states.drop(context)
            raise
        return _xml_response(200, env.version, self._reply(env, step.action, step.payload))

    def _issue(self, env: Envelope, transport: TransportInfo, now: float) -> HttpResponse:
        if self.negotiated is not None:
            tokens, states = self.negotiated, self.negotiations

            def finished(key: str) -> object | None:
                # The negotiated-token cache (a last step's `keep_as`), else the state a
                # bootstrap kept under its Context for the RST/SCT (`NegotiatedState`).
                found = tokens.take(key, now)
                if found is None and states is not None:
                    found = states.take(key, now)
                return found

            assert isinstance(self.bootstrap, NegotiatingService)
            boot = self.bootstrap.verify_negotiated(
                env.root, transport, self.policy, now, finished, self._replay_for(transport)
            )
        else:
            boot = self.bootstrap.verify(env.root, transport, self.policy, now, self._replay_for(transport))
        self._check_destination(boot.message.envelope, transport)
        env.check_must_understand(UNDERSTOOD_HEADERS)
        request = parse_rst(self._payload(boot.message.envelope), self.trust, self.trust.rst_sct)
        if not isinstance(request, IssueRequest):
            raise InvalidRequest("expected an Issue request")
        issued_key = issue_key(request, self.scs.key_entropy_mode, self.suite, self.sc)
        issued = self.sessions.issue(issued_key.key, boot.identity, now, transport.peer, boot.claims)
        rec = issued.record
        lifetime = Lifetime(rec.key_effective, rec.key_expires)
        body = issued_key.response(self.sc, issued.sct, lifetime, request.context).to_xml(self.sc)
        reply = self._reply(boot.message.envelope, self.trust.rstr_sct, body)
        root = self.bootstrap.secure_reply(reply, boot, self.policy, now)
        return _xml_response(200, env.version, root)

    def _renew(
        self,
        result: VerifiedMessage,
        sct: SecurityContextToken,
        rec: SessionRecord,
        now: float,
        identity: str | None,
        secure: Callable[[etree._Element], etree._Element | bytes],
    ) -> HttpResponse:
        """``sct`` signed or endorsed the Renew; ``identity`` is who sent it, as the bootstrap
        authenticated it; ``secure`` protects the reply (under the session's key, or under
        the bootstrap's for a Renew secured by the bootstrap)."""
        env = result.envelope
        if self.sessions.cookie_mode or not self.scs.can_renew_session:
            raise UnableToRenew("this endpoint does not renew sessions (MustNotSendRenew)", sc_ns=self.sc.ns)
        if identity is not None and identity != rec.identity:
            raise InvalidSecurity("the Renew comes from another identity than the session's")
        request = parse_rst(self._payload(env), self.trust, self.trust.rst_sct_renew)
        if not isinstance(request, RenewRequest):
            raise InvalidRequest("expected a Renew request")
        if not request.target.matches(SecurityContextToken(rec.context_id, rec.instance)) or (
            sct.identifier != rec.context_id
        ):
            raise InvalidRequest("the RenewTarget is not the session's current SCT")
        issued_key = issue_key(request, self.scs.key_entropy_mode, self.suite, self.sc)
        issued = self.sessions.renew(SecurityContextToken(rec.context_id, rec.instance), issued_key.key, now)
        lifetime = Lifetime(issued.record.key_effective, issued.record.key_expires)
        body = issued_key.response(self.sc, issued.sct, lifetime, request.context).to_xml(self.sc)
        reply = self._reply(env, self.trust.rstr_sct_renew, body)
        return _xml_response(200, env.version, secure(reply))

    def _cancel(
        self, result: VerifiedMessage, sct: SecurityContextToken, rec: SessionRecord, now: float
    ) -> HttpResponse:
        env = result.envelope
        request = parse_rst(self._payload(env), self.trust, self.trust.rst_sct_cancel)
        if not isinstance(request, CancelRequest):
            raise InvalidRequest("expected a Cancel request")
        request.check_target(SecurityContextToken(sct.identifier, sct.instance))
        self.sessions.cancel(rec)
        body = CancelResponse(request.context).to_xml(self.sc)
        reply = self._reply(env, self.trust.rstr_sct_cancel, body)
        assert result.signing_key is not None
        out = self._secure_with_sct(reply, sct, result.signing_key, now, sign_only=True)
        self._forget_reply_tokens(lambda ident: ident == sct.identifier)
        return _xml_response(200, env.version, out)

    def _application(
        self,
        env: Envelope,
        result: VerifiedMessage,
        now: float,
        *,
        sct: SecurityContextToken | None = None,
        key: bytes | None = None,
        bootstrap: ServiceResult | None = None,
        identity: str = "",
        claims: tuple[Claim, ...] = (),
    ) -> Dispatch:
        op = self.contract.find(env.action)
        args = decode_request(op, self._payload(result.envelope), self.contract_limits)
        method = with_caller(
            getattr(self.service, op.method_name or op.name), identity, claims, is_async=op.is_async
        )
        version = env.version

        def secure(reply: etree._Element) -> etree._Element | bytes:
            if bootstrap is not None:
                return self.bootstrap.secure_reply(reply, bootstrap, self.policy, now)
            assert sct is not None and key is not None
            return self._secure_with_sct(reply, sct, key, now)

        def finish(value: object, error: BaseException | None) -> HttpResponse:
            try:
                if error is not None:
                    if isinstance(error, WsscError):
                        raise error
                    log.error("operation %s failed", op.name, exc_info=error)
                    raise SoapFault(reason=INTERNAL_ERROR)
                reply = self._reply(env, op.reply_action, encode_response(op, value))
                return _xml_response(200, version, secure(reply))
            except WsscError as exc:
                log.info("operation %s fault %s", op.name, exc.code.clark)
                fault = fault_from_error(version, exc, env.message_id)
                try:
                    return _xml_response(500, version, secure(fault))
                except WsscError:
                    return _xml_response(500, version, fault)

        return Dispatch(op, method, args, finish)


def _waits_on_io(
    sessions: bool, store: object, replay: ReplayCache | None, validator: CertificateValidator | None
) -> str | None:
    """Why an application message's verification may wait on I/O or run the application's
    own code (then it never runs on an event loop), or None."""
    if not sessions:
        return "the endpoint establishes no session: every message is verified by its bootstrap"
    if type(store) is not MemoryStore:
        return f"the session store is a {type(store).__name__}"
    if replay is not None and type(replay) is not MemoryReplayCache:
        return f"the replay cache is a {type(replay).__name__}"
    if validator is not None and validator.custom is not None:
        return "the client certificate validator runs custom code"
    return None


def _issued_at(
    records: list[SessionRecord],
) -> Callable[[SecurityContextToken], float | None]:
    """When the session of an SCT the resolver found was issued (service clock), for the
    replay cache's epoch check (`wssc.security.replay`)."""

    def issued(sct: SecurityContextToken) -> float | None:
        return next((r.created for r in records if r.context_id == sct.identifier), None)

    return issued


def run_dispatch_sync(d: Dispatch) -> HttpResponse:
    """Run a dispatched operation in the current thread (WSGI, tests)."""
    if d.operation.is_async:
        import asyncio

        try:
            value = asyncio.run(d.method(**d.args))
        except Exception as exc:
            return d.finish(None, exc)
        return d.finish(value, None)
    try:
        value = d.method(**d.args)
    except Exception as exc:
        return d.finish(None, exc)
    return d.finish(value, None)


__all__ = [
    "Dispatch",
    "HttpRequest",
    "HttpResponse",
    "ServiceEngine",
    "TransportInfo",
    "run_dispatch_sync",
]
