"""Issue 6 finding 11, issue 13 item 8: password guessing on UserNameOverTransport backs off,
per (username, address) first, without locking out the users who share an address.

The schedule (:mod:`wssc.security.throttle`): ``max_failed_authentications`` (5) free failures
per (username, address); from the 5th, that pair is blocked ``failed_authentication_delay``
(1 s), doubling per failure, at most ``failed_authentication_window`` (5 min). A blocked attempt
gets the same FailedAuthentication as a wrong guess and is not counted. The backstops, per
username (20) and per address (100), spare pairs that logged in successfully before. Every
refusal is asserted on the wire (the same fault as a wrong password) and in the service log
(which key refused).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from attack_kit import (
    BINDINGS,
    Dedicated,
    assert_fault,
    blank_message_ids,
    last,
    recording_client,
    serve_args,
    wait_logged,
)

from servers import Server
from wssc.errors import WsscError

pytestmark = pytest.mark.e2e

LIMIT = 5
USERS = ("--user", "bob:hunter2", "--user", "carol:letmein", "--user", "dave:opensesame")
WRONG = "wrong username or password"


def uot(binding: str = "wshttp", mode: str = "session") -> tuple[str, ...]:
    return serve_args(binding, mode, "--bootstrap", "username-over-transport", *USERS)


def try_login(srv: Server, user: str, password: str, source: str) -> tuple[bool, httpx.Response]:
    """Open a session (RST with a UsernameToken over HTTPS) and call Echo."""
    c, rec = recording_client(srv, username=user, password=password, local_address=source)
    with c:
        try:
            ok = c.Echo(text="in") == "in"
        except WsscError:
            ok = False
        return ok, last(rec, "/RST/SCT").as_response()


def same_answer(a: httpx.Response, b: httpx.Response) -> bool:
    return (a.status_code, blank_message_ids(a.content)) == (b.status_code, blank_message_ids(b.content))


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("mode", ["session", "cookie"])
def test_guessing_one_password_backs_off_that_pair_only(
    start_server: Callable[..., Server], binding: str, mode: str
) -> None:
    """A first block of 8 s (``failed_authentication_delay``) so that the right password
    surely arrives inside it; then it works again: back-off, no lock-out."""
    with Dedicated(start_server, *uot(binding, mode), settings={"failed_authentication_delay": 8}) as srv:
        ok, _ = try_login(srv, "alice", "secret", "127.0.0.1")
        assert ok, "control: the right password works before any guess"
        wrong = []
        for i in range(LIMIT):
            ok, r = try_login(srv, "alice", f"guess-{i}", "127.0.0.1")
            assert not ok
            assert_fault(r, "FailedAuthentication", f"guess {i}")
            wrong.append(r)
        wait_logged(srv, WRONG, count=LIMIT)
        blocked_at = time.monotonic()
        ok, right = try_login(srv, "alice", "secret", "127.0.0.1")
        assert not ok, f"after {LIMIT} wrong guesses the right password opened a session at once"
        assert_fault(right, "FailedAuthentication", "the right password while backing off")
        assert same_answer(right, wrong[-1]), "the back-off is distinguishable from a wrong guess"
        wait_logged(srv, "throttled: username 'alice' from address 127.0.0.1 failed 5 times")
        # The pair comes first: alice from another address, and bob, are not affected.
        ok, r = try_login(srv, "alice", "secret", "127.0.0.2")
        assert ok, f"alice from 127.0.0.2 was locked out by guesses from 127.0.0.1: {r.content[-300:]!r}"
        ok, r = try_login(srv, "bob", "hunter2", "127.0.0.1")
        assert ok, f"bob was locked out by guesses against alice: {r.content[-300:]!r}"
        # Back-off, not lock-out: the right password works again once the block ends.
        deadline = time.monotonic() + 60
        while not try_login(srv, "alice", "secret", "127.0.0.1")[0]:
            assert time.monotonic() < deadline, "alice is still locked out after 60 s"
            time.sleep(0.5)
        assert time.monotonic() - blocked_at >= 6, "the block ended long before its 8 s"


@pytest.mark.parametrize("binding", BINDINGS[:1])
def test_random_usernames_from_one_address_do_not_lock_out_another_user(
    start_server: Callable[..., Server], binding: str
) -> None:
    """The issue's attack at the defaults: 20 failed logins with random usernames from one
    address, then carol's right password from the same address (say, behind the same NAT)."""
    with Dedicated(start_server, *uot(binding)) as srv:
        wrong = []
        for i in range(20):
            ok, r = try_login(srv, f"user{i}", "password", "127.0.0.3")
            assert not ok
            wrong.append(r)
        wait_logged(srv, WRONG, count=20)
        ok, r = try_login(srv, "carol", "letmein", "127.0.0.3")
        assert ok, f"20 failures from 127.0.0.3 locked carol out there: {r.content[-300:]!r}"


@pytest.mark.parametrize("binding", BINDINGS[:1])
def test_the_address_backstop_spares_users_known_there(
    start_server: Callable[..., Server], binding: str
) -> None:
    """With the per-address backstop lowered to 10: an address spraying usernames backs off
    for names never used from it, but carol, who logged in from it before, is not affected."""
    with Dedicated(
        start_server,
        *uot(binding),
        settings={"max_failed_authentications_per_peer": 10, "failed_authentication_delay": 30},
    ) as srv:
        ok, _ = try_login(srv, "carol", "letmein", "127.0.0.4")
        assert ok, "control: carol logs in from 127.0.0.4"
        wrong = []
        for i in range(10):
            ok, r = try_login(srv, f"spray{i}", "Summer2027!", "127.0.0.4")
            assert not ok
            wrong.append(r)
        ok, r = try_login(srv, "dave", "opensesame", "127.0.0.4")
        assert not ok, "the address backstop let a never-seen username in right away"
        assert same_answer(r, wrong[-1])
        wait_logged(srv, "throttled: address 127.0.0.4 (usernames never logged in from there)")
        ok, r = try_login(srv, "carol", "letmein", "127.0.0.4")
        assert ok, f"carol, known at 127.0.0.4, was locked out by the spray: {r.content[-300:]!r}"
        ok, r = try_login(srv, "dave", "opensesame", "127.0.0.5")
        assert ok, f"dave from another address was locked out: {r.content[-300:]!r}"
