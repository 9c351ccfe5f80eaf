"""Contracts read from WSDLs that WCF and others publish (issue 18 item 4): ``xs:element ref=``
into another schema, complex types as raw XML (lxml elements), document/literal bare, and the
shapes that fall back to bare (``xs:any``, several results); what stays refused, by name."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from wssc.contract import (
    DeserializationFailed,
    SerializationFailed,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from wssc.contract.wsdl import WsdlImportError, parse_wsdl_operations
from wssc.xml import ns

TNS = "urn:svc"
OTHER = "urn:other"


def wsdl(types: str, messages: str, ops: str, binding: str = "") -> bytes:
    return f"""<wsdl:definitions xmlns:wsdl="{ns.WSDL}" xmlns:xs="{ns.XSD}" xmlns:tns="{TNS}"
        xmlns:o="{OTHER}" xmlns:soap12="{ns.WSDL_SOAP12}" xmlns:wsaw="{ns.WSAW}"
        targetNamespace="{TNS}">
      <wsdl:types>
        <xs:schema targetNamespace="{OTHER}" elementFormDefault="qualified">
          <xs:element name="Item" type="o:ItemType"/>
          <xs:complexType name="ItemType"><xs:sequence>
            <xs:element name="id" type="xs:int"/></xs:sequence></xs:complexType>
          <xs:element name="Count" type="xs:int"/>
          <xs:simpleType name="Loop"><xs:restriction base="o:Loop2"/></xs:simpleType>
          <xs:simpleType name="Loop2"><xs:restriction base="o:Loop"/></xs:simpleType>
          <xs:simpleType name="Name"><xs:restriction base="xs:string"/></xs:simpleType>
        </xs:schema>
        <xs:schema targetNamespace="{TNS}" elementFormDefault="qualified">{types}</xs:schema>
      </wsdl:types>
      {messages}
      <wsdl:portType name="IShapes">{ops}</wsdl:portType>
      {binding}
    </wsdl:definitions>""".encode()


def op_xml(name: str, inp: str, out: str) -> str:
    return (
        f'<wsdl:operation name="{name}"><wsdl:input wsaw:Action="urn:{name}" message="tns:{inp}"/>'
        f'<wsdl:output wsaw:Action="urn:{name}Reply" message="tns:{out}"/></wsdl:operation>'
    )


def msg(name: str, element: str, part: str = "parameters") -> str:
    return f'<wsdl:message name="{name}"><wsdl:part name="{part}" element="{element}"/></wsdl:message>'


REFS = wsdl(
    """<xs:element name="Put"><xs:complexType><xs:sequence>
         <xs:element ref="o:Item" maxOccurs="unbounded"/>
         <xs:element ref="o:Count" minOccurs="0"/>
         <xs:element name="label" type="o:Name"/>
       </xs:sequence></xs:complexType></xs:element>
       <xs:element name="PutResponse"><xs:complexType><xs:sequence>
         <xs:element ref="o:Item" minOccurs="0"/></xs:sequence></xs:complexType></xs:element>""",
    msg("PutIn", "tns:Put") + msg("PutOut", "tns:PutResponse"),
    op_xml("Put", "PutIn", "PutOut"),
)


def item(i: int) -> etree._Element:
    el = etree.Element(f"{{{OTHER}}}Item")
    etree.SubElement(el, f"{{{OTHER}}}id").text = str(i)
    return el


def test_element_refs_resolve_into_the_other_schema_with_their_own_namespace() -> None:
    op = parse_wsdl_operations(REFS).operation("Put")
    assert [(p.name, p.type.annotation, p.namespace) for p in op.parameters] == [
        ("Item", "list[etree._Element]", OTHER),
        ("Count", "int | None", OTHER),  # a ref to an element of a scalar type: a scalar
        ("label", "str", None),  # a named simpleType restricting xs:string
    ]
    body = encode_request(op, {"Item": [item(1), item(2)], "Count": 2, "label": "x"})
    assert [c.tag for c in body] == [
        f"{{{OTHER}}}Item",
        f"{{{OTHER}}}Item",
        f"{{{OTHER}}}Count",
        f"{{{TNS}}}label",
    ]
    back = decode_request(op, body)
    items = back["Item"]
    assert isinstance(items, list) and [i.findtext(f"{{{OTHER}}}id") for i in items] == ["1", "2"]
    assert back["Count"] == 2 and back["label"] == "x"
    # the result: the referenced element itself, or None when it is left out
    reply = encode_response(op, item(7))
    assert reply.tag == f"{{{TNS}}}PutResponse" and reply[0].tag == f"{{{OTHER}}}Item"
    got = decode_response(op, reply)
    assert isinstance(got, etree._Element) and got.findtext(f"{{{OTHER}}}id") == "7"
    assert decode_response(op, encode_response(op, None)) is None


def test_a_raw_xml_value_must_carry_the_declared_element() -> None:
    op = parse_wsdl_operations(REFS).operation("Put")
    with pytest.raises(SerializationFailed, match=r"expected the element \{urn:other\}Item"):
        encode_request(op, {"Item": [etree.Element(f"{{{TNS}}}Item")], "label": "x"})
    with pytest.raises(SerializationFailed, match="expected an lxml element"):
        encode_request(op, {"Item": ["<Item/>"], "label": "x"})
    # inbound: an element in the wrong namespace is unexpected, as any unknown child
    body = encode_request(op, {"Item": [], "label": "x"})
    body.insert(0, etree.Element(f"{{{TNS}}}Item"))
    with pytest.raises(DeserializationFailed, match=r"unexpected element \{urn:svc\}Item"):
        decode_request(op, body)


def test_a_ref_to_an_element_not_in_the_schemas_read_is_refused_by_name() -> None:
    missing = REFS.replace(b'ref="o:Count"', b'ref="o:Gone"')
    with pytest.raises(
        WsdlImportError, match=r"Put: xs:element ref=\{urn:other\}Gone is not in the schemas read"
    ):
        parse_wsdl_operations(missing)


def test_a_restriction_cycle_ends_as_raw_xml() -> None:
    looped = REFS.replace(b'type="o:Name"', b'type="o:Loop"')
    op = parse_wsdl_operations(looped).operation("Put")
    assert op.parameters[2].type.annotation == "etree._Element"


BARE = wsdl(
    """<xs:element name="Any"><xs:complexType><xs:sequence>
         <xs:any processContents="lax" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
       <xs:element name="Pair"><xs:complexType><xs:sequence>
         <xs:element name="a" type="xs:int"/><xs:element name="b" type="xs:int"/>
       </xs:sequence></xs:complexType></xs:element>
       <xs:element name="Text" type="xs:string"/>""",
    msg("AnyIn", "tns:Any")
    + msg("PairOut", "tns:Pair")
    + msg("TextIn", "tns:Text", part="text")
    + msg("ItemOut", "o:Item", part="item"),
    op_xml("Wild", "AnyIn", "PairOut") + op_xml("Say", "TextIn", "ItemOut"),
)


def test_xs_any_and_several_results_fall_back_to_the_whole_element() -> None:
    op = parse_wsdl_operations(BARE).operation("Wild")
    assert op.bare_request and op.bare_reply
    assert [(p.name, p.type.annotation) for p in op.parameters] == [("parameters", "etree._Element")]
    assert op.result is not None and op.result.annotation == "etree._Element"
    any_ = etree.Element(f"{{{TNS}}}Any")
    etree.SubElement(any_, "{urn:x}whatever").text = "1"
    body = encode_request(op, {"parameters": any_})
    assert etree.tostring(body) == etree.tostring(any_)
    assert etree.tostring(decode_request(op, body)["parameters"]) == etree.tostring(any_)  # type: ignore[arg-type]


def test_bare_scalar_and_element_parts_are_the_body_itself() -> None:
    op = parse_wsdl_operations(BARE).operation("Say")
    assert op.bare_request and op.bare_reply
    assert [(p.name, p.type.annotation) for p in op.parameters] == [("text", "str")]
    body = encode_request(op, {"text": "hi"})
    assert body.tag == f"{{{TNS}}}Text" and body.text == "hi" and len(body) == 0
    assert decode_request(op, body) == {"text": "hi"}
    reply = encode_response(op, item(3))
    assert reply.tag == f"{{{OTHER}}}Item"  # the reply's namespace is its own
    with pytest.raises(DeserializationFailed, match=r"expected the element \{urn:other\}Item"):
        decode_response(op, etree.Element(f"{{{TNS}}}Item"))
    with pytest.raises(SerializationFailed, match="missing parameter text"):
        encode_request(op, {})


@pytest.mark.parametrize(
    ("binding", "named"),
    [
        (f'<soap12:binding style="rpc" transport="{ns.WSDL_SOAP_HTTP}"/>', "RPC style is not supported"),
        (
            '<wsdl:operation name="Say"><wsdl:input><soap12:body use="encoded"/></wsdl:input>'
            "</wsdl:operation>",
            "SOAP encoding (use=encoded) is not supported",
        ),
    ],
)
def test_rpc_and_encoded_bindings_are_refused_by_name(binding: str, named: str) -> None:
    b = f'<wsdl:binding name="B" type="tns:IShapes">{binding}<wsdl:operation name="Say"/></wsdl:binding>'
    data = wsdl(
        '<xs:element name="Text" type="xs:string"/>',
        msg("TextIn", "tns:Text", part="text"),
        op_xml("Say", "TextIn", "TextIn"),
        b,
    )
    with pytest.raises(WsdlImportError, match=re.escape(f"Say: {named}")):
        parse_wsdl_operations(data, binding="B")


def test_multi_part_messages_stay_refused() -> None:
    two = (
        '<wsdl:message name="TwoIn"><wsdl:part name="a" element="tns:Text"/>'
        '<wsdl:part name="b" element="tns:Text"/></wsdl:message>'
    )
    data = wsdl('<xs:element name="Text" type="xs:string"/>', two, op_xml("Two", "TwoIn", "TwoIn"))
    with pytest.raises(WsdlImportError, match="Two: not document/literal"):
        parse_wsdl_operations(data)


def test_wssc_call_reads_a_raw_xml_argument_with_the_hardened_parser() -> None:
    from wssc.cli.endpoint import _convert
    from wssc.errors import ConfigurationError

    el = _convert("element", f'<o:Item xmlns:o="{OTHER}"><o:id>1</o:id></o:Item>', "Item")
    assert isinstance(el, etree._Element) and el.tag == f"{{{OTHER}}}Item"
    for bad in ("<Item>", '<!DOCTYPE x [<!ENTITY e "b">]><x>&e;</x>'):
        with pytest.raises(ConfigurationError, match=r"argument Item: .* is not a valid element"):
            _convert("element", bad, "Item")
