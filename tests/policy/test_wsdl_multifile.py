"""WSDLs as WCF publishes them: multi-file ``?wsdl`` (wsdl:import ``?wsdl=wsdl0``, xsd:import
``?xsd=xsd0``) and ``?singleWsdl``; WS-Policy 1.5; an unknown assertion named, never ignored."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from lxml import etree

from wssc.bootstrap.registry import settings_from_wsdl
from wssc.certs import generate_self_signed
from wssc.cli.main import main
from wssc.contract import operation, service_contract
from wssc.contract.wsdl import parse_wsdl_operations
from wssc.errors import ConfigurationError
from wssc.policy.wsdl_resolve import WsdlAssembler, assemble
from wssc.service.engine import ServiceEngine
from wssc.service.wsgi import WsgiApp

sys.path.insert(0, str(Path(__file__).parent))
from test_policy_wcf_samples import message_mode_wsdl

CERT = generate_self_signed()
CONTRACT_NS = "http://example.com/calc/2026"
SERVICE_NS = "http://tempuri.org/"
W = "http://schemas.xmlsoap.org/wsdl/"
XS = "http://www.w3.org/2001/XMLSchema"


@service_contract(namespace=CONTRACT_NS, name="ICalculator")
class Calc:
    @operation
    def Add(self, a: int, b: int) -> int:
        return a + b

    @operation
    def Echo(self, text: str) -> str:
        return text


def wcf_split(single: bytes, base: str) -> dict[str, bytes]:
    """The documents WCF publishes when the contract namespace is not the service's: the main
    ``?wsdl`` (policies, wsdl:import, binding, service), ``?wsdl=wsdl0`` (types that import
    ``?xsd=xsd0``, messages, portType) and ``?xsd=xsd0`` (the schema)."""
    root = etree.fromstring(single)
    assert root.get("targetNamespace") == CONTRACT_NS
    main = etree.Element(
        f"{{{W}}}definitions",
        name="CalcService",
        targetNamespace=SERVICE_NS,
        nsmap={**{k: v for k, v in root.nsmap.items() if k != "tns"}, "tns": SERVICE_NS, "i0": CONTRACT_NS},
    )
    wsdl0 = etree.Element(
        f"{{{W}}}definitions",
        targetNamespace=CONTRACT_NS,
        nsmap={"wsdl": W, "tns": CONTRACT_NS, "xsd": XS, "wsaw": "http://www.w3.org/2006/05/addressing/wsdl"},
    )
    schemas: list[etree._Element] = []
    for child in root:
        local = etree.QName(child).localname
        if local == "Policy":
            main.append(child)
        elif local == "types":
            schemas.extend(child)
        elif local in ("message", "portType"):
            wsdl0.append(child)
    etree.SubElement(main, f"{{{W}}}import", namespace=CONTRACT_NS, location=f"{base}?wsdl=wsdl0")
    for child in root:
        local = etree.QName(child).localname
        if local == "binding":
            child.set("type", "i0:ICalculator")
            main.append(child)
        elif local == "service":
            for port in child:
                port.set("binding", "tns:" + port.get("binding", "").partition(":")[2])
            main.append(child)
    types = etree.SubElement(wsdl0, f"{{{W}}}types")
    wsdl0.insert(0, types)
    stub = etree.SubElement(types, f"{{{XS}}}schema", targetNamespace=CONTRACT_NS + "/Imports")
    for i, _schema in enumerate(schemas):
        etree.SubElement(stub, f"{{{XS}}}import", schemaLocation=f"{base}?xsd=xsd{i}", namespace=CONTRACT_NS)
    docs = {f"{base}?wsdl": etree.tostring(main), f"{base}?wsdl=wsdl0": etree.tostring(wsdl0)}
    for i, schema in enumerate(schemas):
        docs[f"{base}?xsd=xsd{i}"] = etree.tostring(schema)
    return docs


def test_assembled_multifile_wsdl_gives_the_same_endpoint() -> None:
    base = "http://calc.example:8080/svc"
    engine = ServiceEngine(Calc(), address=base, certificate=CERT)
    docs = wcf_split(engine.wsdl(), base)
    assert b"portType" not in docs[base + "?wsdl"] and b"wsdl:import" in docs[base + "?wsdl"]
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return docs[url]

    single = assemble(docs[base + "?wsdl"], base + "?wsdl", fetch)
    assert fetched == [base + "?wsdl=wsdl0", base + "?xsd=xsd0"]
    imported = settings_from_wsdl(single)
    assert imported.address == base and imported.service_certificate_der == CERT.der
    contract = parse_wsdl_operations(single)
    assert contract.namespace == CONTRACT_NS and sorted(contract.operation_names) == ["Add", "Echo"]
    assert contract.operation("Add").action == f"{CONTRACT_NS}/ICalculator/Add"
    # without the imports, the contract cannot be read: the merge is what makes it work
    with pytest.raises(ConfigurationError):
        parse_wsdl_operations(docs[base + "?wsdl"])


def test_imports_from_another_origin_are_not_followed() -> None:
    base = "http://calc.example/svc"
    engine = ServiceEngine(Calc(), address=base, certificate=CERT)
    docs = wcf_split(engine.wsdl(), "http://elsewhere.example/svc")
    asm = WsdlAssembler(docs["http://elsewhere.example/svc?wsdl"], base + "?wsdl")
    with pytest.raises(ConfigurationError, match="another origin"):
        asm.missing()


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def wcf_like() -> Iterator[str]:
    """A wssc service that publishes its metadata in WCF's multi-file shape (and singleWsdl)."""
    state: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        base = state["base"]
        if environ["REQUEST_METHOD"] == "GET" and query:
            if "singleWsdl" in query:
                body = state["engine"].wsdl()
            elif "wsdl" in query and query["wsdl"] != [""]:
                body = state["docs"][f"{base}?wsdl={query['wsdl'][0]}"]
            elif "xsd" in query:
                body = state["docs"][f"{base}?xsd={query['xsd'][0]}"]
            else:
                body = state["docs"][f"{base}?wsdl"]
            start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8")])
            return [body]
        return state["app"](environ, start_response)

    httpd = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    base = f"http://127.0.0.1:{httpd.server_port}/svc"
    engine = ServiceEngine(Calc(), address=base, certificate=CERT)
    state.update(base=base, engine=engine, app=WsgiApp(engine), docs=wcf_split(engine.wsdl(), base))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield base
    httpd.shutdown()
    httpd.server_close()


