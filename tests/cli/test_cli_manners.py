"""The CLI's manners (issue 15, items 10-16 and 19-21): each test runs the user's step, ``wssc``
in a subprocess against a real ``wssc serve`` (or a raw socket that never answers), and checks
the message and the exit status."""

from __future__ import annotations

import base64
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from servers import Server, free_port
from wssc.certs import generate_self_signed, save
from wssc.errors import ConfigurationError, InvalidArgument, TransportError
from wssc.security import MessagePolicy, SctProtection, protect
from wssc.tokens import SecurityContextToken
from wssc.xml import ns
from wssc.xml.parse import parse_xml

Run = Callable[..., subprocess.CompletedProcess[str]]
GENERIC = f"FAULT {{{ns.WSSE}}}InvalidSecurity: An error occurred when verifying security"


@pytest.fixture
def wssc(wssc_home: Path) -> Run:
    """``wssc(*args, env=None, timeout=120)``: ``python -m wssc ARGS`` with the run's home."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wssc", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
            env=dict(os.environ, WSSC_HOME=str(wssc_home), **(env or {})),
        )

    return run


@pytest.fixture
def srv(server: Callable[..., Server]) -> Server:
    return server()


def _lines(text: str) -> list[str]:
    return text.strip().splitlines()


# --- 10: only faults that came off the wire print as FAULT ---------------------------------
def test_unreachable_service_is_an_error_not_a_fault(wssc: Run) -> None:
    p = wssc("call", f"http://127.0.0.1:{free_port()}/svc", "Add", "1", "2")
    assert p.returncode == 1, p.stderr
    assert _lines(p.stderr)[0].startswith("error: cannot fetch the WSDL at http://127.0.0.1:")
    assert "FAULT" not in p.stderr and "{http" not in p.stderr and "Traceback" not in p.stderr


def test_local_argument_error_names_no_fault_code(srv: Server, wssc: Run) -> None:
    p = wssc("call", srv.url, "Add", "1")
    assert p.returncode == 2, p.stderr
    assert _lines(p.stderr) == [
        "error: Add takes 2 arguments; missing b: Add(a: int, b: int) -> int (nothing was sent)"
    ]


def test_str_of_local_errors_has_no_namespace() -> None:
    """The Python side of the same rule: a local error reads as its detail."""
    assert str(InvalidArgument("Add has no parameter 'c'")) == "Add has no parameter 'c'"
    assert str(TransportError("cannot reach X")) == "cannot reach X"
    assert str(ConfigurationError()) == "Invalid configuration"
    assert "{" in InvalidArgument("x").describe()  # the fault form stays for the service side


def test_fault_from_the_service_prints_as_fault(srv: Server, wssc: Run, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.pem"
    save(generate_self_signed(), wrong, tmp_path / "wrong.key")
    p = wssc("call", "--service-cert", str(wrong), srv.url, "Add", "1", "2")
    assert p.returncode == 1, p.stderr
    assert _lines(p.stderr)[0].startswith(GENERIC)


# --- 11: a closed pipe ends the command quietly ----------------------------------------------
def test_closed_pipe_ends_quietly(srv: Server, wssc_home: Path) -> None:
    """``wssc inspect URL | head``, with the reader gone before anything is written: the
    write fails every time (not four times in five) and the command still ends quietly."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "wssc", "inspect", srv.url],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            env=dict(os.environ, WSSC_HOME=str(wssc_home)),
        )
    finally:
        os.close(write_end)
    assert p.stderr == ""
    assert p.returncode == 141  # 128 + SIGPIPE, as the shell reports for `yes | head`


def test_open_pipe_still_gets_everything(srv: Server, wssc: Run) -> None:
    p = wssc("inspect", srv.url)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("Endpoint:") and len(_lines(p.stdout)) > 3


# --- 12: an unknown name=value parameter ------------------------------------------------------
def test_unknown_parameter_is_named(srv: Server, wssc: Run) -> None:
    p = wssc("call", srv.url, "Add", "a=1", "c=2")
    assert p.returncode == 2, p.stderr
    err = _lines(p.stderr)[0]
    assert err.startswith("error: Add has no parameter 'c'; it has a, b: Add(a: int, b: int)")
    assert "valid int" not in err


