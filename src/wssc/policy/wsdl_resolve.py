"""Assemble a multi-file WSDL into one document, sans-IO.

WCF publishes ``?wsdl`` as several documents when the contract's namespace differs from the
service's: the main document (policies, binding, service) imports ``?wsdl=wsdl0`` (portType,
messages, types), whose schemas import ``?xsd=xsd0``, ``?xsd=xsd1``… (``?singleWsdl`` is all of
it in one document). `WsdlAssembler` collects the documents and merges them the way
``?singleWsdl`` would::

    asm = WsdlAssembler(data, url)
    while urls := asm.missing():
        for u in urls:
            asm.add(u, fetch(u))          # the caller does the I/O (sync or async)
    single = asm.result()                 # bytes, for settings_from_wsdl / parse_wsdl_operations

The result is meant for wssc's own readers: its targetNamespace is the contract's (where the
portType and messages are), so other WSDL tools should be given the original documents.

Only documents from the same origin (scheme, host and port) as the main one are followed, at
most `MAX_DOCUMENTS` of them. A WSDL read from a file follows only relative paths to
regular files under its own folder (symlinks resolved first): no absolute path, no ``..`` out,
no device, no ``http://``. Every refusal is a `WsdlLoadRefused` naming why.

Sizes are capped while the bytes arrive, never after buffering: a `WsdlBudget` counts each
document (at most `MAX_DOCUMENT_BYTES`, the WSDL parser's own limit) and all of one load
together (at most `MAX_TOTAL_BYTES`); the I/O code feeds it chunk by chunk
(`wssc.client.wsdl_fetch.get_capped`, `read_local`) and stops at the cap.
"""

from __future__ import annotations

import copy
import os
import stat
from collections.abc import Callable
from typing import Final
from urllib.parse import urljoin, urlsplit

from lxml import etree

from wssc.errors import ConfigurationError, TransportError, WsdlLoadRefused
from wssc.http_body import CappedBody
from wssc.logs import printable
from wssc.xml import ns

from .mex import is_metadata, metadata_root, metadata_sections
from .wsdl_import import WSDL_LIMITS, parse_wsdl

MAX_DOCUMENTS: Final = 32
#: Bytes of one document (decoded), the WSDL parser's limit: more could never be parsed.
MAX_DOCUMENT_BYTES: Final = WSDL_LIMITS.max_bytes
#: Bytes of a WSDL and all its imports together.
MAX_TOTAL_BYTES: Final = 32 * 1024 * 1024
_CHUNK: Final = 64 * 1024


class WsdlBudget:
    """The bytes one WSDL load may read: each document at most ``max_document``, all of them
    together at most ``max_total``, counted as they arrive. Pass a larger one to
    `assemble` (or `WsdlAssembler`) to raise the caps."""

    def __init__(self, max_document: int = MAX_DOCUMENT_BYTES, max_total: int = MAX_TOTAL_BYTES) -> None:
        self.max_document = max_document
        self.max_total = max_total
        self.total = 0

    def body(
        self, url: str, content_encoding: str | None = None, content_length: str | None = None
    ) -> WsdlBody:
        """A counter for one document's bytes as they arrive; ``content_encoding`` (gzip or
        deflate) is decoded here, a bounded output at a time."""
        return WsdlBody(self, url, content_encoding, content_length)

    def _too_large(self, url: str, document: bool) -> WsdlLoadRefused:
        if document:
            return WsdlLoadRefused(
                f"the WSDL document {printable(url)} is larger than {self.max_document} bytes "
                "(the limit of one WSDL document, WsdlBudget.max_document; it is the WSDL "
                "parser's own limit): not read further"
            )
        return WsdlLoadRefused(
            f"the WSDL and its imports are larger than {self.max_total} bytes in all (the "
            f"limit WsdlBudget.max_total; pass a larger WsdlBudget to raise it): not read "
            f"further than {printable(url)}"
        )


class WsdlBody(CappedBody):
    """One document's bytes, counted against its `WsdlBudget` chunk by chunk: at most the
    budget's ``max_document``, and no more than what is left of its ``max_total``."""

    def __init__(
        self, budget: WsdlBudget, url: str, content_encoding: str | None, content_length: str | None
    ) -> None:
        self.budget, self.url = budget, url
        super().__init__(
            max(0, min(budget.max_document, budget.max_total - budget.total)),
            self._refused,
            content_encoding,
            content_length,
            undecodable=self._undecoded,
        )

    def _refused(self, size: int, declared: bool) -> WsdlLoadRefused:
        if not declared:  # what was read counts against the load's total all the same
            self.budget.total += size
        return self.budget._too_large(self.url, document=size > self.budget.max_document)

    def _undecoded(self, reason: str) -> WsdlLoadRefused:
        return WsdlLoadRefused(f"the WSDL document {printable(self.url)}: {reason}")

    def result(self) -> bytes:
        data = super().result()
        self.budget.total += len(data)
        return data


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


