"""What a host needs at start-up: wssc's logs under the server's logging, and a refusal to run
a per-process session store under several worker processes.

`AsgiApp` calls `startup` on the ASGI lifespan start-up (uvicorn
has configured its logging by then); `WsgiApp` when it is created.

**Logging.** wssc logs on ``wssc.*`` loggers (``wssc.session``: issued, renewed, cancelled,
purged; ``wssc.service``: faults, i.e. refused messages and why; ``wssc.store``; ``wssc.client``).
When the application has configured no logging of its own (no handler on ``wssc`` or on the
root logger), `attach_logging` gives the ``wssc`` logger the handlers and level of
uvicorn's (``uvicorn.error``) or gunicorn's (``gunicorn.error``) logger, so ``uvicorn
--log-level info`` shows wssc's session events too; with neither, a stderr handler at WARNING
(or ``$WSSC_LOG``). No log line carries key material, passwords, nonces or cookies.

**Workers.** The in-memory session store lives in one process: under ``uvicorn --workers N`` or
``gunicorn -w N`` a session issued by one worker is unknown to the others. `check_workers`
refuses to start then, naming the fixes: cookie mode (``require_cancellation=False``) or a
shared store (`RedisStore`, ``--store redis://``). Cookie mode needs
the same `KeyRing` in every worker (``KeyRing.from_file``): a ring
each worker generated for itself is refused too. The replay cache is
per process too (unless the engine was given a shared one,
`RedisReplayCache`), so a replayed message that reaches another worker
is not recognised as a replay there: a warning says so (Timestamps still bound the window).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wssc.errors import ConfigurationError

if TYPE_CHECKING:
    from wssc.service.engine import ServiceEngine

log = logging.getLogger("wssc.service")

#: Set to 1 to run the memory store under several workers anyway (sticky load balancing).
ALLOW_ENV = "WSSC_ALLOW_PER_PROCESS_STORE"


def attach_logging() -> str | None:
    """Route ``wssc.*`` logs to the server's handlers when nothing else is configured.
    Returns the name of the logger whose handlers were borrowed, ``"stderr"``, or None when
    the application's own logging configuration is left alone."""
    wssc = logging.getLogger("wssc")
    if wssc.handlers or logging.getLogger().handlers:
        return None
    for name in ("uvicorn.error", "gunicorn.error"):
        server: logging.Logger | None = logging.getLogger(name)
        level = server.getEffectiveLevel() if server else logging.WARNING
        while server is not None and not server.handlers:  # uvicorn's sit on "uvicorn"
            server = server.parent if server.propagate else None
        if server is None or server is logging.getLogger():
            continue
        for h in server.handlers:
            wssc.addHandler(h)
        if wssc.level == logging.NOTSET:
            wssc.setLevel(level)
        return server.name
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    wssc.addHandler(handler)
    if wssc.level == logging.NOTSET:
        wssc.setLevel(os.environ.get("WSSC_LOG", "WARNING").upper())
    return "stderr"


def _server_argv(argv: Sequence[str]) -> str | None:
    """``uvicorn`` or ``gunicorn`` when ``argv`` runs one of them (script or ``-m``)."""
    if not argv:
        return None
    words = [Path(argv[0]).name, *(argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "-m")]
    for w in words:
        for server in ("gunicorn", "uvicorn"):
            if w.startswith(server):
                return server
    return None


