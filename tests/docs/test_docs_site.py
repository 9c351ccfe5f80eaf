"""The built documentation, as a reader sees it: ``mkdocs build --strict`` into a temporary
folder, then the HTML (no Sphinx roles left as text, no internal base classes), and the pages
in headless Chromium with no network but loopback (the Concepts diagram is drawn as an SVG from
the bundled mermaid; identifiers in tables are not broken mid-word)."""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.docs.browser import Browser, chromium_or_fail

from wssc.contract.model import ContractLimits

ROOT = Path(__file__).resolve().parents[2]
ROLES = re.compile(r":(?:py:)?(?:meth|class|func|mod|attr|exc|data|obj):`")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return out


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _pages(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): p.read_text() for p in site.rglob("*.html")}


def test_no_sphinx_roles_and_no_internal_bases_in_the_built_reference(site: Path) -> None:
    pages = _pages(site)
    assert any(name.startswith("reference/") for name in pages)
    leftovers = {name: ROLES.findall(html) for name, html in pages.items() if ROLES.search(html)}
    assert leftovers == {}
    assert [n for n, html in pages.items() if "ClientBase[" in html] == []
    bases = {n: re.findall(r"Bases:.{0,200}?_\w+", re.sub(r"<[^>]+>", "", html)) for n, html in pages.items()}
    assert {n: b for n, b in bases.items() if b} == {}
    # and the clients' page is there, with its methods
    assert "from_wsdl" in pages["reference/client/index.html"]


def test_one_docstring_style_in_the_sources() -> None:
    found = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in sorted((ROOT / "src" / "wssc").rglob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if ROLES.search(line)
    ]
    assert found == [], "use plain backticks, not Sphinx roles (mkdocstrings shows them raw)"


def test_the_cli_page_shows_no_escaped_pipes_in_code(site: Path) -> None:
    html = (site / "cli" / "index.html").read_text()
    codes = re.findall(r"<code[^>]*>(.*?)</code>", html, re.S)
    assert codes and not [c for c in codes if "\\|" in c]
    assert "anonymous-for-certificate|username-over-transport" in re.sub(r"<[^>]+>", "", html)


def test_the_documented_limits_are_the_codes(site: Path) -> None:
    limits = ContractLimits()
    text = re.sub(r"<[^>]+>", "", (site / "reference" / "service" / "index.html").read_text())
    assert f"{limits.max_string_length:,}".replace(",", " ") in text.replace("\u202f", " ")
    assert limits.max_string_length == limits.max_binary_length == 64 * 1024
    assert "64 Ki" in text and "16 384 items" in text and limits.max_list_length == 16 * 1024
    assert "DeserializationFailed" in text


def test_the_docs_use_the_public_loader_name() -> None:
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    assert [str(p) for p in pages if "wssc.certs.load(" in p.read_text()] == []
    assert sum("wssc.load_certificate(" in p.read_text() for p in pages) >= 3
    import wssc
    from wssc.certs import load

    assert wssc.load_certificate is load


def test_the_sequence_diagram_is_drawn_offline(site: Path, base_url: str, tmp_path: Path) -> None:
    assert (site / "assets" / "vendor" / "mermaid.min.js").is_file(), (
        "mermaid is not bundled: run scripts/setup.sh (it fetches docs/assets/vendor/)"
    )
    exe = chromium_or_fail()
    with Browser(exe, tmp_path / "profile") as b:
        b.open(
            f"{base_url}/concepts/",
            "document.querySelector('div.mermaid') && !document.querySelector('pre.mermaid')",
        )
        assert b.evaluate("typeof mermaid") == "object"  # the bundled copy (the CDN is unreachable)
        assert not b.evaluate("document.body.innerText.includes('sequenceDiagram')")
        svgs = _shadow_svgs(b.dom())
        assert svgs, "no <svg> where the diagram is"
        assert any("RST/SCT" in s for s in svgs), svgs[:1]


def _shadow_svgs(node: dict[str, Any], in_mermaid: bool = False) -> list[str]:
    """The text of every ``svg`` inside a ``div.mermaid``'s (closed) shadow root."""
    found = []
    attrs = node.get("attributes", [])
    here = in_mermaid or (
        node.get("nodeName") == "DIV"
        and "class" in attrs
        and "mermaid" in attrs[attrs.index("class") + 1].split()
    )
    if here and node.get("nodeName", "").lower() == "svg":
        found.append(_text(node))
    for child in [*node.get("children", []), *node.get("shadowRoots", [])]:
        found += _shadow_svgs(child, here)
    return found


def _text(node: dict[str, Any]) -> str:
    if node.get("nodeType") == 3:
        return str(node.get("nodeValue", ""))
    return " ".join(_text(c) for c in node.get("children", []))


def test_identifiers_in_tables_are_not_broken_mid_word(base_url: str, tmp_path: Path) -> None:
    exe = chromium_or_fail()
    with Browser(exe, tmp_path / "profile", width=700, height=900) as b:
        b.open(f"{base_url}/concepts/", "document.querySelector('table code')")
        lines = b.evaluate("""[...document.querySelectorAll('table code')]
            .filter(c => c.textContent === 'AnonymousForCertificate')
            .map(c => c.getClientRects().length)""")
    assert lines and all(n == 1 for n in lines), lines
