"""Either SAML version, by its element: the reader, its ID attribute, its token type.

SAML 2.0 names an assertion by ``ID``, SAML 1.1 by ``AssertionID``; the WSS SAML Token
Profile gives each a token type and a KeyIdentifier ValueType. Everything else reads one model
(`wssc.federation.saml2.SamlAssertion`).
"""

from __future__ import annotations

from lxml import etree

from wssc.errors import SamlAssertionRejected
from wssc.federation.saml2 import DEFAULT_ASSERTION_LIMITS, AssertionLimits, SamlAssertion, read_saml2
from wssc.federation.saml11 import read_saml11
from wssc.xml import ns

SAML2_TAG = f"{{{ns.SAML2}}}Assertion"
SAML11_TAG = f"{{{ns.SAML11}}}Assertion"

#: tag -> (ID attribute, WSS token type, KeyIdentifier ValueType)
_VERSIONS = {
    SAML2_TAG: ("ID", ns.WSS_SAML2_TOKEN_TYPE, ns.WSS_SAML2_ID),
    SAML11_TAG: ("AssertionID", ns.WSS_SAML11_TOKEN_TYPE, ns.WSS_SAML11_ID),
}
#: The token types of each version an RST may ask for (the profile's, and SAML's namespace,
#: which WCF and ADFS also accept).
SAML2_TOKEN_TYPES = frozenset({ns.WSS_SAML2_TOKEN_TYPE, ns.SAML2})
SAML11_TOKEN_TYPES = frozenset({ns.WSS_SAML11_TOKEN_TYPE, ns.SAML11})


def is_assertion(el: etree._Element) -> bool:
    return el.tag in _VERSIONS


def _version(el: etree._Element) -> tuple[str, str, str]:
    found = _VERSIONS.get(el.tag) if isinstance(el.tag, str) else None
    if found is None:
        raise SamlAssertionRejected("not a SAML 1.1 or 2.0 assertion")
    return found


def id_attribute(el: etree._Element) -> str:
    """``ID`` (SAML 2.0) or ``AssertionID`` (SAML 1.1)."""
    return _version(el)[0]


def assertion_id(el: etree._Element) -> str:
    return el.get(id_attribute(el)) or ""


def token_type(el: etree._Element) -> str:
    """``…#SAMLV2.0`` or ``…#SAMLV1.1``."""
    return _version(el)[1]


def id_value_type(el: etree._Element) -> str:
    """The KeyIdentifier ValueType naming ``el``: ``…#SAMLID`` or ``…#SAMLAssertionID``."""
    return _version(el)[2]


def read_assertion(el: etree._Element, limits: AssertionLimits = DEFAULT_ASSERTION_LIMITS) -> SamlAssertion:
    """The fields of a SAML 1.1 or 2.0 assertion. Reads; trusts nothing."""
    return read_saml11(el, limits) if el.tag == SAML11_TAG else read_saml2(el, limits)


__all__ = [
    "SAML2_TAG",
    "SAML2_TOKEN_TYPES",
    "SAML11_TAG",
    "SAML11_TOKEN_TYPES",
    "assertion_id",
    "id_attribute",
    "id_value_type",
    "is_assertion",
    "read_assertion",
    "token_type",
]
