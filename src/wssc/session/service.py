"""The service side of secure sessions, sans-IO: issue, resolve, renew, cancel, purge.

Session mode (``require_cancellation=True``) keeps a `SessionRecord` per SCT
in a `SessionStore`. Cookie mode keeps nothing: the record travels in the
SCT's ``dnse:Cookie``, sealed with AES-GCM under the service key ring.

WCF's rules applied here:

* pending sessions (issued, no message yet) are capped at ``max_pending_sessions`` and purged
  after ``inactivity_timeout``. **Deviation:** where WCF then refuses every new session with
  ``dnse:ServerTooBusy`` until a slot frees (so 128 unused RSTs lock everybody out for the
  inactivity timeout, 2 minutes), wssc evicts the oldest unused pending session this process
  issued and issues the new one. A pending session normally lives milliseconds (RSTR, then the
  first message), so a flood at ``R`` RSTs a second only reaches sessions left unused longer
  than ``max_pending_sessions / R`` seconds: abandoned ones, the flood's own. ServerTooBusy
  remains for a farm node that holds none of the farm's pending sessions;
* one peer address holds at most ``max_pending_sessions_per_peer`` pending sessions (wssc's
  own quota): past it the peer's own oldest unused pending session is evicted, so a flood
  from one address (or from a NAT that a victim shares) cannot take every slot, and never
  locks that address out either. An evicted session's first message gets BadContextToken, and
  a client opens a new session;
* a message under an expired key gets ``RenewNeeded`` (``SessionKeyExpired`` when renewing is
  off); a Cancel or a Renew is exempt;
* after a Renew the previous key stays valid for ``session_key_rollover_interval``;
* a Cancel in cookie mode gets ``dnse:SecureConversationCancellationNotAllowed``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, replace

from wssc.claims import Claim, check_session_claims
from wssc.errors import (
    BadContextToken,
    CancellationNotAllowed,
    ConfigurationError,
    RenewNeeded,
    ServerTooBusy,
    SessionKeyExpired,
    UnableToRenew,
)
from wssc.logs import printable
from wssc.session.states import Event, Role, State, process_event
from wssc.settings import EndpointSettings
from wssc.store.base import SessionStore
from wssc.store.cookie import CookieCodec
from wssc.store.memory import MemoryStore
from wssc.store.record import SessionRecord
from wssc.tokens.sct import SecurityContextToken
from wssc.trust.messages import renewed_token
from wssc.xml.ns import ScVersion

log = logging.getLogger("wssc.session")


def new_context_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


@dataclass(frozen=True, slots=True)
class Issued:
    sct: SecurityContextToken
    record: SessionRecord


#: seconds between two purges of the store (`SessionManager.maybe_purge`)
PURGE_EVERY = 5.0


class SessionManager:
    def __init__(
        self,
        settings: EndpointSettings,
        store: SessionStore | None = None,
        cookie_codec: CookieCodec | None = None,
    ) -> None:
        self.settings = settings
        sc = settings.secure_conversation
        self.sc: ScVersion = sc.message_security_version.sc
        self.cookie_mode = not sc.require_cancellation
        if self.cookie_mode and cookie_codec is None:
            raise ConfigurationError("cookie mode (require_cancellation=False) needs a key ring")
        self.store: SessionStore = store if store is not None else MemoryStore()
        self.codec = cookie_codec
        self._issue_lock = threading.Lock()
        self._last_purge = 0.0
        #: the pending sessions this process issued, oldest first: context id -> (peer,
        #: issued at); and per peer address, oldest first, for the per-peer quota
        self._pending: dict[str, tuple[str, float]] = {}
        self._pending_by_peer: dict[str, dict[str, float]] = {}

    # --- issue ------------------------------------------------------------------------------
    def issue(
        self, key: bytes, identity: str, now: float, peer: str = "", claims: tuple[Claim, ...] = ()
    ) -> Issued:
        """A new session. Refused with ``ServerTooBusy`` past ``max_pending_sessions`` (WCF's
        global quota) or past ``max_pending_sessions_per_peer`` for ``peer`` (so that one
        source cannot hold every pending slot); with `ClaimsOverLimit` when the caller's
        ``claims`` exceed what a session keeps (`wssc.claims`)."""
        check_session_claims(claims, identity)
        svc = self.settings.service
        context_id = new_context_id()
        if self.cookie_mode:
            lifetime = svc.issued_cookie_lifetime.total_seconds()
            record = SessionRecord(
                context_id=context_id,
                instance=None,
                key=key,
                created=now,
                expires=now + lifetime,
                key_effective=now,
                key_expires=now + lifetime,
                identity=identity,
                activated=True,
                sc_ns=self.sc.ns,
                last_used=now,
                claims=claims,
            )
            assert self.codec is not None
            sct = SecurityContextToken(context_id, None, self.codec.seal(record))
            log.info("issued cookie-mode SCT %s (identity %r)", context_id, identity or "anonymous")
            return Issued(sct, record)
        self.maybe_purge(now)
        with self._issue_lock:
            self._make_room(peer, now)
            record = SessionRecord(
                context_id=context_id,
                instance=None,
                key=key,
                created=now,
                expires=now + 10 * 365 * 86400.0,  # WCF: the session SCT itself never expires
                key_effective=now,
                key_expires=now + svc.session_key_renewal_interval.total_seconds(),
                identity=identity,
                sc_ns=self.sc.ns,
                last_used=now,
                claims=claims,
            )
            stored = self._process(Event.ISSUED, None, record)
            assert stored is not None
            record = stored
            if not record.activated:
                self._pending[context_id] = (peer, now)
                if peer:
                    self._pending_by_peer.setdefault(peer, {})[context_id] = now
        log.info("issued SCT %s (identity %r), pending", context_id, identity or "anonymous")
        return Issued(SecurityContextToken(context_id), record)

    #: Evictions one issue may make for the global quota before it refuses (a farm node whose
    #: own pending sessions are all gone, or were activated on other nodes).
    _MAX_EVICTIONS = 4

    def _make_room(self, peer: str, now: float) -> None:
        """Free a pending slot for ``peer``: forget this process's pending sessions unused for
        ``inactivity_timeout``; evict the peer's oldest past its quota; evict the oldest of all
        when the global quota is full. O(1) amortized (dicts kept oldest first)."""
        svc = self.settings.service
        cutoff = now - svc.inactivity_timeout.total_seconds()
        while self._pending:
            cid, (_, issued) = next(iter(self._pending.items()))
            if issued >= cutoff:
                break
            self._evict(cid, "unused for the inactivity timeout", logging.INFO)
        quota = svc.max_pending_sessions_per_peer
        mine = self._pending_by_peer.get(peer) if peer and quota else None
        while mine and len(mine) >= quota:
            self._evict(
                next(iter(mine)), f"its peer holds max_pending_sessions_per_peer ({quota}) pending sessions"
            )
        for _ in range(self._MAX_EVICTIONS):
            if self.store.count_pending() < svc.max_pending_sessions or not self._pending:
                break
            self._evict(
                next(iter(self._pending)), f"max_pending_sessions ({svc.max_pending_sessions}) are pending"
            )
        if self.store.count_pending() >= svc.max_pending_sessions:
            log.warning(
                "refusing a new session: %d pending, none of them this process's to evict",
                self.store.count_pending(),
            )
            raise ServerTooBusy()

    def _evict(self, context_id: str, why: str, level: int = logging.WARNING) -> None:
        """Forget ``context_id`` and expire its record if it is still unused (on a farm it
        may have been activated on another node: then it stays)."""
        peer = self._forget_pending(context_id)
        rec = self.store.get(context_id)
        if rec is not None and not rec.activated:
            self._process(Event.EXPIRED, rec)
            log.log(
                level,
                "evicted the oldest unused pending session %s (peer %s): %s",
                context_id,
                printable(peer[:64]),
                why,
            )

    def _forget_pending(self, context_id: str) -> str:
        """Stop tracking ``context_id`` as pending; returns its peer ("" if unknown)."""
        peer, _ = self._pending.pop(context_id, ("", 0.0))
        mine = self._pending_by_peer.get(peer)
        if mine is not None:
            mine.pop(context_id, None)
            if not mine:
                del self._pending_by_peer[peer]
        return peer

    # --- resolve ----------------------------------------------------------------------------
    def lookup(self, sct: SecurityContextToken, now: float) -> SessionRecord:
        """The record for ``sct``, or BadContextToken."""
        if self.cookie_mode:
            if sct.cookie is None:
                raise BadContextToken("the SCT carries no cookie", sc_ns=self.sc.ns)
            assert self.codec is not None
            return self.codec.open(
                sct.cookie,
                context_id=sct.identifier,
                instance=sct.instance,
                now=now,
                sc_ns=self.sc.ns,
            )
        rec = self.store.get(sct.identifier)
        if rec is None:
            raise BadContextToken("unknown or cancelled session", sc_ns=self.sc.ns)
        if rec.expires < now:
            self._process(Event.EXPIRED, rec)
            raise BadContextToken("the session has expired", sc_ns=self.sc.ns)
        return rec

    def key_for(
        self, sct: SecurityContextToken, now: float, *, exempt_from_expiry: bool = False
    ) -> tuple[bytes, SessionRecord]:
        """The secret for ``sct`` (by Identifier and Instance), applying key expiry rules."""
        rec = self.lookup(sct, now)
        if sct.instance == rec.instance or (sct.instance is None and rec.instance is None):
            key = rec.key
            if not exempt_from_expiry and now > rec.key_expires:
                if self.settings.secure_conversation.can_renew_session and not self.cookie_mode:
                    raise RenewNeeded(sc_ns=self.sc.ns)
                raise SessionKeyExpired()
            return key, rec
        if (
            rec.previous_key is not None
            and sct.instance == rec.previous_instance
            and now <= rec.previous_key_expires
        ):
            return rec.previous_key, rec
        raise BadContextToken("unknown key generation (Instance)", sc_ns=self.sc.ns)

    def activate(self, rec: SessionRecord, now: float) -> None:
        """An application message arrived under this session."""
        if self.cookie_mode:
            return
        if not rec.activated:
            with self._issue_lock:
                self._forget_pending(rec.context_id)
        # an active session is written back at most once a second (its last_used)
        stale = not rec.activated or now - rec.last_used > 1.0
        self._process(Event.MESSAGE, rec, rec.touched(now) if stale else None)

    # --- renew ------------------------------------------------------------------------------
    def renew(self, sct: SecurityContextToken, new_key: bytes, now: float) -> Issued:
        sc = self.settings.secure_conversation
        if self.cookie_mode or not sc.can_renew_session:
            raise UnableToRenew("this binding does not renew sessions", sc_ns=self.sc.ns)
        rec = self.lookup(sct, now)
        if sct.instance != rec.instance:
            raise BadContextToken("the RenewTarget is not the current key generation", sc_ns=self.sc.ns)
        svc = self.settings.service
        sct = renewed_token(SecurityContextToken(rec.context_id, rec.instance))
        instance = sct.instance
        new = replace(
            rec,
            instance=instance,
            key=new_key,
            key_effective=now,
            key_expires=now + svc.session_key_renewal_interval.total_seconds(),
            previous_key=rec.key,
            previous_instance=rec.instance,
            previous_key_expires=now + svc.session_key_rollover_interval.total_seconds(),
            last_used=now,
        )
        stored = self._process(Event.RENEWED, rec, new)
        assert stored is not None
        new = stored
        log.info("renewed SCT %s: new instance %s", rec.context_id, instance)
        return Issued(sct, new)

    # --- cancel -----------------------------------------------------------------------------
    def cancel(self, rec: SessionRecord) -> None:
        if self.cookie_mode:
            raise CancellationNotAllowed()
        self._process(Event.CANCEL, rec)
        with self._issue_lock:
            self._forget_pending(rec.context_id)
        log.info("cancelled SCT %s", rec.context_id)

    # --- the one place a stored session changes state --------------------------------------
    def _process(
        self, event: Event, rec: SessionRecord | None, new: SessionRecord | None = None
    ) -> SessionRecord | None:
        """Apply ``event`` to the session ``rec`` (None: no session yet) through the service
        table of `wssc.session.states` (BadContextToken, and nothing stored, when it
        forbids it), then make the store say what the table said: a session that ended
        (CANCELLED, EXPIRED) is deleted; otherwise ``new`` (if given: the record's next
        version) is stored, ``activated`` when the new state is ACTIVE. Returns what was
        stored."""
        state = process_event(Role.SERVICE, _state_of(rec), event, self.sc.ns)
        if state in (State.CANCELLED, State.EXPIRED):
            assert rec is not None
            self.store.delete(rec.context_id)
            return None
        if new is None:
            return None
        new = replace(new, activated=state is State.ACTIVE)
        self.store.put(new)
        return new

    # --- housekeeping ----------------------------------------------------------------------
    def purge_due(self, now: float, every: float = PURGE_EVERY) -> bool:
        """Whether `maybe_purge` would purge now (a host runs such a request on a thread: a
        purge is one pass over every session, 70 ms at 100,000 of them)."""
        return not self.cookie_mode and now - self._last_purge >= every

    def maybe_purge(self, now: float, every: float = PURGE_EVERY) -> int:
        """EXPIRED for every stale session (`wssc.store.base.is_stale`), applied by the
        store in one pass (a Lua script on Redis): the service table takes EXPIRED from every
        state a store holds, PENDING and ACTIVE, to a deleted record."""
        if not self.purge_due(now, every):
            return 0
        self._last_purge = now
        svc = self.settings.service
        n = self.store.purge(now, svc.inactivity_timeout.total_seconds(), svc.receive_timeout.total_seconds())
        if n:
            log.info("purged %d idle or expired sessions", n)
        return n


def _state_of(rec: SessionRecord | None) -> State | None:
    """A stored session is PENDING until its first message, then ACTIVE (the store keeps no
    other states: a cancelled or expired session is deleted). None: no session."""
    if rec is None:
        return None
    return State.ACTIVE if rec.activated else State.PENDING
