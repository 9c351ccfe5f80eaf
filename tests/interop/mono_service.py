"""The Mono peer's contract (``urn:pywcf-interop:echo`` IEcho) served by wssc, for the live
Mono tests: ``python mono_service.py VARIANT PORT CERT_DIR [TRUSTED_CLIENT_CERT]``.

``VARIANT`` is a Mono harness variant: ``anoncert`` / ``wshttp-msg-none-nosc`` (AnonymousForCertificate
without a security context), ``userforcert`` / ``wshttp-msg-user-nosc`` (UserNameForCertificate,
alice/secret), ``mutualcert`` / ``wshttp-msg-cert-nosc`` (MutualCertificate, WS-Security 1.1
shape, the harness's ``client.crt`` trusted as a peer, or ``TRUSTED_CLIENT_CERT`` instead), or
``sc-anoncert-cancel`` (with a security context). The certificate is the Mono harness's
``server.crt``/``server.key``, which its client trusts.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

from wssc.bootstrap.registry import ServiceCredentials
from wssc.certs import load
from wssc.contract import operation, service_contract
from wssc.security.x509_validation import CertificateValidator
from wssc.service.asgi import AsgiApp
from wssc.service.engine import ServiceEngine
from wssc.settings import (
    MONO_COMPATIBLE,
    WS2007,
    WSHTTP,
    Bootstrap,
    EndpointSettings,
    SecureConversationSettings,
)
from wssc.store.cookie import KeyRing


@service_contract(namespace="urn:pywcf-interop:echo", name="IEcho")
class Echo:
    @operation
    def Echo(self, text: str) -> str:
        return "echo:" + text

    @operation
    def Add(self, a: int, b: int) -> int:
        return a + b


#: The bootstrap each one-shot Mono variant uses (the harness's ``Variants.Create``).
BOOTSTRAP_OF = {
    "userforcert": Bootstrap.USERNAME_FOR_CERTIFICATE,
    "wshttp-msg-user-nosc": Bootstrap.USERNAME_FOR_CERTIFICATE,
    "mutualcert": Bootstrap.MUTUAL_CERTIFICATE,
    "wshttp-msg-cert-nosc": Bootstrap.MUTUAL_CERTIFICATE,
}


def main() -> None:
    variant, port, certs = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    trusted = Path(sys.argv[4]) if len(sys.argv) > 4 else certs / "client.crt"
    settings = EndpointSettings(
        SecureConversationSettings(
            bootstrap=BOOTSTRAP_OF.get(variant, Bootstrap.ANONYMOUS_FOR_CERTIFICATE),
            establish_security_context=variant.startswith("sc-"),
            require_cancellation="nocancel" not in variant,
            message_security_version=WS2007 if variant.endswith("sc13") else WSHTTP,
        )
    )
    credentials = ServiceCredentials(
        certificate=load(certs / "server.crt", certs / "server.key"),
        username_validator=lambda user, password: (user, password) == ("alice", "secret"),
        client_certificate_validator=CertificateValidator.peer_trust(load(trusted)),
    )
    engine = ServiceEngine(
        Echo(),
        settings=settings,
        address=f"http://127.0.0.1:{port}/svc",
        credentials=credentials,
        keyring=KeyRing.generate(),
        compatibility=MONO_COMPATIBLE,
    )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(AsgiApp(engine), host="127.0.0.1", port=port, log_level="info")


if __name__ == "__main__":
    main()
