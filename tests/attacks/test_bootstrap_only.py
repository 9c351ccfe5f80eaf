"""Issue 13 ("Also"): peers send a Cancel, or a Renew, secured only by a fresh bootstrap key
(an EncryptedKey of their own, as the RST is secured) with no proof of the session's key.
Anyone can make such a message: the client is anonymous under AnonymousForCertificate.

Each is refused with the generic fault, the log names what is really wrong (not "no private
key to decrypt the EncryptedKey"), and the session stays alive with its key.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from attack_kit import assert_refused_by, log_mark, post, serve_args, tostring

from servers import Server
from wssc.client import Client
from wssc.trust.messages import CancelRequest, RenewRequest

pytestmark = pytest.mark.e2e


def _bootstrap_secured(c: Client, action: str, payload: object) -> bytes:
    """``payload`` under ``action``, secured by a fresh EncryptedKey (the bootstrap) alone."""
    s = c.session
    env = s._envelope(action, payload)  # type: ignore[arg-type]
    root, _ = s.bootstrap.secure(env, s.policy, time.time())
    return tostring(root)


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_cancel_secured_only_by_a_bootstrap_key_is_refused(
    server: Callable[..., Server], binding: str
) -> None:
    srv = server(*serve_args(binding, "session"))
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        s = c.session
        assert s.sct is not None
        body = _bootstrap_secured(c, s.trust.rst_sct_cancel, CancelRequest.build(s.sct).to_xml(s.sc))
        mark = log_mark(srv)
        r = post(srv, body)
        assert_refused_by(srv, r, "the Cancel is not signed by the session's key", since=mark)
        assert c.call("Add", 2, 3) == 5  # the session was not cancelled


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_renew_secured_only_by_a_bootstrap_key_is_refused(
    server: Callable[..., Server], binding: str
) -> None:
    """WCF's Renew shape without the session's endorsing signature: it names the session but
    proves nothing about its key."""
    srv = server(*serve_args(binding, "session"))
    with Client.from_wsdl(srv.wsdl_url) as c:
        c.open()
        s = c.session
        assert s.sct is not None and s.key is not None
        key = s.key
        rst = RenewRequest.build(s.sc, s.sct, s.suite, s.scs.key_entropy_mode)
        body = _bootstrap_secured(c, s.trust.rst_sct_renew, rst.to_xml(s.sc))
        mark = log_mark(srv)
        r = post(srv, body)
        assert_refused_by(srv, r, "the message has no endorsing signature", since=mark)
        assert c.call("Add", 2, 3) == 5
        assert s.key == key  # not renewed
