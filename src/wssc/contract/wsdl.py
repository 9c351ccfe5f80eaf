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
from wssc.contract.model import (
    ELEMENT,
    SCALARS,
    ContractSpec,
    OperationSpec,
    Parameter,
    ValueType,
    combine_uri,
)
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
            if op.bare_request or op.bare_reply:
                raise ConfigurationError(
                    f"{op.name}: a bare operation (read from a WSDL) is not written back as a WSDL "
                    "(serve the WSDL it was read from)"
                )
            _wrapper_decl(schema, op.request_name, op.parameters)
            _wrapper_decl(schema, op.response_name, op.result_params)
        out.append(schema)
    return out


def _wrapper_decl(schema: etree._Element, name: str, params: Sequence[Parameter]) -> None:
    if any(p.type.is_element or p.namespace is not None for p in params):
        raise ConfigurationError(
            f"{name}: a contract read from a WSDL with raw XML values is not written back as a "
            "WSDL (serve the WSDL it was read from)"
        )
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
    identity_spn: str | None = None,
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
    if identity_spn is not None:  # a Windows-authenticated service (SPNEGO): its principal name
        identity = etree.SubElement(epr, f"{{{ns.WSID}}}Identity", nsmap=default_nsmap(ns.WSID))
        etree.SubElement(identity, f"{{{ns.WSID}}}Spn").text = identity_spn
    elif identity_certificate_der is not None:
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
        #: named xs:simpleType → the QName its xs:restriction is based on
        self.simple: dict[tuple[str, str], tuple[str, str]] = {}
        for schema in root.iterfind(f"{_w('types')}/{_x('schema')}"):
            target = schema.get("targetNamespace", "")
            qualified = schema.get("elementFormDefault") == "qualified"
            for el in schema.iterfind(_x("element")):
                self.elements[(target, el.get("name", ""))] = _Decl(el, qualified)
            for ct in schema.iterfind(_x("complexType")):
                self.types[(target, ct.get("name", ""))] = _Decl(ct, qualified)
            for st in schema.iterfind(_x("simpleType")):
                base = st.find(_x("restriction"))
                if base is not None and base.get("base"):
                    self.simple[(target, st.get("name", ""))] = _qname(base, base.get("base"))


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
    wsdl: bytes | etree._Element,
    *,
    port_type: str | None = None,
    strict: bool = True,
    binding: str | None = None,
) -> ContractSpec:
    """Rebuild a client-side `ContractSpec` from a WSDL's portType (``binding``: the portType
    of the ``wsdl:binding`` of that name, the one a chosen port uses; else ``port_type``,
    else the first).

    Operations are document/literal, one element part per message, the schema inline (a
    single WSDL, or one `wssc.policy.wsdl_resolve` assembled). A message whose part is named
    ``parameters`` and whose element is a plain ``xs:sequence`` of elements is *wrapped*: each
    child is a parameter (an XSD scalar, or raw XML as an lxml element for a complex type;
    ``xs:element ref=`` is resolved in the schemas at hand). Any other (a part named otherwise,
    ``xs:any``, ``xs:choice``, several results) is *bare*: the body element itself is the one
    parameter, or the result, as an lxml element (or a scalar, for a simple type). Actions come
    from ``wsaw:Action`` / ``wsam:Action``, else the binding's ``soapAction``, else WCF's
    default rule. RPC style, encoded bodies, multi-part and one-way operations are refused
    (`WsdlImportError`); with ``strict=False`` they are skipped instead.
    Work is linear in the document (each reference is looked up once, never followed
    further), under the parser's `WSDL_LIMITS`.
    """
    if isinstance(wsdl, etree._Element):
        root = wsdl
    else:
        try:
            root = parse_wsdl(wsdl)
        except ConfigurationError as exc:
            raise WsdlImportError(exc.detail) from None
    tns = root.get("targetNamespace", "")
    if binding is not None:
        found = [b for b in root.iterfind(_w("binding")) if b.get("name") == binding]
        if not found:
            raise WsdlImportError(f"the WSDL has no binding named {binding}")
        port_type = _qname(found[0], found[0].get("type"))[1]
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
    soap_actions, refused = _soap_operations(root, tns, contract_name, binding)
    ops: dict[str, OperationSpec] = {}
    for o in pt.iterfind(_w("operation")):
        try:
            why = refused.get(o.get("name", ""))
            if why is not None:
                raise WsdlImportError(f"{o.get('name', '')}: {why}")
            spec = _import_operation(o, tns, contract_name, schemas, messages, soap_actions)
        except WsdlImportError:
            if strict:
                raise
            continue
        ops[spec.action] = spec
    if not ops:
        raise WsdlImportError(f"portType {contract_name} has no usable operations")
    return ContractSpec(contract_name, tns, ops)


