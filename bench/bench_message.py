"""Per-message cost of protect + verify (sign + encrypt), against a floor and zeep + xmlsec.

    .venv/bin/python bench/bench_message.py [--quick] [--json] [--rounds N] [--block-ms MS]

One run measures three things on the same 1 KB-body SOAP 1.2 message (WS-Addressing Action,
MessageID and To headers):

* ``wssc``   parse plain -> :func:`wssc.security.protect_wire` (Basic256, derived keys, Timestamp +
  addressing headers + Body signed, Body and Signature encrypted; the wire bytes, as the
  client's and the service's session messages are written), then
  parse -> :func:`wssc.security.verify` (decrypt, check digests and HMAC, enforce policy).
* ``floor``  bench/floor_same.py: the very bytes wssc writes (same layout, ids, prefixes,
  exclusive c14n; checked byte for byte with the same random stream and clock), written with
  string templates around lxml, hashlib/hmac and cryptography, and read by position (nonces,
  cipher values, Reference URIs where wssc's layout puts them): derive both keys, decrypt Body
  and Signature, re-digest the five signed parts, check the HMAC. No policy, limits or fault
  mapping. Checked in the run: the floor verifies wssc's message and wssc the floor's.
* ``zeep``   zeep.wsse.signature.Signature with xmlsec, X.509 RSA-SHA1 over Body + Timestamp
  (self-signed 2048-bit key generated at start): parse plain -> apply -> serialize, then
  parse -> verify. Signature only, no encryption.

Each round runs every benchmark for about ``--block-ms`` (interleaved, so machine noise hits
all three alike), with the garbage collector off as ``timeit`` does; the figure is the median
over rounds of the per-message time (the minimum is shown too). Targets: wssc <= 1.5x the floor (issue 19),
zeep >= 10x slower than wssc.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cryptography import __version__ as cryptography_version
from lxml import etree

from wssc.security import MessagePolicy, SctProtection, protect_wire, verify
from wssc.tokens import SecurityContextToken
from wssc.xml.parse import DEFAULT_LIMITS, ParserLimits, parse_xml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor_same import SameBytesFloor, same_bytes_check

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
WSU_ID = f"{{{WSU}}}Id"

TARGET_FLOOR_RATIO = 1.5
TARGET_ZEEP_RATIO = 10.0


# --------------------------------------------------------------------------------------------
# The message
# --------------------------------------------------------------------------------------------
def build_plain(payload_bytes: int = 1024) -> bytes:
    """A SOAP 1.2 envelope with Action/MessageID/To and a Body payload of payload_bytes
    (the serialized ``p:Op`` element, padded with a ``p:Note`` to the exact size)."""
    head = '<p:Op xmlns:p="http://tempuri.org/">'
    tail = "</p:Op>"
    note_open, note_close = "<p:Note>", "</p:Note>"
    items = ""
    i = 0
    while True:
        item = f'<p:Item id="{i}"><p:Name>item number {i}</p:Name><p:Value>{i * 37}</p:Value></p:Item>'
        fixed = len(head) + len(items) + len(item) + len(note_open) + len(note_close) + len(tail)
        if fixed > payload_bytes:
            break
        items += item
        i += 1
    fill = payload_bytes - (len(head) + len(items) + len(note_open) + len(note_close) + len(tail))
    note = f"{note_open}{'lorem ipsum ' * (fill // 12 + 1)}"[: len(note_open) + max(fill, 0)]
    payload = f"{head}{items}{note}{note_close}{tail}"
    return (
        f'<s:Envelope xmlns:s="{SOAP12}" xmlns:a="{WSA}"><s:Header>'
        f'<a:Action s:mustUnderstand="1">http://tempuri.org/IService/Op</a:Action>'
        f"<a:MessageID>urn:uuid:{uuid.uuid4()}</a:MessageID>"
        f'<a:To s:mustUnderstand="1">https://service.example.org/svc.svc</a:To>'
        f"</s:Header><s:Body>{payload}</s:Body></s:Envelope>"
    ).encode()


# --------------------------------------------------------------------------------------------
# 1. wssc
# --------------------------------------------------------------------------------------------
def raised_limits(size: int) -> ParserLimits:
    """The default parser quotas, or bigger ones to fit a message of ``size`` bytes (and its
    secured form): wssc's limits raised, not dropped."""
    d = DEFAULT_LIMITS
    return replace(
        d,
        max_bytes=max(d.max_bytes, 2 * size + 65536),
        max_elements=max(d.max_elements, size // 16),
        max_attributes=max(d.max_attributes, size // 32),
    )


class WsscBench:
    name = "wssc"

    def __init__(self, plain: bytes) -> None:
        self.plain = plain
        # the parser's quotas raised to fit the message (a 5 MB Body has 200k elements)
        self.limits = raised_limits(len(plain))
        self.secret = os.urandom(32)
        self.token = SctProtection(SecurityContextToken(f"urn:uuid:{uuid.uuid4()}"), self.secret)
        self.policy = MessagePolicy()
        secret = self.secret
        self.resolver = lambda sct, sc: secret

    def protect(self) -> bytes:
        return protect_wire(parse_xml(self.plain, self.limits), self.token, self.policy)

    def verify(self, wire: bytes) -> object:
        return verify(wire, resolver=self.resolver, policy=self.policy, limits=self.limits)

    def check(self) -> int:
        wire = self.protect()
        res = self.verify(wire)
        assert res.body_signed and res.body_encrypted  # type: ignore[attr-defined]
        body = res.envelope.body  # type: ignore[attr-defined]
        got = b"".join(etree.tostring(c, method="c14n", exclusive=True) for c in body)
        want_body = etree.fromstring(self.plain)[1]
        want = b"".join(etree.tostring(c, method="c14n", exclusive=True) for c in want_body)
        assert got == want, "wssc round trip changed the body"
        return len(wire)


# --------------------------------------------------------------------------------------------
# 2. The floor: wssc's own wire bytes, written and read with minimal glue (bench/floor_same.py)
# --------------------------------------------------------------------------------------------
def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FloorBench:
    """:class:`floor_same.SameBytesFloor` on wssc's key and SCT. ``check`` proves that it
    writes the very bytes wssc writes (same random stream and clock), that each side accepts
    the other's message, and that the floor refuses a tampered one."""

    name = "floor"

    def __init__(self, wssc: WsscBench) -> None:
        self.wssc = wssc
        self.plain = wssc.plain
        sct = wssc.token.sct
        self.floor = SameBytesFloor(wssc.plain, wssc.secret, sct.identifier, sct.wsu_id)
        self.protect = self.floor.protect
        self.verify = self.floor.verify

    def check(self) -> int:
        w = self.wssc
        now = time.time()
        mine, theirs = same_bytes_check(
            lambda t: protect_wire(parse_xml(w.plain, w.limits), w.token, w.policy, now=t),
            self.floor,
            now,
        )
        assert mine == theirs, "the floor does not write wssc's bytes"
        want_body = etree.fromstring(self.plain)[1]
        want = b"".join(etree.tostring(c, method="c14n", exclusive=True) for c in want_body)
        root = self.verify(w.protect())  # the floor reads wssc's message
        got = b"".join(etree.tostring(c, method="c14n", exclusive=True) for c in root[1])
        assert got == want, "the floor decrypted wssc's body to something else"
        res = w.verify(self.protect())  # wssc reads the floor's message
        assert res.body_signed and res.body_encrypted  # type: ignore[attr-defined]
        body = res.envelope.body  # type: ignore[attr-defined]
        assert b"".join(etree.tostring(c, method="c14n", exclusive=True) for c in body) == want
        bad = etree.fromstring(self.protect())
        bad[0][0].text = "http://tempuri.org/IService/Other"
        try:
            self.verify(etree.tostring(bad))
        except ValueError:
            pass
        else:
            raise AssertionError("floor did not notice a tampered header")
        return len(theirs)


# --------------------------------------------------------------------------------------------
# 3. zeep + xmlsec, X.509 RSA-SHA1 signature
# --------------------------------------------------------------------------------------------
def _write_cert(directory: Path) -> tuple[Path, Path]:
    from wssc.certs import generate_self_signed, save

    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    save(generate_self_signed("wssc-bench"), cert_path, key_path)
    return key_path, cert_path


class ZeepBench:
    """parse -> add a Security header with a Timestamp (zeep signs Body + Timestamp) ->
    Signature.apply -> serialize; parse -> Signature.verify."""

    name = "zeep"

    def __init__(self, plain: bytes, tmp: Path) -> None:
        from zeep.wsse.signature import Signature

        self.plain = plain
        key_path, cert_path = _write_cert(tmp)
        self.sig = Signature(str(key_path), str(cert_path))
        self.parser = etree.XMLParser(resolve_entities=False, no_network=True)

    def protect(self) -> bytes:
        root = etree.fromstring(self.plain, self.parser)
        now = time.time()
        sec = etree.SubElement(root[0], f"{{{WSSE}}}Security", nsmap={"wsse": WSSE})
        ts = etree.SubElement(sec, f"{{{WSU}}}Timestamp", nsmap={"wsu": WSU})
        etree.SubElement(ts, f"{{{WSU}}}Created").text = _iso(now)
        etree.SubElement(ts, f"{{{WSU}}}Expires").text = _iso(now + 300)
        self.sig.apply(root, {})
        return etree.tostring(root)

    def verify(self, wire: bytes) -> object:
        return self.sig.verify(etree.fromstring(wire, self.parser))

    def check(self) -> int:
        from zeep.exceptions import SignatureVerificationFailed

        wire = self.protect()
        self.verify(wire)
        bad = etree.fromstring(wire)
        bad[1][0][0].text = "tampered"
        try:
            self.verify(etree.tostring(bad))
        except SignatureVerificationFailed:
            pass
        else:
            raise AssertionError("zeep did not notice a tampered body")
        n_refs = len(etree.fromstring(wire).findall(f".//{{{DS}}}Reference"))
        assert n_refs == 2, n_refs  # Body + Timestamp
        return len(wire)


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------
Bench = WsscBench | FloorBench | ZeepBench


CLOCK: Callable[[], int] = time.perf_counter_ns


def run_block(b: Bench, iters: int) -> tuple[int, int]:
    """``iters`` messages: protect then verify each. Returns (protect ns, verify ns)."""
    clock = CLOCK
    p = b.protect
    v = b.verify
    tp = tv = 0
    for _ in range(iters):
        t0 = clock()
        wire = p()
        t1 = clock()
        v(wire)
        t2 = clock()
        tp += t1 - t0
        tv += t2 - t1
    return tp, tv


def calibrate(b: Bench, block_ms: float) -> int:
    """Iterations for one block of about ``block_ms`` (after a warm-up)."""
    run_block(b, 20)
    n = 10
    while True:
        tp, tv = run_block(b, n)
        elapsed = (tp + tv) / 1e6
        if elapsed >= 20 or n >= 100_000:
            break
        n *= 4
    per = elapsed / n
    return max(5, int(block_ms / per))


def measure(
    benches: list[Bench], rounds: int, block_ms: float, log: Callable[[str], None]
) -> dict[str, dict[str, float | int | list[float]]]:
    iters = {b.name: calibrate(b, block_ms) for b in benches}
    log("iterations per round: " + ", ".join(f"{k} {v}" for k, v in iters.items()))
    samples: dict[str, list[tuple[float, float]]] = {b.name: [] for b in benches}
    gc_was = gc.isenabled()
    try:
        for r in range(rounds):
            # rotate the order so no benchmark always runs right after another
            order = benches[r % len(benches) :] + benches[: r % len(benches)]
            for b in order:
                gc.collect()
                gc.disable()
                tp, tv = run_block(b, iters[b.name])
                gc.enable()
                n = iters[b.name]
                samples[b.name].append((tp / n / 1e3, tv / n / 1e3))
    finally:
        if gc_was:
            gc.enable()
    out: dict[str, dict[str, float | int | list[float]]] = {}
    for name, s in samples.items():
        total = [p + v for p, v in s]
        out[name] = {
            "iterations_per_round": iters[name],
            "rounds": rounds,
            "median_us": statistics.median(total),
            "min_us": min(total),
            "max_us": max(total),
            "protect_median_us": statistics.median(p for p, _ in s),
            "verify_median_us": statistics.median(v for _, v in s),
            "rounds_us": [round(t, 2) for t in total],
        }
    return out


def profile_wssc(plain: bytes, n: int, top: int) -> None:
    """cProfile ``n`` wssc protect + verify round trips; print the top functions by own time.

    lxml's Cython calls are not seen by cProfile: their time counts as the caller's own time,
    so a wssc function with a high own time is often one doing many lxml calls."""
    import cProfile
    import pstats

    b = WsscBench(plain)
    run_block(b, 50)
    prof = cProfile.Profile()
    prof.enable()
    run_block(b, n)
    prof.disable()
    st = pstats.Stats(prof)
    rows = []
    for (path, line, func), (_cc, ncalls, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        if "/wssc/" in path and "/bench/" not in path:
            short = path[path.index("wssc/") :]
            rows.append((tt, ct, ncalls, f"{short}:{line}({func})"))
    total = float(st.total_tt)  # type: ignore[attr-defined]
    print(f"\ncProfile, {n} messages, {total / n * 1e6:.0f} µs/msg under the profiler")
    print(f"{'own %':>7}{'own µs':>8}{'cum µs':>8}{'calls':>7}  function (per message)")
    for tt, ct, nc, name in sorted(rows, reverse=True)[:top]:
        print(f"{tt / total * 100:>6.1f}%{tt / n * 1e6:>8.1f}{ct / n * 1e6:>8.1f}{nc / n:>7.1f}  {name}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="about 10 s instead of about 30-40 s")
    ap.add_argument("--json", action="store_true", help="print machine-readable results")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--block-ms", type=float, default=None, help="target time per block")
    ap.add_argument("--payload", type=int, default=1024, help="Body payload size in bytes")
    ap.add_argument("--no-zeep", action="store_true", help="skip zeep + xmlsec")
    ap.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="only cProfile N wssc round trips and print the hotspots inside wssc",
    )
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="time with thread CPU time instead of perf_counter (steadier on a busy machine)",
    )
    args = ap.parse_args(argv)
    if args.cpu:
        global CLOCK
        CLOCK = time.thread_time_ns
    if args.profile:
        profile_wssc(build_plain(args.payload), args.profile, 25)
        return 0
    rounds = args.rounds or (25 if args.quick else 61)
    block_ms = args.block_ms or (80.0 if args.quick else 120.0)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr if args.json else sys.stdout, flush=True)

    t_start = time.perf_counter()
    plain = build_plain(args.payload)
    body_len = len(etree.tostring(etree.fromstring(plain)[1][0], method="c14n", exclusive=True))
    with tempfile.TemporaryDirectory(prefix="wssc-bench-") as tmp:
        wb = WsscBench(plain)
        benches: list[Bench] = [wb, FloorBench(wb)]
        if not args.no_zeep:
            benches.append(ZeepBench(plain, Path(tmp)))
        wire_sizes = {b.name: b.check() for b in benches}
        log(
            f"message: {len(plain)} bytes plain, body payload {body_len} bytes; wire: "
            + ", ".join(f"{k} {v} B" for k, v in wire_sizes.items())
        )
        res = measure(benches, rounds, block_ms, log)

    w, f = res["wssc"]["median_us"], res["floor"]["median_us"]
    assert isinstance(w, float) and isinstance(f, float)
    ratios: dict[str, float | bool | None] = {
        "wssc_over_floor": w / f,
        "wssc_over_floor_min": float(res["wssc"]["min_us"]) / float(res["floor"]["min_us"]),
        "wssc_over_floor_target": TARGET_FLOOR_RATIO,
        "wssc_over_floor_ok": w / f <= TARGET_FLOOR_RATIO,
        "zeep_over_wssc": None,
        "zeep_over_wssc_min": None,
        "zeep_over_wssc_target": TARGET_ZEEP_RATIO,
        "zeep_over_floor": None,
        "zeep_over_wssc_ok": None,
    }
    if "zeep" in res:
        z = float(res["zeep"]["median_us"])
        ratios["zeep_over_wssc"] = z / w
        ratios["zeep_over_wssc_min"] = float(res["zeep"]["min_us"]) / float(res["wssc"]["min_us"])
        ratios["zeep_over_wssc_ok"] = z / w >= TARGET_ZEEP_RATIO
        ratios["zeep_over_floor"] = z / f
    elapsed = time.perf_counter() - t_start

    if args.json:
        print(
            json.dumps(
                {
                    "benchmark": "message protect+verify (sign+encrypt), per message",
                    "unit": "us/message",
                    "plain_bytes": len(plain),
                    "body_payload_bytes": body_len,
                    "wire_bytes": wire_sizes,
                    "clock": "thread_time_ns" if args.cpu else "perf_counter_ns",
                    "results": res,
                    "ratios": ratios,
                    "elapsed_s": round(elapsed, 2),
                    "env": {
                        "python": platform.python_version(),
                        "lxml": etree.__version__,
                        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
                        "cryptography": cryptography_version,
                        "machine": platform.machine(),
                        "cpus": os.cpu_count(),
                    },
                },
                indent=2,
            )
        )
        return 0

    print()
    print(f"{'':8}{'median':>10}{'min':>10}{'max':>10}{'protect':>10}{'verify':>10}   µs/message")
    for name, r in res.items():
        print(
            f"{name:8}{r['median_us']:>10.1f}{r['min_us']:>10.1f}{r['max_us']:>10.1f}"
            f"{r['protect_median_us']:>10.1f}{r['verify_median_us']:>10.1f}"
            f"   ({r['rounds']} rounds x {r['iterations_per_round']})"
        )
    print()
    fr = float(ratios["wssc_over_floor"] or 0)
    print(
        f"wssc: {w:.0f} µs/msg  floor: {f:.0f} µs/msg  ratio {fr:.2f}x "
        f"(target <= {TARGET_FLOOR_RATIO:g}x) {'OK' if ratios['wssc_over_floor_ok'] else 'MISS'}"
        f"   [ratio of minima {float(ratios['wssc_over_floor_min'] or 0):.2f}x]"
    )
    if "zeep" in res:
        z = float(res["zeep"]["median_us"])
        zr = float(ratios["zeep_over_wssc"] or 0)
        print(
            f"zeep+xmlsec: {z:.0f} µs/msg  wssc: {w:.0f} µs/msg  wssc is {zr:.1f}x faster "
            f"(target >= {TARGET_ZEEP_RATIO:g}x) {'OK' if ratios['zeep_over_wssc_ok'] else 'MISS'}"
            f"   [ratio of minima {float(ratios['zeep_over_wssc_min'] or 0):.2f}x]"
        )
        print(f"zeep / floor: {z / f:.1f}x  (the best zeep/wssc ratio reachable with wssc at the floor)")
    print(f"(total {elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