def test_parameters_by_name_and_text_with_equals(srv: Server, wssc: Run) -> None:
    assert wssc("call", srv.url, "Add", "b=2", "a=40").stdout.strip() == "42"
    assert wssc("call", srv.url, "Echo", "text=x=y").stdout.strip() == "x=y"
    p = wssc("call", srv.url, "Add", "1", "a=2")
    assert p.returncode == 2 and "Add got 'a' twice" in p.stderr


# --- 13: --timeout, and what it is waiting for ------------------------------------------------
@pytest.fixture
def silent_service() -> Iterator[str]:
    """A TCP server that accepts every connection and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/svc"
    stop.set()
    t.join(5)
    for c in held:
        c.close()
    listener.close()


def test_hung_service_times_out_and_says_what_it_waits_for(silent_service: str, wssc: Run) -> None:
    p = wssc("call", "--timeout", "2", silent_service, "Add", "1", "2", timeout=60)
    assert p.returncode == 1, p.stderr
    lines = _lines(p.stderr)
    wsdl = f"{silent_service}?wsdl"
    assert lines[0].startswith(f"wssc: waiting for the WSDL at {wsdl}: no answer after ")
    assert lines[0].endswith("(gives up after 2 s; see --timeout)")
    assert lines[1].startswith(f"error: cannot fetch the WSDL at {wsdl}")
    assert lines[2] == f"  no answer within --timeout 2 s: the WSDL at {wsdl}"


@pytest.fixture
def wsdl_then_silence(srv: Server) -> Iterator[str]:
    """Serves the real service's WSDL (its address pointing here), then never answers a
    POST: the session request hangs."""
    stop = threading.Event()
    box: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = httpx.get(srv.wsdl_url).content.replace(srv.url.encode(), box["url"].encode())
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            stop.wait()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    box["url"] = f"http://127.0.0.1:{httpd.server_port}/svc"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield box["url"]
    stop.set()
    httpd.shutdown()
    httpd.server_close()


def test_hung_session_request_is_named(wsdl_then_silence: str, wssc: Run) -> None:
    p = wssc("call", "--timeout", "2", wsdl_then_silence, "Add", "1", "2", timeout=60)
    assert p.returncode == 1, p.stderr
    lines = _lines(p.stderr)
    what = f"{wsdl_then_silence}: the session to open (RST/SCT)"
    assert lines[0].startswith(f"wssc: waiting for {what}: no answer after "), lines
    assert lines[-1] == f"  no answer within --timeout 2 s: {what}"


def test_timeout_must_be_positive(wssc: Run) -> None:
    p = wssc("call", "--timeout", "0", "http://127.0.0.1:1/svc", "Add")
    assert p.returncode == 2 and "is not a timeout" in p.stderr


# --- 14: the banner only once the service listens ---------------------------------------------
def test_busy_port_is_an_error_before_any_banner(wssc: Run) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        p = wssc("serve", "--port", str(port), timeout=60)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "service at" not in p.stdout
    assert _lines(p.stderr) == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in "
        "use; another process is listening there: stop it or pick "
        "another --port"
    ]


def test_banner_means_the_service_answers(wssc_home: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wssc", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, WSSC_HOME=str(wssc_home)),
    )
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "service at" in line:
                break
        assert "service at" in "".join(seen), "".join(seen)
        # No retry: when the banner is out, the service answers.
        r = httpx.get(f"http://127.0.0.1:{port}/svc?wsdl", timeout=10)
        assert r.status_code == 200 and b"definitions" in r.content
    finally:
        watchdog.cancel()
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("mode", [[], ["--no-require-cancellation"]], ids=["session", "cookie"])
def test_refused_start_up_exits_non_zero_without_banner(wssc: Run, tmp_path: Path, mode: list[str]) -> None:
    """Several workers (here as gunicorn would say it) with a per-process store, or with a
    cookie key ring of each worker's own: start-up is refused, no banner, exit 3."""
    p = wssc(
        "serve",
        "--port",
        str(free_port()),
        "--keyring",
        str(tmp_path / "ring.json"),
        *mode,
        env={"SERVER_SOFTWARE": "gunicorn/23", "WEB_CONCURRENCY": "2"},
        timeout=60,
    )
    out = p.stdout + p.stderr
    assert p.returncode == 3, out
    assert "service at" not in out
    assert "refusing to start: 2 worker processes" in out


