"""Fuzz target: the Security-header processor, as the service runs it.

Input: one selector byte, then a message. Selector bits::

    bit 0     version family: 0 = WSHttpBinding (SC Feb 2005), 1 = WS2007 (SC 1.3)
    bits 1-2  0: ``wssc.security.inbound.verify`` with a session-key resolver, the service's
                 own MessagePolicy (from a ServiceEngine with default settings) and a replay
                 cache, at the fixed clock;
              1: the same, relaxed for the WSS4J vectors: no expiry check (they carry old
                 timestamps), addressing headers and Body encryption not required;
              2: the AnonymousForCertificate bootstrap (an RST with an EncryptedKey unwrapped
                 by the service's private key), as the engine runs it; with bit 3 set, a
                 Renew under that bootstrap, endorsed by a session's SCT (WCF's shape);
              3: "authenticated garbage": the rest is a plaintext envelope that the harness
                 secures itself with a known session key, then verifies: this reaches the
                 code behind the signature and decryption checks.

Seeds: ``fuzz/seeds.py`` (real messages made by wssc's client against its service, and the
WSS4J peer's vectors).
"""

from __future__ import annotations

import dataclasses

import common

from wssc.bootstrap import TransportInfo
from wssc.certs import dev_certificate
from wssc.demo import Calculator
from wssc.errors import InvalidSecurity
from wssc.security import SctProtection, protect, verify
from wssc.security.replay import MemoryReplayCache
from wssc.service.engine import ServiceEngine
from wssc.settings import WS2007, WSHTTP, EndpointSettings, SecureConversationSettings
from wssc.tokens import SecurityContextToken
from wssc.xml.ns import ScVersion
from wssc.xml.parse import parse_xml

CERT, _, _ = dev_certificate(common.WORK)
KEYS = common.keys()
ENGINES = [
    ServiceEngine(
        Calculator(),
        settings=EndpointSettings(SecureConversationSettings(message_security_version=v)),
        address="http://fuzz/svc",
        certificate=CERT,
        clock=lambda: common.T0,
    )
    for v in (WSHTTP, WS2007)
]
SEALED_SCT = SecurityContextToken("urn:uuid:fuzz-sealed")
SEALED_KEY = bytes(range(32))
KEYS[f"{SEALED_SCT.identifier}|"] = SEALED_KEY


def resolve(sct: SecurityContextToken, sc: ScVersion) -> bytes | None:
    return KEYS.get(f"{sct.identifier}|{sct.instance or ''}")


#: ``verify`` turns a stray ValueError/TypeError/KeyError/IndexError/lxml error into
#: InvalidSecurity with this detail. For the campaign that is still an untyped exception (a
#: code path that only a catch-all keeps typed): a finding.
MASKED = "the security header could not be processed ("


def target(data: bytes) -> None:
    try:
        _target(data)
    except InvalidSecurity as exc:
        if exc.detail and exc.detail.startswith(MASKED):
            raise AssertionError(f"untyped exception behind verify's catch-all: {exc.detail}") from exc
        raise


def _target(data: bytes) -> None:
    if len(data) < 2:
        return
    sel, msg = data[0], data[1:]
    engine = ENGINES[sel & 1]
    mode = (sel >> 1) & 3
    policy = engine.policy
    if mode == 2:
        boot = engine.bootstrap.verify(
            msg,
            TransportInfo(),
            policy,
            common.T0,
            MemoryReplayCache(),
            endorsing=resolve if sel & 8 else None,
        )
        boot.message.to_bytes()
        return
    if mode == 3:
        root = parse_xml(msg)
        try:  # the outbound side is not under test: skip what it cannot secure
            root = protect(root, SctProtection(SEALED_SCT, SEALED_KEY, include=False), policy, now=common.T0)
        except Exception:
            return
        msg = root
    elif mode == 1:
        policy = dataclasses.replace(
            policy, check_expiry=False, require_signed_addressing=False, require_encrypted_body=None
        )
    result = verify(msg, resolver=resolve, policy=policy, now=common.T0, replay_cache=MemoryReplayCache())
    result.to_bytes()
    result.describe()


if __name__ == "__main__":
    common.main(target)