def _metadata(data: bytes) -> etree._Element | None:
    """The ``mex:Metadata`` of a WS-MetadataExchange answer, else None (then a WSDL)."""
    if not is_metadata(data):
        return None
    from wssc.xml.parse import parse_xml

    try:
        root = parse_xml(data, WSDL_LIMITS)
    except Exception:
        return None  # parse_wsdl says what is wrong with it
    return metadata_root(root)


def _under(root: str, path: str) -> bool:
    return os.path.commonpath([root, path]) == root


class WsdlAssembler:
    """Collects the documents of a multi-file WSDL and merges them (see the module docs)."""

    def __init__(
        self, data: bytes, url: str | None = None, *, budget: WsdlBudget | None = None, lenient: bool = False
    ) -> None:
        self.url = url or ""
        #: Go on without an import that cannot be followed or fetched (`skip`), for a reader
        #: that explains what it can (``wssc inspect``); a client needs every document.
        self.lenient = lenient
        #: Imports left out, with why (a location, or the URL it resolved to).
        self.unavailable: dict[str, str] = {}
        #: Counts the imports' bytes (and the main document's, when its reader used it).
        self.budget = budget or WsdlBudget()
        #: A WSDL read from a file: the folder its imports must stay in (None: a URL).
        self.folder = (
            os.path.dirname(os.path.abspath(self.url)) if (self.url and _origin(self.url) is None) else None
        )
        self._schemas: dict[str, etree._Element] = {}
        self._order: list[str] = []
        metadata = _metadata(data)
        if metadata is None:
            self.root = parse_wsdl(data)
            self._wsdls: dict[str, etree._Element] = {self.url: self.root}
            return
        # A WS-MetadataExchange answer: its sections are the documents, already at hand.
        wsdls, schemas = metadata_sections(metadata)
        self.root = wsdls[0]
        self._wsdls = {self.url: self.root}
        for i, doc in enumerate(wsdls[1:]):
            self._wsdls[f"{self.url}#mex-wsdl-{i}"] = doc
            self._order.append(f"{self.url}#mex-wsdl-{i}")
        for i, schema in enumerate(schemas):
            self._schemas[f"{self.url}#mex-xsd-{i}"] = schema
            self._order.append(f"{self.url}#mex-xsd-{i}")

    def skip(self, target: str, why: str) -> None:
        """Leave an import out (lenient loads only): `missing` no longer lists it."""
        if not self.lenient:
            raise WsdlLoadRefused(why)
        self.unavailable[target] = why

    def _joined(self, base: str, location: str) -> str | None:
        try:
            return self._join(base, location)
        except WsdlLoadRefused as exc:
            self.skip(location, str(exc))
            return None

    def _allowed(self, target: str) -> bool:
        base = _origin(self.url)
        return base is None or _origin(target) == base  # files: checked by _join

    def _join(self, base: str, location: str) -> str:
        """Where an import points. From a file WSDL, only a relative path that stays in the
        main document's folder (checked again, symlinks resolved, when it is read)."""
        if _origin(self.url) is not None:
            return urljoin(base, location)
        shown = printable(location, 200)
        if self.folder is None:
            raise WsdlLoadRefused(
                f"the WSDL imports {shown}, but was read without a location: imports are not followed"
            )
        if urlsplit(location).scheme:
            raise WsdlLoadRefused(
                f"the WSDL file imports {shown}: a WSDL read from a file follows only relative "
                "file names, never a URL (fetch the service's ?wsdl instead)"
            )
        if os.path.isabs(location):
            raise WsdlLoadRefused(
                f"the WSDL file imports {shown}, an absolute path: a WSDL read from a file "
                "follows only relative paths under its own folder"
            )
        target = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(base)), location))
        if not _under(self.folder, target):
            raise WsdlLoadRefused(
                f"the WSDL file imports {shown}, outside its folder {printable(self.folder)}: "
                "a WSDL read from a file follows only paths under its own folder"
            )
        return target

    def read_file(self, path: str) -> bytes:
        """An import of a file WSDL: a regular file under its folder, capped by the budget."""
        if self.folder is None:
            raise WsdlLoadRefused(f"{printable(path)}: a WSDL fetched from a URL imports no file")
        return read_local(path, self.budget, under=self.folder)

    def _refs(self) -> list[tuple[str, str]]:
        """(kind, absolute location) of every import the collected documents make."""
        refs: list[tuple[str, str | None]] = []
        for url, root in self._wsdls.items():
            for imp in root.iterfind(_WSDL_IMPORT):
                loc = imp.get("location")
                if loc and loc not in self.unavailable:
                    refs.append(("wsdl", self._joined(url, loc)))
            for schema in root.iterfind(f"{_TYPES}/{_SCHEMA}"):
                refs += [
                    ("xsd", self._joined(url, loc))
                    for loc in self._schema_locations(schema)
                    if loc not in self.unavailable
                ]
        for url, schema in self._schemas.items():
            refs += [("xsd", self._joined(url, loc)) for loc in self._schema_locations(schema)]
        return [(kind, target) for kind, target in refs if target is not None]

    @staticmethod
    def _schema_locations(schema: etree._Element) -> list[str]:
        return [
            str(el.get("schemaLocation")) for el in schema if el.tag in _XSD_REFS and el.get("schemaLocation")
        ]

    def missing(self) -> list[str]:
        """The documents still to fetch (absolute URLs or file paths)."""
        out: list[str] = []
        for _kind, target in self._refs():
            if target in self._wsdls or target in self._schemas or target in out:
                continue
            if target in self.unavailable:
                continue
            if not self._allowed(target):
                why = (
                    f"the WSDL imports {printable(target, 200)}, from another origin than "
                    f"{printable(self.url, 200)}: not followed (save the documents and pass the "
                    "main one as a file)"
                )
                if self.lenient:
                    self.unavailable[target] = why
                    continue
                raise ConfigurationError(why)
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


