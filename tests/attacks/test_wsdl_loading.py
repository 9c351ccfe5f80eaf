"""Issue 13 item 10: loading a WSDL costs at most its caps, and a file WSDL stays in its folder.

A hostile service answers ``?wsdl`` with a document that imports (same origin) one that never
ends, a gzip bomb, a lying Content-Length, or several large ones: every loader (``wssc
inspect``, ``Client.from_wsdl``, ``AsyncClient.from_wsdl``, zeep's ``secure_session`` fetch)
refuses at the cap with :class:`WsdlLoadRefused` (the clients' ``from_mex`` too, whose first
document is a WS-MetadataExchange Get's answer), and the peak of Python memory during the load
(tracemalloc) stays under twice the one-document cap. A WSDL file importing ``/dev/zero``, an
absolute path, ``../`` out, a symlink out, a FIFO, ``file://`` or ``http://`` is refused with
the reason, and nothing is fetched.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostile_http import HostileHttp, endless

from wssc.certs import generate_self_signed
from wssc.cli.main import main
from wssc.client import AsyncClient, Client
from wssc.demo import Calculator
from wssc.errors import WsdlLoadRefused
from wssc.policy.wsdl_resolve import (
    MAX_DOCUMENT_BYTES,
    MAX_TOTAL_BYTES,
    WsdlBudget,
    assemble,
    read_local,
)
from wssc.service.engine import ServiceEngine
from wssc.xml import ns

CALC = ServiceEngine(
    Calculator(), address="http://127.0.0.1:1/svc", certificate=generate_self_signed()
).wsdl()


def importing(*locations: str) -> bytes:
    """The calculator's WSDL with a ``wsdl:import`` of each location."""
    head, sep, rest = CALC.partition(b"<wsdl:types")
    imports = b"".join(b'<wsdl:import namespace="urn:x" location="%s"/>' % loc.encode() for loc in locations)
    return head + imports + sep + rest


def _client(url: str) -> None:
    Client.from_wsdl(url, timeout=30)


def _async_client(url: str) -> None:
    asyncio.run(AsyncClient.from_wsdl(url, timeout=30))


def _client_mex(url: str) -> None:
    Client.from_mex(url, timeout=30)


def _async_client_mex(url: str) -> None:
    asyncio.run(AsyncClient.from_mex(url, timeout=30))


def _zeep(url: str) -> None:
    from wssc.integrations.zeep import _fetch

    _fetch(url, True, 30)


LOADERS: dict[str, Callable[[str], None]] = {
    "client": _client,
    "async": _async_client,
    "zeep": _zeep,
    # the address asked with a WS-MetadataExchange Get (POST), under the same budget
    "client-mex": _client_mex,
    "async-mex": _async_client_mex,
}


def _loaded_under_cap(load: Callable[[], None], match: str) -> int:
    """Run ``load``; it must raise WsdlLoadRefused matching ``match``. The traced peak."""
    tracemalloc.start()
    try:
        with pytest.raises(WsdlLoadRefused, match=match):
            load()
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def _zeros_gzip(n: int) -> bytes:
    return gzip.compress(b"\0" * n, compresslevel=9)


@pytest.mark.parametrize("where", ["main", "import"])
@pytest.mark.parametrize("loader", list(LOADERS))
def test_an_endless_document_is_refused_at_the_cap(loader: str, where: str) -> None:
    routes = {"/svc?wsdl": importing("/svc?wsdl=wsdl0"), "/svc?wsdl=wsdl0": endless()}
    if where == "main":
        routes["/svc?wsdl"] = endless()
    with HostileHttp(routes) as evil:
        peak = _loaded_under_cap(
            lambda: LOADERS[loader](evil.url("/svc?wsdl")), f"larger than {MAX_DOCUMENT_BYTES} bytes"
        )
        assert evil.requests[-1] == ("/svc?wsdl" if where == "main" else "/svc?wsdl=wsdl0")
        if loader.endswith("mex"):  # the first document was asked with a mex Get
            assert len(evil.posted) == 1 and ns.MEX_GET_ACTION.encode() in evil.posted[0]
    assert peak < 2 * MAX_DOCUMENT_BYTES, f"peak {peak} bytes for a {MAX_DOCUMENT_BYTES} cap"


