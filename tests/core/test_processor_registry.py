"""One processor table with a register API (issue 14): a token type the library does not
know is one class and one `register` call, made here from the test module itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree

from wssc.errors import InvalidSecurity
from wssc.security import MessagePolicy, SctProtection, protect, verify
from wssc.security.header_state import HeaderState
from wssc.security.processors import PROCESSORS, Processor, register, unregister
from wssc.xml.soap import SOAP_12

from .helpers import T0, plain_envelope, resolver_for, sct

TOY = "{urn:test:toy}Toy"


class ToyProcessor(Processor):
    """Reads a toy token: keeps its text (so the test can see it ran, and where)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def __call__(self, el: etree._Element, state: HeaderState, position: int) -> None:
        self.seen.append((el.text or "", position))


@pytest.fixture
def toy() -> Iterator[ToyProcessor]:
    proc = ToyProcessor()
    assert register(TOY, proc) is None
    try:
        yield proc
    finally:
        assert unregister(TOY) is proc
    assert TOY not in PROCESSORS


def toy_message(policy: MessagePolicy = MessagePolicy()) -> bytes:
    el = etree.Element(TOY, nsmap={"toy": "urn:test:toy"})
    el.text = "hello toy"
    root = protect(
        plain_envelope(SOAP_12), SctProtection(sct(), bytes(range(1, 33))), policy, now=T0, supporting=[el]
    )
    return etree.tostring(root)


def test_a_registered_processor_reads_its_element(toy: ToyProcessor) -> None:
    verify(toy_message(), resolver=resolver_for(bytes(range(1, 33))), now=T0)
    assert toy.seen == [("hello toy", 2)]  # right after the Timestamp


def test_an_unregistered_element_is_refused() -> None:
    assert TOY not in PROCESSORS
    with pytest.raises(InvalidSecurity, match="unexpected element 'Toy' in the security header"):
        verify(toy_message(), resolver=resolver_for(bytes(range(1, 33))), now=T0)


def test_register_replaces_and_returns_the_previous_processor(toy: ToyProcessor) -> None:
    other = ToyProcessor()
    assert register(TOY, other) is toy
    verify(toy_message(), resolver=resolver_for(bytes(range(1, 33))), now=T0)
    assert other.seen and not toy.seen
    assert register(TOY, toy) is other


@pytest.mark.parametrize("bad", ["Toy", "{urn:test:toy}", "toy:Toy"])
def test_register_wants_a_clark_name(bad: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        register(bad, ToyProcessor())
    assert bad not in PROCESSORS


def test_only_processors_that_say_so_run_on_decrypted_header_content() -> None:
    may = {etree.QName(q).localname for q, p in PROCESSORS.items() if p.after_decryption}
    assert may == {"UsernameToken", "SignatureConfirmation"}


class EncryptableToy(ToyProcessor):
    after_decryption = True


@pytest.mark.parametrize("may", [True, False], ids=["declares-it", "does-not"])
def test_an_encrypted_toy_is_read_only_if_its_processor_declares_it(may: bool) -> None:
    proc = EncryptableToy() if may else ToyProcessor()
    register(TOY, proc)
    try:
        wire = toy_message(MessagePolicy(sign_supporting_tokens=True, encrypt_supporting_tokens=True))
        assert b"hello toy" not in wire
        if may:
            r = verify(wire, resolver=resolver_for(bytes(range(1, 33))), now=T0)
            assert [text for text, _ in proc.seen] == ["hello toy"]  # once, decrypted
            assert any(etree.QName(e).localname == "Toy" for e in r.signed)
        else:
            with pytest.raises(
                InvalidSecurity, match="unexpected encrypted element 'Toy' in the security header"
            ):
                verify(wire, resolver=resolver_for(bytes(range(1, 33))), now=T0)
            assert proc.seen == []
    finally:
        unregister(TOY)
