"""Hosting: wssc's logs under uvicorn's logging without set-up, and the per-process store
refused under several workers (uvicorn --workers, gunicorn -w), with the fix named."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import servers
from wssc.certs import generate_self_signed
from wssc.demo import Calculator
from wssc.errors import ConfigurationError
from wssc.service.engine import ServiceEngine
from wssc.service.hosting import attach_logging, check_workers, detect_workers
from wssc.settings import EndpointSettings, SecureConversationSettings
from wssc.store.cookie import KeyRing

CERT = generate_self_signed()


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["/venv/bin/uvicorn", "app:app", "--workers", "4"], {}, 4),
        (["/venv/bin/uvicorn", "app:app", "--workers=3"], {}, 3),
        (["/usr/bin/python3", "-m", "uvicorn", "app:app", "--workers", "2"], {}, 2),
        (["/venv/bin/uvicorn", "app:app"], {}, 1),
        (["/venv/bin/uvicorn", "app:app"], {"WEB_CONCURRENCY": "5"}, 5),
        (["/venv/bin/gunicorn", "-w", "4", "-k", "uvicorn.workers.UvicornWorker", "app:app"], {}, 4),
        (["/venv/bin/gunicorn", "-w8", "app:app"], {}, 8),
        (["/venv/bin/gunicorn", "app:app"], {"GUNICORN_CMD_ARGS": "--workers 3"}, 3),
        (["/venv/bin/gunicorn", "app:app"], {}, 1),
        (["/venv/bin/python", "-m", "pytest", "-W", "error"], {}, None),  # not a server
        (["/venv/bin/wssc", "serve", "--port", "8000"], {"WEB_CONCURRENCY": "4"}, None),
    ],
)
def test_detect_workers(argv: list[str], env: dict[str, str], expected: int | None) -> None:
    assert detect_workers(argv, env, parent_argv=[]) == expected


def test_workers_seen_from_the_parent_process() -> None:
    # uvicorn's spawned workers: the supervisor's command line is the parent's
    assert (
        detect_workers(
            ["python", "-c", "spawn"], {}, parent_argv=["/venv/bin/uvicorn", "app:app", "--workers", "2"]
        )
        == 2
    )


def _engine(cookie: bool, keyring: KeyRing | None = None) -> ServiceEngine:
    settings = EndpointSettings(
        secure_conversation=SecureConversationSettings(require_cancellation=not cookie)
    )
    return ServiceEngine(
        Calculator(), settings=settings, address="http://x/svc", certificate=CERT, keyring=keyring
    )


def _shared_ring(tmp_path: Path) -> KeyRing:
    KeyRing.generate().to_file(tmp_path / "ring.json")
    return KeyRing.from_file(tmp_path / "ring.json")


def test_memory_store_under_workers_is_refused_with_the_fix_named() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_workers(_engine(cookie=False), workers=2)
    text = str(info.value.detail)
    assert "cookie mode" in text and "redis://" in text and "RedisStore" in text
    check_workers(_engine(cookie=False), workers=1)  # one worker: fine


def test_cookie_mode_under_workers_warns_about_the_replay_cache(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.WARNING, logger="wssc")
    check_workers(_engine(cookie=True, keyring=_shared_ring(tmp_path)), workers=4)
    assert "replay cache is per process" in caplog.text


def test_cookie_mode_under_workers_needs_a_shared_key_ring() -> None:
    with pytest.raises(ConfigurationError, match=r"KeyRing\.from_file"):
        check_workers(_engine(cookie=True), workers=2)


def test_attach_logging_borrows_uvicorns_handlers() -> None:
    root, wssc, uv = (logging.getLogger(n) for n in ("", "wssc", "uvicorn.error"))
    saved = (root.handlers[:], wssc.handlers[:], wssc.level, uv.handlers[:], uv.level)
    handler = logging.StreamHandler()
    try:
        root.handlers.clear()
        wssc.handlers.clear()
        wssc.setLevel(logging.NOTSET)
        uv.handlers[:] = [handler]
        uv.setLevel(logging.DEBUG)
        assert attach_logging() == "uvicorn.error"
        assert wssc.handlers == [handler] and wssc.level == logging.DEBUG
        assert attach_logging() is None  # configured now: left alone
    finally:
        root.handlers[:], wssc.handlers[:] = saved[0], saved[1]
        wssc.setLevel(saved[2])
        uv.handlers[:] = saved[3]
        uv.setLevel(saved[4])


# --- live uvicorn ---------------------------------------------------------------------------
def _free_port() -> int:
    """A free port of this test worker's own slice (`servers.free_port`)."""
    return servers.free_port()


