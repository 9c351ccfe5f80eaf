"""Assemble a multi-file WSDL into one document, sans-IO.

WCF publishes ``?wsdl`` as several documents when the contract's namespace differs from the
service's: the main document (policies, binding, service) imports ``?wsdl=wsdl0`` (portType,
messages, types), whose schemas import ``?xsd=xsd0``, ``?xsd=xsd1``… (``?singleWsdl`` is all of
it in one document). :class:`WsdlAssembler` collects the documents and merges them the way
``?singleWsdl`` would::

    asm = WsdlAssembler(data, url)
    while urls := asm.missing():
        for u in urls:
            asm.add(u, fetch(u))          # the caller does the I/O (sync or async)
    single = asm.result()                 # bytes, for settings_from_wsdl / parse_wsdl_operations

The result is meant for wssc's own readers: its targetNamespace is the contract's (where the
portType and messages are), so other WSDL tools should be given the original documents.

Only documents from the same origin (scheme, host and port) as the main one are followed, at
most :data:`MAX_DOCUMENTS` of them; a WSDL read from a file follows relative file names.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Final
from urllib.parse import urljoin, urlsplit

from lxml import etree

from wssc.errors import ConfigurationError
from wssc.xml import ns

from .wsdl_import import WSDL_LIMITS, parse_wsdl

MAX_DOCUMENTS: Final = 32

_WSDL_IMPORT = ns.qn(ns.WSDL, "import")
_TYPES = ns.qn(ns.WSDL, "types")
_SCHEMA = ns.qn(ns.XSD, "schema")
_XSD_REFS = (ns.qn(ns.XSD, "import"), ns.qn(ns.XSD, "include"))


def _nsmap(m: object) -> dict[str, str]:
    """An element's nsmap, typed as lxml-stubs want it (the default namespace's key is None)."""
    out: dict[str, str] = dict(m)  # type: ignore[call-overload]
    return out


def _attrs(el: etree._Element) -> dict[str, str]:
    return {str(k): str(v) for k, v in el.attrib.items()}


def _origin(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return parts.scheme, parts.netloc.lower()
    return None


def _join(base: str, location: str) -> str:
    if _origin(base) is None and _origin(location) is None:
        return str(Path(base).parent / location) if not Path(location).is_absolute() else location
    return urljoin(base, location)


class WsdlAssembler:
    """Collects the documents of a multi-file WSDL and merges them (see the module docs)."""

    def __init__(self, data: bytes, url: str | None = None) -> None:
        self.url = url or ""
        self.root = parse_wsdl(data)
        self._wsdls: dict[str, etree._Element] = {self.url: self.root}
        self._schemas: dict[str, etree._Element] = {}
        self._order: list[str] = []

    def _allowed(self, target: str) -> bool:
        base = _origin(self.url)
        if base is None:  # a file: relative files, or http(s) locations as written
            return True
        return _origin(target) == base

    def _refs(self) -> list[tuple[str, str]]:
        """(kind, absolute location) of every import the collected documents make."""
        refs: list[tuple[str, str]] = []
        for url, root in self._wsdls.items():
            for imp in root.iterfind(_WSDL_IMPORT):
                loc = imp.get("location")
                if loc:
                    refs.append(("wsdl", _join(url, loc)))
            for schema in root.iterfind(f"{_TYPES}/{_SCHEMA}"):
                refs += [("xsd", _join(url, loc)) for loc in self._schema_locations(schema)]
        for url, schema in self._schemas.items():
            refs += [("xsd", _join(url, loc)) for loc in self._schema_locations(schema)]
        return refs

    @staticmethod
    def _schema_locations(schema: etree._Element) -> list[str]:
        return [str(el.get("schemaLocation")) for el in schema
                if el.tag in _XSD_REFS and el.get("schemaLocation")]

    def missing(self) -> list[str]:
        """The documents still to fetch (absolute URLs or file paths)."""
        out: list[str] = []
        for _kind, target in self._refs():
            if target in self._wsdls or target in self._schemas or target in out:
                continue
            if not self._allowed(target):
                raise ConfigurationError(
                    f"the WSDL imports {target}, from another origin than {self.url}: not "
                    "followed (save the documents and pass the main one as a file)")
            out.append(target)
        if len(self._wsdls) + len(self._schemas) + len(out) > MAX_DOCUMENTS:
            raise ConfigurationError(f"the WSDL imports more than {MAX_DOCUMENTS} documents")
        return out

    def add(self, url: str, data: bytes) -> None:
        """One fetched document: a WSDL (``wsdl:definitions``) or a schema (``xs:schema``)."""
        kinds = {target: kind for kind, target in self._refs()}
        if kinds.get(url) == "xsd":
            from wssc.xml.parse import parse_xml

            try:
                root = parse_xml(data, WSDL_LIMITS)
            except Exception:
                raise ConfigurationError(f"{url} is not an XML schema") from None
            if root.tag != _SCHEMA:
                raise ConfigurationError(f"{url} is not an XML schema (root {root.tag})")
            self._schemas[url] = root
        else:
            self._wsdls[url] = parse_wsdl(data)
        self._order.append(url)

    def result(self) -> bytes:
        """The single document: imported definitions merged into the main one, imported
        schemas inlined into its ``wsdl:types``. Its targetNamespace is that of the document
        holding the portType (WCF's contract namespace), as ``?singleWsdl`` has it."""
        if len(self._wsdls) == 1 and not self._schemas:
            return etree.tostring(self.root, encoding="utf-8")
        main = self.root
        tns = main.get("targetNamespace", "")
        if main.find(ns.qn(ns.WSDL, "portType")) is None:
            for url in self._order:
                doc = self._wsdls.get(url)
                if doc is not None and doc.find(ns.qn(ns.WSDL, "portType")) is not None:
                    tns = doc.get("targetNamespace", tns)
                    break
        # Only the wsdl prefix on the root: each merged element declares its own document's
        # prefixes, which QName values (type="tns:ICalc") need, even where documents disagree.
        out = etree.Element(main.tag, _attrs(main), nsmap={"wsdl": ns.WSDL})
        out.set("targetNamespace", tns)
        types = etree.SubElement(out, _TYPES)
        docs = [main] + [self._wsdls[u] for u in self._order if u in self._wsdls]
        # types first (WSDL 1.1 order), then everything else but the imports
        for doc in docs:
            for t in doc.iterfind(_TYPES):
                for schema in t:
                    if isinstance(schema.tag, str):
                        types.append(self._rehomed(schema, doc))
        for u in self._order:
            if u in self._schemas:
                types.append(self._rehomed(self._schemas[u], self._schemas[u]))
        for schema in types:
            for ref in list(schema):
                if ref.tag in _XSD_REFS and ref.get("schemaLocation"):
                    if ref.tag == _XSD_REFS[1]:
                        schema.remove(ref)  # the included schema is inlined beside it
                    else:
                        del ref.attrib["schemaLocation"]  # inlined in this document
        for doc in docs:
            for child in doc:
                if not isinstance(child.tag, str) or child.tag in (_WSDL_IMPORT, _TYPES):
                    continue
                out.append(self._rehomed(child, doc))
        return etree.tostring(out, encoding="utf-8")

    @staticmethod
    def _rehomed(el: etree._Element, doc: etree._Element) -> etree._Element:
        """A copy of ``el`` that keeps every prefix its document declared (QName values such
        as ``type="tns:ICalc"`` need them), and its document's targetNamespace where WSDL
        elements resolve names against it."""
        nsmap = _nsmap(doc.nsmap)
        nsmap.update(_nsmap(el.nsmap))
        clone = etree.Element(el.tag, _attrs(el), nsmap=nsmap)
        clone.text = el.text
        for child in el:
            clone.append(copy.deepcopy(child))
        return clone


def assemble(data: bytes, url: str | None, fetch: Callable[[str], bytes]) -> bytes:
    """Run :class:`WsdlAssembler` with a synchronous ``fetch(url) -> bytes``."""
    asm = WsdlAssembler(data, url)
    while urls := asm.missing():
        for u in urls:
            asm.add(u, fetch(u))
    return asm.result()


def read_local(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None


__all__ = ["MAX_DOCUMENTS", "WsdlAssembler", "assemble"]
