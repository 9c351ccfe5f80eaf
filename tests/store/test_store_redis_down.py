"""Redis down: the operator gets a clear error (at start-up, and one log line per outage while
running); the client gets EndpointUnavailable, never an internal-error fault or a traceback."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest
import redis

from wssc.certs import Certificate, generate_self_signed
from wssc.cli.main import main
from wssc.client import Client
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.errors import EndpointUnavailable, StoreUnavailable
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp
from wssc.store.redis import RedisStore

CERT = generate_self_signed()
URL = "http://testserver/svc"


def _down_client() -> object:
    """A client for a port nobody listens on, without redis-py's retries and back-off."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(port=_closed_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once closed


def test_store_raises_a_typed_error() -> None:
    store = RedisStore(_down_client())  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable):
        store.ping()
    with pytest.raises(StoreUnavailable):
        store.get("urn:uuid:x")
    assert isinstance(StoreUnavailable(), EndpointUnavailable)


def test_client_gets_endpoint_unavailable_and_the_log_has_one_line(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisStore(_down_client())  # type: ignore[arg-type]
    engine = ServiceEngine(Calculator(), address=URL, certificate=CERT, store=store)
    http = httpx.Client(transport=httpx.WSGITransport(app=WsgiApp(engine)))  # type: ignore[arg-type]
    caplog.set_level(logging.INFO, logger="wssc")
    for _ in range(3):
        client = Client(URL, get_contract(Calculator), http=http, service_certificate=Certificate(CERT.cert))
        with pytest.raises(EndpointUnavailable) as info:
            client.Add(a=1, b=2)
        client.close()
        assert "internal error" not in str(info.value).lower()
    wssc_records = [r for r in caplog.records if r.name.startswith("wssc")]
    assert all(r.exc_info is None for r in wssc_records), "a traceback was logged"
    errors = [r for r in wssc_records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # one line per outage
    assert "Redis session store unavailable" in errors[0].getMessage()
    assert "Traceback" not in caplog.text


def test_serve_refuses_to_start_without_redis(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["serve", "--store", f"redis://127.0.0.1:{_closed_port()}/0"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""  # no banner
    assert "cannot reach Redis" in err and "--store memory" in err
