"""Every namespace and URI wssc reads or writes, in one place.

Two version families exist and one endpoint never mixes them:

* ``SC_2005`` / ``TRUST_2005`` with WS-SecurityPolicy 1.1 (WCF's ``WSHttpBinding``);
* ``SC_13`` / ``TRUST_13`` with WS-SecurityPolicy 1.2 (WCF's ``WS2007HttpBinding``).

`ScVersion` and `TrustVersion` bundle the URIs of one family so code never builds
a URI by string concatenation at the call site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --- SOAP ---------------------------------------------------------------------------------
SOAP11: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12: Final = "http://www.w3.org/2003/05/soap-envelope"
#: Who a header block is for (SOAP 1.1 ``actor``, SOAP 1.2 ``role``).
SOAP11_ACTOR_NEXT: Final = "http://schemas.xmlsoap.org/soap/actor/next"
SOAP12_ROLE_NEXT: Final = SOAP12 + "/role/next"
SOAP12_ROLE_ULTIMATE_RECEIVER: Final = SOAP12 + "/role/ultimateReceiver"

# --- WS-Security 1.0 / 1.1 ----------------------------------------------------------------
WSSE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSSE11: Final = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"
WSS_BASE64: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
WSS_X509V3: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
WSS_X509_SKI: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier"
)
WSS_THUMBPRINT: Final = "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1"
WSS_ENCRYPTED_KEY: Final = "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKey"
WSS_ENCRYPTED_KEY_SHA1: Final = (
    "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKeySHA1"
)
#: WSS Kerberos Token Profile 1.1: a ``wsse:BinarySecurityToken`` holding a GSS-framed Kerberos
#: AP-REQ (RFC 1964 §1.1: 0x60, the Kerberos mechanism OID, 0x0100, the AP-REQ), and the
#: ``wsse:KeyIdentifier`` that names one by the SHA-1 of those octets.
WSS_KERBEROS_AP_REQ: Final = (
    "http://docs.oasis-open.org/wss/oasis-wss-kerberos-token-profile-1.1#GSS_Kerberosv5_AP_REQ"
)
WSS_KERBEROS_AP_REQ_SHA1: Final = (
    "http://docs.oasis-open.org/wss/oasis-wss-kerberos-token-profile-1.1#Kerberosv5APREQSHA1"
)
WSS_PASSWORD_TEXT: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)
WSS_PASSWORD_DIGEST: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
)

# --- XML Signature / Encryption -----------------------------------------------------------
DS: Final = "http://www.w3.org/2000/09/xmldsig#"
XENC: Final = "http://www.w3.org/2001/04/xmlenc#"
EXC_C14N: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
XENC_CONTENT: Final = XENC + "Content"
XENC_ELEMENT: Final = XENC + "Element"

# --- WS-Addressing ------------------------------------------------------------------------
WSA10: Final = "http://www.w3.org/2005/08/addressing"
WSA2004: Final = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSA10_ANONYMOUS: Final = WSA10 + "/anonymous"
WSA2004_ANONYMOUS: Final = WSA2004 + "/role/anonymous"
#: The Action of WS-Addressing's own faults (DestinationUnreachable…), per version.
WSA10_FAULT_ACTION: Final = WSA10 + "/fault"
WSA2004_FAULT_ACTION: Final = WSA2004 + "/fault"
#: WS-Addressing header local names that WCF signs (channel-scope headers).
WSA_SIGNED_HEADERS: Final = ("To", "From", "FaultTo", "ReplyTo", "MessageID", "RelatesTo", "Action")

# --- WS-SecureConversation / WS-Trust -----------------------------------------------------
SC_2005: Final = "http://schemas.xmlsoap.org/ws/2005/02/sc"
SC_13: Final = "http://docs.oasis-open.org/ws-sx/ws-secureconversation/200512"
TRUST_2005: Final = "http://schemas.xmlsoap.org/ws/2005/02/trust"
TRUST_13: Final = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"

# --- Negotiation (SPNEGO over WS-Trust: ../shared/reference/negotiation.md) -----------------
#: BinaryExchange ValueType of SPNEGO, in both WS-Trust versions (WCF writes this one always).
SPNEGO_VALUE_TYPE: Final = "http://schemas.xmlsoap.org/ws/2005/02/trust/spnego"
#: EncryptionMethod of the proof key wrapped by the negotiated GSS context (note: no ``/ws/``).
GSS_WRAP: Final = "http://schemas.xmlsoap.org/2005/02/trust/spnego#GSS_Wrap"
#: Apache CXF's spellings (``Compatibility.spnego="cxf"``), by WS-Trust namespace: the
#: namespace + ``/spnego`` as the ValueType (WCF's own under Feb 2005), + ``/spnego#GSS_Wrap``
#: as the wrap algorithm (never WCF's: that one has no ``/ws/``).
CXF_SPNEGO_VALUE_TYPE: Final = {TRUST_2005: SPNEGO_VALUE_TYPE, TRUST_13: TRUST_13 + "/spnego"}
CXF_GSS_WRAP: Final = {TRUST_2005: TRUST_2005 + "/spnego#GSS_Wrap", TRUST_13: TRUST_13 + "/spnego#GSS_Wrap"}
#: BinaryExchange ValueType of TLSNEGO under WS-Trust 1.3; WCF writes it under Feb 2005 with a
#: leading space (`TLSNEGO_VALUE_TYPE_2005`), and its Feb 2005 service also reads it without.
TLSNEGO_VALUE_TYPE: Final = "http://schemas.xmlsoap.org/ws/2005/02/trust/tlsnego"
TLSNEGO_VALUE_TYPE_2005: Final = " " + TLSNEGO_VALUE_TYPE
#: EncryptionMethod of the proof key sealed as one TLS application_data record (no ``/ws/``).
TLS_WRAP: Final = "http://schemas.xmlsoap.org/2005/02/trust/tlsnego#TLS_Wrap"
#: EncodingType of a BinaryExchange WCF also reads (it writes Base64Binary).
WSS_HEX: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#HexBinary"

# --- SAML (federation: IssuedToken) ------------------------------------------------------
SAML2: Final = "urn:oasis:names:tc:SAML:2.0:assertion"
SAML2_HOLDER_OF_KEY: Final = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
SAML2_BEARER: Final = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SAML2_NAMEID_UNSPECIFIED: Final = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
#: WSS SAML Token Profile 1.1: the TokenType of a SAML 2.0 assertion and the KeyIdentifier
#: ValueType that names one by its ``ID`` (WCF's ``Saml2SecurityTokenHandler`` writes these).
WSS_SAML2_TOKEN_TYPE: Final = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0"
WSS_SAML2_ID: Final = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID"
#: SAML 1.1 (its namespace is SAML 1.0's), as WCF's ``SamlSecurityToken`` and ADFS write it.
SAML11: Final = "urn:oasis:names:tc:SAML:1.0:assertion"
SAML11_HOLDER_OF_KEY: Final = "urn:oasis:names:tc:SAML:1.0:cm:holder-of-key"
SAML11_BEARER: Final = "urn:oasis:names:tc:SAML:1.0:cm:bearer"
SAML11_AM_PASSWORD: Final = "urn:oasis:names:tc:SAML:1.0:am:password"
#: WSS SAML Token Profile 1.1: the TokenType of a SAML 1.1 assertion, and the KeyIdentifier
#: ValueType naming one by its ``AssertionID`` (the 1.0 profile's URI, which 1.1 kept).
WSS_SAML11_TOKEN_TYPE: Final = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1"
WSS_SAML11_ID: Final = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID"
#: WCF's ``ClaimTypes`` (System.IdentityModel.Claims): the namespace of its claim types, and
#: the name claim a caller's identity becomes.
CLAIMS: Final = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
#: WCF's KeyType for a bearer token under WS-Trust February 2005.
NO_PROOF_KEY: Final = "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey"
CLAIM_NAME: Final = CLAIMS + "/name"

# --- Microsoft --------------------------------------------------------------------------
MSSP: Final = "http://schemas.microsoft.com/ws/2005/07/securitypolicy"
DNSE: Final = "http://schemas.microsoft.com/ws/2006/05/security"
SC_FAULT_ACTION: Final = DNSE + "/SecureConversationFault"
WCF_DEFAULT_FAULT_ACTION: Final = "http://www.w3.org/2005/08/addressing/soap/fault"

# --- WS-Policy / WS-SecurityPolicy ----------------------------------------------------------
WSP12: Final = "http://schemas.xmlsoap.org/ws/2004/09/policy"
WSP15: Final = "http://www.w3.org/ns/ws-policy"
SP11: Final = "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy"
SP12: Final = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702"

# --- WSDL / XSD -----------------------------------------------------------------------------
WSDL: Final = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11: Final = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12: Final = "http://schemas.xmlsoap.org/wsdl/soap12/"
WSAW: Final = "http://www.w3.org/2006/05/addressing/wsdl"
XSD: Final = "http://www.w3.org/2001/XMLSchema"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
WSID: Final = "http://schemas.xmlsoap.org/ws/2006/02/addressingidentity"

# --- Algorithms -----------------------------------------------------------------------------
HMAC_SHA1: Final = DS + "hmac-sha1"
HMAC_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
RSA_SHA1: Final = DS + "rsa-sha1"
RSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA1: Final = DS + "sha1"
SHA256: Final = XENC + "sha256"
AES128_CBC: Final = XENC + "aes128-cbc"
AES192_CBC: Final = XENC + "aes192-cbc"
AES256_CBC: Final = XENC + "aes256-cbc"
TRIPLEDES_CBC: Final = XENC + "tripledes-cbc"
KW_AES128: Final = XENC + "kw-aes128"
KW_AES192: Final = XENC + "kw-aes192"
KW_AES256: Final = XENC + "kw-aes256"
KW_TRIPLEDES: Final = XENC + "kw-tripledes"
RSA_OAEP_MGF1P: Final = XENC + "rsa-oaep-mgf1p"
RSA_15: Final = XENC + "rsa-1_5"


@dataclass(frozen=True, slots=True)
class ScVersion:
    """The URIs of one WS-SecureConversation version."""

    ns: str
    trust: TrustVersion
    name: str

    @property
    def sct_token_type(self) -> str:
        """``…/sc/sct``: TokenType and STR ValueType for an SCT."""
        return self.ns + "/sct"

    @property
    def dk_token_type(self) -> str:
        """``…/sc/dk``: STR ValueType for a DerivedKeyToken."""
        return self.ns + "/dk"

    @property
    def p_sha1(self) -> str:
        """``…/sc/dk/p_sha1``: the DerivedKeyToken Algorithm."""
        return self.ns + "/dk/p_sha1"


@dataclass(frozen=True, slots=True)
class TrustVersion:
    """The URIs of one WS-Trust version."""

    ns: str
    name: str

    def action(self, suffix: str) -> str:
        """``RST/SCT`` → ``{trust}/RST/SCT``."""
        return f"{self.ns}/{suffix}"

    @property
    def rst_sct(self) -> str:
        return self.action("RST/SCT")

    @property
    def rstr_sct(self) -> str:
        return self.action("RSTR/SCT")

    @property
    def rst_issue(self) -> str:
        """A negotiation's first leg (SPNEGO, TLSNEGO)."""
        return self.action("RST/Issue")

    @property
    def rstr_issue(self) -> str:
        """A negotiation's later legs, both ways."""
        return self.action("RSTR/Issue")

    @property
    def rstrc_issue_final(self) -> str:
        """The final reply of a negotiation under WS-Trust 1.3 (Feb 2005 uses ``RSTR/Issue``)."""
        return self.action("RSTRC/IssueFinal")

    @property
    def rst_sct_renew(self) -> str:
        return self.action("RST/SCT/Renew")

    @property
    def rstr_sct_renew(self) -> str:
        return self.action("RSTR/SCT/Renew")

    @property
    def rst_sct_cancel(self) -> str:
        return self.action("RST/SCT/Cancel")

    @property
    def rstr_sct_cancel(self) -> str:
        return self.action("RSTR/SCT/Cancel")

    @property
    def issue(self) -> str:
        return self.ns + "/Issue"

    @property
    def renew(self) -> str:
        return self.ns + "/Renew"

    @property
    def cancel(self) -> str:
        return self.ns + "/Cancel"

    @property
    def nonce(self) -> str:
        """BinarySecret Type for entropy."""
        return self.ns + "/Nonce"

    @property
    def symmetric_key(self) -> str:
        return self.ns + "/SymmetricKey"

    @property
    def bearer_key(self) -> str:
        """KeyType of a token without a proof key (WCF's ``BearerKey``): WS-Trust 1.3's
        ``…/Bearer``; under February 2005, WCF's ``…/2005/05/identity/NoProofKey``."""
        return self.ns + "/Bearer" if self.ns == TRUST_13 else NO_PROOF_KEY

    @property
    def ck_psha1(self) -> str:
        """ComputedKey algorithm."""
        return self.ns + "/CK/PSHA1"


