"""Finding 1: no decryption oracle.

An eavesdropper who recorded a victim's traffic sends crafted variants of it: CBC blocks
flipped in the Body's and the encrypted Signature's CipherValue, truncations, a first block
that decrypts to garbage under valid padding, the Signature removed so that what remains is
unsigned but decrypts cleanly, and (on the RST path) a tampered EncryptedKey. If the service
answered any two of them differently, the difference would be a padding (or Bleichenbacher)
oracle. Every variant must get the same HTTP status and a byte-identical fault body (apart from
the MessageID/RelatesTo values), and that fault is the generic one.

The time of each variant is measured too, and bounded, among the variants whose answer could
depend on the secret plaintext (the whole-block CBC variants of one part, the EncryptedKey bit
flips): their time must not tell them apart either. Each of N rounds posts every variant once,
in a shuffled order; a variant's score is the median over the rounds of its time divided by
the median time of its group in the same round (a ratio in one run: load and drift hit the
whole round alike, and a spike hits one round). No score may leave ``[1/TIME_BOUND,
TIME_BOUND]``: a service that took a visibly different path for one variant (refusing bad
padding before the parsing valid padding gets, skipping the RSA unwrap or the HMAC for a bad
EncryptedKey) exceeds it; loopback noise on a loaded machine does not (scores measured within
0.91-1.16 at a load average of 7 on two cores; 2.5 ms of extra work for valid padding on the
encrypted Signature scored 1.5-1.7 and failed). Variants whose
difference the attacker already knows (a length that is not a whole number of blocks, the
Signature removed, a truncated EncryptedKey) are left out of the timing bound.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable

import httpx
import pytest
from attack_kit import (
    CBC_VARIANTS,
    MATRIX,
    MATRIX_IDS,
    SOAP12_CT,
    Recorder,
    assert_generic_fault,
    blank_message_ids,
    body_cipher_value,
    edit_b64,
    encrypted_key_cipher_value,
    last,
    recording_client,
    remove_encrypted_signature,
    serve_args,
    signature_cipher_value,
    timed_post,
    tostring,
    tree,
    xor_at,
)
from lxml import etree

from servers import Server

#: Measures time or CPU as ratios in one run: alone on the machine (scripts/test.sh's serial pass).
pytestmark = [pytest.mark.e2e, pytest.mark.serial]

N = 25  # timed rounds (each variant once per round)
#: How far a variant's time may be from its group's, as the median of per-round ratios.
TIME_BOUND = 1.4
#: Variants timed against each other (their answer could depend on the secret plaintext).
TIMED_GROUPS = {
    "body": [f"body/{n}" for n in CBC_VARIANTS if n != "truncated-bytes"],
    "signature": [f"signature/{n}" for n in CBC_VARIANTS if n != "truncated-bytes"],
    "ek": ["ek/first-byte", "ek/last-byte"],
}


def variants(captured: bytes, with_encrypted_key: bool) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    parts: list[tuple[str, Callable[[etree._Element], etree._Element]]] = [
        ("body", body_cipher_value),
        ("signature", signature_cipher_value),
    ]
    for where, find in parts:
        for name, fn in CBC_VARIANTS.items():
            root = tree(captured)
            edit_b64(find(root), fn)
            out[f"{where}/{name}"] = tostring(root)
    root = tree(captured)
    remove_encrypted_signature(root)
    out["unsigned-but-decryptable"] = tostring(root)
    if with_encrypted_key:
        for name, fn in {
            "ek/first-byte": xor_at(0, 0x01),
            "ek/last-byte": lambda b: xor_at(len(b) - 1, 0x01)(b),
            "ek/truncated": lambda b: b[:-1],
        }.items():
            root = tree(captured)
            edit_b64(encrypted_key_cipher_value(root), fn)
            out[name] = tostring(root)
    return out


def attack(srv: Server, captured: bytes, with_encrypted_key: bool, label: str) -> None:
    crafted = variants(captured, with_encrypted_key)
    answers: dict[str, httpx.Response] = {}
    rounds: list[dict[str, float]] = []
    order = list(crafted)
    shuffle = random.Random(len(order))  # reproducible
    with httpx.Client(timeout=60) as http:
        timed_post(http, srv.url, crafted[order[0]], SOAP12_CT)  # warm the connection
        for _ in range(N):
            shuffle.shuffle(order)
            took = {}
            for name in order:
                r, took[name] = timed_post(http, srv.url, crafted[name], SOAP12_CT)
                answers[name] = r
            rounds.append(took)
    scores: dict[str, float] = {}
    for members in TIMED_GROUPS.values():
        members = [m for m in members if m in crafted]
        for m in members:
            scores[m] = statistics.median(
                took[m] / statistics.median(took[o] for o in members) for took in rounds
            )
    times = {name: statistics.median(took[name] for took in rounds) for name in crafted}
    report = "\n".join(
        f"  {name:32s} {times[name] * 1000:8.2f} ms"
        + (f"  x{scores[name]:5.2f}" if name in scores else "         ")
        + f"   HTTP {answers[name].status_code}"
        for name in crafted
    )
    print(f"\n[oracle timing] {label}: median of {N} per variant; x: ratio to its group\n{report}")
    # Today the difference shows up here first: print what each variant got.
    shapes = {name: (r.status_code, blank_message_ids(r.content)) for name, r in answers.items()}
    distinct = {s for s in shapes.values()}
    if len(distinct) != 1:
        lines = []
        for shape in distinct:
            names = [n for n, s in shapes.items() if s == shape]
            lines.append(f"HTTP {shape[0]} {shape[1][-300:]!r}\n    <- {', '.join(names)}")
        pytest.fail(f"{label}: {len(distinct)} distinguishable answers (an oracle):\n" + "\n".join(lines))
    for name, r in answers.items():
        assert_generic_fault(r, f"{label} {name}")
    assert len(scores) == (12 if with_encrypted_key else 10)
    strays = {name: round(x, 2) for name, x in scores.items() if not 1 / TIME_BOUND <= x <= TIME_BOUND}
    assert not strays, (
        f"{label}: the time tells these variants apart (ratio to their group, "
        f"bound {TIME_BOUND}): {strays}\n{report}"
    )


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_application_message_variants_are_indistinguishable(
    server: Callable[..., Server], binding: str, mode: str
) -> None:
    srv = server(*serve_args(binding, mode))
    victim, rec = recording_client(srv)
    with victim:
        assert victim.Echo(text="the victim's secret") == "the victim's secret"
        captured = last(rec, "Echo").request
        attack(srv, captured, False, f"application message {binding}/{mode}")
        # The victim's session is untouched by all that.
        assert victim.Echo(text="still here") == "still here"


@pytest.mark.parametrize(("binding", "mode"), MATRIX, ids=MATRIX_IDS)
def test_rst_variants_are_indistinguishable(server: Callable[..., Server], binding: str, mode: str) -> None:
    """The RST path: the victim's EncryptedKey is replayed with crafted ciphertexts, and the
    EncryptedKey itself is tampered with (no RSA padding oracle either)."""
    srv = server(*serve_args(binding, mode))
    victim, rec = recording_client(srv)
    with victim:
        victim.open()
        captured = last(rec, "/RST/SCT").request
        assert b"EncryptedKey" in captured
        attack(srv, captured, True, f"RST/SCT {binding}/{mode}")


def test_recorder_sees_the_wire(server: Callable[..., Server]) -> None:
    """The capture is what went over HTTP: the Body is encrypted, the reply too."""
    srv = server(*serve_args())
    victim, rec = recording_client(srv)
    with victim:
        victim.Echo(text="plaintext-marker")
    assert isinstance(rec, Recorder) and rec.exchanges
    for ex in rec.exchanges:
        assert b"plaintext-marker" not in ex.request and b"plaintext-marker" not in ex.response
