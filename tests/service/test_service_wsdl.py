"""WSDL export checked by zeep (an independent parser), XSD validation, and WSDL import."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import zeep  # a dev dependency: its absence is an error, not a skipped module
from lxml import etree

from wssc.contract import (
    ContractSpec,
    DeserializationFailed,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    get_contract,
    operation,
    service_contract,
)
from wssc.contract.wsdl import (
    WsdlImportError,
    build_wsdl,
    build_xsd,
    metadata_kind,
    parse_wsdl_operations,
)
from wssc.xml import ns
from wssc.xml.parse import parse_xml
from wssc.xml.soap import SOAP_11, SOAP_12, Envelope, SoapVersion, new_envelope

TNS = "http://tempuri.org/"
ADDRESS = "https://host.example/calc.svc"


@service_contract(namespace=TNS, name="ICalculator")
class Calculator:
    @operation
    def Add(self, a: int, b: int) -> int:
        return a + b

    @operation
    def Echo(self, text: str | None) -> str | None:
        return text

    @operation
    async def Sum(self, values: list[float]) -> float:
        return sum(values)

    @operation
    def Store(self, blob: bytes, flag: bool, tags: list[str]) -> None: ...


CONTRACT = get_contract(Calculator)
SIGNATURES = {
    "Add": ("a: xsd:int, b: xsd:int", "AddResult: xsd:int"),
    "Echo": ("text: xsd:string", "EchoResult: xsd:string"),
    "Sum": ("values: xsd:double[]", "SumResult: xsd:double"),
    "Store": ("blob: xsd:base64Binary, flag: xsd:boolean, tags: xsd:string[]", ""),
}
WSP = f"{{{ns.WSP12}}}"
W = f"{{{ns.WSDL}}}"


def _policy(pid: str, policy_ns: str = ns.WSP12) -> etree._Element:
    p = etree.Element(f"{{{policy_ns}}}Policy", nsmap={"wsp": policy_ns, "wsu": ns.WSU})
    p.set(f"{{{ns.WSU}}}Id", pid)
    etree.SubElement(p, f"{{{policy_ns}}}ExactlyOne")
    return p


def _wsdl(version: SoapVersion = SOAP_12, **kw: object) -> bytes:
    return build_wsdl(CONTRACT, address=ADDRESS, soap_version=version, **kw)  # type: ignore[arg-type]


def _zeep_client(tmp_path: Path, wsdl: bytes) -> Any:
    path = tmp_path / "service.wsdl"
    path.write_bytes(wsdl)
    return zeep.Client(wsdl=str(path))


# --- zeep reads what we write -----------------------------------------------------------------
@pytest.mark.parametrize("version", [SOAP_11, SOAP_12], ids=["soap11", "soap12"])
def test_zeep_sees_operations_and_signatures(tmp_path: Path, version: SoapVersion) -> None:
    policies = [_policy("B_policy"), _policy("In_policy"), _policy("Out_policy")]
    wsdl = _wsdl(
        version,
        policies=policies,
        binding_policy_id="B_policy",
        operation_policy_ids=("In_policy", "Out_policy"),
        identity_certificate_der=b"\x30\x82fake-der",
    )
    client = _zeep_client(tmp_path, wsdl)
    binding = client.service._binding
    expected_cls = "Soap12Binding" if version is SOAP_12 else "Soap11Binding"
    assert type(binding).__name__ == expected_cls
    assert set(binding._operations) == set(SIGNATURES)
    for name, (inp, out) in SIGNATURES.items():
        op = binding._operations[name]
        spec = CONTRACT.operation(name)
        assert op.input.signature() == inp
        assert op.output.signature() == out
        assert op.soapaction == spec.action
        assert op.abstract.wsa_action == spec.action
    port = next(iter(client.wsdl.services["Service"].ports.values()))
    assert port.binding_options["address"] == ADDRESS


@pytest.mark.parametrize("version", [SOAP_11, SOAP_12], ids=["soap11", "soap12"])
def test_zeep_messages_interoperate_with_our_codec(tmp_path: Path, version: SoapVersion) -> None:
    client = _zeep_client(tmp_path, _wsdl(version))
    binding = client.service._binding
    calls: list[tuple[str, dict[str, object], object]] = [
        ("Add", {"a": -5, "b": 2**31 - 1}, 12),
        ("Echo", {"text": "h\u00e9llo <&>"}, "back"),
        ("Echo", {"text": None}, None),
        ("Sum", {"values": [1.5, -2.25, 1e300]}, 0.5),
        ("Sum", {"values": []}, 0.0),
        ("Store", {"blob": bytes(range(256)), "flag": True, "tags": ["x", "y"]}, None),
    ]
    for name, args, result in calls:
        spec = CONTRACT.operation(name)
        # zeep as the client, our decoder as the service
        env = Envelope(parse_xml(etree.tostring(client.create_message(client.service, name, **args))))
        assert env.payload is not None
        assert decode_request(spec, env.payload) == args
        # our encoder as the service, zeep's decoder as the client
        reply = new_envelope(version, action=spec.reply_action, payload=encode_response(spec, result))
        got = binding._operations[name].output.deserialize(parse_xml(etree.tostring(reply)))
        assert got == result


# --- structure ----------------------------------------------------------------------------
def test_policies_and_references_are_placed_like_wcf() -> None:
    root = parse_xml(
        _wsdl(
            policies=[_policy("B"), _policy("I"), _policy("O")],
            binding_policy_id="B",
            operation_policy_ids=("I", "O"),
        )
    )
    children = [etree.QName(c).localname for c in root]
    assert children[:4] == ["Policy", "Policy", "Policy", "types"]
    assert root.get("name") == "Service" and root.get("targetNamespace") == TNS
    binding = root.find(f"{W}binding")
    assert binding is not None
    assert binding.get("name") == "WSHttpBinding_ICalculator"
    assert binding[0].tag == f"{WSP}PolicyReference" and binding[0].get("URI") == "#B"
    for op in binding.iterfind(f"{W}operation"):
        soap_op = op.find(f"{{{ns.WSDL_SOAP12}}}operation")
        assert soap_op is not None and soap_op.get("style") == "document"
        for kind, pid in (("input", "#I"), ("output", "#O")):
            io = op.find(f"{W}{kind}")
            assert io is not None
            assert [c.tag for c in io] == [f"{WSP}PolicyReference", f"{{{ns.WSDL_SOAP12}}}body"]
            assert io[0].get("URI") == pid and io[1].get("use") == "literal"
    port_type = root.find(f"{W}portType")
    assert port_type is not None
    add_in = port_type.find(f"{W}operation[@name='Add']/{W}input")
    assert add_in is not None
    assert add_in.get(f"{{{ns.WSAW}}}Action") == "http://tempuri.org/ICalculator/Add"


def test_ws_policy_15_references_follow_the_policy_namespace() -> None:
    root = parse_xml(_wsdl(policies=[_policy("B", ns.WSP15)], binding_policy_id="B"))
    assert root.find(f"{W}binding/{{{ns.WSP15}}}PolicyReference") is not None
    assert root.find(f"{W}binding/{WSP}PolicyReference") is None


def test_no_policy_references_without_ids() -> None:
    root = parse_xml(_wsdl())
    assert not list(root.iter(f"{WSP}PolicyReference"))


def test_port_address_epr_and_identity() -> None:
    der = bytes(range(40))
    root = parse_xml(_wsdl(identity_certificate_der=der))
    port = root.find(f"{W}service/{W}port")
    assert port is not None
    address = port.find(f"{{{ns.WSDL_SOAP12}}}address")
    assert address is not None and address.get("location") == ADDRESS
    epr = port.find(f"{{{ns.WSA10}}}EndpointReference")
    assert epr is not None
    assert epr.findtext(f"{{{ns.WSA10}}}Address") == ADDRESS
    cert = epr.findtext(
        f"{{{ns.WSID}}}Identity/{{{ns.DS}}}KeyInfo/{{{ns.DS}}}X509Data/{{{ns.DS}}}X509Certificate"
    )
    assert cert is not None and base64.b64decode(cert) == der


def test_soap11_binding_shape() -> None:
    root = parse_xml(_wsdl(SOAP_11))
    s = f"{{{ns.WSDL_SOAP11}}}"
    binding = root.find(f"{W}binding")
    assert binding is not None and binding.get("name") == "CustomBinding_ICalculator"
    sb = binding.find(f"{s}binding")
    assert sb is not None and sb.get("transport") == ns.WSDL_SOAP_HTTP
    op = binding.find(f"{W}operation[@name='Add']/{s}operation")
    assert op is not None and op.get("soapAction") == "http://tempuri.org/ICalculator/Add"
    assert root.find(f"{W}service/{W}port/{s}address") is not None
    assert not list(root.iter(f"{{{ns.WSDL_SOAP12}}}*"))


def test_non_single_wsdl_imports_the_schema() -> None:
    root = parse_xml(_wsdl(single=False))
    imp = root.find(f"{W}types/{{{ns.XSD}}}schema/{{{ns.XSD}}}import")
    assert imp is not None
    assert imp.get("schemaLocation") == f"{ADDRESS}?xsd=xsd0"
    assert imp.get("namespace") == TNS


# --- the XSD validates what the codec writes -----------------------------------------------
def test_xsd_validates_encoded_messages() -> None:
    schema = etree.XMLSchema(etree.fromstring(build_xsd(CONTRACT)))
    samples: list[tuple[str, dict[str, object], object]] = [
        ("Add", {"a": 1, "b": 2}, 3),
        ("Echo", {"text": None}, None),
        ("Echo", {"text": "x"}, "y"),
        ("Sum", {"values": []}, 0.0),
        ("Sum", {"values": [1.0, float("inf")]}, float("nan")),
        ("Store", {"blob": b"\x00", "flag": False, "tags": []}, None),
    ]
    for name, args, result in samples:
        spec = CONTRACT.operation(name)
        schema.assertValid(encode_request(spec, args))
        schema.assertValid(encode_response(spec, result))
    # and it is strict enough to notice a wrong message
    bad = parse_xml(b'<Add xmlns="http://tempuri.org/"><a>x</a><b>2</b></Add>')
    assert not schema.validate(bad)


# --- import -------------------------------------------------------------------------------
def _same_wire(a: ContractSpec, b: ContractSpec) -> None:
    assert (a.name, a.namespace) == (b.name, b.namespace)
    assert set(a.operations) == set(b.operations)
    for action, x in a.operations.items():
        y = b.operations[action]
        assert (x.name, x.namespace, x.reply_action, x.parameters, x.result) == (
            y.name,
            y.namespace,
            y.reply_action,
            y.parameters,
            y.result,
        )
        assert (x.request_tag, x.response_tag, x.result_name) == (
            y.request_tag,
            y.response_tag,
            y.result_name,
        )


@pytest.mark.parametrize("version", [SOAP_11, SOAP_12], ids=["soap11", "soap12"])
def test_parse_wsdl_operations_round_trip(version: SoapVersion) -> None:
    imported = parse_wsdl_operations(_wsdl(version, policies=[_policy("B")], binding_policy_id="B"))
    _same_wire(CONTRACT, imported)
    assert all(op.method_name is None for op in imported.operations.values())
    add = imported.operation("Add")
    req = encode_request(add, {"a": 1, "b": 2})
    assert decode_request(CONTRACT.operation("Add"), req) == {"a": 1, "b": 2}
    assert decode_response(add, encode_response(CONTRACT.operation("Add"), 3)) == 3


WCF_STYLE = b"""<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="CalculatorService" targetNamespace="urn:svc"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:svc" xmlns:wsam="http://www.w3.org/2007/05/addressing/metadata">
  <wsdl:types>
    <xsd:schema targetNamespace="urn:svc" elementFormDefault="qualified"
        xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:element name="Add"><xs:complexType><xs:sequence>
        <xs:element minOccurs="0" name="a" type="xs:int"/>
        <xs:element minOccurs="0" name="note" nillable="true" type="xs:string"/>
        <xs:element minOccurs="0" maxOccurs="unbounded" name="more" type="xs:long"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="AddResponse" type="tns:AddResponseType"/>
      <xs:complexType name="AddResponseType"><xs:sequence>
        <xs:element name="AddResult" type="xs:double"/>
      </xs:sequence></xs:complexType>
      <xs:element name="Get"><xs:complexType><xs:sequence/></xs:complexType></xs:element>
      <xs:element name="GetResponse"><xs:complexType><xs:sequence/></xs:complexType></xs:element>
      <xs:element name="Odd"><xs:complexType><xs:sequence>
        <xs:element name="when" type="xs:dateTime"/>
      </xs:sequence></xs:complexType></xs:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="AddIn"><wsdl:part name="parameters" element="tns:Add"/></wsdl:message>
  <wsdl:message name="AddOut">
    <wsdl:part name="parameters" element="tns:AddResponse"/></wsdl:message>
  <wsdl:message name="GetIn"><wsdl:part name="parameters" element="tns:Get"/></wsdl:message>
  <wsdl:message name="GetOut">
    <wsdl:part name="parameters" element="tns:GetResponse"/></wsdl:message>
  <wsdl:message name="OddIn"><wsdl:part name="parameters" element="tns:Odd"/></wsdl:message>
  <wsdl:message name="OddOut">
    <wsdl:part name="parameters" element="tns:GetResponse"/></wsdl:message>
  <wsdl:portType name="ICalc">
    <wsdl:operation name="Add">
      <wsdl:input wsam:Action="urn:add" message="tns:AddIn"/>
      <wsdl:output wsam:Action="urn:add-reply" message="tns:AddOut"/>
    </wsdl:operation>
    <wsdl:operation name="Get">
      <wsdl:input message="tns:GetIn"/><wsdl:output message="tns:GetOut"/>
    </wsdl:operation>
    <wsdl:operation name="Odd">
      <wsdl:input message="tns:OddIn"/><wsdl:output message="tns:OddOut"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="B" type="tns:ICalc">
    <soap12:binding transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Get"><soap12:operation soapAction="urn:get" style="document"/>
    </wsdl:operation>
  </wsdl:binding>
