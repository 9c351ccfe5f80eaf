"""WSDLs that WCF services published (``wcf_corpus/``, provenance in its PROVENANCE.md): every
port whose bootstrap wssc supports is recognised by ``wssc inspect`` and `Client.from_wsdl`; every
other one is refused naming the assertion. A mex answer is read like a WSDL, fetched with a
WS-MetadataExchange Get; an import that cannot be read does not stop ``inspect``."""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import servers
from wssc.bootstrap.registry import ClientCredentials, settings_from_wsdl
from wssc.certs import generate_self_signed
from wssc.cli.main import main
from wssc.client import AsyncClient, Client
from wssc.client.common import endpoint_from_wsdl, signature
from wssc.contract import DeserializationFailed, SerializationFailed, decode_response, encode_request
from wssc.contract.wsdl import parse_wsdl_operations
from wssc.errors import ConfigurationError, InvalidArgument, TransportError
from wssc.federation.token import IssuedToken
from wssc.policy.wsdl_resolve import assemble, read_local
from wssc.settings import WSHTTP_WSS10
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns

CORPUS = Path(__file__).parent / "wcf_corpus"
CERT = generate_self_signed()
WSSC_MAIN = "ms-interop-wssc/WSSecureConversation.wsdl"
COREWCF = "corewcf-wshttp-twmc-multiauth.wsdl"
ADFS = "adfs-mex-getresponse.xml"
ADFS_PORT = "UserNameWSTrustBinding_IWSTrust13Async"
TRUST13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"

