"""The client's checks of a reply against its request (issue 13, item 5), sans-IO.

Over the wire (``tests/attacks/test_client_replay.py``) a replayed reply always carries another
request's RelatesTo; here the replay cache is exercised on its own: the exact same reply to the
exact same request twice, its lifetime (replay window + clock skew), ``detect_replays=False``.
And the RelatesTo rules the wire cannot reach: its RelationshipType, and under transport
security (no reply signature) presence and equality, twice over.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from engine_kit import ADD, T0, Clock, client_for, engine_for, exchange
from lxml import etree

from wssc.errors import InvalidSecurity, ReplayDetected
from wssc.session.client import ClientSession, Outgoing
from wssc.settings import EndpointSettings, LocalClientSecuritySettings
from wssc.xml import ns

WSA = f"{{{ns.WSA10}}}"


def opened(settings: EndpointSettings) -> tuple[ClientSession, Outgoing, bytes]:
    """A session, an Add request and the service's reply to it (not yet read)."""
    clock = Clock()
    engine = engine_for(settings, clock)
    client = client_for(settings)
    out = client.issue_request(T0)
    client.issue_response(exchange(engine, out.body, out.content_type).body, out, T0)
    app = client.app_request(ADD, {"a": 1, "b": 1}, T0)
    return client, app, exchange(engine, app.body, app.content_type).body


def test_the_same_reply_twice_is_a_replay(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wssc.client")
    client, app, reply = opened(EndpointSettings())
    assert app.message_id and app.message_id.startswith("urn:uuid:")
    assert client.app_response(reply, app, T0 + 1) == 2
    with pytest.raises(ReplayDetected):
        client.app_response(reply, app, T0 + 2)
    assert any(
        "the reply's signature was seen before" in r.getMessage()
        for r in caplog.records
        if r.name == "wssc.client"
    )


def test_a_replay_entry_lives_window_plus_skew() -> None:
    """WCF's defaults: replay window 5 min, clock skew 5 min. Within them the replay is
    caught by the cache (the Timestamp still passes); past them the Timestamp check refuses
    it, so the entry may go."""
    settings = EndpointSettings()
    client, app, reply = opened(settings)
    c = settings.client
    assert (c.replay_window, c.max_clock_skew, c.replay_cache_size, c.detect_replays) == (
        timedelta(minutes=5),
        timedelta(minutes=5),
        900_000,
        True,
    )
    assert client.app_response(reply, app, T0) == 2
    with pytest.raises(ReplayDetected):  # the reply is still fresh: the cache refuses it
        client.app_response(reply, app, T0 + 595)
    with pytest.raises(Exception) as late:  # now the Timestamp is too old
        client.app_response(reply, app, T0 + 601)
    assert not isinstance(late.value, ReplayDetected)


def test_detect_replays_off_accepts_the_same_reply_again() -> None:
    settings = EndpointSettings(client=LocalClientSecuritySettings(detect_replays=False))
    client, app, reply = opened(settings)
    assert client.replay_cache is None
    assert client.app_response(reply, app, T0) == 2
    assert client.app_response(reply, app, T0 + 1) == 2  # RelatesTo matches: only DetectReplays


def _edit_relates_to(reply: bytes, fn: object) -> bytes:
    root = etree.fromstring(reply)
    rel = root.find(f".//{WSA}RelatesTo")
    assert rel is not None
    fn(rel)  # type: ignore[operator]
    return etree.tostring(root)


def test_relationship_type_other_than_reply_is_refused() -> None:
    # Changing a signed header breaks its digest, so give the request's check the edited
    # element directly: the verified result with RelationshipType set.
    # (without the replay cache: the first check records the reply's signature)
    client, app, reply = opened(EndpointSettings(client=LocalClientSecuritySettings(detect_replays=False)))
    result = client.verify_message(reply, T0)
    rel = result.envelope.header.find(f"{WSA}RelatesTo")  # type: ignore[union-attr]
    rel.set("RelationshipType", "http://example.test/not-a-reply")  # type: ignore[union-attr]
    with pytest.raises(InvalidSecurity, match="relationship 'reply'"):
        client.check_reply(result, app.message_id, T0)
    rel.set("RelationshipType", f"{ns.WSA10}/reply")  # type: ignore[union-attr]
    client.check_reply(result, app.message_id, T0)  # the default, written out, is fine


# --- transport security: RelatesTo protected by TLS -----------------------------------------
def test_over_transport_relates_to_must_match() -> None:
    """Over TLS the service signs only its Timestamp (if anything): RelatesTo need not be
    signed, but it must be there, once, and equal to the request's MessageID."""
    from test_peer_shapes import _transport_session

    _, client, post_tls = _transport_session()
    app = client.app_request(ADD, {"a": 2, "b": 3}, T0)
    root = etree.fromstring(post_tls(app))
    security = root.find(f".//{{{ns.WSSE}}}Security")
    assert security is not None
    for child in list(security):  # as WCF and Metro answer over TLS: a Timestamp alone
        if etree.QName(child).localname != "Timestamp":
            security.remove(child)
    reply = etree.tostring(root)
    other = client.app_request(ADD, {"a": 2, "b": 3}, T0)
    with pytest.raises(InvalidSecurity, match="does not match the request's MessageID"):
        client.app_response(reply, other, T0)

    def twice(rel: etree._Element) -> None:
        rel.addnext(etree.fromstring(etree.tostring(rel)))

    with pytest.raises(InvalidSecurity, match="more than one wsa:RelatesTo"):
        client.app_response(_edit_relates_to(reply, twice), app, T0)
    with pytest.raises(InvalidSecurity, match="no wsa:RelatesTo"):
        client.app_response(_edit_relates_to(reply, lambda rel: rel.getparent().remove(rel)), app, T0)
    assert client.app_response(reply, app, T0) == 5


def test_client_replay_cache_is_sized_from_the_settings() -> None:
    settings = EndpointSettings(client=replace(LocalClientSecuritySettings(), replay_cache_size=3))
    client, _, _ = opened(settings)
    assert client.replay_cache is not None
    assert client.replay_cache.max_entries == 3  # type: ignore[attr-defined]