def test_the_cli_refuses_an_endless_import(capsys: pytest.CaptureFixture[str]) -> None:
    routes = {"/svc?wsdl": importing("/svc?wsdl=wsdl0"), "/svc?wsdl=wsdl0": endless()}
    with HostileHttp(routes) as evil:
        tracemalloc.start()
        try:
            rc = main(["inspect", evil.url("/svc?wsdl")])
            _size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    err = capsys.readouterr().err
    # inspect explains what it can, says what it did not read and why, and exits 4 (warned)
    assert rc == 4, err
    assert "warning: not read: " in err
    assert f"?wsdl=wsdl0 is larger than {MAX_DOCUMENT_BYTES} bytes" in err
    assert "WsdlBudget.max_document" in err and "not read further" in err
    assert peak < 2 * MAX_DOCUMENT_BYTES


@pytest.mark.parametrize("loader", list(LOADERS))
def test_a_gzip_bomb_is_decoded_only_to_the_cap(loader: str) -> None:
    bomb = _zeros_gzip(4 * MAX_DOCUMENT_BYTES)  # ~64 KiB on the wire per 64 MiB
    assert len(bomb) < MAX_DOCUMENT_BYTES // 100
    routes = {"/svc?wsdl": importing("/svc?wsdl=wsdl0"), "/svc?wsdl=wsdl0": bomb}
    with HostileHttp(routes, headers={"/svc?wsdl=wsdl0": {"Content-Encoding": "gzip"}}) as evil:
        peak = _loaded_under_cap(
            lambda: LOADERS[loader](evil.url("/svc?wsdl")), f"larger than {MAX_DOCUMENT_BYTES} bytes"
        )
    assert peak < 2 * MAX_DOCUMENT_BYTES


@pytest.mark.parametrize("loader", list(LOADERS))
def test_a_declared_length_over_the_cap_is_refused_before_the_body(loader: str) -> None:
    routes = {"/svc?wsdl": importing("/svc?wsdl=wsdl0"), "/svc?wsdl=wsdl0": b"<x/>"}
    lie = {"/svc?wsdl=wsdl0": {"Content-Length": str(10**12)}}
    with HostileHttp(routes, headers=lie) as evil:
        with pytest.raises(WsdlLoadRefused, match=f"larger than {MAX_DOCUMENT_BYTES} bytes"):
            LOADERS[loader](evil.url("/svc?wsdl"))


def test_the_total_of_all_imports_is_capped() -> None:
    """Three imports, each under the one-document cap, over the total cap together."""
    size = MAX_DOCUMENT_BYTES - 1024
    assert 3 * size > MAX_TOTAL_BYTES

    def big() -> Iterator[bytes]:
        yield b'<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">'
        sent = 80
        while sent < size - 64 * 1024:
            yield b"<!--" + b"x" * (64 * 1024 - 7) + b"-->"
            sent += 64 * 1024
        yield b"</wsdl:definitions>"

    routes: dict[str, bytes | Callable[[], Iterator[bytes]]] = {
        "/svc?wsdl": importing("/svc?wsdl=wsdl0", "/svc?wsdl=wsdl1", "/svc?wsdl=wsdl2")
    }
    routes |= {f"/svc?wsdl=wsdl{i}": big for i in range(3)}
    with HostileHttp(routes) as evil:
        with pytest.raises(WsdlLoadRefused, match=f"larger than {MAX_TOTAL_BYTES} bytes in all"):
            Client.from_wsdl(evil.url("/svc?wsdl"), timeout=30)
        assert evil.requests == ["/svc?wsdl", "/svc?wsdl=wsdl0", "/svc?wsdl=wsdl1", "/svc?wsdl=wsdl2"]


