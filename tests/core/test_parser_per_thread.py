"""The hardened parser is made once per thread (issue 19): each parse still judges its own
document alone, and two threads never share one."""

from __future__ import annotations

import threading

import pytest

from wssc.errors import MalformedXml
from wssc.xml import parse as parse_module
from wssc.xml.parse import parse_xml

#: A namespace error followed by a mere warning: refused only because every error of *this*
#: parse is looked at (the error log must not be stale or empty).
BAD = b'<a xmlns:x="urn:a}b"><x:b/></a>'


def test_each_parse_judges_its_own_document() -> None:
    with pytest.raises(MalformedXml):
        parse_xml(BAD)
    assert parse_xml(b"<a><b/></a>").tag == "a"  # the previous error does not stick
    with pytest.raises(MalformedXml):
        parse_xml(BAD)  # nor does the previous success hide a new error


def test_one_parser_per_thread() -> None:
    parse_xml(b"<a/>")
    mine = parse_module._thread_parser()
    assert parse_module._thread_parser() is mine
    theirs: list[object] = []

    def other() -> None:
        parse_xml(b"<b/>")
        theirs.append(parse_module._thread_parser())

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert theirs and theirs[0] is not mine


def test_threads_parsing_at_once_each_get_their_verdict() -> None:
    """Good and bad documents parsed concurrently: every verdict is the document's own."""
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        barrier.wait()
        for _ in range(200):
            try:
                parse_xml(BAD if i % 2 else b"<ok><x/></ok>")
            except MalformedXml:
                if not i % 2:
                    errors.append(f"thread {i}: a good document refused")
            else:
                if i % 2:
                    errors.append(f"thread {i}: a bad document accepted")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
