"""Seed corpus generator: real messages made by wssc's own client and service, plus the WSS4J
peer's saved vectors.

    python fuzz/seeds.py [WORKDIR]        (default fuzz/work, or $WSSC_FUZZ_WORK)

Writes ``WORKDIR/seeds/<target>/*`` for every harness, ``WORKDIR/keys.json`` (SCT identifier
-> session key of the secured seeds) and the service certificate ``WORKDIR/dev-*.pem``. All
messages are made at the fixed clock ``T0`` the harnesses verify at.

Seed formats (the first byte of a ``verify`` or ``cookie`` seed selects the mode, see the
harness docstrings).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from lxml import etree

from wssc.bootstrap import AnonymousForCertificateClient, TransportInfo
from wssc.certs import Certificate, dev_certificate
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.service.engine import Dispatch, HttpRequest, HttpResponse, ServiceEngine, run_dispatch_sync
from wssc.session.client import ClientSession
from wssc.settings import (
    WS2007,
    WSHTTP,
    EndpointSettings,
    KeyEntropyMode,
    MessageSecurityVersion,
    SecureConversationSettings,
)
from wssc.store.cookie import CookieCodec, KeyRing
from wssc.store.record import SessionRecord
from wssc.xml.parse import parse_xml
from wssc.xml.soap import SOAP_11, SOAP_12, Envelope, new_envelope

T0 = 1_800_000_000.0
HERE = Path(__file__).resolve().parent
WSS4J_VECTORS = HERE.parent.parent / "shared" / "peers" / "wss4j" / "vectors"
FAMILIES: dict[int, MessageSecurityVersion] = {0: WSHTTP, 1: WS2007}
#: The cookie harness's fixed key ring (its own test key, not a secret of anything).
COOKIE_KEY = bytes(range(100, 132))


def engine_for(version: MessageSecurityVersion, cert: Certificate, **sc: object) -> ServiceEngine:
    settings = EndpointSettings(SecureConversationSettings(message_security_version=version, **sc))  # type: ignore[arg-type]
    return ServiceEngine(
        Calculator(), settings=settings, address="http://fuzz/svc", certificate=cert, clock=lambda: T0
    )


def key_name(identifier: str, instance: str | None) -> str:
    return f"{identifier}|{instance or ''}"


class Writer:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, target: str, data: bytes) -> None:
        d = self.root / target
        d.mkdir(parents=True, exist_ok=True)
        (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def _post(engine: ServiceEngine, body: bytes) -> HttpResponse:
    r = engine.handle(
        HttpRequest("POST", "/svc", "", {"content-type": "application/soap+xml"}, body, TransportInfo())
    )
    return run_dispatch_sync(r) if isinstance(r, Dispatch) else r


def _payload(body: bytes) -> bytes:
    p = Envelope(parse_xml(body)).payload
    assert p is not None
    return etree.tostring(p)


def session_messages(w: Writer, cert: Certificate, keys: dict[str, str]) -> None:
    """Run real sessions (issue, application call, renew, cancel) in both version families."""
    contract = get_contract(Calculator)
    for family, version in FAMILIES.items():
        engine = engine_for(version, cert)
        cs = ClientSession(
            engine.settings, AnonymousForCertificateClient(Certificate(cert.cert)), "http://fuzz/svc"
        )
        out = cs.issue_request(T0)
        w.put("verify", bytes([family | 4]) + out.body)  # bootstrap mode
        w.put("trust", bytes([family]) + _payload(out.body))
        reply = _post(engine, out.body)
        assert reply.status == 200, reply.body[:400]
        cs.issue_response(reply.body, out, T0)
        assert cs.sct is not None and cs.key is not None
        keys[key_name(cs.sct.identifier, cs.sct.instance)] = cs.key.hex()
        for name, args in (("Add", {"a": 1, "b": 2}), ("Echo", {"text": "fuzz <&> me"})):
            out = cs.app_request(contract.operation(name), args, T0)
            w.put("verify", bytes([family]) + out.body)
            w.put("parse", out.body)
        out = cs.renew_request(T0)  # WCF's shape: the bootstrap, the SCT endorsing it
        w.put("verify", bytes([family | 4 | 8]) + out.body)
        w.put("trust", bytes([family]) + _renew_payload(out.body, engine, keys))
        renewed = _post(engine, out.body)
        assert renewed.status == 200, renewed.body[:400]
        assert out.boot is not None
        reply = cs.bootstrap.verify_reply(renewed.body, out.boot, cs.policy, T0).envelope.payload
        assert reply is not None
        w.put("trust", bytes([family | 2]) + etree.tostring(reply))
        cs.renew_response(renewed.body, out, T0)
        assert cs.sct is not None and cs.key is not None
        keys[key_name(cs.sct.identifier, cs.sct.instance)] = cs.key.hex()
        cancel = cs.cancel_request(T0)
        assert cancel is not None
        w.put("verify", bytes([family]) + cancel.body)
        w.put("trust", bytes([family]) + _decrypted_payload(cancel.body, engine, keys))
        # sealed mode: the plaintext envelope that the harness protects itself
        env = new_envelope(SOAP_12 if family == 0 else SOAP_11, action="urn:fuzz:Echo", to="http://fuzz/svc")
        w.put("verify", bytes([family | 6]) + etree.tostring(env))
        body = env[-1]
        etree.SubElement(body, "{urn:fuzz}Echo").text = "x"
        w.put("verify", bytes([family | 6]) + etree.tostring(env))


def _decrypted_payload(body: bytes, engine: ServiceEngine, keys: dict[str, str]) -> bytes:
    from wssc.security import verify

    table = {k: bytes.fromhex(v) for k, v in keys.items()}
    result = verify(
        body,
        resolver=lambda sct, sc: table.get(key_name(sct.identifier, sct.instance)),
        policy=engine.policy,
        now=T0,
    )
    p = result.envelope.payload
    assert p is not None
    return etree.tostring(p)


def _renew_payload(body: bytes, engine: ServiceEngine, keys: dict[str, str]) -> bytes:
    table = {k: bytes.fromhex(v) for k, v in keys.items()}
    boot = engine.bootstrap.verify(
        body,
        TransportInfo(),
        engine.policy,
        T0,
        endorsing=lambda sct, sc: table.get(key_name(sct.identifier, sct.instance)),
    )
    p = boot.message.envelope.payload
    assert p is not None
    return etree.tostring(p)


def issue_replies(w: Writer, cert: Certificate) -> None:
    """RSTRs of an Issue, as the client reads them (after the bootstrap reply is verified)."""
    for family, version in FAMILIES.items():
        for entropy in (KeyEntropyMode.COMBINED, KeyEntropyMode.SERVER, KeyEntropyMode.CLIENT):
            engine = engine_for(version, cert, key_entropy_mode=entropy)
            cs = ClientSession(
                engine.settings, AnonymousForCertificateClient(Certificate(cert.cert)), "http://fuzz/svc"
            )
            out = cs.issue_request(T0)
            reply = _post(engine, out.body)
            assert out.boot is not None
            result = cs.bootstrap.verify_reply(reply.body, out.boot, cs.policy, T0)
            p = result.envelope.payload
            assert p is not None
            w.put("trust", bytes([family | 2]) + etree.tostring(p))


def wss4j_vectors(w: Writer, keys: dict[str, str]) -> None:
    manifest = WSS4J_VECTORS / "manifest.json"
    if not manifest.exists():
        print(f"seeds: no WSS4J vectors at {WSS4J_VECTORS}; skipped", file=sys.stderr)
        return
    m = json.loads(manifest.read_text())
    import base64

    keys[key_name(m["sct_identifier"], None)] = base64.b64decode(m["secret"]).hex()
    for sub in ("messages", "negative"):
        for f in sorted((WSS4J_VECTORS / sub).glob("*.xml")):
            data = f.read_bytes()
            for family in FAMILIES:
                w.put("verify", bytes([family | 2]) + data)  # no expiry check: old timestamps
            w.put("parse", data)


def wsdls(w: Writer, cert: Certificate) -> None:
    variants: list[dict[str, object]] = [
        {},
        {"require_cancellation": False},
        {"algorithm_suite": "Basic128"},
        {"encrypt_signature": False},
        {"key_entropy_mode": KeyEntropyMode.SERVER},
    ]
    for version in FAMILIES.values():
        for v in variants:
            try:
                engine = engine_for(version, cert, **v)
            except Exception as exc:  # a variant this build cannot serve: say so, go on
                print(f"seeds: wsdl variant {v} skipped: {exc}", file=sys.stderr)
                continue
            data = engine.wsdl()
            w.put("policy", data)
            w.put("parse", data)


def cookies(w: Writer) -> None:
    codec = CookieCodec(KeyRing({"k1": COOKIE_KEY}, "k1"))
    for i, rec in enumerate(
        [
            SessionRecord("urn:uuid:fuzz-1", None, os.urandom(32), T0, T0 + 3600, T0, T0 + 900),
            SessionRecord(
                "urn:uuid:fuzz-2",
                "urn:uuid:inst",
                os.urandom(32),
                T0,
                float("inf"),
                T0,
                T0 + 900,
                "alice",
                True,
                os.urandom(32),
                "urn:uuid:old",
                T0 + 30,
                "urn:other-sc",
                T0,
            ),
        ]
    ):
        w.put("cookie", bytes([0, i]) + codec.seal(rec))  # sealed cookie, opened as is
        w.put("cookie", bytes([1, i]) + rec.to_bytes())  # record bytes, sealed by the harness


def main() -> None:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("WSSC_FUZZ_WORK", str(HERE / "work")))
    work.mkdir(parents=True, exist_ok=True)
    cert, _, _ = dev_certificate(work)
    w = Writer(work / "seeds")
    keys: dict[str, str] = {}
    session_messages(w, cert, keys)
    issue_replies(w, cert)
    wss4j_vectors(w, keys)
    wsdls(w, cert)
    cookies(w)
    w.put("parse", b"<a/>")
    (work / "keys.json").write_text(json.dumps(keys, indent=1))
    for d in sorted((work / "seeds").iterdir()):
        print(f"seeds: {d.name}: {len(list(d.iterdir()))} files")


if __name__ == "__main__":
    main()