#: (file, port, bootstrap wssc recognises, WS-SecurityPolicy family)
SUPPORTED = [
    (COREWCF, "WSHttpBinding_IEchoService2", "UserNameOverTransport", "wshttp"),
    (COREWCF, "WSHttpBinding_IEchoService1", "CertificateOverTransport", "wshttp"),
    (WSSC_MAIN, "SecureConversation_UserNameOverTransport_IPingService", "UserNameOverTransport", "wshttp"),
    (WSSC_MAIN, "_A_IPingService", "AnonymousForCertificate", "wshttp"),
    (WSSC_MAIN, "ADC_IPingService", "AnonymousForCertificate", "wshttp"),
    (WSSC_MAIN, "UXC_IPingService", "UserNameForCertificate", "wshttp"),
    (WSSC_MAIN, "XC_IPingService", "MutualCertificate", "wshttp"),
    # WCF's MutualCertificate under WS-Security 1.0: an AsymmetricBinding (issue 16)
    (WSSC_MAIN, "_X10_IPingService", "MutualCertificate", "wshttp-wss10"),
    (ADFS, "UserNameWSTrustBinding_IWSTrust13Async", "UserNameOverTransport", "ws2007"),
    # issuedtokenmixedsymmetricbasic256: WCF's IssuedTokenOverTransport
    (ADFS, "IssuedTokenWSTrustBinding_IWSTrust13Async4", "IssuedTokenOverTransport", "ws2007"),
]
#: The operations `Client.from_wsdl` lists for each supported port, with their signatures and
#: actions: wrapped scalars (CoreWCF), an ``xs:element ref=`` into an imported schema (the
#: interop Ping: raw XML as an lxml element), document/literal bare (ADFS's WS-Trust Message).
PING = {"Ping(Ping: etree._Element | None) -> etree._Element | None": "http://xmlsoap.org/Ping"}
OPERATIONS = {
    COREWCF: {
        "EchoString(echo: str | None) -> str | None": "http://tempuri.org/IEchoService/EchoString",
        # WCF's StreamBody, in the schema the WSDL imports: an xs:simpleType restricting base64Binary
        "EchoStream(echo: bytes) -> bytes": "http://tempuri.org/IEchoService/EchoStream",
        "EchoStringAsync(echo: str | None) -> str | None": "http://tempuri.org/IEchoService/EchoStringAsync",
        "EchoStreamAsync(echo: bytes) -> bytes": "http://tempuri.org/IEchoService/EchoStreamAsync",
        "EchoToFail(echo: str | None) -> str | None": "http://tempuri.org/IEchoService/EchoToFail",
    },
    WSSC_MAIN: PING,
    ADFS: {
        "Trust13IssueAsync(request: etree._Element) -> etree._Element": (
            "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"
        )
    },
}
#: (file, port, what the refusal must name)
REFUSED = [
    (COREWCF, "WSHttpBinding_IEchoService", "sp:SpnegoContextToken"),
    (WSSC_MAIN, "SecureConversation_MutualCertificate10SignEncrypt_IPingService", "sp:X509Token"),
    ("metro-wcf-wholesaler-rm.wsdl", "WholesalerPort", "wsrm:RMAssertion"),
    ("ms-interop-mtom-soap11.wsdl", "BasicHttpBinding_IMtomTest", "wsoma:OptimizedMimeSerialization"),
    (ADFS, "CustomBinding_IWSTrustFeb2005Async", "http:NegotiateAuthentication"),
    (ADFS, "CustomBinding_IWSTrustFeb2005Async1", "sp:KerberosToken"),
    (ADFS, "CustomBinding_IWSTrust13Async", "sp:KerberosToken"),
    (ADFS, "CertificateWSTrustBinding_IWSTrustFeb2005Async1", "RequireClientCertificate"),
    (ADFS, "IssuedTokenWSTrustBinding_IWSTrust13Async", "sp:IssuedToken"),
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
    assert rc == 4  # explained, with a warning: a document was not read
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


@pytest.mark.parametrize(("name", "port", "bootstrap", "family"), SUPPORTED)
def test_client_from_wsdl_builds_for_supported_corpus_ports(
    corpus_url: str, name: str, port: str, bootstrap: str, family: str
) -> None:
    kw: dict[str, Any] = {"port": port, "service_certificate": CERT, "username": "u", "password": "p"}
    if bootstrap == "CertificateOverTransport":  # the client's own certificate, instead
        kw = {"port": port, "credentials": ClientCredentials(certificate=CERT)}
    if bootstrap == "MutualCertificate":  # the client's own certificate, and the service's
        kw = {"port": port, "credentials": ClientCredentials(certificate=CERT, service_certificate=CERT)}
    if bootstrap == "IssuedTokenOverTransport":  # a token in hand: ADFS's own STS is not followed
        assertion = etree.Element(f"{{{ns.SAML2}}}Assertion", ID="_a")
        ref = SecurityTokenReference(key_identifier="_a", value_type=ns.WSS_SAML2_ID)
        token = IssuedToken(assertion, bytes(32), ref, ns.WSS_SAML2_TOKEN_TYPE, None)
        kw = {"port": port, "credentials": ClientCredentials(issued_token=token)}
    client = Client.from_wsdl(corpus_url + name, **kw)
    try:
        scs = client.settings.secure_conversation
        assert scs.bootstrap.value == bootstrap
        assert scs.message_security_version.name == family
        listed = {signature(op): op.action for op in client.contract.operations.values()}
        assert listed == OPERATIONS[name]
    finally:
        client._http.close()  # built only: nothing was sent, so no Cancel either


def test_adfs_trust13_port_takes_its_own_port_type_and_is_bare() -> None:
    data = assemble(read_local(str(CORPUS / ADFS)), str(CORPUS / ADFS))
    # the document's first portType is IWSTrustFeb2005Async: the port's binding decides
    ep = endpoint_from_wsdl(data, "https://adfs.example/adfs/services/trust/mex", ADFS_PORT)
    assert ep.contract.name == "IWSTrust13Async"
    op = ep.contract.operation("Trust13IssueAsync")
    assert op.bare_request and op.bare_reply
    assert op.reply_action == "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal"
    rst = etree.Element(f"{{{TRUST13}}}RequestSecurityToken")
    etree.SubElement(rst, f"{{{TRUST13}}}RequestType").text = TRUST13 + "/Issue"
    body = encode_request(op, {"request": rst})
    assert body.tag == f"{{{TRUST13}}}RequestSecurityToken" and body is not rst  # the body, a copy
    assert body.findtext(f"{{{TRUST13}}}RequestType") == TRUST13 + "/Issue"
    rstrc = etree.Element(f"{{{TRUST13}}}RequestSecurityTokenResponseCollection")
    etree.SubElement(rstrc, f"{{{TRUST13}}}RequestSecurityTokenResponse")
    got = decode_response(op, rstrc)
    assert isinstance(got, etree._Element) and etree.tostring(got) == etree.tostring(rstrc)
    # a body element of another name is refused before anything is sent
    with pytest.raises(SerializationFailed, match="RequestSecurityToken"):
        encode_request(op, {"request": etree.Element(f"{{{TRUST13}}}RequestSecurityTokenResponse")})
    with pytest.raises(DeserializationFailed, match="RequestSecurityTokenResponseCollection"):
        decode_response(op, etree.Element(f"{{{TRUST13}}}RequestSecurityTokenResponse"))


# --- a real call: a wssc service serving the interop Ping contract, the client from its WSDL ----
PING_NS = "http://xmlsoap.org/Ping"
PING_PORT = "_A_IPingService"


def _ping(tag: str, scenario: str, origin: str, text: str) -> etree._Element:
    el = etree.Element(f"{{{PING_NS}}}{tag}", nsmap={"p": PING_NS})
    for name, value in (("scenario", scenario), ("origin", origin), ("text", text)):
        etree.SubElement(el, f"{{{PING_NS}}}{name}").text = value
    return el


class PingService:
    """The interop Ping, served from the contract read out of the corpus WSDL: echoes the text."""

    def __init__(self) -> None:
        self.received: list[etree._Element | None] = []

    def Ping(self, Ping: etree._Element | None) -> etree._Element:
        self.received.append(Ping)
        text = Ping.findtext(f"{{{PING_NS}}}text") if Ping is not None else None
        return _ping("PingResponse", "_A", "wssc", f"echo: {text}")


@pytest.fixture
def ping_service() -> Iterator[tuple[str, PingService]]:
    from wssc.service.engine import ServiceEngine
    from wssc.service.wsgi import WsgiApp, make_threaded_server

    data = assemble(read_local(str(CORPUS / WSSC_MAIN)), str(CORPUS / WSSC_MAIN))
    imported = settings_from_wsdl(data, port=PING_PORT)
    contract = parse_wsdl_operations(data, binding=imported.binding_name)
    service = PingService()
    port = servers.free_port()
    address = f"http://127.0.0.1:{port}/Security_WsSecurity_Service_Indigo/WSSecureConversation.svc/_A"
    engine = ServiceEngine(
        service, settings=imported.endpoint_settings(), address=address, certificate=CERT, contract=contract
    )
    httpd = make_threaded_server("127.0.0.1", port, WsgiApp(engine))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield address, service
    httpd.shutdown()
    httpd.server_close()


def test_a_call_to_a_wssc_service_serving_the_corpus_ping_contract(
    corpus_url: str, ping_service: tuple[str, PingService]
) -> None:
    address, service = ping_service
    with Client.from_wsdl(
        corpus_url + WSSC_MAIN, port=PING_PORT, address=address, service_certificate=CERT
    ) as client:
        assert client.settings.secure_conversation.bootstrap.value == "AnonymousForCertificate"
        reply = client.Ping(Ping=_ping("Ping", "_A", "wssc", "hello"))
        assert isinstance(reply, etree._Element)
        assert reply.tag == f"{{{PING_NS}}}PingResponse"
        assert reply.findtext(f"{{{PING_NS}}}text") == "echo: hello"
        ((got,),) = [service.received]
        assert got is not None and got.findtext(f"{{{PING_NS}}}origin") == "wssc"
        # the element may be left out (minOccurs="0"): the service gets None
        assert client.Ping() is not None and service.received[-1] is None
        # an element of another name is refused locally, naming the one the contract wants
        with pytest.raises(InvalidArgument, match=r"\{http://xmlsoap.org/Ping\}Ping"):
            client.Ping(Ping=_ping("PingResponse", "_A", "wssc", "x"))
        with pytest.raises(InvalidArgument, match="expected an lxml element"):
            client.Ping(Ping="<Ping/>")
        assert len(service.received) == 2  # nothing was sent for the refused ones


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


@pytest.fixture
def mex_url() -> Iterator[str]:
    MexService.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), MexService)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/adfs/services/trust/mex"
    httpd.shutdown()
    httpd.server_close()


