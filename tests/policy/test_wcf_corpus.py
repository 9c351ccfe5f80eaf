"""WSDLs that WCF services published (``wcf_corpus/``, provenance in its PROVENANCE.md): every
port whose bootstrap wssc supports is recognised by ``wssc inspect`` and `Client.from_wsdl`; every
other one is refused naming the assertion. A mex answer is read like a WSDL, fetched with a
WS-MetadataExchange Get; an import that cannot be read does not stop ``inspect``."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from wssc.bootstrap.registry import ClientCredentials, settings_from_wsdl
from wssc.certs import generate_self_signed
from wssc.cli.main import main
from wssc.client import Client
from wssc.contract.wsdl import WsdlImportError
from wssc.errors import ConfigurationError
from wssc.policy.wsdl_resolve import assemble, read_local
from wssc.settings import WSHTTP_WSS10
from wssc.xml import ns

CORPUS = Path(__file__).parent / "wcf_corpus"
CERT = generate_self_signed()
WSSC_MAIN = "ms-interop-wssc/WSSecureConversation.wsdl"
COREWCF = "corewcf-wshttp-twmc-multiauth.wsdl"
ADFS = "adfs-mex-getresponse.xml"

#: (file, port, bootstrap wssc recognises, WS-SecurityPolicy family)
SUPPORTED = [
    (COREWCF, "WSHttpBinding_IEchoService2", "UserNameOverTransport", "wshttp"),
    (COREWCF, "WSHttpBinding_IEchoService1", "CertificateOverTransport", "wshttp"),
    (WSSC_MAIN, "SecureConversation_UserNameOverTransport_IPingService", "UserNameOverTransport", "wshttp"),
    (WSSC_MAIN, "_A_IPingService", "AnonymousForCertificate", "wshttp"),
    (WSSC_MAIN, "ADC_IPingService", "AnonymousForCertificate", "wshttp"),
    (ADFS, "UserNameWSTrustBinding_IWSTrust13Async", "UserNameOverTransport", "ws2007"),
]
#: (file, port, what the refusal must name)
REFUSED = [
    (COREWCF, "WSHttpBinding_IEchoService", "sp:SpnegoContextToken"),
    (WSSC_MAIN, "SecureConversation_MutualCertificate10SignEncrypt_IPingService", "sp:X509Token"),
    (WSSC_MAIN, "XC_IPingService", "sp:X509Token (client certificates"),
    (WSSC_MAIN, "_X10_IPingService", "sp:AsymmetricBinding"),
    (WSSC_MAIN, "UXC_IPingService", "UserNameForCertificate"),
    ("metro-wcf-wholesaler-rm.wsdl", "WholesalerPort", "wsrm:RMAssertion"),
    ("ms-interop-mtom-soap11.wsdl", "BasicHttpBinding_IMtomTest", "wsoma:OptimizedMimeSerialization"),
    (ADFS, "CustomBinding_IWSTrustFeb2005Async", "http:NegotiateAuthentication"),
    (ADFS, "CustomBinding_IWSTrustFeb2005Async1", "sp:KerberosToken"),
    (ADFS, "CustomBinding_IWSTrust13Async", "sp:KerberosToken"),
    (ADFS, "CertificateWSTrustBinding_IWSTrustFeb2005Async1", "RequireClientCertificate"),
    (ADFS, "IssuedTokenWSTrustBinding_IWSTrust13Async", "sp:IssuedToken"),
    (ADFS, "IssuedTokenWSTrustBinding_IWSTrust13Async4", "sp:IssuedToken"),
]


def inspect(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["inspect", *args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(("name", "port", "bootstrap", "family"), SUPPORTED)
def test_inspect_recognises_supported_corpus_ports(
    capsys: pytest.CaptureFixture[str], name: str, port: str, bootstrap: str, family: str
) -> None:
    rc, out, err = inspect(capsys, str(CORPUS / name), "--port", port)
    assert rc == 0, err
    assert f"port {port})" in out
    assert f"Bootstrap:       {bootstrap}" in out
    expected = "WS2007HttpBinding" if family == "ws2007" else "WSHttpBinding"
    assert f"Version family:  {expected}:" in out


@pytest.mark.parametrize(("name", "port", "named"), REFUSED)
def test_inspect_refuses_unsupported_corpus_ports_by_name(
    capsys: pytest.CaptureFixture[str], name: str, port: str, named: str
) -> None:
    rc, out, err = inspect(capsys, str(CORPUS / name), "--port", port)
    assert rc != 0
    assert out == ""
    assert named in err


def test_wcf_assertions_that_change_nothing_are_accepted_and_noted() -> None:
    data = assemble(read_local(str(CORPUS / WSSC_MAIN)), str(CORPUS / WSSC_MAIN))
    assert b"wsap:UsingAddressing" in data
    ep = settings_from_wsdl(data, port="_A_IPingService")
    assert any(n.startswith("wsap:UsingAddressing") for n in ep.evidence.notes)
    # wspe:Utf816FFFECharacterEncoding (WCF's text encoder) beside the policy: accepted too
    text = data.replace(
        b"<wsap:UsingAddressing/>", b'<wspe:Utf816FFFECharacterEncoding xmlns:wspe="%s"/>' % ns.WSPE.encode()
    )
    ep = settings_from_wsdl(text, port="_A_IPingService")
    assert ep.settings.bootstrap.value == "AnonymousForCertificate"
    assert any(n.startswith("wspe:Utf816FFFECharacterEncoding") for n in ep.evidence.notes)


@pytest.mark.parametrize(
    ("assertion", "named"),
    [
        (
            f'<msb:BinaryEncoding xmlns:msb="{ns.MSB}"/>',
            "msb:BinaryEncoding needs WCF's binary message encoding",
        ),
        (
            f'<wsoma:OptimizedMimeSerialization xmlns:wsoma="{ns.WSOMA}"/>',
            "wsoma:OptimizedMimeSerialization needs MTOM",
        ),
        (
            f'<wsrmp:RMAssertion xmlns:wsrmp="{ns.WSRMP_11}"/>',
            "wsrmp:RMAssertion needs WS-ReliableMessaging 1.1",
        ),
        (
            f'<http:BasicAuthentication xmlns:http="{ns.MS_HTTP_POLICY}"/>',
            "http:BasicAuthentication needs HTTP-level",
        ),
        (f'<cdp:CompositeDuplex xmlns:cdp="{ns.CDP}"/>', "cdp:CompositeDuplex needs a composite duplex"),
    ],
)
def test_wcf_assertions_needing_another_protocol_are_refused_by_name(assertion: str, named: str) -> None:
    data = assemble(read_local(str(CORPUS / WSSC_MAIN)), str(CORPUS / WSSC_MAIN))
    text = data.replace(b"<wsap:UsingAddressing/>", b"<wsap:UsingAddressing/>" + assertion.encode())
    with pytest.raises(ConfigurationError) as caught:
        settings_from_wsdl(text, port="_A_IPingService")
    assert named in str(caught.value)


def test_wss10_runs_over_transport_and_is_refused_by_name_for_message_security() -> None:
    data = assemble(read_local(str(CORPUS / WSSC_MAIN)), str(CORPUS / WSSC_MAIN))
    wss10 = re.sub(rb"sp:Wss11\b", b"sp:Wss10", data)  # with only WS-Security 1.0's references:
    wss10 = re.sub(rb"<sp:MustSupportRef(Thumbprint|EncryptedKey)/>", b"", wss10)
    ep = settings_from_wsdl(wss10, port="SecureConversation_UserNameOverTransport_IPingService")
    assert ep.settings.message_security_version == WSHTTP_WSS10
    assert ep.settings.message_security_version.wss11 is False
    with pytest.raises(ConfigurationError) as caught:
        settings_from_wsdl(wss10, port="_A_IPingService")
    assert "sp:Wss10 (WS-Security 1.0" in str(caught.value)
    assert "AnonymousForCertificate" in str(caught.value)
    # unchanged, the same ports are WS-Security 1.1
    assert settings_from_wsdl(data, port="_A_IPingService").settings.message_security_version.wss11


def test_inspect_goes_on_without_an_import_it_cannot_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "wssc"
    folder.mkdir()
    for name in ("WSSecureConversation.wsdl", "WSSecureConversation_policy.wsdl"):  # no XMLSoapPing.xsd
        shutil.copy(CORPUS / "ms-interop-wssc" / name, folder / name)
    rc, out, err = inspect(capsys, str(folder / "WSSecureConversation.wsdl"), "--port", "ADC_IPingService")
    assert rc == 0
    assert "Bootstrap:       AnonymousForCertificate" in out
    assert "not read: " in err and "XMLSoapPing.xsd" in err
    # an unreadable import whose policy is at hand: the refusal names the assertion and the import
    rc, out, err = inspect(capsys, str(CORPUS / "ms-interop-mtom-soap11.wsdl"))
    assert rc != 0
    assert "wsoma:OptimizedMimeSerialization" in err
    assert "not read: http://131.107.72.15/MTOM_Service_Indigo/Soap11MtomUtf8.svc?wsdl=wsdl0" in err


def test_a_bare_mex_metadata_document_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = etree.parse(str(CORPUS / ADFS)).getroot()
    metadata = root.find(f"{{{ns.SOAP12}}}Body/{{{ns.MEX}}}Metadata")
    assert metadata is not None
    bare = tmp_path / "metadata.xml"
    bare.write_bytes(etree.tostring(metadata))
    rc, out, err = inspect(capsys, str(bare), "--port", "UserNameWSTrustBinding_IWSTrust13Async")
    assert rc == 0, err
    assert "WS-SecurityPolicy 1.2" in out


# --- over HTTP: Client.from_wsdl, and a mex endpoint -------------------------------------------
@pytest.fixture
def corpus_url() -> Iterator[str]:
    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(CORPUS), **kw)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


#: Supported ports whose contract wssc's contract reader cannot map yet (``xs:element ref=``
#: wrappers, WS-Trust's RequestSecurityToken): the policy is recognised, the contract refused.
CONTRACT_UNMAPPED = {WSSC_MAIN, ADFS}


@pytest.mark.parametrize(("name", "port", "bootstrap", "family"), SUPPORTED)
def test_client_from_wsdl_builds_for_supported_corpus_ports(
    corpus_url: str, name: str, port: str, bootstrap: str, family: str
) -> None:
    kw: dict[str, Any] = {"port": port, "service_certificate": CERT, "username": "u", "password": "p"}
    if bootstrap == "CertificateOverTransport":  # the client's own certificate, instead
        kw = {"port": port, "credentials": ClientCredentials(certificate=CERT)}
    if name in CONTRACT_UNMAPPED:
        with pytest.raises(WsdlImportError) as caught:  # past the policy: the contract stops it
            Client.from_wsdl(corpus_url + name, **kw)
        assert "no usable operations" in str(caught.value)
        return
    client = Client.from_wsdl(corpus_url + name, **kw)
    try:
        scs = client.settings.secure_conversation
        assert scs.bootstrap.value == bootstrap
        assert scs.message_security_version.name == family
        assert client.contract.operations
    finally:
        client._http.close()  # built only: nothing was sent, so no Cancel either


@pytest.mark.parametrize(("name", "port", "named"), REFUSED)
def test_client_from_wsdl_refuses_unsupported_corpus_ports_by_name(
    corpus_url: str, name: str, port: str, named: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Client.from_wsdl(corpus_url + name, port=port, service_certificate=CERT, username="u", password="p")
    assert named in str(caught.value)


class MexService(BaseHTTPRequestHandler):
    """A mex endpoint as WCF's: answers a WS-Transfer Get (SOAP 1.2 POST) with mex:Metadata."""

    requests: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        MexService.requests.append((self.path, self.headers.get("Content-Type", ""), body))
        envelope = etree.fromstring(body)
        action = envelope.findtext(f"{{{ns.SOAP12}}}Header/{{{ns.WSA10}}}Action")
        if envelope.tag != f"{{{ns.SOAP12}}}Envelope" or action != ns.MEX_GET_ACTION:
            self.send_response(400)
            self.end_headers()
            return
        answer = (CORPUS / ADFS).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_GET(self) -> None:
        self.send_response(405)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_inspect_fetches_through_mex(capsys: pytest.CaptureFixture[str]) -> None:
    MexService.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), MexService)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/adfs/services/trust/mex"
        rc, out, err = inspect(capsys, "--mex", url, "--port", "UserNameWSTrustBinding_IWSTrust13Async")
        assert rc == 0, err
        assert "Bootstrap:       UserNameOverTransport" in out
        assert "WS-SecurityPolicy 1.2" in out
        ((path, content_type, body),) = MexService.requests
        assert path == "/adfs/services/trust/mex"
        assert content_type.startswith("application/soap+xml")
        assert ns.MEX_GET_ACTION in content_type
        to = etree.fromstring(body).findtext(f"{{{ns.SOAP12}}}Header/{{{ns.WSA10}}}To")
        assert to == url
        # without --mex the same address is asked with GET ?wsdl, which this service refuses
        rc, out, err = inspect(capsys, url)
        assert rc != 0 and "HTTP 405" in err
    finally:
        httpd.shutdown()
        httpd.server_close()
