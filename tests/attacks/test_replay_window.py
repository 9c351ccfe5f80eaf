"""Finding 5: ``Created`` must fall within the replay window (5 min) plus the clock skew
(5 min), whether or not ``Expires`` is present.

The attacker is a legitimate key holder (its own session), so every message below is
correctly signed and encrypted: only its Timestamp is chosen.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from attack_kit import (
    MATRIX,
    MATRIX_IDS,
    Keys,
    app_envelope,
    assert_refused_by,
    craft,
    log_mark,
    post,
    serve_args,
    tostring,
)

from servers import Server
from wssc.client import Client

pytestmark = pytest.mark.e2e

HOUR = 3600.0
#: The log reason of the Timestamp's window check (Created within the window plus the skew).
TOO_OLD = "the message is older than the replay window"


def send(srv: Server, c: Client, created: float, expires: float | bool | None) -> tuple[int, bytes]:
    s = c.session
    root = craft(
        app_envelope(c, "Echo", text="old"), Keys.of(c), s.sc, s.suite, created=created, expires=expires
    )
    r = post(srv, tostring(root))
    return r.status_code, r.content


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
@pytest.mark.parametrize("expires", ["none", "long-lived"])
def test_hour_old_created_is_refused(
    server: Callable[..., Server], binding: str, mode: str, expires: str
) -> None:
    srv = server(*serve_args(binding, mode))
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        now = time.time()
        # Control: the same shape, created now, is accepted (no Expires is legal).
        status, _ = send(srv, c, now, False if expires == "none" else now + 2 * HOUR)
        assert status == 200
        old = now - HOUR
        exp: float | bool = False if expires == "none" else now + 2 * HOUR
        crafted = craft(
            app_envelope(c, "Echo", text="old"),
            Keys.of(c),
            c.session.sc,
            c.session.suite,
            created=old,
            expires=exp,
        )
        data = tostring(crafted)
        for attempt in ("first", "again"):
            mark = log_mark(srv)
            r = post(srv, data)
            assert_refused_by(
                srv, r, TOO_OLD, since=mark, what=f"Created 1 h ago, Expires {expires}, {attempt} send"
            )


@pytest.mark.parametrize(("binding", "mode"), MATRIX[:1], ids=MATRIX_IDS[:1])
def test_within_window_accepted_beyond_refused(
    server: Callable[..., Server], binding: str, mode: str
) -> None:
    """The boundary: 8 minutes old (inside 5 + 5) passes; 11 minutes old does not."""
    srv = server(*serve_args(binding, mode))
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        now = time.time()
        assert send(srv, c, now - 8 * 60, False)[0] == 200
        s = c.session
        root = craft(
            app_envelope(c, "Echo", text="x"), Keys.of(c), s.sc, s.suite, created=now - 11 * 60, expires=False
        )
        mark = log_mark(srv)
        assert_refused_by(
            srv, post(srv, tostring(root)), TOO_OLD, since=mark, what="Created 11 min ago, no Expires"
        )
