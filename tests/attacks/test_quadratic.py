"""Finding 3: no quadratic work on unauthenticated input.

One unsigned ~3 MB application message whose Security header holds 80,000 children (elements
the header loop accepts one by one, or processing instructions it skips). Whatever the limits
say, refusing it must cost at most a small constant times a valid secured call of the same
size, measured in the same run on the same server (server CPU from /proc; wall time printed).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from attack_kit import (
    LARGE_MESSAGES,
    MATRIX,
    MATRIX_IDS,
    Dedicated,
    assert_cost_ratio,
    cpu_seconds,
    post,
    serve_args,
)

from servers import Server
from wssc.client import Client
from wssc.tokens.timestamp import format_time
from wssc.xml import ns

#: Measures time or CPU as ratios in one run: alone on the machine (scripts/test.sh's serial pass).
pytestmark = [pytest.mark.e2e, pytest.mark.serial]

CHILDREN = 80_000
TARGET = 3_000_000


def many_children(address: str, kind: str, n: int = CHILDREN, size: int = TARGET) -> bytes:
    now = time.time()
    if kind == "elements":
        # no attribute: the parser's attribute caps would refuse it before the header pass
        child = "<k:SignatureConfirmation/>"
    else:
        child = "<?x y?>"
    pad = max(0, size // n - len(child))
    one = child + " " * pad
    return (
        f'<s:Envelope xmlns:s="{ns.SOAP12}" xmlns:a="{ns.WSA10}" xmlns:u="{ns.WSU}">'
        f'<s:Header><a:Action s:mustUnderstand="1">http://tempuri.org/ICalculator/Echo</a:Action>'
        f"<a:MessageID>urn:uuid:{uuid.uuid4()}</a:MessageID>"
        f'<a:To s:mustUnderstand="1">{address}</a:To>'
        f'<o:Security s:mustUnderstand="1" xmlns:o="{ns.WSSE}" xmlns:k="{ns.WSSE11}">'
        f'<u:Timestamp u:Id="_0"><u:Created>{format_time(now)}</u:Created>'
        f"<u:Expires>{format_time(now + 300)}</u:Expires></u:Timestamp>"
        + one
        * n
        + "</o:Security></s:Header><s:Body>"
        '<Echo xmlns="http://tempuri.org/"><text>x</text></Echo></s:Body></s:Envelope>'
    ).encode()


@pytest.mark.parametrize(
    ("binding", "mode", "kind"),
    [
        *[(b, m, "elements") for b, m in MATRIX],
        ("wshttp", "session", "processing-instructions"),
    ],
    ids=[*[f"elements-{i}" for i in MATRIX_IDS], "processing-instructions-wshttp-session"],
)
def test_many_security_header_children_cost_linear(
    start_server: Callable[..., Server], binding: str, mode: str, kind: str
) -> None:
    with Dedicated(start_server, *serve_args(binding, mode, *LARGE_MESSAGES)) as srv:
        data = many_children(srv.url, kind)
        assert 2_500_000 < len(data) < 3_500_000
        # Processing instructions are not elements: the header pass skips them, and the
        # message is refused for what it lacks.
        reason = (
            "the security header has more than 64 elements"
            if kind == "elements"
            else "the message is not signed"
        )
        assert_cost_ratio(srv, data, f"{CHILDREN} Security children ({kind}) {binding}/{mode}", reason=reason)


@pytest.mark.parametrize(("binding", "mode"), MATRIX[:1], ids=MATRIX_IDS[:1])
def test_many_children_at_the_largest_valid_size(
    start_server: Callable[..., Server], binding: str, mode: str
) -> None:
    """The same attack no bigger than the largest valid Echo the service accepts (its string
    quota): the ratio needs no scaling."""
    with Dedicated(start_server, *serve_args(binding, mode, *LARGE_MESSAGES)) as srv:
        data = many_children(srv.url, "processing-instructions", n=12_000, size=90_000)
        assert_cost_ratio(
            srv, data, f"12,000 Security children in {len(data)} bytes", reason="the message is not signed"
        )


def test_a_body_of_xmlns_starts_costs_as_any_body(start_server: Callable[..., Server]) -> None:
    """A session holder's Body whose text is ``xmlns:`` repeated (8,190 characters, within the
    service's string quota): after decryption the service searches the plaintext for namespace
    declarations. That search was quadratic (each try of a backtracking pattern ran to the
    end: 8 KB cost some 0.2 s of CPU a call, with the security turn held). Now it must cost at
    most 3x a Body of as many ``x``, measured in the same run on the same server."""
    text_len = 8190
    with Dedicated(start_server, *serve_args("wshttp", "session")) as srv:
        with Client.from_wsdl(srv.wsdl_url, verify=srv.verify) as client:
            client.open()
            op = client.contract.operation("Echo")

            def cost(text: str, n: int = 20) -> float:
                bodies = [client.session.app_request(op, {"text": text}, time.time()).body for _ in range(n)]
                before = cpu_seconds(srv.proc.pid)
                for body in bodies:
                    assert post(srv, body).status_code == 200
                return (cpu_seconds(srv.proc.pid) - before) / n

            cost("x" * text_len, 3)  # warm the service
            plain = cost("x" * text_len)
            starts = cost(("xmlns:" * (text_len // 6 + 1))[:text_len])
            print(f"\n[cost] Body of x: {plain * 1000:.1f} ms a call; of 'xmlns:': {starts * 1000:.1f} ms")
            # CPU ticks are 10 ms: never compare below 20 ms in all (1 ms a call here).
            assert starts <= 3 * max(plain, 0.001), (
                f"a Body of 'xmlns:' cost {starts * 1000:.1f} ms a call, one of 'x' {plain * 1000:.1f} ms"
            )
