"""Read a WS-MetadataExchange answer (``mex:Metadata``) like a WSDL, sans-IO.

A WCF ``mex`` endpoint answers a WS-Transfer Get with a SOAP envelope whose body is::

    <wsx:Metadata>
      <wsx:MetadataSection Dialect="http://schemas.xmlsoap.org/wsdl/">  <wsdl:definitions>…
      <wsx:MetadataSection Dialect="http://www.w3.org/2001/XMLSchema">  <xs:schema>…
      <wsx:MetadataSection Dialect="http://www.w3.org/ns/ws-policy">    <wsp:Policy>…

(svcutil accepts the same as a file, with or without the envelope). `metadata_sections` returns
the WSDL and schema sections; `wssc.policy.wsdl_resolve.WsdlAssembler` merges them as it merges a
multi-file ``?wsdl``. Sections by reference (``wsx:MetadataReference``, ``wsx:Location``) are not
followed. `get_request` is the Get a client POSTs to the mex address.
"""

from __future__ import annotations

import uuid
from typing import Final

from lxml import etree

from wssc.errors import ConfigurationError
from wssc.xml import ns

#: Sections one answer may carry (a WCF service has one per namespace and schema).
MAX_SECTIONS: Final = 64
_DIALECT_WSDL: Final = ns.WSDL
_DIALECT_XSD: Final = ns.XSD
_METADATA: Final = ns.qn(ns.MEX, "Metadata")


def is_metadata(data: bytes) -> bool:
    """Does the document look like a mex answer (a cheap look at its start, before parsing)?"""
    head = data[:4096]
    return ns.MEX.encode() in head and b"Metadata" in head


def metadata_root(root: etree._Element) -> etree._Element | None:
    """The ``mex:Metadata`` element: the root, or the body of a SOAP 1.1/1.2 envelope."""
    if root.tag == _METADATA:
        return root
    if etree.QName(root).localname == "Envelope" and etree.QName(root).namespace in (ns.SOAP11, ns.SOAP12):
        for body in root:
            if isinstance(body.tag, str) and etree.QName(body).localname == "Body":
                for child in body:
                    if isinstance(child.tag, str):
                        return child if child.tag == _METADATA else None
    return None


def metadata_sections(metadata: etree._Element) -> tuple[list[etree._Element], list[etree._Element]]:
    """(WSDL definitions, XML schemas) of a ``mex:Metadata``, the definitions holding a
    ``wsdl:service`` first. A policy section is wrapped in a ``wsdl:definitions`` of its own
    (its ``wsu:Id`` is what bindings reference)."""
    wsdls: list[etree._Element] = []
    schemas: list[etree._Element] = []
    sections = [s for s in metadata if isinstance(s.tag, str) and s.tag == ns.qn(ns.MEX, "MetadataSection")]
    if len(sections) > MAX_SECTIONS:
        raise ConfigurationError(f"the metadata has more than {MAX_SECTIONS} sections")
    for section in sections:
        dialect = (section.get("Dialect") or "").strip()
        content = next((c for c in section if isinstance(c.tag, str)), None)
        if content is None:
            continue  # wsx:MetadataReference / wsx:Location are elements too; text-only: nothing
        if dialect == _DIALECT_WSDL and content.tag == ns.qn(ns.WSDL, "definitions"):
            wsdls.append(content)
        elif dialect == _DIALECT_XSD and content.tag == ns.qn(ns.XSD, "schema"):
            schemas.append(content)
        elif dialect in (ns.WSP12, ns.WSP15) and etree.QName(content).localname == "Policy":
            holder = etree.Element(ns.qn(ns.WSDL, "definitions"), nsmap={"wsdl": ns.WSDL})
            holder.append(content)
            wsdls.append(holder)
    if not wsdls:
        raise ConfigurationError(
            "the metadata (mex:Metadata) has no WSDL section inline: nothing to read "
            "(sections by reference are not followed)"
        )
    wsdls.sort(key=lambda d: d.find(ns.qn(ns.WSDL, "service")) is None)
    return wsdls, schemas


def get_request(address: str) -> bytes:
    """The WS-Transfer Get of WS-MetadataExchange, SOAP 1.2 and WS-Addressing 1.0, as svcutil
    sends it to a WCF ``mex`` endpoint."""
    env = etree.Element(ns.qn(ns.SOAP12, "Envelope"), nsmap={"s": ns.SOAP12, "a": ns.WSA10})
    header = etree.SubElement(env, ns.qn(ns.SOAP12, "Header"))
    action = etree.SubElement(header, ns.qn(ns.WSA10, "Action"))
    action.set(ns.qn(ns.SOAP12, "mustUnderstand"), "1")
    action.text = ns.MEX_GET_ACTION
    etree.SubElement(header, ns.qn(ns.WSA10, "MessageID")).text = f"urn:uuid:{uuid.uuid4()}"
    reply = etree.SubElement(header, ns.qn(ns.WSA10, "ReplyTo"))
    etree.SubElement(reply, ns.qn(ns.WSA10, "Address")).text = ns.WSA10 + "/anonymous"
    to = etree.SubElement(header, ns.qn(ns.WSA10, "To"))
    to.set(ns.qn(ns.SOAP12, "mustUnderstand"), "1")
    to.text = address
    etree.SubElement(env, ns.qn(ns.SOAP12, "Body"))
    return etree.tostring(env, encoding="utf-8")


#: ``Content-Type`` of the Get (SOAP 1.2 carries the action in the media type too).
GET_CONTENT_TYPE: Final = f'application/soap+xml; charset=utf-8; action="{ns.MEX_GET_ACTION}"'

__all__ = [
    "GET_CONTENT_TYPE",
    "MAX_SECTIONS",
    "get_request",
    "is_metadata",
    "metadata_root",
    "metadata_sections",
]
