"""The client side of a secure session, sans-IO.

The drivers (`wssc.client`) move bytes; this object decides what to send and checks what
comes back::

    s = ClientSession(settings, bootstrap, address)
    out = s.issue_request(now)            -> POST out.body; step = s.issue_step(reply, out, now)
                                             (an Outgoing: the next leg to POST, or the SCT)
    out = s.app_request(op, args, now)    -> POST; value = s.app_response(reply, out, now)
    if s.renew_due(now): renew_request / renew_response
    out = s.cancel_request(now)           -> None when MustNotSendCancel (cookie mode)

Timing, as WCF's client: renew at min(60 % of the key lifetime, 10 h); in cookie mode
re-issue at 60 % of the cookie lifetime; keep the previous key 5 minutes after a renew.

Every reply (RSTR to Issue, Renew and Cancel, application replies, secured faults) must answer
*this* request: it carries one ``wsa:RelatesTo`` equal to the request's ``wsa:MessageID``,
covered by the reply's signature (under transport security TLS protects it, and the service
signs nothing but its Timestamp). And, as WCF's ``LocalClientSecuritySettings.DetectReplays``
(on by default), a reply whose signature was seen before is refused: the client keeps a replay
cache keyed on the reply's SignatureValue, sized and timed by ``settings.client`` (900,000
entries; each lives replay window + clock skew, 5 + 5 minutes). A refused reply raises
`InvalidSecurity` or `ReplayDetected` and its reason
is logged (logger ``wssc.client``).

A bootstrap that negotiates (`wssc.bootstrap.base.NegotiatingClient`: SPNEGO, TLSNEGO) sends its
legs first: ``issue_request`` returns the first leg, and ``issue_step`` the next one, until its
negotiation returns the client half that secures the RST/SCT (and the Renews). The legs carry
no security header; each reply must answer its leg (one ``wsa:RelatesTo``, unsigned, as WCF
sends it: the negotiation binds its own legs) and an unsecured fault ends the negotiation.

A bootstrap that relies on TLS (the registry's transport mode: UserNameOverTransport) is
refused at construction for an address that is not ``https://``: nothing is ever sent.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace

from lxml import etree

from wssc.bootstrap.base import (
    BootstrapClient,
    ClientContext,
    ClientNegotiation,
    NegotiatingClient,
    NegotiationLeg,
)
from wssc.bootstrap.registry import bootstrap_kind
from wssc.contract import (
    OperationSpec,
    SerializationFailed,
    decode_response,
    encode_request,
    first_long_string,
    string_limits,
)
from wssc.crypto.suites import get_suite
from wssc.errors import (
    BadContextToken,
    ConfigurationError,
    InvalidArgument,
    InvalidRequest,
    InvalidSecurity,
    QuotaExceeded,
    RemoteFault,
    RenewNeeded,
    ReplayDetected,
    WsscError,
    error_from_fault,
)
from wssc.logs import printable
from wssc.security.inbound import VerifiedMessage, verify
from wssc.security.outbound import protect, protect_wire
from wssc.security.outbound_fast import forget_plans
from wssc.security.replay import MemoryReplayCache, ReplayCache
from wssc.security.tokens import SctProtection
from wssc.session.states import Event, Role, State, process_event
from wssc.settings import WCF_COMPATIBLE, Compatibility, EndpointSettings
from wssc.tokens.sct import SecurityContextToken
from wssc.trust import (
    CancelRequest,
    CancelResponse,
    IssueRequest,
    RenewRequest,
    TokenResponse,
    client_key_from_rstr,
    parse_rstr,
)
from wssc.xml import ns
from wssc.xml.ns import ScVersion
from wssc.xml.parse import DEFAULT_LIMITS as PARSER_LIMITS
from wssc.xml.parse import parse_xml
from wssc.xml.soap import SOAP_11, SOAP_12, Envelope, SoapVersion, new_envelope, read_fault

log = logging.getLogger("wssc.client")


@dataclass(slots=True)
class Outgoing:
    """One request to POST, and what is needed to check its reply."""

    body: bytes
    action: str
    content_type: str
    entropy: bytes | None = field(default=None, repr=False)
    boot: ClientContext | None = None
    #: "issue", "negotiate" (a leg), "renew", "cancel" or "app"
    kind: str = "app"
    operation: OperationSpec | None = None
    #: the request's wsa:MessageID: its reply must carry a signed RelatesTo equal to it
    message_id: str | None = None


_RELATES_TO = (f"{{{ns.WSA10}}}RelatesTo", f"{{{ns.WSA2004}}}RelatesTo")
_RELATIONSHIP_REPLY = (None, f"{ns.WSA10}/reply", f"{ns.WSA2004}/reply")


#: the events after which the session's key protects nothing more
_ENDED = frozenset((Event.CANCEL, Event.CLOSED, Event.EXPIRED))


class ClientSession:
    def __init__(
        self,
        settings: EndpointSettings,
        bootstrap: BootstrapClient,
        address: str,
        *,
        compatibility: Compatibility = WCF_COMPATIBLE,
    ) -> None:
        """``compatibility``: peer quirks (`Compatibility`)."""
        self.settings = settings
        scs = settings.secure_conversation
        self.scs = scs
        self.bootstrap = bootstrap
        #: the client half the last negotiation established (a negotiating bootstrap's)
        self._negotiated: BootstrapClient | None = None
        #: without a secure session: when to negotiate again (`negotiation_due`)
        self._negotiated_until = math.inf
        self._negotiation: ClientNegotiation | None = None
        self.address = address
        self.sc: ScVersion = scs.message_security_version.sc
        self.trust = self.sc.trust
        self.suite = get_suite(scs.algorithm_suite)
        self.soap: SoapVersion = SOAP_12 if settings.soap_version == "1.2" else SOAP_11
        self.cookie_mode = not scs.require_cancellation
        self._state: State | None = None
        self.sct: SecurityContextToken | None = None
        #: the protection of ``sct`` with ``key``, made once per key (`_token`)
        self._sct_protection: SctProtection | None = None
        self.key: bytes | None = None
        self.previous: tuple[SecurityContextToken, bytes, float] | None = None
        self.key_from = self.key_to = self.renew_at = 0.0
        self.force_renew = False
        self._now = 0.0
        kind = bootstrap_kind(scs.bootstrap)
        kind.check_address(address, "client")
        self.policy = kind.message_policy(settings, "client", compatibility)
        #: the reader quotas of replies: values, and documents (as the service's, `ServiceEngine`)
        self.contract_limits = string_limits(settings.max_string_content_length)
        size = settings.max_received_message_size
        self.parser_limits = replace(PARSER_LIMITS, max_bytes=max(size, PARSER_LIMITS.max_bytes))
        client = settings.client
        #: WCF's DetectReplays on the client: the SignatureValues of replies accepted.
        self.replay_cache: ReplayCache | None = (
            MemoryReplayCache(client.replay_cache_size, quota_per_partition=0)
            if client.detect_replays
            else None
        )

    def __repr__(self) -> str:
        ident = self.sct.identifier if self.sct else None
        return f"ClientSession(state={self.state}, sct={ident!r})"

    # --- state --------------------------------------------------------------------------
    @property
    def state(self) -> State | None:
        """Where the session is (None: never opened). Read-only: every change goes through
        `process_event`."""
        return self._state

    def process_event(self, event: Event) -> State:
        """The one place the client's state changes: the client table of
        `wssc.session.states` moves it, or raises BadContextToken when it forbids
        ``event`` here (then nothing changes)."""
        self._state = process_event(Role.CLIENT, self._state, event, self.sc.ns)
        if event in _ENDED and self._sct_protection is not None:
            forget_plans(self._sct_protection)  # they hold the session's key
            self._sct_protection = None
        return self._state

    # --- helpers ------------------------------------------------------------------------
    def _envelope(self, action: str, payload: etree._Element) -> etree._Element:
        return new_envelope(self.soap, action=action, to=self.address, payload=payload)

    # --- the client's own limits ---------------------------------------------------------
    def check_request_size(self, size: int) -> None:
        """Refuse to send a request larger than this client's ``max_received_message_size``:
        a message it would refuse to read back (`QuotaExceeded`; nothing is sent)."""
        limit = self.settings.max_received_message_size
        if size > limit:
            raise QuotaExceeded(
                f"the request is {size} bytes, more than this client's max_received_message_size "
                f"({limit} bytes), the largest message it would read back; nothing was sent "
                "(raise max_received_message_size in EndpointSettings, or wssc call "
                "--max-received-message-size, and the service's limit with it)",
                limit="max_received_message_size",
                value=limit,
            )

    def check_request_strings(self, body: etree._Element, what: str) -> None:
        """Refuse to send a body with a text or attribute value longer than this client's
        ``max_string_content_length``: a value it would refuse to read back (`QuotaExceeded`)."""
        limit = self.settings.max_string_content_length
        where = first_long_string(body, limit)
        if where is not None:
            raise QuotaExceeded(
                f"{what}: a value in <{printable(where)}> is longer than this client's "
                f"max_string_content_length ({limit} characters), the longest it would read "
                "back; nothing was sent (raise max_string_content_length in EndpointSettings, "
                "or wssc call --max-string-content-length, and the service's limit with it)",
                limit="max_string_content_length",
                value=limit,
            )

    def reply_too_large(self, size: int | None) -> QuotaExceeded:
        """The error for a reply over ``max_received_message_size`` (``size`` None: not known
        yet, the driver stopped reading at the limit), in WCF's words."""
        limit = self.settings.max_received_message_size
        got = "more than that" if size is None else f"{size} bytes"
        log.info("refused: the reply (%s) is larger than max_received_message_size (%d bytes)", got, limit)
        return QuotaExceeded(
            f"The maximum message size quota for incoming messages ({limit}) has been exceeded: "
            f"the reply is {got} (raise max_received_message_size in EndpointSettings, or wssc "
            "call --max-received-message-size; WCF's MaxReceivedMessageSize)",
            limit="max_received_message_size",
            value=limit,
        )

    def _out(self, root: etree._Element | bytes, action: str, **kw: object) -> Outgoing:
        """The request to POST: ``root`` serialized, or its wire bytes already (then
        ``message_id=`` is passed, read from the plain envelope)."""
        body = root if isinstance(root, bytes) else etree.tostring(root, encoding="utf-8")
        self.check_request_size(len(body))
        # No SOAP 1.2 ``action`` media-type parameter: wsa:Action carries it, and Mono's WCF
        # rewrites the (signed) Action header from that parameter, breaking the signature.
        ctype = f"{self.soap.content_type}; charset=utf-8"
        if kw.get("kind") == "negotiate" and self.policy.spnego == "cxf" and self.soap is SOAP_12:
            # CXF's service finds a negotiation leg by the media type's action alone (as WCF
            # sends it); wsa:Action is not read yet where it looks (FINDINGS S8).
            ctype += f'; action="{action}"'
        if not isinstance(root, bytes):
            kw["message_id"] = Envelope(root).message_id
        return Outgoing(body, action, ctype, **kw)  # type: ignore[arg-type]

    def check_reply(self, result: VerifiedMessage, request_id: str | None, now: float) -> None:
        """Is this verified reply the answer to the request whose MessageID is ``request_id``,
        and not seen before? Replay detection (its SignatureValue), then ``wsa:RelatesTo``:
        exactly one, of relationship "reply", equal to ``request_id`` and, unless the policy
        leaves integrity to TLS, covered by the reply's signature."""
        p = self.policy
        value = result.signature_value
        if self.replay_cache is not None and value is not None:
            ts = result.timestamp
            created = min(ts.created if ts is not None else now, now)
            expires = max(created + p.replay_window + p.max_clock_skew, now + 1)
            try:
                self.replay_cache.check_and_add(value, expires, now)
            except ReplayDetected:
                raise self._refused(
                    ReplayDetected("the reply's signature was seen before (a replayed reply)")
                ) from None
        header = result.envelope.header
        found = [] if header is None else [h for h in header if h.tag in _RELATES_TO]
        if not found:
            raise self._refused(InvalidSecurity("the reply carries no wsa:RelatesTo"))
        if len(found) > 1:
            raise self._refused(InvalidSecurity("the reply carries more than one wsa:RelatesTo"))
        rel = found[0]
        if rel.get("RelationshipType") not in _RELATIONSHIP_REPLY:
            raise self._refused(
                InvalidSecurity(
                    "the reply's wsa:RelatesTo is not of relationship 'reply' (RelationshipType "
                    f"{printable(rel.get('RelationshipType'), 120)!r})"
                )
            )
        if request_id is None or (rel.text or "").strip() != request_id:
            raise self._refused(
                InvalidSecurity(
                    "the reply's wsa:RelatesTo does not match the request's MessageID "
                    f"(RelatesTo {printable((rel.text or '').strip(), 120)!r}, "
                    f"request {printable(request_id, 120)!r})"
                )
            )
        if not p.transport and not any(e is rel for e in result.signed):
            raise self._refused(InvalidSecurity("the reply's wsa:RelatesTo is not signed"))

    @staticmethod
    def _refused(exc: WsscError) -> WsscError:
        log.warning("reply refused: %s", exc.detail)
        return exc

    def verify_reply(
        self, data: bytes, request_id: str | None, now: float, boot: ClientContext | None = None
    ) -> VerifiedMessage:
        """`verify_message`, then `check_reply` against the request's MessageID
        (for drivers that secure envelopes themselves: the zeep transports)."""
        result = self.verify_message(data, now, boot)
        self.check_reply(result, request_id, now)
        return result

    def parse_reply(self, data: bytes) -> Envelope:
        """A reply's envelope, under this client's limits: one over its
        ``max_received_message_size`` raises `QuotaExceeded` before it is parsed."""
        if len(data) > self.settings.max_received_message_size:
            raise self.reply_too_large(len(data))
        return Envelope(parse_xml(data, self.parser_limits))

    def _raise_if_unsecured_fault(self, data: bytes) -> Envelope:
        env = self.parse_reply(data)
        if not env.security_headers():
            fault = read_fault(env)
            if fault is not None:
                raise error_from_fault(fault.code, fault.reason)
            raise InvalidSecurity("the reply is not secured")
        return env

    def _resolve(self, sct: SecurityContextToken, sc: ScVersion) -> bytes | None:
        if self.sct is not None and sct.identifier == self.sct.identifier:
            if sct.instance == self.sct.instance:
                return self.key
            prev = self.previous
            if prev is not None and sct.instance == prev[0].instance and self._now <= prev[2]:
                return prev[1]  # the old key, within the rollover interval
        return None

    def verify_message(self, data: bytes, now: float, boot: ClientContext | None = None) -> VerifiedMessage:
        """Verify and decrypt a reply secured with the session's key (or, without a security
        context, under the bootstrap: pass the ``boot`` context `protect_message`
        returned). An unsecured fault (as WCF sends security faults) raises its typed error;
        a *secured* fault is returned like any other reply, for the caller to read."""
        env = self._raise_if_unsecured_fault(data)
        self._now = now
        if boot is not None:
            return self._bootstrap_verified(env.root, boot, now)
        policy = self.policy
        if policy.transport:
            # WS-SP supporting tokens are the initiator's: over TLS a service (WCF, Metro)
            # answers with a Timestamp alone; an endorsing signature, if sent, is still checked.
            policy = replace(policy, require_signature=False)
        return verify(env.root, resolver=self._resolve, policy=policy, now=now)

    def protect_message(
        self, envelope: etree._Element, now: float
    ) -> tuple[etree._Element, ClientContext | None]:
        """Secure an application envelope (with its WS-Addressing headers) under the session's
        key, or under the bootstrap when the policy says establishSecurityContext=false.
        Returns the root to serialize, and the bootstrap context to verify the reply with
        (None in a session)."""
        if not self.scs.establish_security_context:
            return self.issuer.secure(envelope, self.policy, now)
        return self._protect(envelope, now), None

    def fault_received(self, exc: WsscError) -> None:
        """Note what a fault means for the session: RenewNeeded renews before the next
        message; BadContextToken means the service no longer knows the session."""
        if not isinstance(exc, RemoteFault):
            return  # a local check failed: it says nothing about the service's session
        if isinstance(exc, RenewNeeded):
            self.force_renew = True
        elif isinstance(exc, BadContextToken) and self.is_open:
            self.process_event(Event.CLOSED)

    def _verify_sct_reply(self, data: bytes, now: float) -> VerifiedMessage:
        result = self.verify_message(data, now)
        fault = read_fault(result.envelope)
        if fault is not None:
            raise error_from_fault(fault.code, fault.reason)
        return result

    def _verify_session_reply(self, data: bytes, out: Outgoing, now: float) -> VerifiedMessage:
        """A reply under the session's key (or, for a Renew under message security, the
        bootstrap's) to ``out``: verified, checked against the request
        (`check_reply`); a secured fault is raised."""
        result = self.verify_message(data, now, out.boot)
        self.check_reply(result, out.message_id, now)
        fault = read_fault(result.envelope)
        if fault is not None:
            raise error_from_fault(fault.code, fault.reason)
        return result

    def _bootstrap_verified(self, root: etree._Element, boot: ClientContext, now: float) -> VerifiedMessage:
        """The bootstrap's check of a reply under it; a refusal is logged with its reason."""
        try:
            return self.issuer.verify_reply(root, boot, self.policy, now)
        except InvalidSecurity as exc:
            raise self._refused(exc) from exc

    def _verify_bootstrap_reply(self, data: bytes, out: Outgoing, now: float) -> VerifiedMessage:
        """A reply to a bootstrap-secured request: an unsecured fault becomes its typed error,
        anything else must verify under the bootstrap and answer ``out``
        (`check_reply`), and a secured fault is raised too."""
        assert out.boot is not None
        env = self.parse_reply(data)
        if not env.security_headers():
            fault = read_fault(env)
            if fault is not None:
                raise error_from_fault(fault.code, fault.reason)
        result = self._bootstrap_verified(env.root, out.boot, now)
        self.check_reply(result, out.message_id, now)
        fault = read_fault(result.envelope)
        if fault is not None:
            raise error_from_fault(fault.code, fault.reason)
        return result

    @property
    def is_open(self) -> bool:
        return self.state in (State.PENDING, State.ACTIVE, State.RENEWING)

    # --- issue --------------------------------------------------------------------------
    def issue_due(self, now: float) -> bool:
        if not self.is_open:
            return True
        return self.cookie_mode and now >= self.renew_at

    @property
    def issuer(self) -> BootstrapClient:
        """What secures the RST/SCT and the Renews: the bootstrap, or, for a negotiating one,
        the client half its last negotiation established."""
        return self._negotiated if self._negotiated is not None else self.bootstrap

    def issue_request(self, now: float) -> Outgoing:
        """The first request of an issue: the RST/SCT, or, when the bootstrap negotiates, its
        first leg (a new negotiation; one left unfinished is dropped)."""
        self._negotiation = None
        if isinstance(self.bootstrap, NegotiatingClient):
            negotiation = self.bootstrap.negotiate(self.policy, now)
            try:
                leg = next(negotiation)
            except StopIteration as done:  # nothing to negotiate
                self._negotiated = done.value
                return self._rst_sct(now)
            self._negotiation = negotiation
            return self._leg(leg)
        return self._rst_sct(now)

    # --- a negotiated token that protects the messages directly ------------------------
    def negotiation_due(self, now: float) -> bool:
        """Without a session (establish_security_context=False) a negotiating bootstrap
        negotiates, and its negotiated token then secures every message (WCF's
        SspiNegotiated with establishSecurityContext=false) until 60 % of its lifetime
        (``cookie_renewal_threshold_percentage``, WCF's client cache rule): then it
        negotiates again."""
        if self.scs.establish_security_context or not isinstance(self.bootstrap, NegotiatingClient):
            return False
        return self._negotiated is None or now >= self._negotiated_until

    def _negotiated_now(self, half: BootstrapClient, now: float) -> None:
        self._negotiated = half
        created, expires = getattr(half, "lifetime", (None, None))
        if expires is None:
            self._negotiated_until = math.inf
        else:
            start = now if created is None else created
            pct = self.settings.client.cookie_renewal_threshold_percentage / 100.0
            self._negotiated_until = start + pct * (expires - start)

    def negotiation_request(self, now: float) -> Outgoing:
        """The first leg of that negotiation (an unfinished one is dropped)."""
        assert isinstance(self.bootstrap, NegotiatingClient)
        self._negotiation = None
        negotiation = self.bootstrap.negotiate(self.policy, now)
        try:
            leg = next(negotiation)
        except StopIteration:
            raise ConfigurationError("the negotiation sent nothing") from None
        self._negotiation = negotiation
        return self._leg(leg)

    def negotiation_step(self, data: bytes, out: Outgoing, now: float) -> Outgoing | None:
        """The reply to one leg: the next leg, or None once the negotiated token is ready."""
        negotiation = self._negotiation
        if negotiation is None:
            raise ConfigurationError("no negotiation is in progress (negotiation_request starts one)")
        try:
            leg = negotiation.send(self._leg_reply(data, out))
        except StopIteration as done:
            self._negotiation = None
            self._negotiated_now(done.value, now)
            return None
        except BaseException:
            self._negotiation = None
            raise
        return self._leg(leg)

    def _rst_sct(self, now: float) -> Outgoing:
        rst = IssueRequest.build(self.sc, self.suite, self.scs.key_entropy_mode)
        env = self._envelope(self.trust.rst_sct, rst.to_xml(self.sc))
        root, ctx = self.issuer.secure(env, self.policy, now)
        return self._out(root, self.trust.rst_sct, entropy=rst.entropy, boot=ctx, kind="issue")

    def _leg(self, leg: NegotiationLeg) -> Outgoing:
        if leg.action not in (self.trust.rst_issue, self.trust.rstr_issue):
            raise ConfigurationError(
                "a negotiation leg's action must be the trust version's RST/Issue or RSTR/Issue, "
                f"not {printable(leg.action, 120)!r}"
            )
        return self._out(self._envelope(leg.action, leg.payload), leg.action, kind="negotiate")

    def _leg_reply(self, data: bytes, out: Outgoing) -> etree._Element:
        """The Body payload of the reply to a leg: not secured (WCF's legs carry no security
        header), answering ``out`` (one RelatesTo equal to its MessageID); a fault is raised
        as its typed error."""
        env = self.parse_reply(data)
        fault = read_fault(env)
        if fault is not None:
            raise error_from_fault(fault.code, fault.reason)
        if env.security_headers():
            raise self._refused(InvalidSecurity("a negotiation leg's reply carries a security header"))
        if env.action not in (self.trust.rstr_issue, self.trust.rstrc_issue_final):
            raise self._refused(
                InvalidRequest(
                    f"the reply to a negotiation leg has the action {printable(env.action, 120)!r}"
                )
            )
        header = env.header
        found = [] if header is None else [h for h in header if h.tag in _RELATES_TO]
        if len(found) != 1 or out.message_id is None or (found[0].text or "").strip() != out.message_id:
            raise self._refused(
                InvalidSecurity("the reply does not answer the negotiation leg (wsa:RelatesTo)")
            )
        payload = env.payload
        if payload is None:
            raise InvalidRequest("the reply to a negotiation leg is empty")
        return payload

    def issue_step(self, data: bytes, out: Outgoing, now: float) -> Outgoing | SecurityContextToken:
        """The reply to one request of an issue (``out``): the next request to send (a leg,
        or the RST/SCT once the negotiation is over), or the issued SCT (the session is
        open). Any error ends the negotiation."""
        if out.kind != "negotiate":
            return self.issue_response(data, out, now)
        negotiation = self._negotiation
        if negotiation is None:
            raise ConfigurationError("no negotiation is in progress (issue_request starts one)")
        try:
            leg = negotiation.send(self._leg_reply(data, out))
        except StopIteration as done:
            self._negotiation = None
            self._negotiated = done.value
            return self._rst_sct(now)
        except BaseException:
            self._negotiation = None
            raise
        return self._leg(leg)

    def _take_token(self, rstr: TokenResponse, out: Outgoing, now: float) -> None:
        key = client_key_from_rstr(
            rstr,
            out.entropy,
            self.scs.key_entropy_mode,
            self.suite.symmetric_key_bits,
            self.suite,
        )
        self.sct, self.key = rstr.token, key
        lt = rstr.lifetime
        self.key_from = lt.created if lt and lt.created else now
        self.key_to = lt.expires if lt and lt.expires else now + 15 * 3600
        client = self.settings.client
        if self.cookie_mode:
            pct = client.cookie_renewal_threshold_percentage / 100.0
            self.renew_at = self.key_from + pct * (self.key_to - self.key_from)
        else:
            pct = client.session_key_renewal_threshold_percentage / 100.0
            self.renew_at = min(
                self.key_from + pct * (self.key_to - self.key_from),
                self.key_from + client.session_key_renewal_interval.total_seconds(),
            )

    def issue_response(self, data: bytes, out: Outgoing, now: float) -> SecurityContextToken:
        """The reply to the RST/SCT: the issued SCT (the session is open). For a
        negotiation leg use `issue_step`."""
        if out.kind == "negotiate":
            raise ConfigurationError("this is the reply to a negotiation leg: use issue_step")
        result = self._verify_bootstrap_reply(data, out, now)
        if result.envelope.action != self.trust.rstr_sct:
            raise InvalidRequest("the reply to RST/SCT is not an RSTR/SCT")
        payload = result.envelope.payload
        if payload is None:
            raise InvalidRequest("the RSTR is empty")
        rstr = parse_rstr(payload, self.trust)
        if not isinstance(rstr, TokenResponse):
            raise InvalidRequest("the reply carries no token")
        self._take_token(rstr, out, now)
        self.previous = None
        self.force_renew = False
        if self.is_open:  # a re-issued cookie: the old one is dropped locally
            self.process_event(Event.CLOSED)
        self.process_event(Event.ISSUED)
        assert self.sct is not None
        log.info("session opened: SCT %s%s", self.sct.identifier, " (cookie mode)" if self.sct.cookie else "")
        return self.sct

    # --- application --------------------------------------------------------------------
    def _token(self) -> SctProtection:
        """The session's `SctProtection`, one object while the SCT and key stay (protect's
        plan for it is worked out once, `wssc.security.outbound_fast.plan`)."""
        if self.sct is None or self.key is None:
            raise ConfigurationError("the session is not open")
        t = self._sct_protection
        if t is None or t.sct is not self.sct or t.key is not self.key:
            if t is not None:
                forget_plans(t)
            t = self._sct_protection = SctProtection(self.sct, self.key, include=True)
        return t

    def _protect(self, env: etree._Element, now: float) -> etree._Element:
        return protect(env, self._token(), self.policy, now=now)

    def _protected(self, env: etree._Element, action: str, now: float, **kw: object) -> Outgoing:
        """`_protect` straight to the wire bytes (`protect_wire`: no element to serialize)."""
        token = self._token()
        message_id = Envelope(env).message_id  # protect leaves the MessageID as it is
        wire = protect_wire(env, token, self.policy, now=now, encoding="utf-8")
        return self._out(wire, action, message_id=message_id, **kw)

    def app_request(self, op: OperationSpec, args: dict[str, object], now: float) -> Outgoing:
        try:
            payload = encode_request(op, args)
        except SerializationFailed as exc:  # a local mistake: never "the server was unable"
            raise InvalidArgument(f"{exc.detail} (nothing was sent)") from None
        self.check_request_strings(payload, op.name)
        env = self._envelope(op.action, payload)
        if not self.scs.establish_security_context:
            root, ctx = self.issuer.secure(env, self.policy, now)
            return self._out(root, op.action, boot=ctx, operation=op)
        return self._protected(env, op.action, now, operation=op)

    def app_response(self, data: bytes, out: Outgoing, now: float) -> object:
        assert out.operation is not None
        if not self.scs.establish_security_context:
            result = self._verify_bootstrap_reply(data, out, now)
        else:
            try:
                result = self._verify_session_reply(data, out, now)
            except WsscError as exc:
                self.fault_received(exc)
                raise
            self.process_event(Event.MESSAGE)
        payload = result.envelope.payload
        if payload is None:
            raise InvalidRequest("the reply Body is empty")
        return decode_response(out.operation, payload, self.contract_limits)

    # --- renew --------------------------------------------------------------------------
    def renew_due(self, now: float) -> bool:
        if self.cookie_mode or not self.scs.can_renew_session or not self.is_open:
            return False
        return self.force_renew or now >= self.renew_at

    def renew_request(self, now: float) -> Outgoing:
        assert self.sct is not None
        rst = RenewRequest.build(self.sc, self.sct, self.suite, self.scs.key_entropy_mode)
        env = self._envelope(self.trust.rst_sct_renew, rst.to_xml(self.sc))
        root, boot = self.issuer.secure_renew(env, self.policy, self._token(), now)
        out = self._out(root, self.trust.rst_sct_renew, entropy=rst.entropy, kind="renew", boot=boot)
        self.process_event(Event.RENEW_SENT)
        return out

    def renew_failed(self, exc: BaseException | None = None) -> None:
        """The Renew in flight got no usable answer (``exc``: a fault, a refused reply, or a
        network error): the current key stays, and a fault is noted
        (`fault_received`)."""
        if self._state is State.RENEWING:
            self.process_event(Event.RENEW_FAILED)
        if isinstance(exc, WsscError):
            self.fault_received(exc)

    def renew_response(self, data: bytes, out: Outgoing, now: float) -> SecurityContextToken:
        try:
            return self._renewed(data, out, now)
        except WsscError as exc:
            self.renew_failed(exc)
            raise

    def _renewed(self, data: bytes, out: Outgoing, now: float) -> SecurityContextToken:
        # under message security secured with the bootstrap (out.boot), else the session
        result = self._verify_session_reply(data, out, now)
        payload = result.envelope.payload
        if payload is None:
            raise InvalidRequest("the RSTR is empty")
        rstr = parse_rstr(payload, self.trust)
        if not isinstance(rstr, TokenResponse):
            raise InvalidRequest("the Renew reply carries no token")
        assert self.sct is not None and self.key is not None
        if rstr.token.identifier != self.sct.identifier:
            raise InvalidRequest("the renewed SCT has another Identifier")
        rollover = self.settings.client.session_key_rollover_interval.total_seconds()
        self.previous = (self.sct, self.key, now + rollover)
        token = rstr.token
        if not token.wsu_id:
            token = replace(token, wsu_id=self.sct.wsu_id)
        self._take_token(replace(rstr, token=token), out, now)
        self.force_renew = False
        self.process_event(Event.RENEWED)
        log.info("session renewed: SCT %s instance %s", token.identifier, token.instance)
        return token

    # --- cancel -------------------------------------------------------------------------
    def cancel_request(self, now: float) -> Outgoing | None:
        """The Cancel to send on close, or None: cookie mode (MustNotSendCancel) never
        cancels, and neither does a session that never opened."""
        if self.cookie_mode or not self.is_open or self.sct is None:
            return None
        req = CancelRequest.build(self.sct)
        env = self._envelope(self.trust.rst_sct_cancel, req.to_xml(self.sc))
        return self._protected(env, self.trust.rst_sct_cancel, now, kind="cancel")

    def cancel_response(self, data: bytes, out: Outgoing, now: float) -> None:
        result = self._verify_session_reply(data, out, now)
        payload = result.envelope.payload
        if payload is None or not isinstance(parse_rstr(payload, self.trust), CancelResponse):
            raise InvalidRequest("the reply to Cancel is not RequestedTokenCancelled")
        self.process_event(Event.CANCEL)
        log.info("session cancelled")

    def closed_without_cancel(self) -> None:
        if self.is_open:
            self.process_event(Event.CLOSED)
