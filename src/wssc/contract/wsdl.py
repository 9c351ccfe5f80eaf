"""WSDL 1.1 for a `ContractSpec`, and the way back.

`build_wsdl` writes what WCF's ``?singleWsdl`` writes (abridged, SOAP 1.2)::

    <wsdl:definitions name="Service" targetNamespace="http://tempuri.org/" …>
      <wsp:Policy wsu:Id="WSHttpBinding_ICalculator_policy">…</wsp:Policy>   (policies, as given)
      <wsdl:types><xs:schema elementFormDefault="qualified" targetNamespace="…">
        <xs:element name="Add"><xs:complexType><xs:sequence>
          <xs:element name="a" type="xs:int"/> …
      </xs:schema></wsdl:types>
      <wsdl:message name="ICalculator_Add_InputMessage">
        <wsdl:part name="parameters" element="tns:Add"/></wsdl:message>
      <wsdl:portType name="ICalculator"><wsdl:operation name="Add">
        <wsdl:input wsaw:Action="http://tempuri.org/ICalculator/Add" message="tns:…"/>
        <wsdl:output wsaw:Action="http://tempuri.org/ICalculator/AddResponse" message="tns:…"/>
      </wsdl:operation></wsdl:portType>
      <wsdl:binding name="WSHttpBinding_ICalculator" type="tns:ICalculator">
        <wsp:PolicyReference URI="#WSHttpBinding_ICalculator_policy"/>
        <soap12:binding transport="http://schemas.xmlsoap.org/soap/http"/>
        <wsdl:operation name="Add">
          <soap12:operation soapAction="http://tempuri.org/ICalculator/Add" style="document"/>
          <wsdl:input><wsp:PolicyReference URI="#…_Input_policy"/>
            <soap12:body use="literal"/></wsdl:input> …
      </wsdl:binding>
      <wsdl:service name="Service"><wsdl:port name="WSHttpBinding_ICalculator" binding="tns:…">
        <soap12:address location="https://host/svc"/>
        <wsa10:EndpointReference><wsa10:Address>https://host/svc</wsa10:Address>
          <Identity xmlns="http://schemas.xmlsoap.org/ws/2006/02/addressingidentity">
            <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data>
              <X509Certificate>MIIC…</X509Certificate></X509Data></KeyInfo></Identity>
        </wsa10:EndpointReference></wsdl:port></wsdl:service>
    </wsdl:definitions>

Metadata URLs (documented choice): ``?wsdl`` and ``?singleWsdl`` both answer with this single
WSDL, schema inline, so no client ever needs a second fetch; ``?xsd=xsd0`` answers with
`build_xsd` for tools that ask for it. `metadata_kind` classifies a query string.

`parse_wsdl_operations` reads a WSDL (ours, or WCF's single WSDL) back into a client-side
`ContractSpec`, with the hardened parser.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import parse_qsl

from lxml import etree

from wssc.contract.codec import default_nsmap
from wssc.contract.model import ContractSpec, OperationSpec, Parameter, ValueType, combine_uri
from wssc.errors import ConfigurationError, MalformedXml, WsscError
from wssc.xml import ns
from wssc.xml.parse import ParserLimits, parse_xml
from wssc.xml.soap import SOAP_12, SoapVersion

__all__ = [
    "WSDL_LIMITS",
    "WsdlImportError",
    "build_wsdl",
    "build_xsd",
    "metadata_kind",
    "parse_wsdl",
    "parse_wsdl_operations",
]


class WsdlImportError(ConfigurationError):
    """A WSDL that `parse_wsdl_operations` cannot turn into a contract."""

    default_reason = "The WSDL cannot be used to build a contract"


def _w(local: str) -> str:
    return f"{{{ns.WSDL}}}{local}"


def _x(local: str) -> str:
    return f"{{{ns.XSD}}}{local}"


# --- export ---------------------------------------------------------------------------------
def build_xsd(contract: ContractSpec) -> bytes:
    """The schema of the contract's wrapper elements (served as ``?xsd=xsd0``)."""
    schemas = _schemas(contract)
    if len(schemas) != 1:
        raise ConfigurationError("the contract's operations span several namespaces")
    return bytes(etree.tostring(schemas[0], xml_declaration=True, encoding="utf-8"))


