"""Helpers for the policy tests: wrap policies into a minimal WCF-shaped WSDL."""

from __future__ import annotations

import base64

from lxml import etree

from wssc.xml import ns

TNS = "http://tempuri.org/"
OPS = ("Add", "Echo")


def make_wsdl(
    binding_policy: etree._Element,
    op_policies: tuple[etree._Element, etree._Element] | None = None,
    *,
    soap: str = "1.2",
    address: str = "http://127.0.0.1:8080/svc",
    certificate: bytes | None = None,
    wsp_ns: str = ns.WSP15,
) -> bytes:
    """A WSDL with one portType, one binding referencing the policies, and one port."""
    w = ns.WSDL
    soap_ns = ns.WSDL_SOAP12 if soap == "1.2" else ns.WSDL_SOAP11
    root = etree.Element(
        f"{{{w}}}definitions",
        nsmap={"wsdl": w, "tns": TNS, "wsp": wsp_ns, "wsaw": ns.WSAW, "soap": soap_ns, "wsa10": ns.WSA10},
        targetNamespace=TNS,
        name="Svc",
    )
    root.append(binding_policy)
    if op_policies:
        root.extend(op_policies)
    pt = etree.SubElement(root, f"{{{w}}}portType", name="ICalc")
    for op in OPS:
        o = etree.SubElement(pt, f"{{{w}}}operation", name=op)
        etree.SubElement(o, f"{{{w}}}input", {f"{{{ns.WSAW}}}Action": f"{TNS}ICalc/{op}"})
        etree.SubElement(o, f"{{{w}}}output", {f"{{{ns.WSAW}}}Action": f"{TNS}ICalc/{op}Response"})
    b = etree.SubElement(root, f"{{{w}}}binding", name="B_ICalc", type="tns:ICalc")
    pid = binding_policy.get(f"{{{ns.WSU}}}Id")
    etree.SubElement(b, f"{{{wsp_ns}}}PolicyReference", URI=f"#{pid}")
    etree.SubElement(b, f"{{{soap_ns}}}binding", transport="http://schemas.xmlsoap.org/soap/http")
    for op in OPS:
        o = etree.SubElement(b, f"{{{w}}}operation", name=op)
        etree.SubElement(o, f"{{{soap_ns}}}operation", soapAction=f"{TNS}ICalc/{op}", style="document")
        for i, io in enumerate(("input", "output")):
            e = etree.SubElement(o, f"{{{w}}}{io}")
            if op_policies:
                oid = op_policies[i].get(f"{{{ns.WSU}}}Id")
                etree.SubElement(e, f"{{{wsp_ns}}}PolicyReference", URI=f"#{oid}")
            etree.SubElement(e, f"{{{soap_ns}}}body", use="literal")
    svc = etree.SubElement(root, f"{{{w}}}service", name="Svc")
    port = etree.SubElement(svc, f"{{{w}}}port", name="P_ICalc", binding="tns:B_ICalc")
    etree.SubElement(port, f"{{{soap_ns}}}address", location=address)
    epr = etree.SubElement(port, f"{{{ns.WSA10}}}EndpointReference")
    etree.SubElement(epr, f"{{{ns.WSA10}}}Address").text = address
    if certificate is not None:
        ident = etree.SubElement(epr, f"{{{ns.WSID}}}Identity")
        ki = etree.SubElement(ident, f"{{{ns.DS}}}KeyInfo")
        xd = etree.SubElement(ki, f"{{{ns.DS}}}X509Data")
        etree.SubElement(xd, f"{{{ns.DS}}}X509Certificate").text = base64.b64encode(certificate).decode()
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
