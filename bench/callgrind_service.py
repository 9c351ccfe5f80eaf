"""Instructions the service spends per secured call, and how much of it is glue.

    .venv/bin/python bench/callgrind_service.py [--low 10] [--high 60] [--only secured,plain,path]

Counts, with valgrind's callgrind, three things per call of the demo Calculator's Echo over
an open session (default settings: SOAP 1.2, WS-SC Feb 2005, Basic256, derived keys):

* ``secured``: ``ServiceEngine.handle`` of the client's secured request plus the synchronous
  dispatch (``run_dispatch_sync``: the operation, the reply encoded, protected, serialized);
* ``plain``: the same for ``UnsecuredEngine`` (bench_sessions.py: the same engine type and
  contract codec, no WS-Security) and a plain request;
* ``path``: the message path alone: one ``verify`` of the same secured request (bytes: the
  hardened parse included) under the engine's policy and a replay cache like the engine's,
  and one ``protect`` of a reply envelope built beforehand, serialized.

``glue = secured - path``: what the call costs outside ``verify`` and ``protect`` (the
session lookup, the address filter, the request decode, the reply envelope, the fault and
dispatch plumbing). Each mode runs twice under ``valgrind --tool=callgrind`` (``--_run MODE N
HIGH CERT_DIR``): both runs build HIGH requests first (the client's protect is set-up, not counted),
then handle N of them, so ``(I(high) - I(low)) / (high - low)`` is the cost of one call,
start-up, imports and set-up cancelling out. An instruction count does not depend on the load
of a shared machine.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from callgrind_roundtrip import collected  # bench/ is sys.path[0] when this runs

HERE = Path(__file__).resolve().parent

MODES = ("secured", "plain", "path")


def _setup(mode: str, high: int, cert_dir: Path) -> Callable[[int], None]:
    """Build everything for ``high`` calls; return the function that makes call ``i``."""
    sys.path.insert(0, str(HERE))
    from bench_sessions import (
        PLAIN_CTYPE,
        TEXT,
        UnsecuredEngine,
        new_client_session,
        open_inproc,
        plain_body,
        post_inproc,
    )
    from lxml import etree

    from wssc.certs import load
    from wssc.contract import encode_response, get_contract
    from wssc.demo import Calculator
    from wssc.security.inbound import verify
    from wssc.security.outbound import protect
    from wssc.security.replay import MemoryReplayCache
    from wssc.security.tokens import SctProtection
    from wssc.service.engine import ServiceEngine
    from wssc.settings import EndpointSettings
    from wssc.tokens.sct import SecurityContextToken
    from wssc.xml.soap import SOAP_12, new_envelope

    to = "http://127.0.0.1:1/svc"
    settings = EndpointSettings()
    cert = load(cert_dir / "cert.pem", cert_dir / "key.pem")  # RSA key generation is not counted
    op = get_contract(Calculator).operation("Echo")

    if mode == "plain":
        engine = UnsecuredEngine(Calculator(), settings=settings, address=to, certificate=cert)
        bodies = [plain_body(op, to) for _ in range(high)]

        def plain(i: int) -> None:
            r = post_inproc(engine, bodies[i], PLAIN_CTYPE)
            if r.status != 200:
                raise RuntimeError(f"plain Echo: HTTP {r.status}")

        return plain

    engine = ServiceEngine(Calculator(), settings=settings, address=to, certificate=cert)
    cs = new_client_session(settings, cert, to)
    open_inproc(cs, engine)
    now = time.time()
    outs = [cs.app_request(op, {"text": TEXT}, now) for _ in range(high)]

    if mode == "secured":
        first = post_inproc(engine, outs[0].body, outs[0].content_type)  # activates the session
        if cs.app_response(first.body, outs[0], now) != TEXT:
            raise RuntimeError("secured Echo returned something else")

        def secured(i: int) -> None:
            r = post_inproc(engine, outs[i].body, outs[i].content_type)
            if r.status != 200:
                raise RuntimeError(f"secured Echo: HTTP {r.status}: {r.body[:300]!r}")

        return secured

    # the message path alone, with the session's key and the engine's policy
    sct = cs.sct
    assert sct is not None
    rec = engine.sessions.store.get(sct.identifier)
    assert rec is not None
    key, created = rec.key, rec.created
    svc = settings.service
    cache = MemoryReplayCache(
        svc.replay_cache_size, svc.replay_quota_per_session, svc.replay_quota_per_peer, epoch=created - 1
    )
    token = SctProtection(
        SecurityContextToken(sct.identifier, sct.instance, None, sct.wsu_id), key, include=False
    )
    reply = new_envelope(
        SOAP_12, action=op.reply_action, payload=encode_response(op, TEXT), relates_to="urn:uuid:x"
    )
    replies = [copy.deepcopy(reply) for _ in range(high)]
    policy = engine.policy

    def path(i: int) -> None:
        res = verify(
            outs[i].body,
            resolver=lambda s, sc: key,
            policy=policy,
            now=now,
            replay_cache=cache,
            issued_at=lambda s: created,
        )
        if res.signing_sct is None:
            raise RuntimeError("the request was not signed by the SCT")
        etree.tostring(protect(replies[i], token, policy, now=now), encoding="utf-8")

    return path


def _run(mode: str, n: int, high: int, cert_dir: Path) -> None:
    call = _setup(mode, high + 1, cert_dir)
    for i in range(1, n + 1):
        call(i)


def count(mode: str, n: int, high: int, cert_dir: Path) -> int:
    return collected(Path(__file__).resolve(), ["--_run", mode, str(n), str(high), str(cert_dir)])


def measure(mode: str, cert_dir: Path, low: int = 10, high: int = 60) -> float:
    return (count(mode, high, high, cert_dir) - count(mode, low, high, cert_dir)) / (high - low)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--low", type=int, default=10, help="calls of the short run (default 10)")
    ap.add_argument("--high", type=int, default=60, help="calls of the long run (default 60)")
    ap.add_argument(
        "--only", default=",".join(MODES), help="comma-separated modes: secured, plain, path (default all)"
    )
    ap.add_argument("--_run", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._run is not None:
        _run(a._run[0], int(a._run[1]), int(a._run[2]), Path(a._run[3]))
        return 0
    modes = [m for m in a.only.split(",") if m]
    bad = [m for m in modes if m not in MODES]
    if bad:
        ap.error(f"unknown mode(s): {', '.join(bad)} (choose from {', '.join(MODES)})")
    from wssc.certs import generate_self_signed, save

    with tempfile.TemporaryDirectory(prefix="wssc-cg-cert-") as d:
        save(generate_self_signed("wssc-bench"), Path(d) / "cert.pem", Path(d) / "key.pem")
        got: dict[str, float] = {}
        for m in modes:
            got[m] = measure(m, Path(d), a.low, a.high)
            print(f"{m:8}: {got[m] / 1e6:.3f}M instructions per call", flush=True)
    if "secured" in got and "plain" in got:
        print(f"secured / plain: {got['secured'] / got['plain']:.2f}x")
    if "secured" in got and "path" in got:
        glue = got["secured"] - got["path"]
        print(f"glue (secured - path): {glue / 1e6:.3f}M, {glue / got['secured']:.1%} of the secured call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