def _schemas(contract: ContractSpec) -> list[etree._Element]:
    by_ns: dict[str, list[OperationSpec]] = {}
    for op in contract.operations.values():
        by_ns.setdefault(op.namespace, []).append(op)
    out = []
    for target, ops in by_ns.items():
        schema = etree.Element(
            _x("schema"),
            nsmap={"xs": ns.XSD, "tns": target},
            elementFormDefault="qualified",
            targetNamespace=target,
        )
        for op in ops:
            _wrapper_decl(schema, op.request_name, op.parameters)
            _wrapper_decl(schema, op.response_name, op.result_params)
        out.append(schema)
    return out


def _wrapper_decl(schema: etree._Element, name: str, params: Sequence[Parameter]) -> None:
    el = etree.SubElement(schema, _x("element"), name=name)
    seq = etree.SubElement(etree.SubElement(el, _x("complexType")), _x("sequence"))
    for p in params:
        child = etree.SubElement(seq, _x("element"))
        if p.type.is_list:
            child.set("minOccurs", "0")
            child.set("maxOccurs", "unbounded")
        elif p.type.optional:
            child.set("minOccurs", "0")
        child.set("name", p.name)
        if p.type.optional:
            child.set("nillable", "true")
        child.set("type", f"xs:{p.type.xsd}")


def build_wsdl(
    contract: ContractSpec,
    *,
    address: str,
    soap_version: SoapVersion,
    service_name: str = "Service",
    policies: Sequence[etree._Element] = (),
    binding_policy_id: str | None = None,
    operation_policy_ids: tuple[str, str] | None = None,
    identity_certificate_der: bytes | None = None,
    single: bool = True,
    binding_name: str | None = None,
) -> bytes:
    """A WCF-like WSDL 1.1 document for one endpoint (see the module docstring).

    ``policies`` are copied in as top-level children before ``wsdl:types``; the binding refers
    to ``binding_policy_id`` and each operation's input/output to ``operation_policy_ids``.
    The ``wsp`` namespace of the references is the first policy's (WS-Policy 1.2 by default).
    ``single=False`` imports the schema from ``{address}?xsd=xsd0`` instead of inlining it.
    ``binding_name`` defaults to ``WSHttpBinding_{contract}`` (SOAP 1.2) or
    ``CustomBinding_{contract}`` (SOAP 1.1), as WCF names them.
    """
    tns = contract.namespace
    soap = ns.WSDL_SOAP12 if soap_version is SOAP_12 else ns.WSDL_SOAP11
    wsp = _policy_ns(policies)
    prefix = "WSHttpBinding" if soap_version is SOAP_12 else "CustomBinding"
    binding = binding_name or f"{prefix}_{contract.name}"
    nsmap: dict[str, str] = {
        "wsdl": ns.WSDL,
        "soap": ns.WSDL_SOAP11,
        "soap12": ns.WSDL_SOAP12,
        "wsu": ns.WSU,
        "wsp": wsp,
        "tns": tns,
        "wsa10": ns.WSA10,
        "wsaw": ns.WSAW,
        "xs": ns.XSD,
    }
    qnames = {tns: "tns"}
    others = sorted({op.namespace for op in contract.operations.values()} - {tns})
    for i, other in enumerate(others):
        nsmap[f"q{i}"] = other
        qnames[other] = f"q{i}"
    root = etree.Element(_w("definitions"), nsmap=nsmap, name=service_name, targetNamespace=tns)
    for policy in policies:
        root.append(copy.deepcopy(policy))

    types = etree.SubElement(root, _w("types"))
    for schema in _schemas(contract):
        if single:
            types.append(schema)
        else:
            target = schema.get("targetNamespace", "")
            stub = etree.SubElement(types, _x("schema"), targetNamespace=target)
            etree.SubElement(
                stub,
                _x("import"),
                schemaLocation=f"{address}?xsd=xsd0",
                namespace=target,
            )

    ops = list(contract.operations.values())
    for op in ops:
        for kind, element in (("Input", op.request_name), ("Output", op.response_name)):
            msg = etree.SubElement(root, _w("message"), name=_message_name(contract, op, kind))
            etree.SubElement(msg, _w("part"), name="parameters", element=f"{qnames[op.namespace]}:{element}")

    port_type = etree.SubElement(root, _w("portType"), name=contract.name)
    for op in ops:
        o = etree.SubElement(port_type, _w("operation"), name=op.name)
        for kind, action in (("Input", op.action), ("Output", op.reply_action)):
            io = etree.SubElement(o, _w(kind.lower()))
            io.set(f"{{{ns.WSAW}}}Action", action)
            io.set("message", f"tns:{_message_name(contract, op, kind)}")

    b = etree.SubElement(root, _w("binding"), name=binding, type=f"tns:{contract.name}")
    if binding_policy_id:
        etree.SubElement(b, f"{{{wsp}}}PolicyReference", URI=f"#{binding_policy_id}")
    etree.SubElement(b, f"{{{soap}}}binding", transport=ns.WSDL_SOAP_HTTP)
    for op in ops:
        o = etree.SubElement(b, _w("operation"), name=op.name)
        etree.SubElement(o, f"{{{soap}}}operation", soapAction=op.action, style="document")
        for i, kind in enumerate(("input", "output")):
            io = etree.SubElement(o, _w(kind))
            if operation_policy_ids:
                etree.SubElement(io, f"{{{wsp}}}PolicyReference", URI=f"#{operation_policy_ids[i]}")
            etree.SubElement(io, f"{{{soap}}}body", use="literal")

    service = etree.SubElement(root, _w("service"), name=service_name)
    port = etree.SubElement(service, _w("port"), name=binding, binding=f"tns:{binding}")
    etree.SubElement(port, f"{{{soap}}}address", location=address)
    epr = etree.SubElement(port, f"{{{ns.WSA10}}}EndpointReference")
    etree.SubElement(epr, f"{{{ns.WSA10}}}Address").text = address
    if identity_certificate_der is not None:
        identity = etree.SubElement(epr, f"{{{ns.WSID}}}Identity", nsmap=default_nsmap(ns.WSID))
        key_info = etree.SubElement(identity, f"{{{ns.DS}}}KeyInfo", nsmap=default_nsmap(ns.DS))
        x509 = etree.SubElement(key_info, f"{{{ns.DS}}}X509Data")
        cert = etree.SubElement(x509, f"{{{ns.DS}}}X509Certificate")
        cert.text = base64.b64encode(identity_certificate_der).decode("ascii")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _policy_ns(policies: Sequence[etree._Element]) -> str:
    for p in policies:
        uri = etree.QName(p).namespace
        if uri in (ns.WSP12, ns.WSP15):
            return uri
    return ns.WSP12


