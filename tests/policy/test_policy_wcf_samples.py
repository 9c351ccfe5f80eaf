"""Import of WSDLs shaped by WCF itself (fact samples), not by wssc's exporter."""
# ruff: noqa: E501  (the XML fixtures keep WCF's long lines)

from __future__ import annotations

import base64

import pytest

from wssc.bootstrap.registry import explain, settings_from_wsdl
from wssc.errors import ConfigurationError
from wssc.settings import WS2007, WSHTTP, Bootstrap, KeyEntropyMode

# Trimmed from CoreWCF src/CoreWCF.Metadata/tests/Wsdls/
# WSHttpBindingTest.TransportWithMessageCredentials_MultiAuth.xml (reference §C.6): three ports of
# one WSHttpBinding (TransportWithMessageCredential, WSSP 1.1, RequireCancellation=true) with
# Windows (SPNEGO), certificate and username bootstraps. Schemas and messages are left out.
_TWMC_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="SimpleEchoService" targetNamespace="http://tempuri.org/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:wsa10="http://www.w3.org/2005/08/addressing" xmlns:tns="http://tempuri.org/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">
"""
_TRANSPORT_BINDING = """
  <sp:TransportBinding xmlns:sp="http://schemas.xmlsoap.org/ws/2005/07/securitypolicy"><wsp:Policy>
    <sp:TransportToken><wsp:Policy><sp:HttpsToken RequireClientCertificate="false"/></wsp:Policy></sp:TransportToken>
    <sp:AlgorithmSuite><wsp:Policy><sp:Basic256/></wsp:Policy></sp:AlgorithmSuite>
    <sp:Layout><wsp:Policy><sp:Strict/></wsp:Policy></sp:Layout>
    <sp:IncludeTimestamp/>
  </wsp:Policy></sp:TransportBinding>"""
_TRUST = """
  <sp:Trust10 xmlns:sp="http://schemas.xmlsoap.org/ws/2005/07/securitypolicy"><wsp:Policy>
    <sp:MustSupportIssuedTokens/><sp:RequireClientEntropy/><sp:RequireServerEntropy/>
  </wsp:Policy></sp:Trust10>"""
_SIGNED_PARTS = """
  <sp:SignedParts><sp:Body/>
    <sp:Header Name="To" Namespace="http://www.w3.org/2005/08/addressing"/>
    <sp:Header Name="From" Namespace="http://www.w3.org/2005/08/addressing"/>
    <sp:Header Name="FaultTo" Namespace="http://www.w3.org/2005/08/addressing"/>
    <sp:Header Name="ReplyTo" Namespace="http://www.w3.org/2005/08/addressing"/>
    <sp:Header Name="MessageID" Namespace="http://www.w3.org/2005/08/addressing"/>
    <sp:Header Name="RelatesTo" Namespace="http://www.w3.org/2005/08/addressing"/>
    <sp:Header Name="Action" Namespace="http://www.w3.org/2005/08/addressing"/>
  </sp:SignedParts>
  <sp:EncryptedParts><sp:Body/></sp:EncryptedParts>"""


def _twmc_policy(pid: str, bootstrap_token: str) -> str:
    return f"""
<wsp:Policy wsu:Id="{pid}"><wsp:ExactlyOne><wsp:All>{_TRANSPORT_BINDING}
  <sp:EndorsingSupportingTokens xmlns:sp="http://schemas.xmlsoap.org/ws/2005/07/securitypolicy"><wsp:Policy>
    <sp:SecureConversationToken sp:IncludeToken="http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/AlwaysToRecipient"><wsp:Policy>
      <sp:BootstrapPolicy><wsp:Policy>{_SIGNED_PARTS}{_TRANSPORT_BINDING}
        {bootstrap_token}
        <sp:Wss11><wsp:Policy/></sp:Wss11>{_TRUST}
      </wsp:Policy></sp:BootstrapPolicy>
    </wsp:Policy></sp:SecureConversationToken>
  </wsp:Policy></sp:EndorsingSupportingTokens>
  <sp:Wss11 xmlns:sp="http://schemas.xmlsoap.org/ws/2005/07/securitypolicy"><wsp:Policy/></sp:Wss11>{_TRUST}
  <wsaw:UsingAddressing/>