def test_client_from_a_multifile_wsdl(wcf_like: str) -> None:
    from wssc.client import Client

    with Client.from_wsdl(wcf_like + "?wsdl") as c:
        assert c.contract.namespace == CONTRACT_NS
        assert c.Add(a=20, b=22) == 42


async def test_async_client_from_a_multifile_wsdl(wcf_like: str) -> None:
    from wssc.client import AsyncClient

    async with await AsyncClient.from_wsdl(wcf_like + "?wsdl") as c:
        assert await c.call("Echo", text="multi") == "multi"


def test_client_from_single_wsdl(wcf_like: str) -> None:
    from wssc.client import Client

    with Client.from_wsdl(wcf_like + "?singleWsdl") as c:
        assert c.Add(a=1, b=2) == 3


def test_svcutil_and_inspect_on_a_multifile_wsdl(
    wcf_like: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "calc.py"
    assert main(["svcutil", wcf_like + "?wsdl", "-o", str(out)]) == 0
    assert "def Add(self, a: int, b: int) -> int:" in out.read_text()
    assert main(["inspect", wcf_like + "?wsdl"]) == 0
    assert "Cancel" in capsys.readouterr().out


def test_zeep_on_a_multifile_wsdl(wcf_like: str) -> None:
    import zeep

    from wssc.integrations.zeep import secure_session

    url = wcf_like + "?wsdl"
    with zeep.Client(url, **secure_session(url)) as client:
        assert client.service.Add(a=2, b=2) == 4


# --- WS-Policy 1.5, alternatives, unknown assertions -----------------------------------------
WSP12 = b"http://schemas.xmlsoap.org/ws/2004/09/policy"
WSP15 = b"http://www.w3.org/ns/ws-policy"


@pytest.mark.parametrize("wsp", [WSP12, WSP15], ids=["wsp12", "wsp15"])
@pytest.mark.parametrize("sp12", [False, True], ids=["sp11", "sp12"])
def test_both_ws_policy_namespaces(wsp: bytes, sp12: bool) -> None:
    wsdl = message_mode_wsdl(sp12=sp12, cancel=True).replace(WSP12, wsp)
    imported = settings_from_wsdl(wsdl)
    assert imported.settings.require_cancellation is True
    assert [op.protection for op in imported.operations] == ["EncryptAndSign", "Sign"]


def test_unsupported_alternative_is_skipped_for_a_supported_one() -> None:
    # ExactlyOne at the binding level: a first alternative with an assertion wssc does not know,
    # a second one it does: the second is used.
    wsdl = message_mode_wsdl(sp12=True, cancel=False)
    start = wsdl.index(b"<wsp:ExactlyOne><wsp:All>") + len(b"<wsp:ExactlyOne>")
    end = wsdl.index(b"</wsp:All></wsp:ExactlyOne></wsp:Policy>") + len(b"</wsp:All>")
    alt = wsdl[start:end]
    unknown = alt.replace(
        b"<wsaw:UsingAddressing/>",
        b"<x:QuantumBinding xmlns:x='urn:example:quantum'/><wsaw:UsingAddressing/>",
    )
    two = wsdl[:start] + unknown + alt + wsdl[end:]
    imported = settings_from_wsdl(two)
    assert imported.settings.require_cancellation is False


def _with_unknown_assertion(sp12: bool) -> bytes:
    wsdl = message_mode_wsdl(sp12=sp12, cancel=True)
    return wsdl.replace(
        b"<wsaw:UsingAddressing/>",
        b"<x:QuantumBinding xmlns:x='urn:example:quantum'/><wsaw:UsingAddressing/>",
        1,
    )


def test_unknown_assertion_is_named() -> None:
    with pytest.raises(ConfigurationError, match="QuantumBinding"):
        settings_from_wsdl(_with_unknown_assertion(sp12=True))


def test_svcutil_refuses_an_unknown_assertion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "calc.wsdl"
    src.write_bytes(_with_unknown_assertion(sp12=False))
    out = tmp_path / "calc.py"
    assert main(["svcutil", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "QuantumBinding" in err and "No client was generated" in err
    assert not out.exists()
