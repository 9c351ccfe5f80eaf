"""The client follows ``sp:Issuer`` by itself: `wssc serve --bootstrap issued-token` publishes
its STS (address and mex metadata), `wssc sts` publishes its own metadata, and
``Client.from_wsdl`` / ``AsyncClient.from_wsdl`` / ``wssc call`` with no ``--sts`` fetch the
STS's metadata, sign in there and call the service, in both families."""

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
from wssc.certs import generate_self_signed, save
from wssc.client import AsyncClient, Client
from wssc.errors import IssuerMetadataUnavailable, IssuerUnknown


@dataclass
class Federation:
    sts_url: str
    ca: str
    log: Path
    servers: dict[str, Server]

    def wait_log(self, text: str) -> None:
        deadline = time.monotonic() + 10
        while text not in self.log.read_text():
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)


KINDS = {  # name -> wssc serve arguments beyond the issuer's
    "wshttp-mex": ("--binding", "wshttp", "--sts-metadata", "{sts}"),
    "ws2007-mex": ("--binding", "ws2007", "--sts-metadata", "{sts}"),
    "ws2007-wsdl": ("--binding", "ws2007", "--no-secure-context"),  # no metadata: {sts}?wsdl
}


@pytest.fixture(scope="module")
def fed(server: Callable[..., Server], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    home = tmp_path_factory.mktemp("follow")
    save(generate_self_signed("localhost"), home / "sts.pem", home / "sts.key")
    port = free_port()
    sts_url = f"https://127.0.0.1:{port}/sts"
    servers = {}
    for name, extra in KINDS.items():
        args = [a.format(sts=sts_url) for a in extra]
        servers[name] = server(
            "--bootstrap",
            "issued-token",
            "--issuer-cert",
            str(home / "sts.pem"),
            "--sts-address",
            sts_url,
            *args,
        )
    (home / "users").write_text("alice:secret\n")
    cmd = [sys.executable, "-m", "wssc", "--log-level", "INFO", "sts", "--port", str(port)]
    cmd += ["--cert", str(home / "sts.pem"), "--key", str(home / "sts.key"), "--users", str(home / "users")]
    for srv in servers.values():
        cmd += ["--relying-party-cert", f"{srv.url}={srv.home / 'dev-cert.pem'}"]
    log = home / "sts.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    ctx = ssl.create_default_context(cafile=str(home / "sts.pem"))
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(sts_url + "?wsdl", verify=ctx, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    try:
        yield Federation(sts_url, str(home / "sts.pem"), log, servers)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("kind", ["wshttp-mex", "ws2007-mex"])
def test_client_follows_the_issuer_through_mex(fed: Federation, kind: str) -> None:
    srv = fed.servers[kind]
    client = Client.from_wsdl(srv.wsdl_url, username="alice", password="secret", sts_verify=fed.ca)
    with client:
        assert client.call("Add", a=2, b=3) == 5
    fed.wait_log("answered a metadata Get")
    fed.wait_log("issued a SAML 2.0 token to alice")


async def test_async_client_follows_the_issuer_through_its_wsdl(fed: Federation) -> None:
    """No IssuerMetadata in the policy: the STS's ``?wsdl`` is read instead."""
    srv = fed.servers["ws2007-wsdl"]
    client = await AsyncClient.from_wsdl(srv.wsdl_url, username="alice", password="secret", sts_verify=fed.ca)
    async with client:
        assert await client.call("Add", a=40, b=2) == 42


def test_wssc_call_without_sts_follows_the_issuer(fed: Federation) -> None:
    srv = fed.servers["wshttp-mex"]
    out = subprocess.run(
        [
            *(sys.executable, "-m", "wssc", "call", srv.url, "Add", "20", "22"),
            *("--username", "alice", "--password", "secret", "--sts-cafile", fed.ca),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42"


def test_no_issuer_in_the_policy_and_none_given(server: Callable[..., Server], tmp_path: Path) -> None:
    save(generate_self_signed("sts.test"), tmp_path / "sts.pem", tmp_path / "sts.key")
    srv = server("--bootstrap", "issued-token", "--issuer-cert", str(tmp_path / "sts.pem"))
    with pytest.raises(IssuerUnknown, match="names no issuer"):
        Client.from_wsdl(srv.wsdl_url, username="alice", password="secret")


def test_unreachable_sts_metadata_names_every_address_tried(
    server: Callable[..., Server], tmp_path: Path
) -> None:
    save(generate_self_signed("sts.test"), tmp_path / "sts.pem", tmp_path / "sts.key")
    gone = f"https://127.0.0.1:{free_port()}/sts"
    srv = server(
        "--bootstrap",
        "issued-token",
        "--issuer-cert",
        str(tmp_path / "sts.pem"),
        "--sts-address",
        gone,
        "--sts-metadata",
        gone + "/mex",
    )
    with pytest.raises(IssuerMetadataUnavailable) as err:
        Client.from_wsdl(srv.wsdl_url, username="alice", password="secret", timeout=5)
    text = str(err.value)
    assert f"{gone}/mex:" in text and f"{gone}?wsdl:" in text