def _soap_operations(
    root: etree._Element, tns: str, port_type: str, binding: str | None
) -> tuple[dict[str, str], dict[str, str]]:
    """The binding's soapAction per operation, and the operations it binds in a way wssc
    does not call (RPC style, SOAP encoding), with why."""
    actions: dict[str, str] = {}
    refused: dict[str, str] = {}
    for b in root.iterfind(_w("binding")):
        if _qname(b, b.get("type")) != (tns, port_type) or (binding is not None and b.get("name") != binding):
            continue
        style = "document"
        for soap in (ns.WSDL_SOAP11, ns.WSDL_SOAP12):
            sb = b.find(f"{{{soap}}}binding")
            if sb is not None:
                style = sb.get("style", style)
        for o in b.iterfind(_w("operation")):
            name = o.get("name", "")
            op_style = style
            for soap in (ns.WSDL_SOAP11, ns.WSDL_SOAP12):
                so = o.find(f"{{{soap}}}operation")
                if so is not None and so.get("soapAction"):
                    actions.setdefault(name, so.get("soapAction", ""))
                if so is not None and so.get("style"):
                    op_style = so.get("style", style)
            if op_style == "rpc":
                refused.setdefault(name, "RPC style is not supported (document/literal only)")
            for soap in (ns.WSDL_SOAP11, ns.WSDL_SOAP12):
                for body in o.iterfind(f"*/{{{soap}}}body"):
                    if body.get("use") == "encoded":
                        refused.setdefault(name, "SOAP encoding (use=encoded) is not supported")
    return actions, refused


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
    request = _message(inp, name, schemas, messages)
    reply = _message(out, name, schemas, messages)
    if not reply.bare and len(reply.params) > 1:
        reply = reply.as_bare()  # out parameters: the whole reply element is the result
    result = reply.params[0] if reply.params else None
    default = combine_uri(combine_uri(tns, contract), name)
    action = _action(inp) or soap_actions.get(name) or default
    reply_action = _action(out) or default + "Response"
    return OperationSpec(
        name=name,
        namespace=request.namespace,
        action=action,
        reply_action=reply_action,
        parameters=tuple(request.params),
        result=result.type if result else None,
        request_name=request.element,
        response_name=reply.element,
        result_name=result.name if result else "",
        response_namespace=reply.namespace,
        bare_request=request.bare,
        bare_reply=reply.bare,
        result_namespace=result.namespace if result else None,
    )


def _action(io: etree._Element) -> str | None:
    return io.get(f"{{{ns.WSAW}}}Action") or io.get(f"{{{ns.WSAM}}}Action")


@dataclass(frozen=True, slots=True)
class _Message:
    """One side of an operation: its body element, and its parameters (wrapped: the
    element's children; bare: the element itself, named after the part)."""

    namespace: str
    element: str
    params: tuple[Parameter, ...]
    bare: bool
    part: str
    decl: etree._Element
    schemas: _Schemas

    def as_bare(self) -> _Message:
        param = Parameter(_python_name(self.part), _bare_type(self.decl, self.schemas))
        return _Message(self.namespace, self.element, (param,), True, self.part, self.decl, self.schemas)


def _python_name(part: str) -> str:
    return part if part.isidentifier() else "body"


_SKIPPED = (_x("annotation"),)