TRUST_FEB2005: Final = TrustVersion(TRUST_2005, "2005")
TRUST_V13: Final = TrustVersion(TRUST_13, "1.3")
SC_FEB2005: Final = ScVersion(SC_2005, TRUST_FEB2005, "2005")
SC_V13: Final = ScVersion(SC_13, TRUST_V13, "1.3")
SC_VERSIONS: Final = {SC_2005: SC_FEB2005, SC_13: SC_V13}


def sc_version(name_or_ns: str) -> ScVersion:
    """Look up a WS-SC version by name (``"2005"``, ``"1.3"``) or namespace URI."""
    for v in (SC_FEB2005, SC_V13):
        if name_or_ns in (v.name, v.ns):
            return v
    raise ValueError(f"unknown WS-SecureConversation version {name_or_ns!r} (use 2005 or 1.3)")


#: Prefixes wssc writes. WCF's own (``c``, ``o``, ``u``…) are not required by anyone.
PREFIXES: Final = {
    "s": SOAP11,
    "wsse": WSSE,
    "wsu": WSU,
    "wsse11": WSSE11,
    "ds": DS,
    "xenc": XENC,
    "wsa": WSA10,
    "wsc": SC_2005,
    "sc": SC_13,
    "t": TRUST_2005,
    "trust": TRUST_13,
    "mssp": MSSP,
    "dnse": DNSE,
    "wsp": WSP15,
    "sp": SP12,
}


