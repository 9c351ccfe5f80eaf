"""Per-message work the header reader now reuses or skips (issue 19, verify side).

Each fast path here recognises the exact layout it handles and otherwise steps aside for the
general reader, which alone refuses; ``wssc.tokens.paths.PATHS`` says which path ran.
"""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.errors import InvalidSecurity
from wssc.tokens import str_ as str_mod
from wssc.tokens.paths import PATHS
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns

SCT_VT = "http://schemas.xmlsoap.org/ws/2005/02/sc/sct"


def _str(inner: str, attrs: str = "") -> etree._Element:
    decls = f'xmlns:o="{ns.WSSE}" xmlns:c="{ns.SC_2005}"'
    return etree.fromstring(f"<o:SecurityTokenReference {decls} {attrs}>{inner}</o:SecurityTokenReference>")


def _ref(uri: str, vt: str = SCT_VT, extra: str = "") -> str:
    return f'<o:Reference URI="{uri}" ValueType="{vt}" {extra}/>'


def _read(el: etree._Element) -> tuple[SecurityTokenReference, str]:
    before = PATHS.copy()
    got = SecurityTokenReference.from_xml(el)
    ran = [k for k in ("str.fast", "str.general") if PATHS[k] != before[k]]
    assert len(ran) == 1
    return got, ran[0]


def _general(el: etree._Element) -> SecurityTokenReference:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(str_mod, "_from_wcf_layout", lambda *a: None)
        return SecurityTokenReference.from_xml(el)


def test_str_cache_serves_one_frozen_reference_equal_to_the_general_answer() -> None:
    a, path_a = _read(_str(_ref("#uuid-cache-1")))
    b, path_b = _read(_str(_ref("#uuid-cache-1")))
    assert path_a == path_b == "str.fast"
    assert a is b  # reused: frozen, so sharing it across messages is safe
    assert a == _general(_str(_ref("#uuid-cache-1")))
    assert a.uri == "#uuid-cache-1" and a.value_type == SCT_VT and a.instance is None


def test_str_cache_never_answers_for_a_departure() -> None:
    # the same URI and ValueType, once cached, then with an Instance (an external-style
    # attribute): the layout differs, so the general reader runs and keeps the Instance
    cached, _ = _read(_str(_ref("#uuid-cache-2")))
    el = _str(_ref("#uuid-cache-2", extra='c:Instance="urn:i"'))
    got, path = _read(el)
    assert path == "str.general"
    assert got.instance == "urn:i" and got != cached and got == _general(el)
    # a TokenType on the STR: general too, and the TokenType is kept
    el = _str(_ref("#uuid-cache-2"), attrs=f'xmlns:k="{ns.WSSE11}" k:TokenType="urn:t"')
    got, path = _read(el)
    assert path == "str.general" and got.token_type == "urn:t"


def test_str_cache_refusals_still_happen() -> None:
    _read(_str(_ref("#uuid-cache-3")))
    with pytest.raises(InvalidSecurity, match="exactly one child"):
        SecurityTokenReference.from_xml(_str(_ref("#uuid-cache-3") + _ref("#uuid-cache-3")))
    with pytest.raises(InvalidSecurity, match="needs a URI"):
        SecurityTokenReference.from_xml(_str(f'<o:Reference URI="" ValueType="{SCT_VT}"/>'))


def test_str_cache_is_bounded() -> None:
    for i in range(3 * str_mod._MAX_LOCAL_REFS):
        _read(_str(_ref(f"#uuid-bound-{i}")))
        assert len(str_mod._LOCAL_REFS) <= str_mod._MAX_LOCAL_REFS
    long_vt = "urn:" + "v" * str_mod._MAX_CACHED_VALUE_TYPE
    a, path = _read(_str(_ref("#uuid-long", vt=long_vt)))
    b, _ = _read(_str(_ref("#uuid-long", vt=long_vt)))
    assert path == "str.fast" and a == b and a is not b  # read, not kept
    assert ("#uuid-long", long_vt) not in str_mod._LOCAL_REFS
