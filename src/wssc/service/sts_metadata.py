"""The metadata of `wssc sts`: a WSDL for the WS-Trust Issue operation, over ``?wsdl`` and
WS-MetadataExchange, so that a client can follow an ``sp:Issuer`` to it as svcutil does.

The WSDL is shaped as WCF's and ADFS's STSs publish theirs (WS-Trust 1.3 shown; February 2005
has ``IWSTrustFeb2005Sync``, ``TrustFeb2005Issue``, ``t:RequestSecurityTokenResponse`` and
``RSTR/Issue``)::

    <wsdl:definitions name="SecurityTokenService" targetNamespace="http://tempuri.org/">
      <wsp:Policy wsu:Id="UserNameWSTrustBinding_IWSTrust13Sync_policy">
        <sp:TransportBinding>…</sp:TransportBinding>
        <sp:SignedEncryptedSupportingTokens>…<sp:UsernameToken>…</…>
        <sp:Wss11/> <sp:Trust13>…</sp:Trust13> <wsaw:UsingAddressing/>
      </wsp:Policy>
      <wsdl:types><xs:schema><xs:import namespace="…/ws-trust/200512"/></xs:schema></wsdl:types>
      <wsdl:message name="IWSTrust13Sync_Trust13Issue_InputMessage">
        <wsdl:part name="request" element="trust:RequestSecurityToken"/></wsdl:message>
      <wsdl:message name="IWSTrust13Sync_Trust13Issue_OutputMessage">
        <wsdl:part name="response" element="trust:RequestSecurityTokenResponseCollection"/>…
      <wsdl:portType name="IWSTrust13Sync"><wsdl:operation name="Trust13Issue">
        <wsdl:input wsaw:Action="…/RST/Issue"/> <wsdl:output wsaw:Action="…/RSTRC/IssueFinal"/>
      <wsdl:binding name="UserNameWSTrustBinding_IWSTrust13Sync" type="tns:IWSTrust13Sync">
        <wsp:PolicyReference URI="#UserNameWSTrustBinding_IWSTrust13Sync_policy"/> …
      <wsdl:service name="SecurityTokenService"><wsdl:port …>
        <soap12:address location="https://host/sts"/>
        <wsa10:EndpointReference><wsa10:Address>https://host/sts</…>

The policy is the one `wssc sts` enforces (UserNameOverTransport with no security context),
written by the same exporter as `wssc serve`'s. An STS that also accepts a certificate sign-in
publishes a second policy, binding (``CertificateWSTrustBinding_…``) and port, at its address +
`CERTIFICATE_SUFFIX`, with the CertificateOverTransport policy. A WS-Transfer ``Get`` POSTed to the STS's
address (as to a WCF ``mex`` endpoint) is answered with the same WSDL in one
``mex:MetadataSection``. Metadata is public: neither needs a sign-in.
"""

from __future__ import annotations

from typing import Final

from lxml import etree

from wssc.settings import WS2007, WSHTTP, SecureConversationSettings
from wssc.xml import ns
from wssc.xml.ns import TrustVersion
from wssc.xml.soap import SOAP_12, Envelope, SoapVersion, new_envelope

#: The WSDL's target namespace (WCF's default, as ADFS's metadata keeps it).
TARGET_NS: Final = "http://tempuri.org/"
SERVICE_NAME: Final = "SecurityTokenService"
#: Only so much of a request is searched for the Get action before it is taken for an RST.
_ACTION_WINDOW: Final = 4096


def _w(local: str) -> str:
    return ns.qn(ns.WSDL, local)


#: The certificate sign-in's address: the STS's, and this (ADFS's ``certificatemixed``).
CERTIFICATE_SUFFIX: Final = "/certificatemixed"


def names(trust: TrustVersion, *, certificate: bool = False) -> tuple[str, str, str]:
    """(port type, operation, binding) as WCF's STS contracts name them for ``trust``; the
    binding of the certificate sign-in with ``certificate``."""
    version = "Trust13" if trust.ns == ns.TRUST_13 else "TrustFeb2005"
    port_type = f"IWS{version}Sync"
    kind = "Certificate" if certificate else "UserName"
    return port_type, f"{version}Issue", f"{kind}WSTrustBinding_{port_type}"


def sts_settings(trust: TrustVersion, *, certificate: bool = False) -> SecureConversationSettings:
    """What `wssc sts` enforces, as settings: UserNameOverTransport (with ``certificate``:
    the certificate sign-in over HTTPS), no security context, in the family of ``trust``
    (WS-Trust 1.3: WS-SecurityPolicy 1.2; February 2005: 1.1)."""
    from wssc.bootstrap.registry import certificate_over_tls, username_over_tls

    kind = certificate_over_tls() if certificate else username_over_tls()
    return SecureConversationSettings(
        bootstrap=kind.key,
        establish_security_context=False,
        require_derived_keys=False,
        message_security_version=WS2007 if trust.ns == ns.TRUST_13 else WSHTTP,
    )