def _check_mex_client(client: Client | AsyncClient, url: str) -> None:
    assert client.settings.secure_conversation.bootstrap.value == "UserNameOverTransport"
    assert client.settings.secure_conversation.message_security_version.name == "ws2007"
    listed = {signature(op): op.action for op in client.contract.operations.values()}
    assert listed == OPERATIONS[ADFS]
    assert client.address == "https://adfs.example/svc"
    ((path, content_type, body),) = MexService.requests  # one POST: the Get, nothing else
    assert path == "/adfs/services/trust/mex" and ns.MEX_GET_ACTION in content_type
    assert etree.fromstring(body).findtext(f"{{{ns.SOAP12}}}Header/{{{ns.WSA10}}}To") == url


def test_client_from_mex_reads_the_metadata_exchange_answer(mex_url: str) -> None:
    client = Client.from_mex(
        mex_url, port=ADFS_PORT, address="https://adfs.example/svc", username="u", password="p"
    )
    try:
        _check_mex_client(client, mex_url)
    finally:
        client._http.close()  # built only: nothing was sent
    # from_wsdl(mex=True) is the same; without it the address is asked with GET, which it refuses
    MexService.requests = []
    client = Client.from_wsdl(
        mex_url, mex=True, port=ADFS_PORT, address="https://adfs.example/svc", username="u", password="p"
    )
    client._http.close()
    assert len(MexService.requests) == 1
    with pytest.raises(TransportError, match=r"HTTP 405 \(a WS-MetadataExchange endpoint\? use from_mex"):
        Client.from_wsdl(mex_url, port=ADFS_PORT, username="u", password="p")