# --- 15: svcutil into a missing folder --------------------------------------------------------
def test_svcutil_cannot_write(srv: Server, wssc: Run, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "x.py"
    p = wssc("svcutil", srv.url, "-o", str(target))
    assert p.returncode == 2, p.stderr
    assert _lines(p.stderr) == [f"error: cannot write {target}: No such file or directory"]
    assert not target.parent.exists()


# --- 16: a fault document given to inspect ----------------------------------------------------
FAULT_12 = f"""<s:Envelope xmlns:s="{ns.SOAP12}" xmlns:a="{ns.WSSE}"><s:Body><s:Fault>
<s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>a:InvalidSecurity</s:Value></s:Subcode>
</s:Code><s:Reason><s:Text xml:lang="en">An error occurred when verifying security for the
message.</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"""
FAULT_11 = f"""<s:Envelope xmlns:s="{ns.SOAP11}"><s:Body><s:Fault>
<faultcode>s:Client</faultcode><faultstring>Bad request</faultstring>
</s:Fault></s:Body></s:Envelope>"""


@pytest.mark.parametrize(
    ("doc", "code", "reason"),
    [
        (
            FAULT_12,
            "s:Sender / a:InvalidSecurity",
            "An error occurred when verifying security for the message.",
        ),
        (FAULT_11, "s:Client", "Bad request"),
    ],
    ids=["soap12", "soap11"],
)
def test_inspect_fault_document_labels_code_and_reason(
    wssc: Run, tmp_path: Path, doc: str, code: str, reason: str
) -> None:
    path = tmp_path / "fault.xml"
    path.write_text(doc)
    p = wssc("inspect", str(path))
    assert p.returncode == 2, p.stderr
    assert _lines(p.stderr) == [
        "error: not a WSDL: the document is a SOAP fault",
        f"  fault code: {code}",
        f"  fault reason: {reason}",
    ]


def test_fault_reason_control_characters_are_escaped(wssc: Run, tmp_path: Path) -> None:
    path = tmp_path / "fault.xml"
    path.write_text(FAULT_11.replace("Bad request", "Bad&#x2028;FORGED&#x85;re&#x7f;quest"))
    p = wssc("inspect", str(path))
    assert p.returncode == 2
    assert _lines(p.stderr)[-1] == "  fault reason: Bad FORGED re\\x7fquest"


# --- 19: --service-cert ------------------------------------------------------------------------
@pytest.fixture
def no_identity(srv: Server) -> Iterator[str]:
    """The real service's WSDL without its wsid:Identity (as many WCF services publish it);
    the address still points at the real service."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = re.sub(
                rb"<Identity xmlns=[^>]*>.*?</Identity>", b"", httpx.get(srv.wsdl_url).content, flags=re.S
            )
            assert b"Identity" not in body
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/svc?wsdl"
    httpd.shutdown()
    httpd.server_close()


def test_wsdl_without_identity_names_service_cert(no_identity: str, wssc: Run) -> None:
    p = wssc("call", no_identity, "Add", "1", "2")
    assert p.returncode == 2, p.stderr
    lines = _lines(p.stderr)
    assert lines[0].startswith("error: AnonymousForCertificate needs the service certificate")
    assert lines[1] == (
        "  hint: the WSDL names no service certificate (wsid:Identity); give it with --service-cert PEM"
    )


def test_service_cert_flag_opens_the_session(no_identity: str, wssc: Run, wssc_home: Path) -> None:
    p = wssc("call", "--service-cert", str(wssc_home / "dev-cert.pem"), no_identity, "Add", "20", "22")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "42"


def _wait_for(path: Path, needle: str, since: int, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_bytes()[since:].decode(errors="replace")
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.02)


def test_wrong_service_cert_gets_a_local_hint(
    no_identity: str, srv: Server, wssc: Run, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.pem"
    save(generate_self_signed("not-the-service"), wrong, tmp_path / "wrong.key")
    mark = srv.log_path.stat().st_size
    p = wssc("call", "--service-cert", str(wrong), no_identity, "Add", "1", "2")
    assert p.returncode == 1, p.stderr
    lines = _lines(p.stderr)
    assert lines[0].startswith(GENERIC)  # the wire says no more than the generic fault
    assert lines[1] == (
        f"  hint: the service could not read the session request sealed for "
        f"--service-cert {wrong} (CN=not-the-service); is it this service's "
        "certificate?"
    )
    reason = "the key was encrypted for a different certificate"
    assert reason in _wait_for(srv.log_path, reason, mark)  # the service log says why


def test_missing_service_cert_file(srv: Server, wssc: Run, tmp_path: Path) -> None:
    p = wssc("call", "--service-cert", str(tmp_path / "nope.pem"), srv.url, "Add", "1", "2")
    assert p.returncode == 2 and p.stderr.startswith(
        f"error: cannot load certificate {tmp_path / 'nope.pem'}"
    )


# --- 20: message verify on an old capture ------------------------------------------------------
def test_expired_capture_names_ignore_expiry(wssc: Run, tmp_path: Path) -> None:
    secret = bytes(range(32))
    sct = SecurityContextToken("urn:uuid:11111111-2222-3333-4444-555555555555")
    envelope = parse_xml(
        f'<s:Envelope xmlns:s="{ns.SOAP12}"><s:Header/><s:Body>'
        '<Ping xmlns="urn:t">hi</Ping></s:Body></s:Envelope>'
    )
    old = protect(envelope, SctProtection(sct, secret), MessagePolicy(), now=time.time() - 3 * 3600)
    capture = tmp_path / "capture.xml"
    capture.write_bytes(etree.tostring(old))
    args = (
        "message",
        "verify",
        "--sct-id",
        sct.identifier,
        "--secret",
        base64.b64encode(secret).decode(),
        str(capture),
    )
    p = wssc(*args)
    assert p.returncode == 1, p.stderr
    lines = _lines(p.stderr)
    assert lines[0].startswith(f"FAULT {{{ns.WSSE}}}MessageExpired")
    assert lines[1] == (
        "  hint: the Timestamp is checked against this clock now; to verify a "
        "saved message, add --ignore-expiry"
    )
    ok = wssc(*args[:2], "--ignore-expiry", *args[2:])
    assert ok.returncode == 0, ok.stderr
    assert "hi</Ping>" in ok.stdout


# --- 21: --insecure warns ----------------------------------------------------------------------
@pytest.mark.parametrize("command", [["call"], ["inspect"]], ids=["call", "inspect"])
def test_insecure_warns(srv: Server, wssc: Run, command: list[str]) -> None:
    extra = ["Add", "1", "2"] if command == ["call"] else []
    p = wssc(*command, "--insecure", srv.url, *extra)
    assert p.returncode == 0, p.stderr
    assert _lines(p.stderr)[0].startswith(
        "warning: --insecure: HTTPS certificates are not verified; whoever answers"
    )
    quiet = wssc(*command, srv.url, *extra)
    assert "warning" not in quiet.stderr


def test_unknown_option_shows_its_commands_usage(wssc: Run) -> None:
    """Issue 15, item 2: an option the subcommand lacks is refused with that subcommand's
    usage (not the top-level one), and the command that has it is named."""
    r = wssc("message", "verify", "--sct-id", "urn:x", "--sc-version", "1.3", "x.xml")
    assert r.returncode == 2
    assert r.stderr.startswith("usage: wssc message verify"), r.stderr
    assert "unrecognized arguments: --sc-version" in r.stderr
    assert "(--sc-version is an option of: wssc message protect)" in r.stderr
    assert "Traceback" not in r.stderr
