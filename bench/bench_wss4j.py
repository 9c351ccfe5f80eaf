"""wssc against Apache WSS4J in a warmed JVM: protect + verify of the same 1 KB message.

    .venv/bin/python bench/bench_wss4j.py [--quick] [--json] [--rounds N] [--block-ms MS]

The Java side is ``bench/wss4j/WssBench.java``, compiled here against the jars of the WSS4J
peer (``$WSS4J_PEER_BUILD/classpath``, built by scripts/setup.sh from Debian's
libwss4j-java 1.6.19 + Santuario 2.1.7). Both sides do the same work on the message of
bench_message.build_plain: parse the plain envelope, add a Timestamp, the SCT, a
DerivedKeyToken and an HMAC-SHA1 signature over Timestamp, Action, MessageID, To and Body, a
second DerivedKeyToken and AES-256-CBC of the Body content and of the Signature, serialize;
then parse, verify (derive, decrypt, digest, HMAC) and check that the Body was signed and
encrypted and the Timestamp signed.

Before timing, each side must accept the other's messages: wssc verifies a WSS4J message
(and its Body equals the plain one), WSS4J verifies a wssc message (Body signed, Timestamp
signed, Body encrypted, decrypted Body equal). A failure stops the run.

Timing: the JVM is warmed first (``--warm`` round trips). Then blocks alternate in time, JVM
then Python then JVM ..., so that load on the shared machine hits both; each block measures
its own thread CPU time (``ThreadMXBean.getCurrentThreadCpuTime`` in the JVM,
``time.thread_time_ns`` in Python), so another process's load does not count. The ratio is
the median over rounds of the per-round ratio wssc/WSS4J (< 1: wssc is faster).
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_message import WSA, WsscBench, build_plain

HERE = Path(__file__).resolve().parent
JAVA_SRC = HERE / "wss4j" / "WssBench.java"


def classpath() -> str:
    build = os.environ.get("WSS4J_PEER_BUILD")
    if not build or not (Path(build) / "classpath").is_file():
        raise SystemExit(
            "bench_wss4j: $WSS4J_PEER_BUILD/classpath not found; source .wssc/env "
            "(scripts/setup.sh builds the WSS4J peer)"
        )
    return (Path(build) / "classpath").read_text().strip()


class Jvm:
    def __init__(self, plain: Path, secret: bytes, sct_id: str, workdir: Path) -> None:
        cp = classpath()
        classes = workdir / "classes"
        classes.mkdir()
        javac = shutil.which("javac") or "javac"
        subprocess.run(
            [javac, "-nowarn", "-encoding", "UTF-8", "-d", str(classes), "-cp", cp, str(JAVA_SRC)],
            check=True,
        )
        self.proc = subprocess.Popen(
            [
                "java",
                "-cp",
                f"{classes}{os.pathsep}{cp}",
                "WssBench",
                str(plain),
                base64.b64encode(secret).decode(),
                sct_id,
                WSA,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, line: str) -> str:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise RuntimeError(f"WSS4J: {line!r} -> {answer!r}")
        return answer

    def run(self, n: int) -> tuple[int, int]:
        _, cpu, wall = self.ask(f"run {n}").split()
        return int(cpu), int(wall)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)


def body_c14n(envelope: etree._Element) -> bytes:
    body = envelope.find("{http://www.w3.org/2003/05/soap-envelope}Body")
    assert body is not None
    return b"".join(etree.tostring(c, method="c14n", exclusive=True) for c in body)


def cross_check(w: WsscBench, jvm: Jvm, plain: bytes, tmp: Path) -> dict[str, object]:
    """wssc verifies WSS4J's message; WSS4J verifies wssc's. Raises on any failure."""
    want = body_c14n(etree.fromstring(plain))
    jmsg = tmp / "wss4j.xml"
    jvm.ask(f"protect {jmsg}")
    res = w.verify(jmsg.read_bytes())
    assert res.body_signed and res.body_encrypted, "wssc: WSS4J's Body not signed+encrypted"  # type: ignore[attr-defined]
    got = b"".join(etree.tostring(c, method="c14n", exclusive=True) for c in res.envelope.body)  # type: ignore[attr-defined]
    assert got == want, "wssc decrypted WSS4J's Body to something else"
    wmsg, wout = tmp / "wssc.xml", tmp / "wssc-verified.xml"
    wmsg.write_bytes(w.protect())
    jvm.ask(f"verify {wmsg} {wout}")
    assert body_c14n(etree.fromstring(wout.read_bytes())) == want, (
        "WSS4J decrypted wssc's Body to something else"
    )
    # and a tampered wssc message must be refused by WSS4J
    tampered = wmsg.read_bytes().replace(b"CipherValue>", b"CipherValue>AAAA", 1)
    bad = tmp / "tampered.xml"
    bad.write_bytes(tampered)
    try:
        jvm.ask(f"verify {bad} {wout}")
    except RuntimeError:
        pass
    else:
        raise AssertionError("WSS4J accepted a tampered wssc message")
    return {"wss4j_bytes": len(jmsg.read_bytes()), "wssc_bytes": len(wmsg.read_bytes())}


def py_block(w: WsscBench, n: int) -> int:
    p, v = w.protect, w.verify
    gc.collect()
    gc.disable()
    try:
        t0 = time.thread_time_ns()
        for _ in range(n):
            v(p())
        return time.thread_time_ns() - t0
    finally:
        gc.enable()


def run(rounds: int, block_ms: float, warm: int, payload: int, log: object = print) -> dict[str, object]:
    plain = build_plain(payload)
    w = WsscBench(plain)
    sct_id = w.token.sct.identifier
    with tempfile.TemporaryDirectory(prefix="wssc-bench-wss4j-") as d:
        tmp = Path(d)
        (tmp / "plain.xml").write_bytes(plain)
        jvm = Jvm(tmp / "plain.xml", w.secret, sct_id, tmp)
        try:
            checks = cross_check(w, jvm, plain, tmp)
            # warm the JVM (JIT) and calibrate both sides to about block_ms of CPU
            jvm.run(warm)
            jcpu, _ = jvm.run(200)
            j_iters = max(20, int(block_ms * 1e6 / (jcpu / 200)))
            py_block(w, 50)
            pcpu = py_block(w, 100)
            p_iters = max(20, int(block_ms * 1e6 / (pcpu / 100)))
            j_us: list[float] = []
            p_us: list[float] = []
            ratios: list[float] = []
            for r in range(rounds):
                if r % 2 == 0:
                    jc, _ = jvm.run(j_iters)
                    pc = py_block(w, p_iters)
                else:
                    pc = py_block(w, p_iters)
                    jc, _ = jvm.run(j_iters)
                j_us.append(jc / j_iters / 1e3)
                p_us.append(pc / p_iters / 1e3)
                ratios.append(p_us[-1] / j_us[-1])
            checks_after = cross_check(w, jvm, plain, tmp)
        finally:
            jvm.close()
    return {
        "payload_bytes": payload,
        "rounds": rounds,
        "iterations": {"wss4j": j_iters, "wssc": p_iters},
        "warmup_round_trips": warm,
        "wss4j_cpu_us": statistics.median(j_us),
        "wssc_cpu_us": statistics.median(p_us),
        "ratio_wssc_over_wss4j": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "cross_check": {**checks, "after": checks_after, "accepted_both_ways": True},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds (about 20 s)")
    ap.add_argument("--rounds", type=int, help="alternating JVM/Python rounds (default 12, quick 6)")
    ap.add_argument("--block-ms", type=float, help="CPU per block per side (default 400, quick 200)")
    ap.add_argument("--warm", type=int, default=5000, help="JVM warm-up round trips (default 5000)")
    ap.add_argument("--payload", type=int, default=1024, help="Body payload bytes (default 1024)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    a = ap.parse_args()
    rounds = a.rounds or (6 if a.quick else 12)
    block = a.block_ms or (200.0 if a.quick else 400.0)
    res = run(rounds, block, a.warm if not a.quick else min(a.warm, 3000), a.payload)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print(
            f"protect+verify {a.payload} B, CPU per message: wssc {res['wssc_cpu_us']:.0f} us, "
            f"WSS4J {res['wss4j_cpu_us']:.0f} us; wssc/WSS4J = {res['ratio_wssc_over_wss4j']:.2f} "
            f"(min {res['ratio_min']:.2f}, max {res['ratio_max']:.2f}; < 1 means wssc is faster); "
            "each side accepted the other's messages"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
