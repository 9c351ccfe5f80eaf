"""Limits a peer meets, against a real ``wssc serve`` over HTTP: the string quota
(``--max-string-content-length``, WCF's ``MaxStringContentLength``) answered with WCF's
``DeserializationFailed`` fault naming the quota and its value (never the value), the message
size (``--max-received-message-size``) with HTTP 413, each with its logged reason; and
``wssc call``'s own limits, refusing before anything is sent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from servers import Server
from wssc.client import Client
from wssc.contract import DeserializationFailed
from wssc.errors import QuotaExceeded, RemoteFault
from wssc.xml import ns


def logged(srv: Server, needle: str, since: int, timeout: float = 15.0) -> str:
    """The service log's line with ``needle`` (after offset ``since``), polled for."""
    deadline = time.monotonic() + timeout
    while True:
        text = srv.log()[since:]
        lines = [ln for ln in text.splitlines() if needle in ln]
        if lines:
            return lines[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"not logged within {timeout:.0f} s: {needle!r}\n{text[-3000:]}")
        time.sleep(0.02)


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_a_string_over_the_services_quota_gets_the_fault_naming_it(
    server: Callable[..., Server], binding: str
) -> None:
    srv = server("--binding", binding, "--max-string-content-length", "100")
    since = len(srv.log())
    secret = "s3cr3t-" + "x" * 100
    with Client.from_wsdl(srv.wsdl_url, verify=srv.verify) as c:
        assert c.Echo(text="a" * 100) == "a" * 100  # at the quota: read
        with pytest.raises(RemoteFault) as exc:
            c.Echo(text=secret)
        assert c.Echo(text="still open") == "still open"
    fault = exc.value
    # on the wire: WCF's fault for a quota the formatter met, naming the quota and its value
    assert isinstance(fault, DeserializationFailed)
    assert fault.code.clark == f"{{{ns.WCF_DISPATCHER}}}DeserializationFailed"
    assert "The formatter threw an exception while trying to deserialize the message" in fault.reason
    assert "the maximum string content length quota (100) has been exceeded" in fault.reason
    assert "MaxStringContentLength" in fault.reason
    assert "s3cr3t" not in fault.reason
    # and in the service's log: which check refused
    line = logged(srv, "DeserializationFailed", since)
    assert "text: the maximum string content length quota (100) has been exceeded" in line
    assert "s3cr3t" not in srv.log()[since:]


def test_a_request_over_the_services_message_size_gets_413(server: Callable[..., Server]) -> None:
    """The client's own limit is higher than the service's: the service answers HTTP 413
    (WCF's answer, no SOAP) naming its limit, logs why, and the client raises QuotaExceeded."""
    srv = server("--binding", "wshttp", "--max-received-message-size", "20000")
    since = len(srv.log())
    with Client.from_wsdl(srv.wsdl_url, verify=srv.verify, max_received_message_size=1 << 20) as c:
        assert c.Echo(text="a" * 5000) == "a" * 5000
        with pytest.raises(QuotaExceeded) as exc:
            c.Echo(text="a" * 30_000)
    assert exc.value.limit == "max_received_message_size"
    assert "refused the request as too large (HTTP 413)" in str(exc.value)
    line = logged(srv, "refused: the request", since)
    assert "is larger than max_received_message_size (20000 bytes)" in line


def test_serve_and_call_offer_the_limits(wssc_cli: Callable[..., Any]) -> None:
    serve = wssc_cli("serve", "--help").stdout
    call = wssc_cli("call", "--help").stdout
    for text in (serve, call):
        assert "--max-received-message-size BYTES" in text and "MaxReceivedMessageSize" in text
        assert "--max-string-content-length CHARS" in text and "MaxStringContentLength" in text


def test_call_refuses_to_send_what_it_would_not_read_back(
    server: Callable[..., Server], wssc_cli: Callable[..., Any]
) -> None:
    srv = server("--binding", "wshttp")
    run = wssc_cli("call", srv.url, "Echo", "text=" + "x" * 51, "--max-string-content-length", "50")
    assert run.returncode == 1, run.stderr
    assert "max_string_content_length (50 characters)" in run.stderr, run.stderr
    assert "nothing was sent" in run.stderr and "Traceback" not in run.stderr
    ok = wssc_cli("call", srv.url, "Echo", "text=" + "x" * 50, "--max-string-content-length", "50")
    assert ok.returncode == 0 and ok.stdout.strip() == "x" * 50, ok.stderr


# --- raw-XML values (lxml elements, from WSDL contracts) ---------------------------------------
def _element_op() -> Any:
    from wssc.contract import OperationSpec, Parameter, ValueType

    return OperationSpec(
        name="Op",
        namespace="urn:rt",
        action="urn:rt/Op",
        reply_action="urn:rt/OpResponse",
        parameters=(Parameter("v", ValueType("element")),),
        result=None,
    )


@pytest.mark.parametrize(
    "where",
    ["text", "tail", "attribute", "own-text"],
)
def test_raw_xml_values_are_bounded_by_the_string_quota(where: str) -> None:
    """Each text, tail and attribute value inside an element-typed value is a string under
    ``max_string_length``: at the quota it is read, one character more is refused, naming
    the quota; the client's check before sending finds the same element."""
    from lxml import etree

    from wssc.contract import ContractLimits, decode_request, first_long_string
    from wssc.xml.parse import parse_xml

    def request(n: int) -> bytes:
        s = "y" * n
        inner = {
            "text": f"<a><b>{s}</b></a>",
            "tail": f"<a><b/>{s}<c/></a>",
            "attribute": f'<a><b k="{s}"/></a>',
            "own-text": f"{s}<a/>",
        }[where]
        return f'<Op xmlns="urn:rt"><v>{inner}</v></Op>'.encode()

    limits = ContractLimits(max_string_length=64)
    op = _element_op()
    value = decode_request(op, parse_xml(request(64)), limits)["v"]
    assert isinstance(value, etree._Element) and first_long_string(value, 64) is None
    with pytest.raises(DeserializationFailed, match=r"string content length quota \(64\)"):
        decode_request(op, parse_xml(request(65)), limits)
    expected = {"text": "b", "tail": "b", "attribute": "b", "own-text": "v"}[where]
    assert first_long_string(parse_xml(request(65)), 64) == expected
