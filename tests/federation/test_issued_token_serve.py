"""IssuedToken end to end: `wssc serve --bootstrap issued-token` trusting an STS's
certificate, and wssc's client holding a token from that STS; with a secure session (the
issued token bootstraps an SCT) and without (each message carries the token), both families."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from servers import Server
from wssc.bootstrap.registry import ClientCredentials
from wssc.certs import Certificate, load, save
from wssc.client import Client
from wssc.federation.assertion import token_type
from wssc.federation.saml2 import build_saml2
from wssc.federation.saml11 import build_saml11
from wssc.federation.saml_signature import sign_assertion
from wssc.federation.token import IssuedToken
from wssc.settings import Bootstrap
from wssc.trust.issued import assertion_reference


def mint(
    sts: Certificate, rp: Certificate, audience: str, version: str = "saml20", **kw: object
) -> IssuedToken:
    """A token as `wssc sts` issues it (tests/federation/test_sts_issue.py checks that path)."""
    key = bytes(range(32))
    args: dict[str, object] = {"issuer": "https://sts.test/", "audience": audience, "relying_party": rp}
    args.update(proof_key=key, subject="alice", now=time.time())
    args.update(kw)
    build = build_saml11 if version == "saml11" else build_saml2
    a = sign_assertion(build(**args), sts)  # type: ignore[arg-type]
    return IssuedToken(a, key, assertion_reference(a), token_type(a), None)


@pytest.fixture(scope="module")
def sts_pem(tmp_path_factory: pytest.TempPathFactory, sts_cert: Certificate) -> Path:
    d = tmp_path_factory.mktemp("issuer")
    save(sts_cert, d / "sts.pem", d / "sts.key")
    return d / "sts.pem"


@pytest.mark.parametrize(
    ("binding", "mode", "version"),
    list(itertools.product(["wshttp", "ws2007"], ["session", "per-message"], ["saml20", "saml11"])),
)
def test_issued_token_calls(
    server: Callable[..., Server], sts_cert: Certificate, sts_pem: Path, binding: str, mode: str, version: str
) -> None:
    args = ["--binding", binding, "--bootstrap", "issued-token", "--issuer-cert", str(sts_pem)]
    if mode == "per-message":
        args.append("--no-secure-context")
    srv = server(*args)
    rp = load(srv.home / "dev-cert.pem")
    token = mint(sts_cert, rp, srv.url, version)
    events: list[str] = []
    client = Client.from_wsdl(
        srv.wsdl_url,
        credentials=ClientCredentials(issued_token=token),
        on_event=lambda e, d: events.append(e),
    )
    assert client.session.scs.bootstrap == Bootstrap.ISSUED_TOKEN
    with client:
        assert client.call("Add", a=2, b=3) == 5
        assert client.Echo(text="héllo") == "héllo"
    assert events.count("issue") == (1 if mode == "session" else 0)


def test_policy_names_the_sts_and_inspect_shows_it(
    server: Callable[..., Server], sts_pem: Path, sts_cert: Certificate
) -> None:
    """``sp:IssuedToken`` carries ``sp:Issuer`` (address and mex metadata) and the
    RequestSecurityTokenTemplate; the client's import reads them; ``wssc inspect`` names the STS."""
    import subprocess
    import sys

    import httpx

    from wssc.bootstrap.registry import settings_from_wsdl

    sts, mex = "https://sts.example/adfs/services/trust/13/usernamemixed", "https://sts.example/adfs/mex"
    srv = server(
        "--bootstrap",
        "issued-token",
        "--issuer-cert",
        str(sts_pem),
        "--sts-address",
        sts,
        "--sts-metadata",
        mex,
    )
    wsdl = httpx.get(srv.wsdl_url).content
    assert b"RequestSecurityTokenTemplate" in wsdl and b"#SAMLV2.0" in wsdl
    ep = settings_from_wsdl(wsdl)
    assert ep.settings.bootstrap == Bootstrap.ISSUED_TOKEN
    assert (ep.settings.issuer_address, ep.settings.issuer_metadata) == (sts, mex)
    out = subprocess.run(
        [sys.executable, "-m", "wssc", "inspect", srv.wsdl_url], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "STS:" in out.stdout and sts in out.stdout and "IssuedToken" in out.stdout
    assert f"metadata: {mex}" in out.stdout
