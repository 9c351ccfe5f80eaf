"""``wssc sts`` as a process over HTTPS: a client obtains a token and the relying party
accepts it; a wrong password is refused and the STS logs why."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from servers import Server, free_port
from wssc.certs import Certificate, generate_self_signed, load, save
from wssc.client.sts import StsExchange, request_token
from wssc.errors import FailedAuthentication
from wssc.federation.saml_checks import IssuedTokenValidator

RP = "https://rp.test/service"


@dataclass
class Sts:
    url: str
    ca: str
    cert: Certificate
    rp: Certificate
    log: Path


def launch_sts(home: Path, relying_parties: dict[str, Path]) -> tuple[subprocess.Popen[bytes], Sts]:
    """``wssc sts`` on a free port, polled until it answers (a GET is refused with 405)."""
    if (home / "sts.pem").exists():
        cert = load(home / "sts.pem", home / "sts.key")
    else:
        cert = generate_self_signed("localhost")
        save(cert, home / "sts.pem", home / "sts.key")
    (home / "users").write_text("# test users\nalice:secret\n")
    port = free_port()
    log = home / "sts.log"
    cmd = [sys.executable, "-m", "wssc", "--log-level", "INFO", "sts", "--port", str(port)]
    cmd += ["--cert", str(home / "sts.pem"), "--key", str(home / "sts.key"), "--users", str(home / "users")]
    for address, pem in relying_parties.items():
        cmd += ["--relying-party-cert", f"{address}={pem}"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"https://127.0.0.1:{port}/sts"
    ctx = ssl.create_default_context(cafile=str(home / "sts.pem"))
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url, verify=ctx, timeout=2).status_code == 405:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    return proc, Sts(url, str(home / "sts.pem"), cert, load(next(iter(relying_parties.values()))), log)


@pytest.fixture(scope="module")
def sts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sts]:
    home = tmp_path_factory.mktemp("sts")
    rp = generate_self_signed("rp.test")
    save(rp, home / "rp.pem", home / "rp.key")
    proc, s = launch_sts(home, {RP: home / "rp.pem"})
    s.rp = rp
    yield s
    proc.terminate()
    proc.wait(10)


def test_token_from_wssc_sts_is_accepted_by_the_relying_party(sts: Sts) -> None:
    token = request_token(StsExchange.new(sts.url, RP, "alice", "secret"), verify=sts.ca)
    rp = IssuedTokenValidator(issuers=(sts.cert,), audiences=(RP,), relying_party=sts.rp)
    ok = rp.validate(token.assertion, time.time())
    assert ok.proof_key == token.proof_key
    assert ok.assertion.issuer == sts.url and ok.assertion.subject == "alice"


def test_wrong_password_is_refused_and_logged(sts: Sts) -> None:
    with pytest.raises(FailedAuthentication):
        request_token(StsExchange.new(sts.url, RP, "alice", "wrong"), verify=sts.ca)
    deadline = time.monotonic() + 10
    while "FailedAuthentication" not in sts.log.read_text():
        assert time.monotonic() < deadline, sts.log.read_text()
        time.sleep(0.05)


def test_help_names_the_flags() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wssc", "sts", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--cert", "--key", "--users", "--relying-party-cert", "--lifetime"):
        assert flag in out


def test_wssc_call_through_wssc_sts(
    server: Callable[..., Server], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The CLI end to end: ``wssc call --sts`` gets a token from ``wssc sts`` and calls
    ``wssc serve --bootstrap issued-token`` trusting that STS, with a secure session."""
    home = tmp_path_factory.mktemp("sts-call")
    save(generate_self_signed("localhost"), home / "sts.pem", home / "sts.key")
    srv = server("--bootstrap", "issued-token", "--issuer-cert", str(home / "sts.pem"))
    proc, s = launch_sts(home, {srv.url: srv.home / "dev-cert.pem"})
    try:
        out = subprocess.run(
            [
                *(sys.executable, "-m", "wssc", "call", srv.url, "Add", "2", "3", "--sts", s.url),
                *("--username", "alice", "--password", "secret", "--sts-cafile", s.ca),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "5"
        assert "issued a SAML 2.0 token to alice" in s.log.read_text()
    finally:
        proc.terminate()
        proc.wait(10)


def test_wssc_sts_publishes_its_wsdl_and_answers_mex(sts: Sts) -> None:
    """The running STS names its own address in its metadata, over ``?wsdl`` and mex alike."""
    from wssc.bootstrap.registry import settings_from_wsdl
    from wssc.policy.mex import GET_CONTENT_TYPE, get_request, metadata_root, metadata_sections
    from wssc.settings import Bootstrap

    ctx = ssl.create_default_context(cafile=sts.ca)
    wsdl = httpx.get(sts.url + "?wsdl", verify=ctx, timeout=10)
    assert wsdl.status_code == 200
    ep = settings_from_wsdl(wsdl.content)
    assert ep.address == sts.url and ep.settings.bootstrap == Bootstrap.USERNAME_OVER_TRANSPORT
    headers = {"content-type": GET_CONTENT_TYPE}
    mex = httpx.post(sts.url, content=get_request(sts.url), headers=headers, verify=ctx, timeout=10)
    assert mex.status_code == 200
    from lxml import etree

    md = metadata_root(etree.fromstring(mex.content))
    assert md is not None
    assert settings_from_wsdl(etree.tostring(metadata_sections(md)[0][0])).address == sts.url
