"""The Mono peer's contract (``urn:pywcf-interop:echo`` IEcho) served by wssc, for the live
Mono tests: ``python mono_service.py VARIANT PORT CERT_DIR``.

``VARIANT`` is a Mono harness variant: ``anoncert`` / ``wshttp-msg-none-nosc`` (AnonymousForCertificate
without a security context) or ``sc-anoncert-cancel`` (with one). The certificate is the Mono
harness's ``server.crt``/``server.key``, which its client trusts.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

from wssc.certs import load
from wssc.contract import operation, service_contract
from wssc.service.asgi import AsgiApp
from wssc.service.engine import ServiceEngine
from wssc.settings import MONO_COMPATIBLE, WS2007, WSHTTP, EndpointSettings, SecureConversationSettings
from wssc.store.cookie import KeyRing


@service_contract(namespace="urn:pywcf-interop:echo", name="IEcho")
class Echo:
    @operation
    def Echo(self, text: str) -> str:
        return "echo:" + text

    @operation
    def Add(self, a: int, b: int) -> int:
        return a + b


def main() -> None:
    variant, port, certs = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    settings = EndpointSettings(
        SecureConversationSettings(
            establish_security_context=variant.startswith("sc-"),
            require_cancellation="nocancel" not in variant,
            message_security_version=WS2007 if variant.endswith("sc13") else WSHTTP,
        )
    )
    engine = ServiceEngine(
        Echo(),
        settings=settings,
        address=f"http://127.0.0.1:{port}/svc",
        certificate=load(certs / "server.crt", certs / "server.key"),
        keyring=KeyRing.generate(),
        compatibility=MONO_COMPATIBLE,
    )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(AsgiApp(engine), host="127.0.0.1", port=port, log_level="info")


if __name__ == "__main__":
    main()
