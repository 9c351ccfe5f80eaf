"""Verify's checked fast paths of issue 19's last verify round: a ``ds:Reference`` read by
position in WCF's layout (`wssc.security.digests.reference_parts`), and the id scan of a
decrypted fragment skipped when its plaintext holds no ``Id`` bytes
(`wssc.security.decrypt.may_hold_ids`).

Each departure is forced, and the answer (the element, or the error) compared with the
general path's.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree

import wssc.security.decrypt as decrypt_module
import wssc.security.digests as digests_module
import wssc.security.inbound as inbound_module
from wssc.errors import DuplicateId, WsscError
from wssc.security import MessagePolicy, SctProtection, protect
from wssc.security.digests import _check_reference, reference_parts
from wssc.tokens.paths import PATHS
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n
from wssc.xml.ids import index_ids
from wssc.xml.soap import SOAP_12

from .helpers import RESOLVE, SECRET, T0, plain_envelope, sct

DS = f"{{{ns.DS}}}"
TARGET = etree.fromstring(f'<t:T xmlns:t="urn:t" xmlns:u="{ns.WSU}" u:Id="x"><t:V>1</t:V></t:T>')


def _digest(target: etree._Element, prefixes: tuple[str, ...] = ()) -> str:
    return base64.b64encode(hashlib.sha1(exc_c14n(target, prefixes)).digest()).decode()


def reference(
    *,
    transforms: str | None = None,
    order: tuple[str, ...] = ("T", "M", "V"),
    algorithm: str = ns.EXC_C14N,
    transform_tag: str = "Transform",
    value: str | None = None,
    inner: str = "",
    digest_alg: str = ns.SHA1,
) -> etree._Element:
    value = value if value is not None else _digest(TARGET)
    t = (
        transforms
        if transforms is not None
        else f'<ds:Transforms><ds:{transform_tag} Algorithm="{algorithm}">{inner}'
        f"</ds:{transform_tag}></ds:Transforms>"
    )
    parts = {
        "T": t,
        "M": f'<ds:DigestMethod Algorithm="{digest_alg}"/>',
        "V": f"<ds:DigestValue>{value}</ds:DigestValue>",
        "P": "<?pi x?>",
        "X": "<ds:Object/>",
    }
    body = "".join(parts[k] for k in order)
    return etree.fromstring(f'<ds:Reference xmlns:ds="{ns.DS}" URI="#x">{body}</ds:Reference>')


def answer(ref: etree._Element, general: bool, monkeypatch: pytest.MonkeyPatch) -> object:
    """_check_reference's answer: the element, or the error's type and detail."""
    ctx = SimpleNamespace(ids={"x": TARGET}, policy=MessagePolicy())
    with monkeypatch.context() as m:
        if general:
            m.setattr(digests_module, "reference_parts", lambda ref: None)
        try:
            return _check_reference(ctx, ref)  # type: ignore[arg-type]
        except WsscError as exc:
            return (type(exc), exc.detail)


def test_reference_in_form_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = reference()
    assert reference_parts(ref) == (ref[1], ref[2])
    PATHS.clear()
    assert answer(ref, False, monkeypatch) is TARGET
    assert PATHS["reference.fast"] == 1 and PATHS["reference.general"] == 0
    assert answer(ref, True, monkeypatch) is TARGET
    # a wrong digest: the same refusal on both paths
    bad = reference(value=_digest(etree.fromstring("<other/>")))
    assert reference_parts(bad) is not None
    assert answer(bad, False, monkeypatch) == answer(bad, True, monkeypatch)
    assert answer(bad, False, monkeypatch)[0].__name__ == "FailedCheck"  # type: ignore[index]
    sha256 = reference(digest_alg="urn:unknown")
    assert answer(sha256, False, monkeypatch) == answer(sha256, True, monkeypatch)


DEPARTURES: dict[str, Callable[[], etree._Element]] = {
    "two children": lambda: reference(order=("T", "V")),
    "no Transforms": lambda: reference(order=("M", "V")),
    "reordered": lambda: reference(order=("M", "T", "V")),
    "repeated DigestValue": lambda: reference(order=("T", "V", "V")),
    "an extra element": lambda: reference(order=("T", "M", "V", "X")),
    "a processing instruction": lambda: reference(order=("T", "P", "M", "V")),
    "an empty Transforms": lambda: reference(transforms="<ds:Transforms/>"),
    "two transforms": lambda: reference(
        transforms=f'<ds:Transforms><ds:Transform Algorithm="{ns.EXC_C14N}"/>'
        f'<ds:Transform Algorithm="{ns.EXC_C14N}"/></ds:Transforms>'
    ),
    "another transform": lambda: reference(algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"),
    "another tag for the Transform": lambda: reference(transform_tag="Transformation"),
    "InclusiveNamespaces": lambda: reference(
        inner=f'<ec:InclusiveNamespaces xmlns:ec="{ns.EXC_C14N}" PrefixList="t"/>',
        value=_digest(TARGET, ("t",)),
    ),
    "a PI in the Transform": lambda: reference(inner="<?pi x?>"),
}


@pytest.mark.parametrize("name", sorted(DEPARTURES))
def test_reference_departure_takes_the_general_path(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = DEPARTURES[name]()
    assert reference_parts(ref) is None
    PATHS.clear()
    got = answer(ref, False, monkeypatch)
    assert PATHS["reference.general"] == 1 and PATHS["reference.fast"] == 0
    assert got == answer(ref, True, monkeypatch)


# --- the id scan of a decrypted fragment ------------------------------------------------------
def protected(content: str) -> bytes:
    env = plain_envelope(SOAP_12)
    body = env[1]
    body.remove(body[0])
    for el in etree.fromstring(f'<w xmlns:u="{ns.WSU}" xmlns:t="urn:test">{content}</w>'):
        body.append(el)
    root = protect(env, SctProtection(sct(), SECRET), MessagePolicy(), now=T0)
    return etree.tostring(root)


def verify_capturing(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """verify's result and its context's id index (read as the policy step starts)."""
    seen: dict[str, Any] = {}
    real = inbound_module.enforce

    def spy(ctx: Any, sig: Any) -> None:
        seen["ids"] = dict(ctx.ids)
        real(ctx, sig)

    monkeypatch.setattr(inbound_module, "enforce", spy)
    res = inbound_module.verify(data, resolver=RESOLVE, policy=MessagePolicy(), now=T0 + 1)
    return res, seen["ids"]


@pytest.mark.parametrize(
    ("content", "path"),
    [
        ("<t:Echo><t:Text>hello</t:Text></t:Echo>", "skip"),
        ('<t:Echo u:Id="item-1"><t:Text>hi</t:Text></t:Echo>', "scan"),
        ('<t:Echo><t:Deep><t:Text Id="plain-id">x</t:Text></t:Deep></t:Echo>', "scan"),
        ("<t:Echo><t:Identifier>no id, but the bytes</t:Identifier></t:Echo>", "scan"),
    ],
)
def test_fragment_ids_equal_the_whole_tree_index(
    content: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = protected(content)
    PATHS.clear()
    res, ids = verify_capturing(data, monkeypatch)
    # the Body's content, then the encrypted Signature (whose plaintext holds no Id bytes)
    assert PATHS[f"fragment_ids.{path}"] >= 1
    assert PATHS["fragment_ids.skip"] >= 1
    # every EncryptedData was replaced: the incremental index is the whole tree's
    assert ids == index_ids(res.envelope.root)
    # and the same as when every fragment is scanned
    monkeypatch.setattr(decrypt_module, "may_hold_ids", lambda plain: True)
    _, scanned = verify_capturing(data, monkeypatch)
    assert {k: v.tag for k, v in ids.items()} == {k: v.tag for k, v in scanned.items()}


def test_a_duplicate_id_inside_the_encrypted_body_is_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An id in the decrypted Body that another element of the message already has: the
    fragment holds ``Id`` bytes, so it is scanned and refused (DuplicateId), as before."""
    data = protected('<t:Echo u:Id="dup"><t:Text>hi</t:Text></t:Echo>')
    # give the Action header the same id: SignedInfo is untouched, so the signature verifies,
    # and the Body is decrypted (and its ids indexed) before any digest is checked
    root = etree.fromstring(data)
    action = root[0][0]
    assert action.get(f"{{{ns.WSU}}}Id") is not None
    action.set(f"{{{ns.WSU}}}Id", "dup")
    calls: list[int] = []
    real = decrypt_module.index_ids

    def spy(el: etree._Element, into: Any = None) -> Any:
        calls.append(1)
        return real(el, into)

    monkeypatch.setattr(decrypt_module, "index_ids", spy)
    with pytest.raises(WsscError) as info:
        inbound_module.verify(etree.tostring(root), resolver=RESOLVE, policy=MessagePolicy(), now=T0 + 1)
    assert isinstance(info.value, DuplicateId)
    assert calls  # the Body's fragment was scanned
