"""WS-Trust 1.3 ``SecondaryParameters`` in an RST/Issue: the relying party's
``RequestSecurityTokenTemplate`` as the client copies it there (Metro's client sends TokenType,
KeyType and KeySize only there; WCF's sends them there too). The RST's own elements win."""

from __future__ import annotations

import pytest
from lxml import etree

from wssc.errors import InvalidRequest
from wssc.trust.issued import IssuedTokenRequest
from wssc.xml import ns

T = ns.TRUST_13
SAML2 = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0"
SAML11 = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1"


def rst(own: str = "", secondary: str = "") -> etree._Element:
    second = f"<t:SecondaryParameters>{secondary}</t:SecondaryParameters>" if secondary else ""
    return etree.fromstring(
        f'<t:RequestSecurityToken xmlns:t="{T}"><t:RequestType>{T}/Issue</t:RequestType>'
        f"{own}{second}</t:RequestSecurityToken>"
    )


def test_token_type_key_type_and_size_from_secondary_parameters() -> None:
    req = IssuedTokenRequest.from_xml(
        rst(
            secondary=f"<t:TokenType>{SAML2}</t:TokenType><t:KeyType>{T}/SymmetricKey</t:KeyType>"
            "<t:KeySize>256</t:KeySize>"
        ),
        ns.TRUST_V13,
    )
    assert (req.token_type, req.key_type, req.key_size) == (SAML2, f"{T}/SymmetricKey", 256)


def test_the_rsts_own_elements_win() -> None:
    req = IssuedTokenRequest.from_xml(
        rst(own=f"<t:TokenType>{SAML2}</t:TokenType>", secondary=f"<t:TokenType>{SAML11}</t:TokenType>"),
        ns.TRUST_V13,
    )
    assert req.token_type == SAML2


def test_a_key_type_in_secondary_parameters_is_checked() -> None:
    with pytest.raises(InvalidRequest, match="SymmetricKey or Bearer only"):
        IssuedTokenRequest.from_xml(
            rst(secondary=f"<t:TokenType>{SAML2}</t:TokenType><t:KeyType>{T}/PublicKey</t:KeyType>"),
            ns.TRUST_V13,
        )


def test_no_token_type_anywhere_leaves_the_choice_to_the_sts() -> None:
    """WCF sends no TokenType by default: the STS issues its own default type."""
    req = IssuedTokenRequest.from_xml(rst(secondary="<t:KeySize>256</t:KeySize>"), ns.TRUST_V13)
    assert (req.token_type, req.key_size) == ("", 256)


def test_secondary_parameters_are_capped() -> None:
    with pytest.raises(InvalidRequest, match="too many children"):
        IssuedTokenRequest.from_xml(rst(secondary="<t:KeySize>256</t:KeySize>" * 17), ns.TRUST_V13)