def _message_name(contract: ContractSpec, op: OperationSpec, kind: str) -> str:
    return f"{contract.name}_{op.name}_{kind}Message"


MetadataKind = Literal["wsdl", "xsd"]


def metadata_kind(query_string: str) -> MetadataKind | None:
    """``wsdl``, ``singleWsdl``, ``wsdl=wsdl0`` → ``"wsdl"``; ``xsd=xsd0`` → ``"xsd"``.

    Case-insensitive, like WCF's metadata endpoint; anything else → None.
    """
    for key, _value in parse_qsl(query_string, keep_blank_values=True):
        k = key.lower()
        if k in ("wsdl", "singlewsdl"):
            return "wsdl"
        if k == "xsd":
            return "xsd"
    return None


# --- import ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Decl:
    el: etree._Element
    qualified: bool


class _Schemas:
    """Top-level element and complexType declarations of the inline schemas, by QName."""

    def __init__(self, root: etree._Element) -> None:
        self.elements: dict[tuple[str, str], _Decl] = {}
        self.types: dict[tuple[str, str], _Decl] = {}
        for schema in root.iterfind(f"{_w('types')}/{_x('schema')}"):
            target = schema.get("targetNamespace", "")
            qualified = schema.get("elementFormDefault") == "qualified"
            for el in schema.iterfind(_x("element")):
                self.elements[(target, el.get("name", ""))] = _Decl(el, qualified)
            for ct in schema.iterfind(_x("complexType")):
                self.types[(target, ct.get("name", ""))] = _Decl(ct, qualified)


def _qname(el: etree._Element, value: str | None) -> tuple[str, str]:
    if not value:
        raise WsdlImportError(f"missing QName on {etree.QName(el).localname}")
    prefix, _, local = value.strip().rpartition(":")
    uri = el.nsmap.get(prefix or None)
    if uri is None:
        if prefix:
            raise WsdlImportError(f"undeclared prefix in {value!r}")
        uri = ""
    return uri, local


WSDL_LIMITS: Final = ParserLimits(
    max_bytes=16 * 1024 * 1024,
    max_depth=128,
    max_elements=500_000,
    max_attributes=1_000_000,
    max_namespace_declarations=65_536,
)


