"""Every session state transition, in one table.

=========  ===============  =========  ==============================================
from       event            to         when
=========  ===============  =========  ==============================================
(none)     ISSUED           PENDING    the RSTR carrying the SCT was sent / received
PENDING    MESSAGE          ACTIVE     first application message under the SCT
ACTIVE     MESSAGE          ACTIVE
PENDING    RENEW_SENT       RENEWING   (client) a Renew is in flight
ACTIVE     RENEW_SENT       RENEWING
RENEWING   RENEWED          ACTIVE     new Instance and key; the old key rolls over
PENDING    RENEWED          ACTIVE     (service) a Renew before any message
ACTIVE     RENEWED          ACTIVE     (service)
RENEWING   MESSAGE          RENEWING   (client) replies may still arrive under the old key
PENDING    CANCEL           CANCELLED
ACTIVE     CANCEL           CANCELLED
RENEWING   CANCEL           CANCELLED
PENDING    EXPIRED          EXPIRED    token lifetime over, or purged for inactivity
ACTIVE     EXPIRED          EXPIRED
RENEWING   EXPIRED          EXPIRED
RENEWING   RENEW_FAILED     ACTIVE     (client) the Renew failed; the current key stays
PENDING    CLOSED           EXPIRED    (client) closed locally without a Cancel (cookie
ACTIVE     CLOSED           EXPIRED    mode, or the Cancel failed), or the service no
RENEWING   CLOSED           EXPIRED    longer knows the session (BadContextToken)
=========  ===============  =========  ==============================================

Anything else is forbidden and raises `BadContextToken` (a message for a
cancelled or expired session is exactly WCF's BadContextToken case).
"""

from __future__ import annotations

import enum
from typing import Final

from wssc.errors import BadContextToken
from wssc.xml import ns


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

TRANSITIONS: Final[dict[tuple[State | None, Event], State]] = {
    (None, Event.ISSUED): P,
    (P, Event.MESSAGE): A,
    (A, Event.MESSAGE): A,
    (R, Event.MESSAGE): R,
    (P, Event.RENEW_SENT): R,
    (A, Event.RENEW_SENT): R,
    (R, Event.RENEWED): A,
    (P, Event.RENEWED): A,
    (A, Event.RENEWED): A,
    (P, Event.CANCEL): C,
    (A, Event.CANCEL): C,
    (R, Event.CANCEL): C,
    (P, Event.EXPIRED): X,
    (A, Event.EXPIRED): X,
    (R, Event.EXPIRED): X,
    (R, Event.RENEW_FAILED): A,
    (P, Event.CLOSED): X,
    (A, Event.CLOSED): X,
    (R, Event.CLOSED): X,
}


def transition(state: State | None, event: Event, sc_ns: str = ns.SC_2005) -> State:
    """Apply ``event`` to ``state`` or raise BadContextToken if the table forbids it."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        name = state.value if state else "no session"
        raise BadContextToken(f"{event.value} is not allowed in state {name}", sc_ns=sc_ns) from None