</wsp:All></wsp:ExactlyOne></wsp:Policy>"""


_SPNEGO = """<sp:EndorsingSupportingTokens><wsp:Policy>
          <sp:SpnegoContextToken sp:IncludeToken="http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/AlwaysToRecipient"><wsp:Policy/></sp:SpnegoContextToken>
        </wsp:Policy></sp:EndorsingSupportingTokens>"""
_X509 = """<sp:EndorsingSupportingTokens><wsp:Policy>
          <sp:X509Token sp:IncludeToken="http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/AlwaysToRecipient"><wsp:Policy>
            <sp:RequireThumbprintReference/><sp:WssX509V3Token10/></wsp:Policy></sp:X509Token>
          <sp:SignedParts><sp:Header Name="To" Namespace="http://www.w3.org/2005/08/addressing"/></sp:SignedParts>
        </wsp:Policy></sp:EndorsingSupportingTokens>"""
_USERNAME = """<sp:SignedSupportingTokens><wsp:Policy>
          <sp:UsernameToken sp:IncludeToken="http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/AlwaysToRecipient"><wsp:Policy><sp:WssUsernameToken10/></wsp:Policy></sp:UsernameToken>
        </wsp:Policy></sp:SignedSupportingTokens>"""

_PORT_TYPE = """
  <wsdl:portType name="IEchoService"><wsdl:operation name="EchoString">
    <wsdl:input wsaw:Action="http://tempuri.org/IEchoService/EchoString" message="tns:IEchoService_EchoString_InputMessage"/>
    <wsdl:output wsaw:Action="http://tempuri.org/IEchoService/EchoStringResponse" message="tns:IEchoService_EchoString_OutputMessage"/>
  </wsdl:operation></wsdl:portType>"""


def _binding(name: str) -> str:
    return f"""
  <wsdl:binding name="{name}" type="tns:IEchoService">
    <wsp:PolicyReference URI="#{name}_policy"/>
    <soap12:binding transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="EchoString">
      <soap12:operation soapAction="http://tempuri.org/IEchoService/EchoString" style="document"/>
      <wsdl:input><soap12:body use="literal"/></wsdl:input>
      <wsdl:output><soap12:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>"""


def _port(name: str, path: str) -> str:
    url = f"https://localhost/TestSite/WSHttpBinding.svc/wsHttp/{path}"
    return f"""
    <wsdl:port name="{name}" binding="tns:{name}">
      <soap12:address location="{url}"/>
      <wsa10:EndpointReference><wsa10:Address>{url}</wsa10:Address></wsa10:EndpointReference>
    </wsdl:port>"""


COREWCF_TWMC_MULTIAUTH = (
    _TWMC_HEAD
    + _twmc_policy("WSHttpBinding_IEchoService_policy", _SPNEGO)
    + _twmc_policy("WSHttpBinding_IEchoService1_policy", _X509)
    + _twmc_policy("WSHttpBinding_IEchoService2_policy", _USERNAME)
    + _PORT_TYPE
    + _binding("WSHttpBinding_IEchoService")
    + _binding("WSHttpBinding_IEchoService1")
    + _binding("WSHttpBinding_IEchoService2")
    + '\n  <wsdl:service name="SimpleEchoService">'
    + _port("WSHttpBinding_IEchoService", "winAuth")
    + _port("WSHttpBinding_IEchoService1", "certAuth")
    + _port("WSHttpBinding_IEchoService2", "userNameAuth")
    + "\n  </wsdl:service>\n</wsdl:definitions>\n"
).encode()


def test_corewcf_username_over_transport_port() -> None:
    ep = settings_from_wsdl(COREWCF_TWMC_MULTIAUTH, port="WSHttpBinding_IEchoService2")
    s = ep.settings
    assert s.bootstrap is Bootstrap.USERNAME_OVER_TRANSPORT
    assert s.message_security_version is WSHTTP
    assert s.require_cancellation is True  # no MustNotSendCancel in the sample
    assert s.can_renew_session is True
    assert s.require_derived_keys is False
    assert s.establish_security_context is True
    assert s.algorithm_suite == "Basic256"
    assert s.key_entropy_mode is KeyEntropyMode.COMBINED
    assert ep.address == "https://localhost/TestSite/WSHttpBinding.svc/wsHttp/userNameAuth"
    assert ep.soap_version == "1.2"
    assert ep.policy_id == "WSHttpBinding_IEchoService2_policy"
    assert ep.evidence.must_not_send_cancel is None
    (op,) = ep.operations
    assert op.name == "EchoString"
    assert op.soap_action == "http://tempuri.org/IEchoService/EchoString"
    assert op.output_action == "http://tempuri.org/IEchoService/EchoStringResponse"
    assert op.protection is None
    text = explain(ep)
    assert "A Cancel (RST/SCT/Cancel) will be sent" in text
    assert "require_cancellation=True, session mode" in text


def test_corewcf_windows_port_is_refused_with_a_reason() -> None:
    # The default port is the first with a policy: the SPNEGO one.
    with pytest.raises(ConfigurationError, match=r"SpnegoContextToken.*SPNEGO"):
        settings_from_wsdl(COREWCF_TWMC_MULTIAUTH)


def test_corewcf_certificate_port_is_certificate_over_transport() -> None:
    """CoreWCF's TransportWithMessageCredential + Certificate port: the client's X509 token
    endorses the bootstrap (WCF's CreateCertificateOverTransportBindingElement)."""
    s = settings_from_wsdl(COREWCF_TWMC_MULTIAUTH, port="WSHttpBinding_IEchoService1").settings
    assert s.bootstrap is Bootstrap.CERTIFICATE_OVER_TRANSPORT
    assert s.establish_security_context and not s.require_derived_keys


def test_unknown_port_lists_the_ports() -> None:
    with pytest.raises(ConfigurationError, match="WSHttpBinding_IEchoService2"):
        settings_from_wsdl(COREWCF_TWMC_MULTIAUTH, port="nope")


# A message-mode WSHttpBinding (AnonymousForCertificate, cookie mode) written by hand in WCF's
# shapes: WS-Policy 1.2 as WCF publishes it, the .NET 3.0-style full Wss11 list, the stock
# AnonymousForCertificate RequireSignatureConfirmation, and mssp:MustNotSendCancel (§A.11).
CERT_DER = b"0\x82\x01\x22-not-really-a-certificate"
_SP11 = "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy"
_SP12 = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702"
_MESSAGE_MODE = """<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions targetNamespace="http://tempuri.org/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="http://tempuri.org/" xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:wsa10="http://www.w3.org/2005/08/addressing" xmlns:sp="@SP@" xmlns:mssp="http://schemas.microsoft.com/ws/2005/07/securitypolicy">
<wsp:Policy wsu:Id="WSHttpBinding_ICalc_policy"><wsp:ExactlyOne><wsp:All>
  <sp:SymmetricBinding><wsp:Policy>
    <sp:ProtectionToken><wsp:Policy>
      <sp:SecureConversationToken sp:IncludeToken="@SP@/IncludeToken/AlwaysToRecipient"><wsp:Policy>
        <sp:RequireDerivedKeys/>
        @CANCEL@
        <sp:BootstrapPolicy><wsp:Policy>
          <sp:SignedParts><sp:Body/><sp:Header Name="To" Namespace="http://www.w3.org/2005/08/addressing"/><sp:Header Name="Action" Namespace="http://www.w3.org/2005/08/addressing"/></sp:SignedParts>
          <sp:EncryptedParts><sp:Body/></sp:EncryptedParts>
          <sp:SymmetricBinding><wsp:Policy>
            <sp:ProtectionToken><wsp:Policy>
              <sp:X509Token sp:IncludeToken="@SP@/IncludeToken/Never"><wsp:Policy>
                <sp:RequireDerivedKeys/><sp:RequireThumbprintReference/><sp:WssX509V3Token10/>
              </wsp:Policy></sp:X509Token>
            </wsp:Policy></sp:ProtectionToken>
            <sp:AlgorithmSuite><wsp:Policy><sp:Basic256Sha256/></wsp:Policy></sp:AlgorithmSuite>
            <sp:Layout><wsp:Policy><sp:Strict/></wsp:Policy></sp:Layout>
            <sp:IncludeTimestamp/><sp:EncryptSignature/><sp:OnlySignEntireHeadersAndBody/>
          </wsp:Policy></sp:SymmetricBinding>
          <sp:Wss11><wsp:Policy>
            <sp:MustSupportRefKeyIdentifier/><sp:MustSupportRefIssuerSerial/>
            <sp:MustSupportRefThumbprint/><sp:MustSupportRefEncryptedKey/>
            <sp:RequireSignatureConfirmation/>
          </wsp:Policy></sp:Wss11>
          <sp:@TRUST@><wsp:Policy>
            <sp:MustSupportIssuedTokens/><sp:RequireClientEntropy/><sp:RequireServerEntropy/>
          </wsp:Policy></sp:@TRUST@>
        </wsp:Policy></sp:BootstrapPolicy>
        @AMEND@
      </wsp:Policy></sp:SecureConversationToken>
    </wsp:Policy></sp:ProtectionToken>
    <sp:AlgorithmSuite><wsp:Policy><sp:Basic256Sha256/></wsp:Policy></sp:AlgorithmSuite>
    <sp:Layout><wsp:Policy><sp:Strict/></wsp:Policy></sp:Layout>
    <sp:IncludeTimestamp/><sp:EncryptSignature/><sp:OnlySignEntireHeadersAndBody/>
  </wsp:Policy></sp:SymmetricBinding>
  <sp:Wss11><wsp:Policy>
    <sp:MustSupportRefKeyIdentifier/><sp:MustSupportRefIssuerSerial/>
    <sp:MustSupportRefThumbprint/><sp:MustSupportRefEncryptedKey/>
  </wsp:Policy></sp:Wss11>
  <sp:@TRUST@><wsp:Policy>
    <sp:MustSupportIssuedTokens/><sp:RequireClientEntropy/><sp:RequireServerEntropy/>
  </wsp:Policy></sp:@TRUST@>
  <wsaw:UsingAddressing/>
</wsp:All></wsp:ExactlyOne></wsp:Policy>
<wsp:Policy wsu:Id="WSHttpBinding_ICalc_Add_Input_policy"><wsp:ExactlyOne><wsp:All>
  <sp:SignedParts><sp:Body/><sp:Header Name="To" Namespace="http://www.w3.org/2005/08/addressing"/></sp:SignedParts>
  <sp:EncryptedParts><sp:Body/></sp:EncryptedParts>
</wsp:All></wsp:ExactlyOne></wsp:Policy>
<wsp:Policy wsu:Id="WSHttpBinding_ICalc_Ping_Input_policy"><wsp:ExactlyOne><wsp:All>
  <sp:SignedParts><sp:Body/></sp:SignedParts>
</wsp:All></wsp:ExactlyOne></wsp:Policy>
<wsdl:portType name="ICalc">
  <wsdl:operation name="Add"><wsdl:input wsaw:Action="http://tempuri.org/ICalc/Add"/><wsdl:output wsaw:Action="http://tempuri.org/ICalc/AddResponse"/></wsdl:operation>
  <wsdl:operation name="Ping"><wsdl:input wsaw:Action="http://tempuri.org/ICalc/Ping"/></wsdl:operation>
</wsdl:portType>
<wsdl:binding name="WSHttpBinding_ICalc" type="tns:ICalc">
  <wsp:PolicyReference URI="#WSHttpBinding_ICalc_policy"/>
  <soap12:binding transport="http://schemas.xmlsoap.org/soap/http"/>
  <wsdl:operation name="Add"><soap12:operation soapAction="http://tempuri.org/ICalc/Add" style="document"/>
    <wsdl:input><wsp:PolicyReference URI="#WSHttpBinding_ICalc_Add_Input_policy"/><soap12:body use="literal"/></wsdl:input>
  </wsdl:operation>
  <wsdl:operation name="Ping"><soap12:operation soapAction="http://tempuri.org/ICalc/Ping" style="document"/>
    <wsdl:input><wsp:PolicyReference URI="#WSHttpBinding_ICalc_Ping_Input_policy"/><soap12:body use="literal"/></wsdl:input>
  </wsdl:operation>
</wsdl:binding>
<wsdl:service name="CalcService">
  <wsdl:port name="WSHttpBinding_ICalc" binding="tns:WSHttpBinding_ICalc">
    <soap12:address location="http://calc.example/svc"/>
    <wsa10:EndpointReference>
      <wsa10:Address>http://calc.example/svc</wsa10:Address>
      <Identity xmlns="http://schemas.xmlsoap.org/ws/2006/02/addressingidentity">
        <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>@CERT@</X509Certificate></X509Data></KeyInfo>
      </Identity>
    </wsa10:EndpointReference>
  </wsdl:port>
</wsdl:service>
</wsdl:definitions>
"""


def message_mode_wsdl(*, sp12: bool, cancel: bool) -> bytes:
    text = _MESSAGE_MODE.replace("@SP@", _SP12 if sp12 else _SP11)
    text = text.replace("@TRUST@", "Trust13" if sp12 else "Trust10")
    text = text.replace(
        "@AMEND@",
        "<sp:MustNotSendAmend/><sp:MustNotSendRenew/>"
        if sp12 and not cancel
        else "<sp:MustNotSendAmend/>"
        if sp12
        else "",
    )
    no_cancel = "<sp:MustNotSendCancel/>" if sp12 else "<mssp:MustNotSendCancel/>"
    text = text.replace("@CANCEL@", "" if cancel else no_cancel)
    return text.replace("@CERT@", base64.b64encode(CERT_DER).decode()).encode()


@pytest.mark.parametrize("sp12", [False, True], ids=["sp11", "sp12"])
def test_wcf_shaped_message_mode_cookie(sp12: bool) -> None:
    ep = settings_from_wsdl(message_mode_wsdl(sp12=sp12, cancel=False))
    s = ep.settings
    assert s.bootstrap is Bootstrap.ANONYMOUS_FOR_CERTIFICATE
    assert s.message_security_version is (WS2007 if sp12 else WSHTTP)
    assert s.require_cancellation is False
    assert s.can_renew_session is (not sp12)  # SP1.2 carries MustNotSendRenew in cookie mode
    assert s.require_derived_keys is True
    assert s.algorithm_suite == "Basic256Sha256"
    assert s.encrypt_signature is True
    assert ep.service_certificate_der == CERT_DER
    assert ep.evidence.bootstrap_signature_confirmation is True
    cancel = "sp:MustNotSendCancel" if sp12 else "mssp:MustNotSendCancel"
    assert ep.evidence.must_not_send_cancel == cancel
    add, ping = ep.operations
    assert add.protection == "EncryptAndSign" and ping.protection == "Sign"
    assert ping.output_action is None
    text = explain(ep)
    assert (
        f"No Cancel will be sent: the policy carries {cancel} (require_cancellation=False, cookie mode)."
    ) in text
    assert "SHA-1 thumbprint" in text
    assert "signature confirmation" in text


@pytest.mark.parametrize("sp12", [False, True], ids=["sp11", "sp12"])
def test_wcf_shaped_message_mode_session(sp12: bool) -> None:
    ep = settings_from_wsdl(message_mode_wsdl(sp12=sp12, cancel=True))
    assert ep.settings.require_cancellation is True
    assert ep.settings.can_renew_session is True
    assert ep.evidence.must_not_send_cancel is None
    assert ep.evidence.must_not_send_amend is sp12


def _mono(name: str) -> bytes:
    from peers import mono_dir, mono_missing

    path = mono_dir() / "captures" / name / "wsdl.xml"
    if not path.is_file():
        mono_missing(f"Mono capture {path} not present")
    return path.read_bytes()


def test_mono_basichttp_wsdl_has_no_security_policy() -> None:
    # Mono's only real WSDL (captures/plain-basichttp): a BasicHttpBinding with no WS-Policy.
    with pytest.raises(ConfigurationError, match="carries no WS-Policy"):
        settings_from_wsdl(_mono("plain-basichttp"))


def test_mono_message_security_wsdl_is_a_fault_not_a_wsdl() -> None:
    # Mono cannot export message-security policy: ?wsdl answers with an InternalServiceFault.
    with pytest.raises(ConfigurationError, match=r"not a WSDL: the document is a SOAP fault"):
        settings_from_wsdl(_mono("sc-anoncert-nocancel"))