APP = """
from pathlib import Path
from wssc.certs import dev_certificate
from wssc.store.cookie import KeyRing
from wssc.demo import Calculator
from wssc.service.asgi import AsgiApp
from wssc.service.engine import ServiceEngine
from wssc.settings import EndpointSettings, SecureConversationSettings

cert, _, _ = dev_certificate(Path(__file__).parent)
settings = EndpointSettings(secure_conversation=SecureConversationSettings(
    require_cancellation={cancel}))
ring = KeyRing.from_file(Path(__file__).parent / "keyring.json")  # one ring for all workers
app = AsgiApp(ServiceEngine(Calculator(), settings=settings, certificate=cert, keyring=ring,
                            address="http://127.0.0.1:{port}/svc"))
"""


@pytest.fixture
def uvicorn_app(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def start(*uvicorn_args: str, cancel: bool = True) -> tuple[subprocess.Popen[str], int]:
        port = _free_port()
        from wssc.certs import dev_certificate
        from wssc.store.cookie import KeyRing

        dev_certificate(tmp_path)  # made once, before the workers start (they would race)
        KeyRing.generate().to_file(tmp_path / "keyring.json")
        (tmp_path / "svcapp.py").write_text(textwrap.dedent(APP.format(cancel=cancel, port=port)))
        env = {k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "WSSC_LOG")}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(tmp_path),
                "svcapp:app",
                "--port",
                str(port),
                *uvicorn_args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        procs.append(proc)
        return proc, port

    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def _wait_up(proc: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/svc?wsdl", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("uvicorn did not start")


def test_uvicorn_workers_with_the_memory_store_refuse_to_start(uvicorn_app) -> None:  # type: ignore[no-untyped-def]
    proc, _ = uvicorn_app("--workers", "2")
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError("uvicorn --workers 2 kept running with the memory store:\n" + out)
    assert "refusing to start" in out and "cookie mode" in out and "redis://" in out, out


def test_uvicorn_logs_wssc_session_events_without_set_up(uvicorn_app) -> None:  # type: ignore[no-untyped-def]
    from wssc.client import Client

    proc, port = uvicorn_app("--log-level", "info")
    _wait_up(proc, port)
    assert proc.stdout is not None
    stdout = proc.stdout
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")), daemon=True)
    reader.start()
    with Client.from_wsdl(f"http://127.0.0.1:{port}/svc?wsdl") as c:
        assert c.Add(a=1, b=2) == 3
        sct = c.session.sct
        assert sct is not None
    # The service logs the Cancel after it answers: poll its output (deadline 20 s).
    deadline = time.monotonic() + 20
    while f"cancelled SCT {sct.identifier}" not in "".join(lines) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.terminate()
    proc.wait(20)
    reader.join(20)
    out = "".join(lines)
    assert f"issued SCT {sct.identifier}" in out, out
    assert f"cancelled SCT {sct.identifier}" in out, out


def test_uvicorn_workers_in_cookie_mode_serve(uvicorn_app) -> None:  # type: ignore[no-untyped-def]
    from wssc.client import Client

    proc, port = uvicorn_app("--workers", "2", "--log-level", "info", cancel=False)
    _wait_up(proc, port)
    for _ in range(3):  # new connections: either worker may answer, the cookie works on both
        with Client.from_wsdl(f"http://127.0.0.1:{port}/svc?wsdl") as c:
            assert c.Add(a=2, b=3) == 5
    proc.terminate()
    out, _ = proc.communicate(timeout=20)
    assert "replay cache is per process" in out, out


def test_a_negotiated_token_without_a_session_under_workers_is_refused(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """TLSNEGO without a secure session: the token a negotiation issued protects every message
    and lives in one worker's memory; several workers are refused unless declared sticky."""
    from wssc.service.hosting import ALLOW_ENV
    from wssc.settings import Bootstrap

    settings = EndpointSettings(
        secure_conversation=SecureConversationSettings(
            bootstrap=Bootstrap.TLSNEGO, establish_security_context=False
        )
    )
    engine = ServiceEngine(Calculator(), settings=settings, address="http://x/svc", certificate=CERT)
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    with pytest.raises(ConfigurationError, match="the token a negotiation issued in one worker"):
        check_workers(engine, workers=2)
    check_workers(engine, workers=1)
    monkeypatch.setenv(ALLOW_ENV, "1")
    caplog.set_level(logging.WARNING, logger="wssc")
    check_workers(engine, workers=2)
    assert "sticky sessions assumed" in caplog.text