def assemble(
    data: bytes,
    url: str | None,
    fetch: Callable[[str], bytes] | None = None,
    *,
    budget: WsdlBudget | None = None,
) -> bytes:
    """Run `WsdlAssembler` with a synchronous ``fetch(url) -> bytes`` for a URL's
    imports (a file's are read by `WsdlAssembler.read_file`). ``fetch`` should count
    into ``budget``, as `wssc.client.wsdl_fetch.get_capped` does."""
    return assembler(data, url, fetch, budget=budget).result()


def assembler(
    data: bytes,
    url: str | None,
    fetch: Callable[[str], bytes] | None = None,
    *,
    budget: WsdlBudget | None = None,
    lenient: bool = False,
) -> WsdlAssembler:
    """`assemble`'s work, returning the `WsdlAssembler` (``result()``, and with
    ``lenient`` its ``unavailable`` imports: one that cannot be read or fetched is left out,
    its reason kept, instead of ending the load)."""
    asm = WsdlAssembler(data, url, budget=budget, lenient=lenient)
    while urls := asm.missing():
        for u in urls:
            try:
                if asm.folder is not None:
                    asm.add(u, asm.read_file(u))
                elif fetch is None:
                    raise WsdlLoadRefused(f"the WSDL imports {printable(u)}: nothing to fetch it")
                else:
                    asm.add(u, fetch(u))
            except (ConfigurationError, TransportError) as exc:
                if not lenient or asm.budget.total > asm.budget.max_total:
                    raise  # the load's own cap ends it, lenient or not
                asm.skip(u, str(exc))
    return asm


def read_local(path: str, budget: WsdlBudget | None = None, *, under: str | None = None) -> bytes:
    """A WSDL file, read a chunk at a time up to the budget's caps. ``under``: the folder an
    import must stay in once symlinks are resolved; it must then be a regular file."""
    body = (budget or WsdlBudget()).body(path)
    real = os.path.realpath(path)
    if under is not None and not _under(os.path.realpath(under), real):
        raise WsdlLoadRefused(
            f"the WSDL file imports {printable(path)}, which resolves to {printable(real)}, "
            f"outside its folder {printable(under)} (a symbolic link out): not followed"
        )
    flags = os.O_RDONLY | (os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) if under else 0)
    try:
        fd = os.open(real if under else path, flags)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {printable(path)}: {exc.strerror}") from None
    try:
        if under is not None and not stat.S_ISREG(os.fstat(fd).st_mode):
            raise WsdlLoadRefused(
                f"the WSDL file imports {printable(path)}, which is not a "
                "regular file (a device, a FIFO or a folder): not read"
            )
        while chunk := os.read(fd, _CHUNK):
            body.feed(chunk)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {printable(path)}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return body.result()


__all__ = [
    "MAX_DOCUMENTS",
    "MAX_DOCUMENT_BYTES",
    "MAX_TOTAL_BYTES",
    "WsdlAssembler",
    "WsdlBody",
    "WsdlBudget",
    "assemble",
    "assembler",
    "read_local",
]
