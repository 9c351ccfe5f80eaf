"""``WSFederationHttpBinding`` / ``WS2007FederationHttpBinding``: WCF's defaults, WCF's
bootstrap for each combination (FederatedMessageSecurityOverHttp): IssuedTokenOverTransport and
IssuedTokenForCertificate give settings, and every combination wssc cannot serve is a typed
refusal naming it and what works instead."""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from wssc import WS2007FederationHttpBinding, WSFederationHttpBinding
from wssc.bootstrap.federation_bindings import wcf_federation_bootstrap
from wssc.bootstrap.registry import BOOTSTRAPS, policy_for, settings_from_policy
from wssc.errors import BindingNotSupported, ConfigurationError
from wssc.settings import WS2007, WSHTTP, Bootstrap, EndpointSettings, SecureConversationSettings
from wssc.xml import ns

PRESETS: dict[str, Callable[..., EndpointSettings]] = {
    "WSFederationHttpBinding": WSFederationHttpBinding,
    "WS2007FederationHttpBinding": WS2007FederationHttpBinding,
}
#: FederatedMessageSecurityOverHttp.CreateSecurityBindingElement, written out by hand.
WCF = {
    ("Message", True): "IssuedTokenForSslNegotiated",
    ("Message", False): "IssuedTokenForCertificate",
    ("TransportWithMessageCredential", True): "IssuedTokenOverTransport",
    ("TransportWithMessageCredential", False): "IssuedTokenOverTransport",
}
MODES = ["Message", "TransportWithMessageCredential", "None"]
KEYS = ["SymmetricKey", "AsymmetricKey", "BearerKey"]


@pytest.mark.parametrize("name", list(PRESETS))
def test_defaults_are_wcfs(name: str) -> None:
    defaults = {k: p.default for k, p in inspect.signature(PRESETS[name]).parameters.items()}
    assert defaults["security_mode"] == "Message"  # WSFederationHttpSecurityMode.Message
    assert defaults["issued_key_type"] == "SymmetricKey"  # IssuedKeyType.SymmetricKey
    assert defaults["negotiate_service_credential"] is True
    assert defaults["establish_security_context"] is True
    assert defaults["algorithm_suite"] == "Basic256"
    assert defaults["issued_token_type"] is None and defaults["issuer_address"] is None


@pytest.mark.parametrize(("mode", "negotiate"), list(WCF))
def test_wcfs_bootstrap_for_each_mode(mode: str, negotiate: bool) -> None:
    assert wcf_federation_bootstrap(mode, negotiate) == Bootstrap(WCF[(mode, negotiate)])


#: What wssc serves of them (with a SymmetricKey).
SERVED = {
    ("Message", True): Bootstrap.ISSUED_TOKEN_FOR_SSL,
    ("TransportWithMessageCredential", True): Bootstrap.ISSUED_TOKEN_OVER_TRANSPORT,
    ("TransportWithMessageCredential", False): Bootstrap.ISSUED_TOKEN_OVER_TRANSPORT,
    ("Message", False): Bootstrap.ISSUED_TOKEN_FOR_CERTIFICATE,
}


@pytest.mark.parametrize(
    ("name", "mode", "key", "negotiate", "establish"),
    list(itertools.product(PRESETS, MODES, KEYS, [True, False], [True, False])),
)
def test_every_combination_maps_or_is_refused_by_name(
    name: str, mode: str, key: str, negotiate: bool, establish: bool
) -> None:
    kw: dict[str, Any] = {
        "security_mode": mode,
        "issued_key_type": key,
        "negotiate_service_credential": negotiate,
        "establish_security_context": establish,
    }
    if (mode, negotiate) in SERVED and key == "SymmetricKey":
        scs = PRESETS[name](**kw).secure_conversation
        assert scs.bootstrap == SERVED[(mode, negotiate)] == Bootstrap(WCF[(mode, negotiate)])
        assert scs.bootstrap in BOOTSTRAPS and scs.establish_security_context is establish
        return
    if mode == "TransportWithMessageCredential" and key == "BearerKey":
        # WCF's IssuedTokenOverTransport with the bearer token a signed supporting token
        scs = PRESETS[name](**kw).secure_conversation
        assert scs.bootstrap == Bootstrap.BEARER_TOKEN_OVER_TRANSPORT
        assert scs.bootstrap in BOOTSTRAPS and scs.establish_security_context is establish
        return
    with pytest.raises(BindingNotSupported) as err:
        PRESETS[name](**kw)
    text = str(err.value)
    assert "IssuedTokenOverTransport" in text and "IssuedTokenForCertificate" in text  # what works
    if mode == "None":
        return
    assert f"{name}(security_mode={mode!r}, issued_key_type={key!r}" in text
    if (mode, negotiate) in SERVED:
        assert "symmetric proof key" in text  # served, but not with this key type
    else:
        assert f"WCF's {WCF[(mode, negotiate)]} bootstrap" in text and "does not speak yet" in text


