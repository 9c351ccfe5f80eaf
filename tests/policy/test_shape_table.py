"""The table-driven reader of the bootstraps' policy shapes (`wssc.policy.shapes.BindingShape`):
each row's binding facts, its protection token, and the rules of its nested policy."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from wssc.bootstrap.registry import policy_for, settings_from_policy
from wssc.errors import ConfigurationError
from wssc.policy.shapes import SP, Assertions, BindingFacts, BindingShape, names, recognize
from wssc.settings import WS2007, WSHTTP, Bootstrap, MessageSecurityVersion, SecureConversationSettings
from wssc.xml import ns


class _Reader:
    sp = ns.SP12

    def __init__(self) -> None:
        self.x509_read = 0

    def x509_protection(self, token: etree._Element) -> bool:
        self.x509_read += 1
        return True


def _token(local: str, *nested: tuple[str, str], token_ns: str = ns.SP12) -> etree._Element:
    token = etree.Element(f"{{{token_ns}}}{local}")
    policy = etree.SubElement(token, f"{{{ns.WSP15}}}Policy")
    for namespace, name in nested:
        etree.SubElement(policy, f"{{{namespace}}}{name}")
    return token


GSS = "WssGssKerberosV5ApReqToken11"
KERBEROS_LIKE = Assertions(
    names((SP,), "RequireDerivedKeys", GSS), required=names((SP,), GSS), unique=names((SP,), GSS)
)


@pytest.mark.parametrize(
    ("nested", "expected"),
    [
        ([(ns.SP12, GSS)], False),
        ([(ns.SP12, "RequireDerivedKeys"), (ns.SP12, GSS)], True),
        ([], None),  # required, missing
        ([(ns.SP12, GSS), (ns.SP12, GSS)], None),  # unique, twice
        ([(ns.SP12, GSS), (ns.SP12, "WssKerberosV5ApReqToken11")], None),  # not allowed
        ([(ns.MSSP, GSS)], None),  # SP stands for the alternative's namespace only
        ([(ns.SP11, GSS)], None),
    ],
)
def test_assertions_allowed_required_unique(nested: list[tuple[str, str]], expected: bool | None) -> None:
    row = BindingShape("KerberosToken", KERBEROS_LIKE)
    facts = BindingFacts(transport=False, suite="Basic256", protection_token=_token("KerberosToken", *nested))
    assert row.recognize(_Reader(), facts) is expected


def test_binding_facts_and_token_name_are_checked_before_the_nested_policy() -> None:
    reader = _Reader()
    row = BindingShape("X509Token")  # the importer's X.509 reader
    x509 = _token("X509Token")
    assert row.recognize(reader, BindingFacts(False, "Basic256", protection_token=x509)) is True
    assert reader.x509_read == 1
    for facts in (
        BindingFacts(True, "Basic256", protection_token=x509),
        BindingFacts(False, "Basic256", protection_token=x509, username=True),
        BindingFacts(False, "Basic256", protection_token=x509, endorsing_x509=_token("X509Token")),
        BindingFacts(False, "Basic256", protection_token=_token("KerberosToken")),
        BindingFacts(False, "Basic256", protection_token=_token("X509Token", token_ns=ns.SP11)),
        BindingFacts(False, "Basic256"),
    ):
        assert row.recognize(reader, facts) is None
    assert reader.x509_read == 1  # none of those reached the token's reader


def test_endorsing_x509_either_and_rows_without_a_token() -> None:
    either = BindingShape(
        "SslContextToken", Assertions(names((SP,), "RequireDerivedKeys")), ns.MSSP, endorsing_x509=None
    )
    token = _token("SslContextToken", (ns.SP12, "RequireDerivedKeys"), token_ns=ns.MSSP)
    for endorsing in (None, _token("X509Token")):
        facts = BindingFacts(False, "Basic256", protection_token=token, endorsing_x509=endorsing)
        assert either.recognize(_Reader(), facts) is True
    over_tls = BindingShape(transport=True, endorsing_x509=True)
    assert over_tls.recognize(_Reader(), BindingFacts(True, "Basic256", endorsing_x509=token)) is False
    assert over_tls.recognize(_Reader(), BindingFacts(True, "Basic256")) is None
    asymmetric = BindingFacts(False, "Basic256", initiator_token=token, recipient_token=token)
    table = (BindingShape(asymmetric=True), BindingShape("X509Token", endorsing_x509=True))
    assert recognize(table, _Reader(), asymmetric) is False
    asymmetric.username = True
    assert recognize(table, _Reader(), asymmetric) is None


@pytest.mark.parametrize("family", [WSHTTP, WS2007], ids=lambda f: f.name)
def test_kerberos_with_its_token_type_twice_is_not_wcfs_shape(family: MessageSecurityVersion) -> None:
    s = SecureConversationSettings(bootstrap=Bootstrap.KERBEROS, message_security_version=family)
    root = policy_for(s, policy_id="p")
    assert settings_from_policy(copy.deepcopy(root)).settings.bootstrap == Bootstrap.KERBEROS
    gss = next(root.iter(f"{{{family.sp_ns}}}{GSS}"))
    gss.addnext(copy.deepcopy(gss))
    with pytest.raises(ConfigurationError, match="KerberosToken"):
        settings_from_policy(root)
