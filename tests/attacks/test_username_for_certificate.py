"""Issue 16: UserNameForCertificate's UsernameToken must arrive signed AND encrypted, and its
password is checked behind the same login throttle as UserNameOverTransport's.

Each attack runs against a real ``wssc serve --bootstrap username-for-certificate`` over HTTP,
with a real wssc client whose bootstrap half is swapped for a hostile one: the same
EncryptedKey protection (a valid signature, an encrypted Body), with the UsernameToken left
out of the signature, or sent in the clear. Each refusal is asserted on the wire (the generic
fault) and in the service log (the check that refused), so deleting either check fails a test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest
from attack_kit import (
    BINDINGS,
    Dedicated,
    assert_fault,
    assert_refused_by,
    last,
    log_mark,
    recording_client,
    wait_logged,
)
from lxml import etree

from servers import Server
from wssc.bootstrap.anonymous_for_certificate import AnonymousForCertificateClient
from wssc.bootstrap.base import ClientContext
from wssc.bootstrap.username_for_certificate import UserNameForCertificateClient
from wssc.client import Client
from wssc.errors import WsscError
from wssc.security.policy import MessagePolicy
from wssc.tokens.username import UsernameToken

pytestmark = pytest.mark.e2e

PASSWORD = "pw-Uf7-stays-encrypted"
USERS = ("--user", f"bob:{PASSWORD}")


def unfc(binding: str = "wshttp", *extra: str) -> tuple[str, ...]:
    return ("--binding", binding, "--bootstrap", "username-for-certificate", *USERS, *extra)


@dataclass
class HostileUsername:
    """Secures the RST as UserNameForCertificate does, but protects the UsernameToken only as
    told: ``sign`` (covered by the message signature), ``encrypt`` (sent as EncryptedData)."""

    real: UserNameForCertificateClient
    sign: bool
    encrypt: bool
    password: str = field(default=PASSWORD, repr=False)

    def secure(
        self, envelope: etree._Element, policy: MessagePolicy, now: float | None = None
    ) -> tuple[etree._Element, ClientContext]:
        keyed = AnonymousForCertificateClient(self.real.service_certificate)
        p = replace(policy, sign_supporting_tokens=self.sign, encrypt_supporting_tokens=self.encrypt)
        ut = UsernameToken(self.real.username, self.password).to_xml()
        return keyed.secure_with(envelope, p, now, supporting=[ut])

    def verify_reply(self, *a: object, **kw: object) -> object:
        return self.real.verify_reply(*a, **kw)  # type: ignore[arg-type]


def hostile_client(srv: Server, *, sign: bool, encrypt: bool) -> tuple[Client, object]:
    c, rec = recording_client(srv, username="bob", password=PASSWORD)
    real = c.session.bootstrap
    assert isinstance(real, UserNameForCertificateClient)
    c.session.bootstrap = HostileUsername(real, sign, encrypt)  # type: ignore[assignment]
    return c, rec


def open_session(c: Client) -> bool:
    with c:
        try:
            return bool(c.Echo(text="in") == "in")
        except WsscError:
            return False


@pytest.mark.parametrize("binding", BINDINGS)
def test_the_password_never_crosses_the_wire(server: Callable[..., Server], binding: str) -> None:
    """Control for the attacks below: the legitimate client's RST carries the UsernameToken
    only as ciphertext, and the session opens."""
    srv = server(*unfc(binding))
    c, rec = recording_client(srv, username="bob", password=PASSWORD)
    assert open_session(c)
    rst = last(rec, "/RST/SCT")
    assert rst.status == 200
    assert PASSWORD.encode() not in rst.request and b"UsernameToken" not in rst.request
    # ...while the hostile client below, with both protections on, is accepted too: it is
    # the missing protection that the service refuses, not the swapped client.
    c2, _ = hostile_client(srv, sign=True, encrypt=True)
    assert open_session(c2)


@pytest.mark.parametrize("binding", BINDINGS)
def test_a_plain_username_token_is_refused(server: Callable[..., Server], binding: str) -> None:
    """Signed but sent in the clear (as a UserNameOverTransport client would over HTTP):
    the password is on the wire, and the service refuses the RST."""
    srv = server(*unfc(binding))
    c, rec = hostile_client(srv, sign=True, encrypt=False)
    mark = log_mark(srv)
    assert not open_session(c)
    rst = last(rec, "/RST/SCT")
    assert PASSWORD.encode() in rst.request  # the attack did send it plain
    assert_refused_by(srv, rst.as_response(), "UsernameToken is not encrypted", since=mark)


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("encrypt", [True, False], ids=["encrypted", "plain"])
def test_an_unsigned_username_token_is_refused(
    server: Callable[..., Server], binding: str, encrypt: bool
) -> None:
    """A UsernameToken outside the message signature could be cut from one request and pasted
    into another: refused, encrypted or not."""
    srv = server(*unfc(binding))
    c, rec = hostile_client(srv, sign=False, encrypt=encrypt)
    mark = log_mark(srv)
    assert not open_session(c)
    assert_refused_by(srv, last(rec, "/RST/SCT").as_response(), "UsernameToken is not signed", since=mark)


@pytest.mark.parametrize("binding", BINDINGS)
def test_a_wrong_password_is_refused(server: Callable[..., Server], binding: str) -> None:
    """A well-protected RST with a wrong password: WCF's FailedAuthentication (the same fault
    for a wrong name, a wrong password and a throttled attempt), the reason in the log."""
    srv = server(*unfc(binding))
    c, rec = recording_client(srv, username="bob", password="not-" + PASSWORD)
    mark = log_mark(srv)
    assert not open_session(c)
    r = last(rec, "/RST/SCT").as_response()
    fault = assert_fault(r, "FailedAuthentication", "wrong password")
    assert fault.reason == "The security token could not be authenticated or authorized"
    assert not fault.has_detail
    text = wait_logged(srv, "wrong username or password")
    assert "not-" + PASSWORD not in text and PASSWORD not in text  # no password in the log
    assert log_mark(srv) > mark


def test_guessing_is_throttled(start_server: Callable[..., Server]) -> None:
    """Five wrong guesses for bob from one address, then the right password from there is
    refused with the same fault while the pair backs off; bob from another address is not
    affected, and the right password works again once the block ends."""
    settings = {"failed_authentication_delay": 6}
    with Dedicated(start_server, *unfc(), settings=settings) as srv:

        def login(password: str, source: str) -> tuple[bool, bytes]:
            c, rec = recording_client(srv, username="bob", password=password, local_address=source)
            ok = open_session(c)
            return ok, last(rec, "/RST/SCT").response

        assert login(PASSWORD, "127.0.0.1")[0], "control: the right password works"
        for i in range(5):
            ok, _ = login(f"guess-{i}", "127.0.0.1")
            assert not ok
        wait_logged(srv, "wrong username or password", count=5)
        blocked_at = time.monotonic()
        ok, body = login(PASSWORD, "127.0.0.1")
        assert not ok, "the right password opened a session during the back-off"
        assert b"FailedAuthentication" in body
        wait_logged(srv, "throttled: username 'bob' from address 127.0.0.1 failed 5 times")
        assert login(PASSWORD, "127.0.0.2")[0], "bob from another address was locked out"
        deadline = time.monotonic() + 60
        while not login(PASSWORD, "127.0.0.1")[0]:
            assert time.monotonic() < deadline, "bob is still locked out after 60 s"
            time.sleep(0.5)
        assert time.monotonic() - blocked_at >= 4, "the block ended long before its 6 s"


@pytest.mark.parametrize("binding", BINDINGS)
def test_renew_is_authenticated_again_and_must_be_the_same_user(
    server: Callable[..., Server], binding: str
) -> None:
    """WCF's Renew under message security: secured by the bootstrap (a fresh EncryptedKey and
    the UsernameToken, signed and encrypted) with the session's SCT endorsing it. bob's own
    Renew works; a Renew endorsed by bob's session but signed in as alice (whose password is
    right) is refused: the session is bob's."""
    srv = server(*unfc(binding))
    c, rec = recording_client(srv, username="bob", password=PASSWORD)
    with c:
        assert c.Add(a=1, b=2) == 3
        first = c.session.sct
        c.renew()
        assert c.session.sct is not None and c.session.sct != first
        renew = last(rec, "/RST/SCT/Renew")
        assert renew.status == 200
        assert PASSWORD.encode() not in renew.request and b"EncryptedKey" in renew.request
        assert c.Add(a=2, b=2) == 4
        real = c.session.bootstrap
        assert isinstance(real, UserNameForCertificateClient)
        c.session.bootstrap = replace(real, username="alice", password="secret")
        mark = log_mark(srv)
        with pytest.raises(WsscError):
            c.renew()
        assert_refused_by(
            srv,
            last(rec, "/RST/SCT/Renew").as_response(),
            "the Renew comes from another identity than the session's",
            since=mark,
        )
        c.session.bootstrap = real