def _fault_code_reason(fault: etree._Element) -> tuple[str, str]:
    """A fault's code (SOAP 1.2 Code/Value then each Subcode/Value, or SOAP 1.1 faultcode)
    and reason (the first Reason/Text, or faultstring), each as one short line."""

    def text(el: etree._Element | None) -> str:
        return " ".join("".join(str(t) for t in el.itertext()).split())[:300] if el is not None else ""

    code_el = fault.find("{*}Code")
    codes: list[str] = []
    while code_el is not None and len(codes) < 8:
        codes.append(text(code_el.find("{*}Value")))
        code_el = code_el.find("{*}Subcode")
    code = " / ".join(c for c in codes if c) or text(fault.find("{*}faultcode"))
    reason_el = fault.find("{*}Reason/{*}Text")
    return code, text(reason_el if reason_el is not None else fault.find("{*}faultstring"))


def parse_wsdl(data: bytes) -> etree._Element:
    """Parse a WSDL 1.1 document (hardened parser, `WSDL_LIMITS`). Anything else (an
    HTML page, garbage, another XML document) raises `ConfigurationError` saying
    "not a WSDL", never a security fault."""
    head = data[:512].lstrip().lower()
    html = head.startswith((b"<!doctype html", b"<html")) or b"<html" in head
    try:
        root = parse_xml(data, WSDL_LIMITS)
    except MalformedXml as exc:
        if html:
            raise ConfigurationError(
                "not a WSDL: the document is an HTML page (for a WCF or wssc service, "
                "use the address followed by ?wsdl)"
            ) from None
        if not data.strip():
            raise ConfigurationError("not a WSDL: the document is empty") from None
        raise ConfigurationError(
            f"not a WSDL: the document is not well-formed XML ({exc.detail or exc.reason})"
        ) from None
    if root.tag != _w("definitions") and etree.QName(root).localname in ("Envelope", "Fault"):
        fault = root if etree.QName(root).localname == "Fault" else root.find("*/{*}Fault")
        if fault is not None:
            error = ConfigurationError("not a WSDL: the document is a SOAP fault")
            code, reason = _fault_code_reason(fault)
            error.add_note(f"fault code: {code or '(none)'}")
            error.add_note(f"fault reason: {reason or '(none)'}")
            raise error
    if root.tag != _w("definitions"):
        what = (
            "an HTML page"
            if etree.QName(root).localname.lower() == "html"
            else f"an XML document whose root element is {root.tag}"
        )
        raise ConfigurationError(f"not a WSDL: the document is {what}, not a WSDL 1.1 wsdl:definitions")
    return root


def parse_wsdl_operations(
    wsdl: bytes | etree._Element, *, port_type: str | None = None, strict: bool = True
) -> ContractSpec:
    """Rebuild a client-side `ContractSpec` from a WSDL's portType.

    Operations must be document/literal wrapped with the types `contract`
    supports and an inline schema (a single WSDL). Actions come from ``wsaw:Action`` /
    ``wsam:Action``, else the binding's ``soapAction``, else WCF's default rule. With
    ``strict=False`` unsupported operations are skipped instead of raising
    `WsdlImportError`.
    """
    if isinstance(wsdl, etree._Element):
        root = wsdl
    else:
        try:
            root = parse_wsdl(wsdl)
        except ConfigurationError as exc:
            raise WsdlImportError(exc.detail) from None
    tns = root.get("targetNamespace", "")
    port_types = root.findall(_w("portType"))
    if port_type is not None:
        port_types = [p for p in port_types if p.get("name") == port_type]
    if not port_types:
        wanted = f" named {port_type}" if port_type is not None else ""
        raise WsdlImportError(f"the WSDL has no portType{wanted}")
    pt = port_types[0]
    contract_name = pt.get("name", "")
    schemas = _Schemas(root)
    messages = {(tns, m.get("name", "")): m for m in root.iterfind(_w("message"))}
    soap_actions = _soap_actions(root, tns, contract_name)
    ops: dict[str, OperationSpec] = {}
    for o in pt.iterfind(_w("operation")):
        try:
            spec = _import_operation(o, tns, contract_name, schemas, messages, soap_actions)
        except WsdlImportError:
            if strict:
                raise
            continue
        ops[spec.action] = spec
    if not ops:
        raise WsdlImportError(f"portType {contract_name} has no usable operations")
    return ContractSpec(contract_name, tns, ops)