def test_a_larger_budget_raises_the_caps(tmp_path: Path) -> None:
    """The limit the message names can be raised: a WsdlBudget of its own."""
    doc = tmp_path / "calc.wsdl"
    doc.write_bytes(CALC)
    with pytest.raises(WsdlLoadRefused, match="larger than 1000 bytes"):
        read_local(str(doc), WsdlBudget(max_document=1000))
    assert read_local(str(doc), WsdlBudget(max_document=len(CALC))) == CALC


# --- a WSDL file's imports -------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "wsdl"
    d.mkdir()
    (tmp_path / "outside.wsdl").write_bytes(CALC)
    return d


def _inspect_file(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """inspect leaves the import unread, says why, and exits 4 (explained with a warning)."""
    rc = main(["inspect", str(path)])
    err = capsys.readouterr().err
    assert rc == 4, err
    assert "Traceback" not in err
    return err


FILE_REFUSALS = {
    "dev-zero": ("/dev/zero", "an absolute path"),
    "absolute": ("{outside}", "an absolute path"),
    "dot-dot": ("../outside.wsdl", "outside its folder"),
    "dot-dot-deep": ("sub/../../outside.wsdl", "outside its folder"),
    "file-url": ("file:///dev/zero", "never a URL"),
    "symlink-to-dev-zero": ("zero.wsdl", "a symbolic link out"),
    "symlink-out": ("out.wsdl", "a symbolic link out"),
    "fifo": ("pipe.wsdl", "not a regular file"),
    "folder": ("sub", "not a regular file"),
}


@pytest.mark.parametrize("case", list(FILE_REFUSALS))
def test_a_file_wsdl_follows_only_regular_files_under_its_folder(
    case: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    location, reason = FILE_REFUSALS[case]
    location = location.format(outside=folder.parent / "outside.wsdl")
    (folder / "sub").mkdir()
    os.symlink("/dev/zero", folder / "zero.wsdl")
    os.symlink(folder.parent / "outside.wsdl", folder / "out.wsdl")
    os.mkfifo(folder / "pipe.wsdl")
    main_doc = folder / "main.wsdl"
    main_doc.write_bytes(importing(location))
    err = _inspect_file(main_doc, capsys)
    assert err.startswith("warning: not read: ")
    assert "the WSDL file imports " in err and reason in err


def test_a_file_wsdl_fetches_no_url(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with HostileHttp({"/x?wsdl": CALC}) as evil:
        main_doc = folder / "main.wsdl"
        main_doc.write_bytes(importing(evil.url("/x?wsdl")))
        err = _inspect_file(main_doc, capsys)
        assert evil.requests == []
    assert "follows only relative file names, never a URL" in err


def test_a_file_wsdl_follows_a_relative_import(folder: Path) -> None:
    """The control: a relative import under the folder (through a symlink that stays in it)
    is read and merged."""
    (folder / "sub").mkdir()
    part = (
        b'<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
        b'targetNamespace="urn:x"><wsdl:message name="FromThePart"/></wsdl:definitions>'
    )
    (folder / "sub" / "part.wsdl").write_bytes(part)
    os.symlink(folder / "sub" / "part.wsdl", folder / "alias.wsdl")
    for location in ("sub/part.wsdl", "alias.wsdl"):
        main_doc = folder / "main.wsdl"
        main_doc.write_bytes(importing(location))
        budget = WsdlBudget()
        merged = assemble(read_local(str(main_doc), budget), str(main_doc), budget=budget)
        assert b'name="FromThePart"' in merged
        assert budget.total == len(main_doc.read_bytes()) + len(part)


def test_an_http_wsdl_imports_no_file() -> None:
    with HostileHttp({"/svc?wsdl": importing("file:///dev/zero")}) as evil:
        with pytest.raises(Exception, match="from another origin"):
            Client.from_wsdl(evil.url("/svc?wsdl"), timeout=30)


def test_a_gzip_encoded_wsdl_is_still_read() -> None:
    """The control for the bomb: a compressed document under the caps decodes whole, fed in
    small pieces as a network would."""
    packed = gzip.compress(CALC)
    body = WsdlBudget().body("http://h/svc?wsdl", "gzip", str(len(packed)))
    for i in range(0, len(packed), 100):
        body.feed(packed[i : i + 100])
    assert body.result() == CALC