def _message(
    io: etree._Element,
    op: str,
    schemas: _Schemas,
    messages: dict[tuple[str, str], etree._Element],
) -> _Message:
    msg = messages.get(_qname(io, io.get("message")))
    if msg is None:
        raise WsdlImportError(f"{op}: message {io.get('message')} is not defined")
    parts = msg.findall(_w("part"))
    if len(parts) != 1 or parts[0].get("element") is None:
        raise WsdlImportError(f"{op}: not document/literal (one element part expected)")
    key = _qname(parts[0], parts[0].get("element"))
    decl = schemas.elements.get(key)
    if decl is None:
        raise WsdlImportError(f"{op}: element {{{key[0]}}}{key[1]} is not in the schemas read")
    part = parts[0].get("name", "")
    side = _Message(key[0], key[1], (), False, part, decl.el, schemas)
    params = _wrapped(decl, schemas, op) if part == "parameters" else None
    if params is None:
        return side.as_bare()
    return _Message(key[0], key[1], tuple(params), False, part, decl.el, schemas)


def _complex_type(decl: etree._Element, schemas: _Schemas) -> etree._Element | None:
    ct = decl.find(_x("complexType"))
    if ct is None and decl.get("type"):
        named = schemas.types.get(_qname(decl, decl.get("type")))
        ct = None if named is None else named.el
    return ct


def _wrapped(decl: _Decl, schemas: _Schemas, op: str) -> list[Parameter] | None:
    """A wrapper's children as parameters; None when it is no plain sequence of elements
    (then the operation is bare)."""
    ct = _complex_type(decl.el, schemas)
    if ct is None:
        return None
    children = [c for c in ct if isinstance(c.tag, str) and c.tag not in _SKIPPED]
    if not children:
        return []
    if len(children) != 1 or children[0].tag not in (_x("sequence"), _x("all")):
        return None  # attributes, xs:choice, complexContent…
    params: list[Parameter] = []
    for child in children[0]:
        if not isinstance(child.tag, str) or child.tag in _SKIPPED:
            continue
        if child.tag != _x("element"):
            return None  # xs:any, xs:choice, xs:group
        param = _param(child, op, decl.qualified, schemas)
        if param is None:
            return None
        params.append(param)
    if len({p.name for p in params}) != len(params):
        return None  # two children with one local name: no keyword argument for each
    return params


def _bare_type(decl: etree._Element, schemas: _Schemas) -> ValueType:
    scalar = _scalar(decl, schemas)
    return ValueType(scalar) if scalar is not None else ValueType(ELEMENT)


#: Restrictions of restrictions followed to an XSD scalar (a cycle stops here too).
_MAX_RESTRICTIONS: Final = 8


def _scalar(el: etree._Element, schemas: _Schemas) -> str | None:
    """The XSD scalar ``el``'s ``type`` names (directly, or a named xs:simpleType restricting
    one, such as WCF's ``StreamBody``), if wssc maps it to a Python type."""
    if not el.get("type") or el.find(_x("complexType")) is not None:
        return None
    key = _qname(el, el.get("type"))
    for _ in range(_MAX_RESTRICTIONS):
        if key[0] == ns.XSD:
            return key[1] if key[1] in SCALARS else None
        base = schemas.simple.get(key)
        if base is None:
            return None
        key = base
    return None


def _param(el: etree._Element, op: str, qualified: bool, schemas: _Schemas) -> Parameter | None:
    max_occurs = el.get("maxOccurs", "1")
    is_list = max_occurs == "unbounded" or (max_occurs.isdigit() and int(max_occurs) > 1)
    ref = el.get("ref")
    if ref is not None:
        key = _qname(el, ref)
        target = schemas.elements.get(key)
        if target is None:
            raise WsdlImportError(f"{op}: xs:element ref={{{key[0]}}}{key[1]} is not in the schemas read")
        namespace: str | None = key[0]
        name, typed = key[1], target.el
        nillable = target.el.get("nillable") == "true"
    else:
        name, typed = el.get("name", ""), el
        nillable = el.get("nillable") == "true"
        form = el.get("form")
        namespace = None if (form == "qualified" or (qualified and form is None)) else ""
    if not name:
        return None
    # A name that is no Python identifier stays the wire name (positional, or **{name: …});
    # svcutil writes a mangled identifier for it and keeps the wire name.
    optional = not is_list and (el.get("minOccurs") == "0" or nillable)
    try:
        return Parameter(
            name, ValueType(_scalar(typed, schemas) or ELEMENT, optional=optional, is_list=is_list), namespace
        )
    except WsscError as exc:
        raise WsdlImportError(f"{op}: {name}: {exc.detail}") from None
