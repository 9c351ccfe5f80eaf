"""Every session state transition, as data: one table per role, one ``process_event``.

As in h11 (``EVENT_TRIGGERED_TRANSITIONS[role][state][event]``), the table is the only place
where a state changes: `ClientSession` and
`SessionManager` each pass every change through
`process_event`, which returns the new state or raises. ``None`` is "no session".

The client (`Role.CLIENT`)::

    from       event         to         when
    ---------  ------------  ---------  ------------------------------------------------
    (none)     ISSUED        PENDING    the RSTR carrying the SCT was received
    CANCELLED  ISSUED        PENDING    the same client opens its next session (a flow
    EXPIRED    ISSUED        PENDING    re-opens after a Cancel, a close or BadContextToken)
    PENDING    MESSAGE       ACTIVE     first application reply under the SCT
    ACTIVE     MESSAGE       ACTIVE
    RENEWING   MESSAGE       RENEWING   replies may still arrive under the old key
    PENDING    RENEW_SENT    RENEWING   a Renew is in flight
    ACTIVE     RENEW_SENT    RENEWING
    RENEWING   RENEWED       ACTIVE     new Instance and key; the old key rolls over
    RENEWING   RENEW_FAILED  ACTIVE     the Renew failed; the current key stays
    PENDING    CANCEL        CANCELLED  the service answered the Cancel
    ACTIVE     CANCEL        CANCELLED
    RENEWING   CANCEL        CANCELLED
    PENDING    CLOSED        EXPIRED    closed locally without a Cancel (cookie mode, a
    ACTIVE     CLOSED        EXPIRED    cookie re-issued, or the Cancel failed), or the
    RENEWING   CLOSED        EXPIRED    service no longer knows the session
                                        (BadContextToken)

The service (`Role.SERVICE`; a stored record is PENDING or ACTIVE, and a session that
ends is deleted from the store)::

    from       event         to         when
    ---------  ------------  ---------  ------------------------------------------------
    (none)     ISSUED        PENDING    the RSTR carrying the SCT is sent
    PENDING    MESSAGE       ACTIVE     first application message under the SCT
    ACTIVE     MESSAGE       ACTIVE
    PENDING    RENEWED       ACTIVE     a Renew before any message
    ACTIVE     RENEWED       ACTIVE     new Instance and key; the old key rolls over
    PENDING    CANCEL        CANCELLED  the record is deleted
    ACTIVE     CANCEL        CANCELLED
    PENDING    EXPIRED       EXPIRED    the token's lifetime is over, or the session was
    ACTIVE     EXPIRED       EXPIRED    idle past its timeout (inactivity_timeout when
                                        pending, receive_timeout when active) or evicted
                                        for the pending-session quotas: deleted

Anything else is forbidden and raises `BadContextToken` (a message for a
cancelled or expired session is exactly WCF's BadContextToken case). Nothing leaves
CANCELLED or EXPIRED on the service; a client leaves them only to open its next session.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from wssc.errors import BadContextToken
from wssc.xml import ns


class Role(enum.Enum):
    CLIENT = "client"
    SERVICE = "service"


class State(enum.Enum):
    PENDING = "pending"
    ACTIVE = "active"
    RENEWING = "renewing"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Event(enum.Enum):
    ISSUED = "issued"
    MESSAGE = "message"
    RENEW_SENT = "renew-sent"
    RENEWED = "renewed"
    CANCEL = "cancel"
    EXPIRED = "expired"
    RENEW_FAILED = "renew-failed"
    CLOSED = "closed"


P, A, R, C, X = State.PENDING, State.ACTIVE, State.RENEWING, State.CANCELLED, State.EXPIRED
_E = Event

#: ``TRANSITIONS[role][state][event] -> new state``; what is not here is forbidden.
TRANSITIONS: Final[Mapping[Role, Mapping[State | None, Mapping[Event, State]]]] = {
    Role.CLIENT: {
        None: {_E.ISSUED: P},
        P: {_E.MESSAGE: A, _E.RENEW_SENT: R, _E.CANCEL: C, _E.CLOSED: X},
        A: {_E.MESSAGE: A, _E.RENEW_SENT: R, _E.CANCEL: C, _E.CLOSED: X},
        R: {_E.MESSAGE: R, _E.RENEWED: A, _E.RENEW_FAILED: A, _E.CANCEL: C, _E.CLOSED: X},
        C: {_E.ISSUED: P},
        X: {_E.ISSUED: P},
    },
    Role.SERVICE: {
        None: {_E.ISSUED: P},
        P: {_E.MESSAGE: A, _E.RENEWED: A, _E.CANCEL: C, _E.EXPIRED: X},
        A: {_E.MESSAGE: A, _E.RENEWED: A, _E.CANCEL: C, _E.EXPIRED: X},
    },
}


def process_event(role: Role, state: State | None, event: Event, sc_ns: str = ns.SC_2005) -> State:
    """The state ``event`` moves a ``role`` session in ``state`` to, or BadContextToken
    (in the session's WS-SC namespace ``sc_ns``) when the role's table forbids it."""
    new = TRANSITIONS[role].get(state, {}).get(event)
    if new is None:
        name = state.value if state else "no session"
        raise BadContextToken(f"{event.value} is not allowed in state {name} ({role.value})", sc_ns=sc_ns)
    return new


__all__ = ["TRANSITIONS", "Event", "Role", "State", "process_event"]