def _soap_actions(root: etree._Element, tns: str, port_type: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for b in root.iterfind(_w("binding")):
        if _qname(b, b.get("type")) != (tns, port_type):
            continue
        for o in b.iterfind(_w("operation")):
            for soap in (ns.WSDL_SOAP11, ns.WSDL_SOAP12):
                so = o.find(f"{{{soap}}}operation")
                if so is not None and so.get("soapAction"):
                    out.setdefault(o.get("name", ""), so.get("soapAction", ""))
    return out


def _import_operation(
    o: etree._Element,
    tns: str,
    contract: str,
    schemas: _Schemas,
    messages: dict[tuple[str, str], etree._Element],
    soap_actions: dict[str, str],
) -> OperationSpec:
    name = o.get("name", "")
    inp, out = o.find(_w("input")), o.find(_w("output"))
    if inp is None or out is None:
        raise WsdlImportError(f"{name}: one-way and notification operations are not supported")
    req_ns, req_name, params = _wrapper(inp, name, schemas, messages)
    resp_ns, resp_name, results = _wrapper(out, name, schemas, messages)
    if req_ns != resp_ns:
        raise WsdlImportError(f"{name}: request and reply wrappers are in different namespaces")
    if len(results) > 1:
        raise WsdlImportError(f"{name}: out parameters are not supported")
    default = combine_uri(combine_uri(tns, contract), name)
    action = _action(inp) or soap_actions.get(name) or default
    reply_action = _action(out) or default + "Response"
    return OperationSpec(
        name=name,
        namespace=req_ns,
        action=action,
        reply_action=reply_action,
        parameters=tuple(params),
        result=results[0].type if results else None,
        request_name=req_name,
        response_name=resp_name,
        result_name=results[0].name if results else "",
    )


def _action(io: etree._Element) -> str | None:
    return io.get(f"{{{ns.WSAW}}}Action") or io.get(f"{{{ns.WSAM}}}Action")


def _wrapper(
    io: etree._Element,
    op: str,
    schemas: _Schemas,
    messages: dict[tuple[str, str], etree._Element],
) -> tuple[str, str, list[Parameter]]:
    msg = messages.get(_qname(io, io.get("message")))
    if msg is None:
        raise WsdlImportError(f"{op}: message {io.get('message')} is not defined")
    parts = msg.findall(_w("part"))
    if len(parts) != 1 or parts[0].get("element") is None:
        raise WsdlImportError(f"{op}: not document/literal wrapped (one element part expected)")
    key = _qname(parts[0], parts[0].get("element"))
    decl = schemas.elements.get(key)
    if decl is None:
        raise WsdlImportError(f"{op}: element {{{key[0]}}}{key[1]} is not in an inline schema")
    ct = decl.el.find(_x("complexType"))
    if ct is None and decl.el.get("type"):
        named = schemas.types.get(_qname(decl.el, decl.el.get("type")))
        ct = None if named is None else named.el
    if ct is None:
        raise WsdlImportError(f"{op}: {key[1]} is not a complexType wrapper")
    params: list[Parameter] = []
    children = [c for c in ct if isinstance(c.tag, str) and c.tag != _x("annotation")]
    if children:
        if len(children) != 1 or children[0].tag not in (_x("sequence"), _x("all")):
            raise WsdlImportError(f"{op}: {key[1]} must hold a plain xs:sequence")
        for child in children[0]:
            if not isinstance(child.tag, str) or child.tag == _x("annotation"):
                continue
            params.append(_param(child, op, decl.qualified))
    return key[0], key[1], params


def _param(el: etree._Element, op: str, qualified: bool) -> Parameter:
    name = el.get("name")
    if el.tag != _x("element") or not name:
        raise WsdlImportError(f"{op}: only named xs:element children are supported")
    if not (el.get("form") == "qualified" or (qualified and el.get("form") is None)):
        raise WsdlImportError(f"{op}: {name} is unqualified (elementFormDefault must be qualified)")
    type_ns, local = _qname(el, el.get("type"))
    if type_ns != ns.XSD:
        raise WsdlImportError(f"{op}: {name} has the unsupported type {{{type_ns}}}{local}")
    max_occurs = el.get("maxOccurs", "1")
    is_list = max_occurs == "unbounded" or (max_occurs.isdigit() and int(max_occurs) > 1)
    optional = not is_list and (el.get("minOccurs") == "0" or el.get("nillable") == "true")
    try:
        return Parameter(name, ValueType(local, optional=optional, is_list=is_list))
    except WsscError as exc:
        raise WsdlImportError(f"{op}: {name}: {exc.detail}") from None