def test_async_client_from_mex_reads_the_metadata_exchange_answer(mex_url: str) -> None:
    async def build() -> None:
        client = await AsyncClient.from_mex(
            mex_url, port=ADFS_PORT, address="https://adfs.example/svc", username="u", password="p"
        )
        try:
            _check_mex_client(client, mex_url)
        finally:
            await client._http.aclose()

    asyncio.run(build())


def test_from_mex_reports_the_fault_a_mex_endpoint_answers(tmp_path: Path) -> None:
    fault = (
        f'<s:Envelope xmlns:s="{ns.SOAP12}"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value>'
        '</s:Code><s:Reason><s:Text xml:lang="en">metadata publishing is off</s:Text></s:Reason>'
        "</s:Fault></s:Body></s:Envelope>"
    ).encode()

    class Faulting(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(500)
            self.send_header("Content-Type", "application/soap+xml")
            self.send_header("Content-Length", str(len(fault)))
            self.end_headers()
            self.wfile.write(fault)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Faulting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(ConfigurationError) as caught:
            Client.from_mex(f"http://127.0.0.1:{httpd.server_address[1]}/mex", username="u", password="p")
        assert "not a WSDL: the document is a SOAP fault" in str(caught.value)
        assert "fault reason: metadata publishing is off" in caught.value.__notes__
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_svcutil_types_raw_xml_values_of_a_corpus_wsdl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ping_client.py"
    assert main(["svcutil", str(CORPUS / WSSC_MAIN), "-o", str(out)]) == 0, capsys.readouterr().err
    source = out.read_text()
    assert "from lxml.etree import _Element as _XmlElement" in source
    assert "def Ping(self, Ping: _XmlElement | None) -> _XmlElement | None:" in source
    compile(source, str(out), "exec")


def test_a_wsdl_identity_spn_or_upn_is_read() -> None:
    """``wsid:Identity/wsid:Spn`` (and ``Upn``), as a Windows-authenticated WCF service
    publishes it, is read; a value that is no principal name is refused."""
    from wssc.policy.wsdl_import import _principal

    wsid = "http://schemas.xmlsoap.org/ws/2006/02/addressingidentity"

    def port(local: str, value: str) -> etree._Element:
        return etree.fromstring(
            f'<p><a:EndpointReference xmlns:a="{ns.WSA10}"><a:Address>http://x/</a:Address>'
            f'<Identity xmlns="{wsid}"><{local}>{value}</{local}></Identity></a:EndpointReference></p>'
        )

    assert _principal(port("Spn", " host/server.example.com "), "Spn") == "host/server.example.com"
    assert _principal(port("Upn", "svc@EXAMPLE.COM"), "Upn") == "svc@EXAMPLE.COM"
    assert _principal(port("Upn", "svc@EXAMPLE.COM"), "Spn") is None
    with pytest.raises(ConfigurationError, match="is not a principal name"):
        _principal(port("Spn", "host/a b"), "Spn")