def sts_wsdl(
    address: str,
    trust: TrustVersion,
    soap: SoapVersion = SOAP_12,
    *,
    certificate_address: str | None = None,
) -> etree._Element:
    """The STS's WSDL (see the module docstring) for its endpoint at ``address``; with
    ``certificate_address``, a second binding and port there for the certificate sign-in
    (as ADFS publishes ``certificatemixed`` beside ``usernamemixed``)."""
    from wssc.bootstrap.registry import policy_for

    port_type, operation, binding = names(trust)
    policy_id = f"{binding}_policy"
    policy = policy_for(sts_settings(trust), policy_id=policy_id)
    bindings = [(binding, policy_id, address)]
    wsp = etree.QName(policy).namespace or ns.WSP15
    soap_ns = ns.WSDL_SOAP12 if soap is SOAP_12 else ns.WSDL_SOAP11
    tprefix = "trust" if trust.ns == ns.TRUST_13 else "t"
    nsmap = {
        "wsdl": ns.WSDL,
        "soap12" if soap is SOAP_12 else "soap": soap_ns,
        "wsu": ns.WSU,
        "wsp": wsp,
        "tns": TARGET_NS,
        "wsa10": ns.WSA10,
        "wsaw": ns.WSAW,
        "xs": ns.XSD,
        tprefix: trust.ns,
    }
    root = etree.Element(_w("definitions"), nsmap=nsmap, name=SERVICE_NAME, targetNamespace=TARGET_NS)
    root.append(policy)
    if certificate_address is not None:
        cert_binding = names(trust, certificate=True)[2]
        cert_policy = f"{cert_binding}_policy"
        root.append(policy_for(sts_settings(trust, certificate=True), policy_id=cert_policy))
        bindings.append((cert_binding, cert_policy, certificate_address))
    schema = etree.SubElement(etree.SubElement(root, _w("types")), ns.qn(ns.XSD, "schema"))
    etree.SubElement(schema, ns.qn(ns.XSD, "import"), namespace=trust.ns)

    if trust.ns == ns.TRUST_13:
        reply_element, reply_action = "RequestSecurityTokenResponseCollection", trust.rstrc_issue_final
    else:
        reply_element, reply_action = "RequestSecurityTokenResponse", trust.rstr_issue
    ios = (
        ("input", "Input", "request", "RequestSecurityToken", trust.rst_issue),
        ("output", "Output", "response", reply_element, reply_action),
    )
    for _io, kind, part, element, _action in ios:
        msg = etree.SubElement(root, _w("message"), name=f"{port_type}_{operation}_{kind}Message")
        etree.SubElement(msg, _w("part"), name=part, element=f"{tprefix}:{element}")

    op = etree.SubElement(etree.SubElement(root, _w("portType"), name=port_type), _w("operation"))
    op.set("name", operation)
    for io, kind, _part, _element, action in ios:
        el = etree.SubElement(op, _w(io))
        el.set(ns.qn(ns.WSAW, "Action"), action)
        el.set("message", f"tns:{port_type}_{operation}_{kind}Message")

    for name, pid, _address in bindings:
        b = etree.SubElement(root, _w("binding"), name=name, type=f"tns:{port_type}")
        etree.SubElement(b, ns.qn(wsp, "PolicyReference"), URI=f"#{pid}")
        etree.SubElement(b, ns.qn(soap_ns, "binding"), transport=ns.WSDL_SOAP_HTTP)
        bop = etree.SubElement(b, _w("operation"), name=operation)
        etree.SubElement(bop, ns.qn(soap_ns, "operation"), soapAction=trust.rst_issue, style="document")
        for io, *_ in ios:
            etree.SubElement(etree.SubElement(bop, _w(io)), ns.qn(soap_ns, "body"), use="literal")

    service = etree.SubElement(root, _w("service"), name=SERVICE_NAME)
    for name, _pid, where in bindings:
        port = etree.SubElement(service, _w("port"), name=name, binding=f"tns:{name}")
        etree.SubElement(port, ns.qn(soap_ns, "address"), location=where)
        epr = etree.SubElement(port, ns.qn(ns.WSA10, "EndpointReference"))
        etree.SubElement(epr, ns.qn(ns.WSA10, "Address")).text = where
    return root


def metadata_element(wsdl: etree._Element) -> etree._Element:
    """``<mex:Metadata><mex:MetadataSection Dialect="…/wsdl/" Identifier="tns">wsdl…``."""
    md = etree.Element(ns.qn(ns.MEX, "Metadata"), nsmap={"wsx": ns.MEX})
    section = etree.SubElement(md, ns.qn(ns.MEX, "MetadataSection"), Dialect=ns.WSDL)
    section.set("Identifier", wsdl.get("targetNamespace") or TARGET_NS)
    section.append(wsdl)
    return md


def looks_like_get(body: bytes) -> bool:
    """Might ``body`` be a WS-Transfer Get (a cheap look at its start, before any parsing)?
    An RST never names the Get action in its headers."""
    return ns.MEX_GET_ACTION.encode() in body[:_ACTION_WINDOW]


def is_get(env: Envelope) -> bool:
    return env.action == ns.MEX_GET_ACTION


def get_response(env: Envelope, wsdl: etree._Element) -> etree._Element:
    """The answer to a Get: ``GetResponse``, related to its MessageID, the WSDL in a section."""
    return new_envelope(
        env.version,
        action=ns.MEX_GET_RESPONSE_ACTION,
        relates_to=env.message_id,
        message_id=False,
        payload=metadata_element(wsdl),
    )


__all__ = [
    "CERTIFICATE_SUFFIX",
    "SERVICE_NAME",
    "TARGET_NS",
    "get_response",
    "is_get",
    "looks_like_get",
    "metadata_element",
    "names",
    "sts_settings",
    "sts_wsdl",
]