def _workers_option(argv: Sequence[str], server: str) -> int | None:
    names = ("--workers", "-w") if server == "gunicorn" else ("--workers",)
    for i, a in enumerate(argv):
        value = None
        if a in names and i + 1 < len(argv):
            value = argv[i + 1]
        elif a.startswith("--workers="):
            value = a.partition("=")[2]
        elif server == "gunicorn" and a.startswith("-w") and a[2:].isdigit():
            value = a[2:]
        if value is not None:
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _parent_argv() -> list[str]:
    try:
        raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def detect_workers(
    argv: Sequence[str] | None = None,
    environ: dict[str, str] | None = None,
    parent_argv: Sequence[str] | None = None,
) -> int | None:
    """How many worker processes serve this application, when it can be told: uvicorn's
    ``--workers``, gunicorn's ``-w``/``--workers`` or ``GUNICORN_CMD_ARGS``, and
    ``WEB_CONCURRENCY`` (both servers' default). None when not under uvicorn or gunicorn."""
    env = dict(os.environ) if environ is None else environ
    candidates = [
        list(sys.argv) if argv is None else list(argv),
        _parent_argv() if parent_argv is None else list(parent_argv),
    ]
    server = None
    for args in candidates:
        server = _server_argv(args)
        if server is None:
            continue
        n = _workers_option(args, server)
        if n is None and server == "gunicorn" and env.get("GUNICORN_CMD_ARGS"):
            n = _workers_option(env["GUNICORN_CMD_ARGS"].split(), server)
        if n is not None:
            return n
        break
    if server is None and env.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        server = "gunicorn"
    if server is None:
        return None
    try:
        return int(env.get("WEB_CONCURRENCY", "1"))
    except ValueError:
        return 1


def check_workers(engine: ServiceEngine, workers: int | None = None) -> None:
    """Refuse a per-process session store under several workers (see the module docs)."""
    from wssc.store.memory import MemoryStore

    n = detect_workers() if workers is None else workers
    if n is None or n <= 1:
        return
    cookie = not engine.scs.require_cancellation
    per_process = isinstance(engine.sessions.store, MemoryStore)
    if per_process and not cookie and engine.scs.establish_security_context:
        message = (
            f"{n} worker processes share no memory: a session issued by one worker is unknown "
            "to the others (BadContextToken). Use cookie mode (require_cancellation=False, "
            "wssc serve --no-require-cancellation) or a shared store (RedisStore, "
            "--store redis://HOST:PORT/DB), or run one worker"
        )
        if os.environ.get(ALLOW_ENV) == "1":
            log.warning("%s (%s=1: going on, sticky sessions assumed)", message, ALLOW_ENV)
        else:
            raise ConfigurationError(message + f"; set {ALLOW_ENV}=1 if the load balancer is sticky")
    if engine.negotiated is not None and not engine.scs.establish_security_context:
        message = (
            f"{n} worker processes share no memory: the token a negotiation issued in one "
            "worker (it protects each message: no secure session) is unknown to the others. "
            "Run one worker"
        )
        if os.environ.get(ALLOW_ENV) == "1":
            log.warning("%s (%s=1: going on, sticky sessions assumed)", message, ALLOW_ENV)
        else:
            raise ConfigurationError(message + f", or set {ALLOW_ENV}=1 if the load balancer is sticky")
    codec = engine.sessions.codec
    if cookie and codec is not None and getattr(codec.keyring, "generated", False):
        raise ConfigurationError(
            f"{n} worker processes, each with a cookie key ring of its own (none was given, "
            "so each generated one): a cookie sealed by one worker cannot be opened by the "
            "others. Give every worker the same ring: keyring=KeyRing.from_file(PATH) "
            "(wssc.store.cookie; create it once with KeyRing.generate().to_file(PATH))"
        )
    from wssc.security.replay import MemoryReplayCache

    if isinstance(engine.replay, MemoryReplayCache):
        log.warning(
            "%d workers: the replay cache is per process, so a message replayed to another "
            "worker is not detected as a replay there (its Timestamp still limits the window); "
            "share one with replay_cache=RedisReplayCache(...) (wssc serve --store redis://)",
            n,
        )


def startup(engine: ServiceEngine) -> None:
    """Both, in order: logging first, so that a refusal is logged where the operator looks."""
    attach_logging()
    try:
        check_workers(engine)
    except ConfigurationError as exc:
        log.critical("refusing to start: %s", exc.detail)
        raise


__all__ = ["attach_logging", "check_workers", "detect_workers", "startup"]
