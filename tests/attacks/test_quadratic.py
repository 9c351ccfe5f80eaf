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
    serve_args,
)

from servers import Server
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
