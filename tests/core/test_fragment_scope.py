"""Decrypted plaintext is parsed in its parent's namespace scope, worked out once per scope.

`wssc.security.decrypt.fragment_scope` caches, per distinct ``nsmap``, the wrapper start tag
and each URI's prefix; `_would_be_renamed` reads the plaintext's own declarations with
``bytes.find`` and a match at each hit. These tests hold both to what they replaced: the
wrapper built per call, and a ``finditer`` over the whole plaintext against a prefix table
built per call (kept here, as the specification).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wssc.errors import MalformedXml
from wssc.security.decrypt import _MAX_MISSES, _MAX_SCOPES, _SCOPES, _would_be_renamed, fragment_scope
from wssc.xml.parse import ParserLimits, fragment_start, parse_fragment

_SPEC_XMLNS = re.compile(rb"""xmlns(?::([^\s=/>]+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _renamed_by_spec(plain: bytes, scope: Mapping[str | None, str]) -> bool:
    """Any URI declared under two prefixes, counting the scope and every declaration
    ``finditer`` reads in the plaintext."""
    prefixes: dict[str, set[str | None]] = {}
    for p, u in scope.items():
        prefixes.setdefault(u, set()).add(p)
    for m in _SPEC_XMLNS.finditer(plain):
        prefix = m.group(1).decode("utf-8", "replace") if m.group(1) else None
        uri = (m.group(2) if m.group(2) is not None else m.group(3) or b"").decode("utf-8", "replace")
        seen = prefixes.setdefault(uri, set())
        seen.add(prefix)
        if len(seen) > 1:
            return True
    return False


_SCOPE = {"s": "http://www.w3.org/2003/05/soap-envelope", "u": "urn:u", None: "urn:d"}

_PIECES = [
    b"<x>",
    b"</x>",
    b' xmlns="urn:u"',
    b' xmlns="urn:d"',
    b" xmlns='urn:e'",
    b' xmlns:u="urn:u"',
    b' xmlns:v="urn:u"',
    b' xmlns:w = "urn:w"',
    b' xmlns:s="urn:x"',
    b"xmlns",
    b"xmlns:a=\"xmlns:b='urn:u'\"",
    b"text",
    b'"',
    b"'",
    b"=",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_would_be_renamed_answers_as_the_whole_plaintext_search(pieces: list[bytes]) -> None:
    plain = b"".join(pieces)
    assert _would_be_renamed(plain, fragment_scope(_SCOPE)) is _renamed_by_spec(plain, _SCOPE)


def test_a_scope_with_one_uri_under_two_prefixes_always_renames() -> None:
    """Stricter than before, on purpose: the plaintext's elements point at the wrapper's
    declarations, which do not move with them, and lxml may re-point them at the other
    prefix of the same URI. The old search said no (the plaintext declares nothing); now
    such a plaintext is grafted (the slower path that keeps every prefix as sent)."""
    scope = {"a": "urn:same", "b": "urn:same"}
    fs = fragment_scope(scope)
    assert fs.prefix_of is None
    assert _would_be_renamed(b"<b:x/>", fs)
    assert not _renamed_by_spec(b"<b:x/>", scope)


def test_the_wrapper_is_the_one_built_per_call_and_is_cached_per_scope() -> None:
    _SCOPES.clear()
    fs = fragment_scope(dict(_SCOPE))
    assert fs.start == fragment_start(_SCOPE)
    assert fs.start.startswith(b"<wssc-fragment ") and b' xmlns="urn:d"' in fs.start
    assert fragment_scope(dict(_SCOPE)) is fs  # an equal scope: the same entry
    assert fragment_scope({**_SCOPE, "t": "urn:t"}) is not fs


def test_the_scope_cache_is_bounded() -> None:
    _SCOPES.clear()
    for i in range(_MAX_SCOPES * 3):
        fragment_scope({"p": f"urn:{i}"})
        assert len(_SCOPES) <= _MAX_SCOPES


def test_a_namespace_uri_is_escaped_in_the_wrapper() -> None:
    fs = fragment_scope({"q": "urn:a?b=1&c=2"})
    root = parse_fragment(fs.start, b"<q:x/>")
    assert root[0].tag == "{urn:a?b=1&c=2}x"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'<!DOCTYPE x [<!ENTITY e "y">]><x/>', "StartTag: invalid element name"),
        (b'<?xml version="1.0" encoding="UTF-16"?><x/>', "XML declaration allowed only at the start"),
        (b"<b:x/>", "Namespace prefix b on x is not defined"),
        (b"<x>" * 70 + b"</x>" * 70, "deeper than 64"),
        (b"<x " + b" ".join(b'a%d="1"' % i for i in range(257)) + b"/>", "more than 256 attributes"),
    ],
)
def test_a_fragment_is_refused_by_the_check_that_applies(content: bytes, reason: str) -> None:
    """No DOCTYPE or encoding declaration can pass inside the wrapper (libxml2 refuses them
    there), and the element and attribute caps of `parse_xml` still hold."""
    with pytest.raises(MalformedXml) as err:
        parse_fragment(fragment_start({"a": "urn:a"}), content)
    assert reason in str(err.value)


def test_a_fragment_larger_than_the_cap_is_refused_before_parsing() -> None:
    with pytest.raises(MalformedXml) as err:
        parse_fragment(b"<wssc-fragment>", b"<x/>" * 100, ParserLimits(max_bytes=200))
    assert "larger than 200 bytes" in str(err.value)


def test_a_prefix_of_up_to_256_bytes_is_read_and_a_longer_one_is_not() -> None:
    """The declaration pattern reads a prefix of at most 256 bytes (so that a match tried at
    each ``xmlns`` reads a bounded stretch of the plaintext). A longer one is not taken as a
    declaration: the nodes are moved, and if lxml renames one, the digest fails, closed."""
    fs = fragment_scope(_SCOPE)
    for n, renamed in ((1, True), (256, True), (257, False)):
        plain = b"<x xmlns:" + b"p" * n + b'="urn:u"/>'  # urn:u is "u" in the scope
        assert _would_be_renamed(plain, fs) is renamed, n


def test_many_xmlns_that_start_no_declaration_take_the_graft() -> None:
    """64 KB of ``xmlns:`` with no ``=``: after 32 tries that find no declaration (each reads at
    most 256 bytes) the answer is yes, and grafting (linear, always right) does the rest. With
    the old unbounded, backtracking pattern each try ran to the end: 48 KB took 9.5 s."""
    fs = fragment_scope(_SCOPE)
    assert _would_be_renamed(b"xmlns:" * _MAX_MISSES, fs) is False
    assert _would_be_renamed(b"xmlns:" * (_MAX_MISSES + 1), fs) is True
    assert _would_be_renamed(b"xmlns:" * 11_000, fs) is True
    # declarations that are read are not misses: 11,000 of them, one URI, one prefix
    assert _would_be_renamed(b'xmlns="' * 11_000, fs) is False
