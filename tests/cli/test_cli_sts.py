"""``wssc sts`` as a process over HTTPS: a client obtains a token and the relying party
accepts it; a wrong password is refused and the STS logs why."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from servers import free_port
from wssc.certs import Certificate, generate_self_signed, save
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


@pytest.fixture(scope="module")
def sts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sts]:
    home = tmp_path_factory.mktemp("sts")
    cert, rp = generate_self_signed("localhost"), generate_self_signed("rp.test")
    save(cert, home / "sts.pem", home / "sts.key")
    save(rp, home / "rp.pem", home / "rp.key")
    (home / "users").write_text("# test users\nalice:secret\n")
    port = free_port()
    log = home / "sts.log"
    cmd = [sys.executable, "-m", "wssc", "--log-level", "INFO", "sts", "--port", str(port)]
    cmd += ["--cert", str(home / "sts.pem"), "--key", str(home / "sts.key"), "--users", str(home / "users")]
    cmd += ["--relying-party-cert", f"{RP}={home / 'rp.pem'}"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"https://127.0.0.1:{port}/sts"
    deadline = time.monotonic() + 30
    while True:  # poll until the STS answers (a GET is refused with 405)
        assert proc.poll() is None, log.read_text()
        try:
            if (
                httpx.get(
                    url, verify=ssl.create_default_context(cafile=str(home / "sts.pem")), timeout=2
                ).status_code
                == 405
            ):
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    yield Sts(url, str(home / "sts.pem"), cert, rp, log)
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