def qn(ns: str, local: str) -> str:
    """Clark notation: ``{ns}local``."""
    return f"{{{ns}}}{local}"


# --- Service contracts / WSDL (appended by the service-contract module) ----------------------
#: ``soap:binding/@transport`` for SOAP over HTTP (both SOAP 1.1 and 1.2 WSDL bindings).
WSDL_SOAP_HTTP: Final = "http://schemas.xmlsoap.org/soap/http"
#: WS-Addressing 1.0 Metadata (``wsam:Action``), read as an alternative to ``wsaw:Action``.
WSAM: Final = "http://www.w3.org/2007/05/addressing/metadata"
# --- WCF's standard policy assertions beside WS-SecurityPolicy (what ``?wsdl`` carries) ------
#: ``wsap:UsingAddressing``: WS-Addressing August 2004 policy.
WSAP: Final = "http://schemas.xmlsoap.org/ws/2004/08/addressing/policy"
#: ``wspe:Utf816FFFECharacterEncoding``: the text encoder accepts UTF-16 too.
WSPE: Final = "http://schemas.xmlsoap.org/ws/2004/09/policy/encoding"
#: ``wsoma:OptimizedMimeSerialization``: MTOM.
WSOMA: Final = "http://schemas.xmlsoap.org/ws/2004/09/policy/optimizedmimeserialization"
#: ``msb:BinaryEncoding``: WCF's .NET Binary XML encoder.
MSB: Final = "http://schemas.microsoft.com/ws/06/2004/mspolicy/netbinary1"
#: ``wsrm:RMAssertion``: WS-ReliableMessaging (February 2005, and 1.1's ``wsrmp``).
WSRM_POLICY: Final = "http://schemas.xmlsoap.org/ws/2005/02/rm/policy"
WSRMP_11: Final = "http://docs.oasis-open.org/ws-rx/wsrmp/200702"
#: ``http:NegotiateAuthentication``, ``http:BasicAuthentication``…: HTTP authentication.
MS_HTTP_POLICY: Final = "http://schemas.microsoft.com/ws/06/2004/policy/http"
#: ``msf:SslTransportSecurity``, ``msf:WindowsTransportSecurity``: net.tcp stream upgrades.
MSF: Final = "http://schemas.microsoft.com/ws/2006/05/framing/policy"
#: ``cdp:CompositeDuplex``: a duplex channel built from two one-way ones.
CDP: Final = "http://schemas.microsoft.com/net/2006/06/duplex"
#: ``ow:OneWay``: WCF's one-way binding element.
MS_ONEWAY: Final = "http://schemas.microsoft.com/ws/2005/05/routing/policy"
#: ``msmq:…``: MSMQ transport assertions.
MSMQ_POLICY: Final = "http://schemas.microsoft.com/ws/06/2004/mspolicy/msmq"

# --- WS-MetadataExchange (what a WCF ``mex`` endpoint answers) ---------------------------------
MEX: Final = "http://schemas.xmlsoap.org/ws/2004/09/mex"
#: The WS-Transfer Get a mex client sends (SOAP 1.2, WS-Addressing 1.0).
MEX_GET_ACTION: Final = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
MEX_GET_RESPONSE_ACTION: Final = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse"

#: WCF's dispatcher fault namespace (``a:DeserializationFailed``, ``a:InternalServiceFault``).
WCF_DISPATCHER: Final = "http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher"
