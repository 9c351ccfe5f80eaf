"""Read a WSDL 1.1 document (as WCF publishes it) into an `ImportedEndpoint`.

The pieces read::

    <wsdl:definitions>
      <wsp:Policy wsu:Id="WSHttpBinding_IEcho_policy">…</wsp:Policy>        (WS-Policy 1.2 or 1.5)
      <wsp:Policy wsu:Id="WSHttpBinding_IEcho_Echo_Input_policy">…</wsp:Policy>
      <wsdl:portType name="IEcho">
        <wsdl:operation name="Echo">
          <wsdl:input wsaw:Action="urn:echo/IEcho/Echo" …/>
          <wsdl:output wsaw:Action="urn:echo/IEcho/EchoResponse" …/>
      <wsdl:binding name="WSHttpBinding_IEcho" type="tns:IEcho">
        <wsp:PolicyReference URI="#WSHttpBinding_IEcho_policy"/>
        <soap12:binding transport="http://schemas.xmlsoap.org/soap/http"/>
        <wsdl:operation name="Echo">
          <soap12:operation soapAction="urn:echo/IEcho/Echo" style="document"/>
          <wsdl:input><wsp:PolicyReference URI="#WSHttpBinding_IEcho_Echo_Input_policy"/>…
      <wsdl:service name="EchoService">
        <wsdl:port name="WSHttpBinding_IEcho" binding="tns:WSHttpBinding_IEcho">
          <soap12:address location="http://host/echo"/>
          <wsa10:EndpointReference>
            <wsa10:Address>http://host/echo</wsa10:Address>
            <Identity xmlns="http://schemas.xmlsoap.org/ws/2006/02/addressingidentity">
              <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">
                <X509Data><X509Certificate>MIIC…</X509Certificate></X509Data>

``wsdl:import`` is not followed: nothing is fetched. The document is parsed with the hardened
parser; a malformed document raises `MalformedXml`, anything wssc cannot
honour raises `ConfigurationError`.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from lxml import etree

from wssc.contract.wsdl import WSDL_LIMITS, parse_wsdl
from wssc.errors import ConfigurationError
from wssc.xml import ns

from .model import ImportedEndpoint, Operation, Protection, SoapVersionName
from .normalize import Resolver, alternatives, is_wsp
from .policy_import import import_policy, policy_index, resolver

if TYPE_CHECKING:
    from .shapes import BootstrapShape

#: WSDLs carry schemas: allow more than a SOAP message, still bounded.
_SOAP_BINDINGS: Final[dict[str, SoapVersionName]] = {ns.WSDL_SOAP11: "1.1", ns.WSDL_SOAP12: "1.2"}


def _w(local: str) -> str:
    return ns.qn(ns.WSDL, local)


def _local(qname: str | None) -> str:
    return (qname or "").rpartition(":")[2]


def _policy_refs(el: etree._Element, resolve: Resolver) -> list[etree._Element]:
    """Policies attached to a WSDL element: ``wsp:PolicyReference`` children or inline."""
    found: list[etree._Element] = []
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if is_wsp(child, "PolicyReference"):
            uri = child.get("URI", "")
            target = resolve(uri)
            if target is None:
                raise ConfigurationError(
                    f"wsp:PolicyReference URI={uri!r} does not resolve "
                    "(only same-document #id references are followed)"
                )
            found.append(target)
        elif is_wsp(child, "Policy"):
            found.append(child)
    return found


def _merged(policies: list[etree._Element]) -> etree._Element:
    """Several attached policies mean all of them: wrap them in one ``wsp:Policy``."""
    if len(policies) == 1:
        return policies[0]
    wsp = etree.QName(policies[0]).namespace or ns.WSP15
    merged = etree.Element(ns.qn(wsp, "Policy"))
    for p in policies:
        etree.SubElement(merged, ns.qn(wsp, "All")).extend(copy.deepcopy(c) for c in p)
    return merged


def _choose_port(
    root: etree._Element, port: str | None, bindings: dict[str, etree._Element]
) -> etree._Element:
    ports = list(root.iter(_w("port")))
    if port is not None:
        for p in ports:
            if p.get("name") == port:
                return p
        names = ", ".join(str(p.get("name")) for p in ports) or "none"
        raise ConfigurationError(f"the WSDL has no port {port!r} (ports: {names})")
    if not ports:
        raise ConfigurationError("the WSDL has no wsdl:service/wsdl:port")
    for p in ports:
        b = bindings.get(_local(p.get("binding")))
        if b is not None and any(_is_policy_attachment(c) for c in b):
            return p
    return ports[0]


def _is_policy_attachment(el: etree._Element) -> bool:
    return isinstance(el.tag, str) and (is_wsp(el, "PolicyReference") or is_wsp(el, "Policy"))


def _address(port: etree._Element) -> str | None:
    for ns_uri in (ns.WSDL_SOAP12, ns.WSDL_SOAP11):
        addr = port.find(ns.qn(ns_uri, "address"))
        if addr is not None and addr.get("location"):
            return addr.get("location")
    text = port.findtext(f"{{{ns.WSA10}}}EndpointReference/{{{ns.WSA10}}}Address")
    return text.strip() if text else None


def _certificate(port: etree._Element) -> bytes | None:
    path = "/".join(
        [
            ns.qn(ns.WSA10, "EndpointReference"),
            ns.qn(ns.WSID, "Identity"),
            ns.qn(ns.DS, "KeyInfo"),
            ns.qn(ns.DS, "X509Data"),
            ns.qn(ns.DS, "X509Certificate"),
        ]
    )
    text = port.findtext(path)
    if not text or not text.strip():
        return None
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("the port's wsid:Identity X509Certificate is not base64") from None


def _principal(port: etree._Element, local: str) -> str | None:
    """``wsid:Identity/wsid:Spn`` or ``…/wsid:Upn`` of the port's endpoint reference::

    <wsa10:EndpointReference>…<Identity xmlns="http://schemas.xmlsoap.org/ws/2006/02/addressingidentity">
        <Spn>host/server.example.com</Spn></Identity></wsa10:EndpointReference>
    """
    path = "/".join([ns.qn(ns.WSA10, "EndpointReference"), ns.qn(ns.WSID, "Identity"), ns.qn(ns.WSID, local)])
    text = (port.findtext(path) or "").strip()
    if not text:
        return None
    if len(text) > 1024 or any(c.isspace() or not c.isprintable() for c in text):
        raise ConfigurationError(f"the port's wsid:Identity {local} is not a principal name")
    return text


def _soap_version(binding: etree._Element) -> SoapVersionName:
    for child in binding:
        if isinstance(child.tag, str) and etree.QName(child).localname == "binding":
            version = _SOAP_BINDINGS.get(etree.QName(child).namespace or "")
            if version:
                return version
    raise ConfigurationError(f"wsdl:binding {binding.get('name')!r} is not a SOAP 1.1/1.2 binding")


def _protection(io: etree._Element | None, resolve: Resolver) -> Protection | None:
    if io is None:
        return None
    policies = _policy_refs(io, resolve)
    if not policies:
        return None
    alts = alternatives(_merged(policies), resolve)
    if not alts:
        return None

    def covers_body(local: str) -> bool:
        for el in alts[0]:
            q = etree.QName(el)
            if q.namespace in (ns.SP11, ns.SP12) and q.localname == local:
                if el.find(ns.qn(q.namespace, "Body")) is not None:
                    return True
        return False

    if covers_body("EncryptedParts"):
        return "EncryptAndSign"
    return "Sign" if covers_body("SignedParts") else "None"


def _action(io: etree._Element | None) -> str | None:
    if io is None:
        return None
    return io.get(ns.qn(ns.WSAW, "Action")) or io.get(ns.qn(ns.WSAM, "Action"))


def _operations(root: etree._Element, binding: etree._Element, resolve: Resolver) -> tuple[Operation, ...]:
    port_type = None
    type_name = _local(binding.get("type"))
    for pt in root.iter(_w("portType")):
        if pt.get("name") == type_name:
            port_type = pt
    abstract = {}
    if port_type is not None:
        abstract = {op.get("name"): op for op in port_type.iter(_w("operation"))}
    ops: list[Operation] = []
    for op in binding.findall(_w("operation")):
        name = op.get("name", "")
        soap_action = None
        for ns_uri in (ns.WSDL_SOAP12, ns.WSDL_SOAP11):
            so = op.find(ns.qn(ns_uri, "operation"))
            if so is not None:
                soap_action = so.get("soapAction")
        a = abstract.get(name)
        ops.append(
            Operation(
                name=name,
                soap_action=soap_action,
                input_action=_action(a.find(_w("input")) if a is not None else None),
                output_action=_action(a.find(_w("output")) if a is not None else None),
                protection=_protection(op.find(_w("input")), resolve),
            )
        )
    return tuple(ops)


def import_wsdl(
    wsdl: bytes | etree._Element,
    *,
    bootstraps: Sequence[BootstrapShape],
    port: str | None = None,
) -> ImportedEndpoint:
    """Import one port of a WSDL: its address, SOAP version, security settings and operations.
    ``wsdl``: bytes, or a root already parsed by `parse_wsdl` (one parse, one set of
    limits, for whoever also reads the contract from it). ``bootstraps``: the registry's shapes
    (`wssc.bootstrap.registry.settings_from_wsdl`).

    ``port`` names the ``wsdl:port``; by default the first port whose binding has a policy.
    """
    root = wsdl if isinstance(wsdl, etree._Element) else parse_wsdl(wsdl)
    resolve = resolver(policy_index(root))
    bindings = {str(b.get("name")): b for b in root.iter(_w("binding"))}
    chosen = _choose_port(root, port, bindings)
    binding_name = _local(chosen.get("binding"))
    binding = bindings.get(binding_name)
    if binding is None:
        raise ConfigurationError(
            f"port {chosen.get('name')!r} names an unknown binding "
            f"{binding_name!r} (wsdl:import is not followed)"
        )
    policies = _policy_refs(binding, resolve)
    if not policies:
        raise ConfigurationError(
            f"wsdl:binding {binding_name!r} carries no WS-Policy: the endpoint is not secured "
            "with WS-Security, so there is no secure session to join"
        )
    imported = import_policy(_merged(policies), bootstraps=bootstraps, resolve=resolve)
    first = policies[0]
    return ImportedEndpoint(
        address=_address(chosen),
        soap_version=_soap_version(binding),
        settings=imported.settings,
        service_certificate_der=_certificate(chosen),
        identity_spn=_principal(chosen, "Spn"),
        identity_upn=_principal(chosen, "Upn"),
        policy_id=first.get(ns.qn(ns.WSU, "Id")),
        operations=_operations(root, binding, resolve),
        port_name=chosen.get("name"),
        binding_name=binding_name,
        evidence=imported.evidence,
    )


__all__ = ["WSDL_LIMITS", "import_wsdl", "parse_wsdl"]