def test_unknown_words_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown security_mode"):
        WS2007FederationHttpBinding(security_mode="Transport")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="unknown issued_key_type"):
        WS2007FederationHttpBinding(issued_key_type="Symmetric")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "family"), [("WSFederationHttpBinding", WSHTTP), ("WS2007FederationHttpBinding", WS2007)]
)
def test_a_served_combination_maps_to_settings(name: str, family: object) -> None:
    sts, mex = "https://sts.test/trust", "https://sts.test/mex"
    scs = (
        PRESETS[name](
            negotiate_service_credential=False,
            establish_security_context=False,
            issuer_address=sts,
            issuer_metadata_address=mex,
            issued_token_type=ns.WSS_SAML2_TOKEN_TYPE,
            algorithm_suite="Basic128",
        )
    ).secure_conversation
    assert scs.bootstrap == Bootstrap.ISSUED_TOKEN_FOR_CERTIFICATE
    assert scs.message_security_version is family
    assert (scs.issuer_address, scs.issuer_metadata) == (sts, mex)
    assert scs.establish_security_context is False and scs.algorithm_suite == "Basic128"
    assert scs.issued_token_type == ns.WSS_SAML2_TOKEN_TYPE
    saml11 = PRESETS[name](security_mode="TransportWithMessageCredential", issued_token_type=ns.SAML11)
    assert saml11.secure_conversation.issued_token_type == ns.WSS_SAML11_TOKEN_TYPE
    with pytest.raises(BindingNotSupported, match="symmetric proof key"):
        PRESETS[name](negotiate_service_credential=False, issued_key_type="BearerKey")  # Message: not yet
    with pytest.raises(BindingNotSupported, match=r"not SAML 2\.0"):
        PRESETS[name](negotiate_service_credential=False, issued_token_type="urn:example:jwt")


@pytest.mark.parametrize(("mode", "negotiate"), sorted(SERVED))
def test_the_preset_publishes_wcfs_shape(mode: str, negotiate: bool) -> None:
    """The settings a preset gives export the shape WCF's binding writes, and import back to
    the same bootstrap with the STS named."""
    settings = WS2007FederationHttpBinding(
        security_mode=mode,  # type: ignore[arg-type]
        negotiate_service_credential=negotiate,
        issuer_address="https://sts.test/trust",
    )
    policy = policy_for(settings.secure_conversation, policy_id="p")
    issued = policy.find(f".//{{{ns.SP12}}}EndorsingSupportingTokens//{{{ns.SP12}}}IssuedToken")
    assert issued is not None and issued.find(f"{{{ns.SP12}}}Issuer") is not None
    binding = "TransportBinding" if mode != "Message" else "SymmetricBinding"
    assert policy.find(f".//{{{ns.SP12}}}{binding}") is not None
    imported = settings_from_policy(policy).settings
    assert imported.bootstrap == settings.secure_conversation.bootstrap
    assert imported.issuer_address == "https://sts.test/trust"


def test_what_works_instead_exports_the_issuer() -> None:
    """The refusal's suggestion is real: those settings publish sp:IssuedToken with sp:Issuer."""
    scs = SecureConversationSettings(
        bootstrap=Bootstrap.ISSUED_TOKEN,
        message_security_version=WS2007,
        issuer_address="https://sts.test/trust",
        issuer_metadata="https://sts.test/mex",
    )
    policy = policy_for(scs, policy_id="p")
    issuer = policy.find(f".//{{{ns.SP12}}}IssuedToken/{{{ns.SP12}}}Issuer")
    assert issuer is not None
    assert issuer.findtext(f"{{{ns.WSA10}}}Address") == "https://sts.test/trust"
    assert "https://sts.test/mex" in [e.text for e in issuer.iter(f"{{{ns.WSA10}}}Address")]


@pytest.mark.parametrize(
    ("name", "sp", "key_type"),
    [
        ("WSFederationHttpBinding", ns.SP11, ns.NO_PROOF_KEY),
        ("WS2007FederationHttpBinding", ns.SP12, ns.TRUST_13 + "/Bearer"),
    ],
)
def test_a_bearer_preset_publishes_a_signed_supporting_bearer_token(
    name: str, sp: str, key_type: str
) -> None:
    """BearerKey over transport: the sp:IssuedToken is a signed supporting token (not
    endorsing), its template asks for KeyType Bearer (no KeySize), and the policy imports back
    to the bearer bootstrap; the same template as an endorsing token is refused by name."""
    settings = PRESETS[name](
        security_mode="TransportWithMessageCredential",
        issued_key_type="BearerKey",
        issuer_address="https://sts.test/trust",
    )
    policy = policy_for(settings.secure_conversation, policy_id="p")
    issued = policy.find(f".//{{{sp}}}SignedSupportingTokens//{{{sp}}}IssuedToken")
    assert issued is not None
    for token in policy.iter(f"{{{sp}}}IssuedToken"):  # (the session's bootstrap policy's too)
        holder = token.getparent().getparent()  # type: ignore[union-attr]
        assert holder is not None and holder.tag == f"{{{sp}}}SignedSupportingTokens"
    template = issued.find(f"{{{sp}}}RequestSecurityTokenTemplate")
    assert template is not None
    assert [etree.QName(c).localname for c in template] == ["TokenType", "KeyType"]
    assert template[1].text == key_type
    imported = settings_from_policy(policy).settings
    assert imported.bootstrap == Bootstrap.BEARER_TOKEN_OVER_TRANSPORT
    assert imported.issuer_address == "https://sts.test/trust"
    # the bearer template where a proof key is due (an endorsing token): refused by name
    hok = PRESETS[name](
        security_mode="TransportWithMessageCredential", issuer_address="https://sts.test/trust"
    )
    endorsing = policy_for(hok.secure_conversation, policy_id="p")
    trust = ns.TRUST_13 if sp == ns.SP12 else ns.TRUST_2005
    for token in endorsing.iter(f"{{{sp}}}IssuedToken"):
        kt = token.find(f"{{{sp}}}RequestSecurityTokenTemplate/{{{trust}}}KeyType")
        assert kt is not None
        kt.text = key_type
    with pytest.raises(ConfigurationError, match="asks for KeyType"):
        settings_from_policy(endorsing)