</wsdl:definitions>"""


def test_parse_handwritten_wsdl_with_named_types_and_action_fallbacks() -> None:
    spec = parse_wsdl_operations(WCF_STYLE, strict=False)
    assert spec.name == "ICalc" and spec.namespace == "urn:svc"
    assert sorted(spec.operation_names) == ["Add", "Get", "Odd"]
    # xs:dateTime is no scalar wssc maps: the child is raw XML, an lxml element
    odd = spec.operation("Odd")
    assert [(p.name, p.type.annotation) for p in odd.parameters] == [("when", "etree._Element")]
    add = spec.operation("Add")
    assert (add.action, add.reply_action) == ("urn:add", "urn:add-reply")
    assert [(p.name, p.type.annotation) for p in add.parameters] == [
        ("a", "int | None"),
        ("note", "str | None"),
        ("more", "list[int]"),
    ]
    assert add.result is not None and add.result.annotation == "float"
    get = spec.operation("Get")
    assert get.action == "urn:get"  # from soapAction
    assert get.reply_action == "urn:svc/ICalc/GetResponse"  # WCF's default rule
    assert get.parameters == () and get.result is None
    # xs:long keeps its 64-bit range
    payload = encode_request(add, {"a": None, "note": "n", "more": [2**40]})
    assert decode_request(add, payload) == {"a": None, "note": "n", "more": [2**40]}


def test_parse_strict_refuses_rpc_style_and_skips_it_otherwise() -> None:
    rpc = WCF_STYLE.replace(b'soapAction="urn:get" style="document"', b'soapAction="urn:get" style="rpc"')
    with pytest.raises(WsdlImportError, match="Get: RPC style is not supported"):
        parse_wsdl_operations(rpc)
    assert sorted(parse_wsdl_operations(rpc, strict=False).operation_names) == ["Add", "Odd"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"<notwsdl/>", WsdlImportError),
        (b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', WsdlImportError),
        (WCF_STYLE.replace(b'name="ICalc"', b'name="Other"', 1), None),
    ],
)
def test_parse_refusals(data: bytes, error: type[Exception] | None) -> None:
    if error is None:
        with pytest.raises(WsdlImportError, match="no portType named ICalc"):
            parse_wsdl_operations(data, port_type="ICalc")
    else:
        with pytest.raises(error):
            parse_wsdl_operations(data)


def test_parse_reads_unqualified_children_in_no_namespace() -> None:
    unqualified = _wsdl().replace(b'elementFormDefault="qualified"', b"")
    add = parse_wsdl_operations(unqualified).operation("Add")
    payload = encode_request(add, {"a": 1, "b": 2})
    assert [c.tag for c in payload] == ["a", "b"]  # in no namespace, inside the qualified wrapper
    assert payload.tag == f"{{{TNS}}}Add"
    assert decode_request(add, payload) == {"a": 1, "b": 2}
    # the qualified form is refused where the unqualified one is declared
    qualified = encode_request(CONTRACT.operation("Add"), {"a": 1, "b": 2})
    with pytest.raises(DeserializationFailed, match="unexpected element"):
        decode_request(add, qualified)


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("wsdl", "wsdl"),
        ("WSDL", "wsdl"),
        ("singleWsdl", "wsdl"),
        ("wsdl=wsdl0", "wsdl"),
        ("xsd=xsd0", "xsd"),
        ("", None),
        ("foo=bar", None),
    ],
)
def test_metadata_kind(query: str, kind: str | None) -> None:
    assert metadata_kind(query) == kind
