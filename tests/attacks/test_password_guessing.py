"""Finding 11: password guessing on UserNameOverTransport is throttled.

``LocalServiceSecuritySettings.max_failed_authentications`` (default 5) per
``failed_authentication_window`` (default 1 min), counted per username and per peer address.
After the limit even the right password fails, with the same FailedAuthentication fault as a
wrong one; another username from another address still works.
"""

from __future__ import annotations

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
)

from servers import Server
from wssc.errors import WsscError

pytestmark = pytest.mark.e2e

#: LocalServiceSecuritySettings.max_failed_authentications_per_peer (default: 4 x LIMIT)
PER_PEER = 20
LIMIT = 5
USERS = ("--user", "bob:hunter2", "--user", "carol:letmein")


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
    return (a.status_code, blank_message_ids(a.content)) == (b.status_code,
                                                             blank_message_ids(b.content))


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("mode", ["session", "cookie"])
def test_guessing_one_username_locks_it_not_others(
    start_server: Callable[..., Server], binding: str, mode: str
) -> None:
    with Dedicated(start_server, *serve_args(binding, mode, "--bootstrap",
                                             "username-over-transport", *USERS)) as srv:
        ok, _ = try_login(srv, "alice", "secret", "127.0.0.1")
        assert ok, "control: the right password works before any guess"
        wrong = []
        for i in range(LIMIT):
            ok, r = try_login(srv, "alice", f"guess-{i}", "127.0.0.1")
            assert not ok
            assert_fault(r, "FailedAuthentication", f"guess {i}")
            wrong.append(r)
        ok, right = try_login(srv, "alice", "secret", "127.0.0.1")
        assert not ok, f"after {LIMIT} wrong guesses the right password still opened a session"
        assert_fault(right, "FailedAuthentication", "the right password after the limit")
        assert same_answer(right, wrong[-1]), "the lock-out is distinguishable from a wrong guess"
        # The same username from another address is locked too (per username) ...
        ok, _ = try_login(srv, "alice", "secret", "127.0.0.2")
        assert not ok, "the username lock-out is bypassed from another address"
        # ... but another user from another address is not.
        ok, r = try_login(srv, "bob", "hunter2", "127.0.0.2")
        assert ok, f"bob from 127.0.0.2 was locked out by guesses against alice: {r.content[-300:]!r}"


@pytest.mark.parametrize("binding", BINDINGS[:1])
def test_guessing_many_usernames_from_one_address_locks_the_address(
    start_server: Callable[..., Server], binding: str
) -> None:
    with Dedicated(start_server, *serve_args(binding, "session", "--bootstrap",
                                             "username-over-transport", *USERS)) as srv:
        wrong = []
        for i in range(PER_PEER):  # each name fails once: only the address's limit applies
            ok, r = try_login(srv, f"user{i}", "password", "127.0.0.3")
            assert not ok
            wrong.append(r)
        ok, right = try_login(srv, "carol", "letmein", "127.0.0.3")
        assert not ok, f"after {PER_PEER} failures from 127.0.0.3 a right password still worked there"
        assert same_answer(right, wrong[-1])
        ok, _ = try_login(srv, "carol", "letmein", "127.0.0.4")
        assert ok, "carol from another address was locked out"
