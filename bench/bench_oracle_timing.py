"""How long the service takes to refuse each kind of forged message (the timing side channel).

On the wire every security failure is the same generic fault (tests/attacks/ check the bytes);
what is left to an attacker is time. This measures, in process (ServiceEngine.handle, no
network noise), the median time to answer each variant an eavesdropper can make from a
captured session message, and the time of the valid message for comparison.

    .venv/bin/python bench/bench_oracle_timing.py [--n 400]

Figures go to SECURITY.md. The variants that reach the ciphertext of the encrypted Signature
(the one decryption done before authentication) are the ones that matter: a padding error, a
clean decryption that is not a Signature, and a Signature whose HMAC fails.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time
from collections.abc import Callable

from lxml import etree

from wssc.bootstrap import AnonymousForCertificateClient, TransportInfo
from wssc.certs import Certificate, generate_self_signed
from wssc.contract import get_contract
from wssc.demo import Calculator
from wssc.service.engine import Dispatch, HttpRequest, ServiceEngine, run_dispatch_sync
from wssc.session.client import ClientSession
from wssc.settings import EndpointSettings
from wssc.xml import ns
from wssc.xml.parse import parse_xml

XENC = f"{{{ns.XENC}}}"
WSSE = f"{{{ns.WSSE}}}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="requests per variant (default 400)")
    n = ap.parse_args().n
    cert = generate_self_signed()
    s = EndpointSettings()
    engine = ServiceEngine(Calculator(), settings=s, address="http://x/svc", certificate=cert)
    engine.replay = None  # measure the crypto path, not the replay refusal
    add = get_contract(Calculator).operation("Add")
    c = ClientSession(s, AnonymousForCertificateClient(Certificate(cert.cert)), "http://x/svc")

    def post(body: bytes) -> int:
        r = engine.handle(
            HttpRequest("POST", "/svc", "", {"content-type": "application/soap+xml"}, body, TransportInfo())
        )
        if isinstance(r, Dispatch):
            r = run_dispatch_sync(r)
        return r.status

    now = time.time()
    out = c.issue_request(now)
    r = engine.handle(
        HttpRequest("POST", "/svc", "", {"content-type": out.content_type}, out.body, TransportInfo())
    )
    assert not isinstance(r, Dispatch)
    c.issue_response(r.body, out, now)
    good = c.app_request(add, {"a": 1, "b": 2}, now).body

    def sig_cv(root: etree._Element) -> etree._Element:
        sec = root.find(f".//{WSSE}Security")
        assert sec is not None
        cv = sec.findall(f"{XENC}EncryptedData")[-1].find(f"{XENC}CipherData/{XENC}CipherValue")
        assert cv is not None
        return cv

    def body_cv(root: etree._Element) -> etree._Element:
        cv = root.find(f".//{{{ns.SOAP12}}}Body/{XENC}EncryptedData/{XENC}CipherData/{XENC}CipherValue")
        assert cv is not None
        return cv

    def flipped(pick: Callable[[etree._Element], etree._Element], back: int) -> bytes:
        root = parse_xml(good)
        cv = pick(root)
        raw = bytearray(base64.b64decode(cv.text or ""))
        raw[len(raw) - back] ^= 0x01
        cv.text = base64.b64encode(bytes(raw)).decode()
        return etree.tostring(root)

    variants = {
        "valid message (200)": good,
        "signature: bad padding (last block flipped)": flipped(sig_cv, 1),
        "signature: garbage plaintext (IV-side block flipped)": flipped(sig_cv, 40),
        "signature: decrypts, HMAC fails (digest byte flipped)": flipped(sig_cv, 200),
        "body: bad padding (under the valid signature)": flipped(body_cv, 1),
        "body: garbage plaintext (under the valid signature)": flipped(body_cv, 40),
    }
    for body in variants.values():  # warm up
        for _ in range(20):
            post(body)
    print(f"median service time per variant, n={n} each (in process, one run):")
    base = None
    for name, body in variants.items():
        times = []
        for _ in range(n):
            t = time.perf_counter()
            post(body)
            times.append(time.perf_counter() - t)
        med = statistics.median(times) * 1e6
        base = base or med
        print(f"  {name:58s} {med:8.0f} µs  ({med / base:4.2f}× valid)")


if __name__ == "__main__":
    main()
