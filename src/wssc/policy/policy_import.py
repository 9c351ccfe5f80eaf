"""Import a WCF-shaped WS-SecurityPolicy expression into `SecureConversationSettings`.

Like WCF's importer, every assertion of an alternative must be understood: whatever is left
over raises `ConfigurationError` naming it. The rules (reference §A.11):

* ``mssp:MustNotSendCancel`` or ``sp:MustNotSendCancel`` ⇒ ``require_cancellation=False``;
* ``sp:MustNotSendRenew`` ⇒ ``can_renew_session=False``; ``sp:MustNotSendAmend`` is read and
  ignored (WCF never amends);
* ``sp:RequireDerivedKeys`` (SP 1.2 also ``sp:RequireExplicitDerivedKeys``) ⇒ derived keys;
  ``sp:RequireImpliedDerivedKeys`` is refused, as WCF refuses it;
* the SP namespace picks the family: SP 1.1 ⇒ WSHttpBinding, SP 1.2 ⇒ WS2007HttpBinding;
* ``sp:SymmetricBinding`` whose protection token is an ``sp:SecureConversationToken`` ⇒ message
  mode, and its ``sp:BootstrapPolicy`` must be AnonymousForCertificate (X.509 token, Never);
* ``sp:TransportBinding`` + ``sp:EndorsingSupportingTokens/sp:SecureConversationToken`` ⇒
  over transport, and the bootstrap must carry a ``sp:UsernameToken`` (UserNameOverTransport)
  or an endorsing ``sp:X509Token`` (CertificateOverTransport);
* no ``sp:SecureConversationToken`` ⇒ ``establish_security_context=False`` (the binding itself
  is then the bootstrap).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final, TypeVar

from lxml import etree

from wssc.crypto.suites import SUITES, get_suite
from wssc.errors import ConfigurationError, UnsupportedAlgorithm
from wssc.logs import printable
from wssc.settings import Bootstrap, KeyEntropyMode, SecureConversationSettings
from wssc.xml import ns

from .model import ImportedPolicy, PolicyEvidence
from .normalize import Alternative, Resolver, alternatives, nested_policy
from .shapes import BindingFacts, BootstrapShape
from .vocab import SP11_DIALECT, SP12_DIALECT, SpDialect, pretty
from .wcf_assertions import screen

T = TypeVar("T")

#: Why a well-known assertion is refused, shown next to its name.
_HINTS: Final = {
    "SpnegoContextToken": "SPNEGO is supported in WCF's shape only (RequireDerivedKeys, MustNotSend*)",
    "SslContextToken": "TLSNEGO (SSL negotiation) is not supported",
    "KerberosToken": "Kerberos is supported as the protection token of WCF's Kerberos bootstrap only",
    "IssuedToken": "issued (federated) tokens are not supported",
    "X509Token": "client certificates are not supported",
    "Wss10": "WS-Security 1.0 (WCF's WSSecurity10… versions) runs only over transport",
    "EncryptBeforeSigning": "only the SignBeforeEncrypt protection orders are supported",
    "RequireSignatureConfirmation": "signature confirmation on session messages is not supported",
}


class _Bag:
    """The assertions of one alternative; importing an assertion takes it out."""

    def __init__(self, items: Alternative, where: str) -> None:
        self.items = list(items)
        self.where = where

    def take(self, namespace: str, local: str) -> etree._Element | None:
        for el in self.items:
            q = etree.QName(el)
            if q.namespace == namespace and q.localname == local:
                self.items.remove(el)
                return el
        return None

    def require(self, namespace: str, local: str) -> etree._Element:
        el = self.take(namespace, local)
        if el is None:
            raise ConfigurationError(f"{self.where} has no {_pretty_name(namespace, local)}")
        return el

    def finish(self) -> None:
        if self.items:
            names = []
            for el in self.items:
                hint = _HINTS.get(etree.QName(el).localname)
                names.append(f"{pretty(el)} ({hint})" if hint else pretty(el))
            raise ConfigurationError(f"unsupported assertion in {self.where}: " + ", ".join(names))


def _pretty_name(namespace: str, local: str) -> str:
    return pretty(etree.Element(ns.qn(namespace, local)))


@dataclass(slots=True)
class _Session:
    require_derived_keys: bool
    cancel: str | None
    renew: str | None
    amend: bool
    bootstrap: BindingFacts


class PolicyReader:
    def __init__(self, dialect: SpDialect, resolve: Resolver, bootstraps: Sequence[BootstrapShape]) -> None:
        self.d = dialect
        self.sp = dialect.ns
        self.resolve = resolve
        self.bootstraps = bootstraps

    # --- helpers --------------------------------------------------------------------------
    def nested(self, assertion: etree._Element, fn: Callable[[_Bag], T]) -> T:
        """Apply ``fn`` to the first alternative of the assertion's nested policy it accepts."""
        policy = nested_policy(assertion)
        alts = alternatives(policy, self.resolve) if policy is not None else [[]]
        errors: list[ConfigurationError] = []
        for alt in alts:
            try:
                return fn(_Bag(alt, pretty(assertion)))
            except ConfigurationError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        raise ConfigurationError(f"{pretty(assertion)} has an empty wsp:ExactlyOne")

    def single(self, bag: _Bag) -> etree._Element:
        if len(bag.items) != 1:
            raise ConfigurationError(f"{bag.where} must hold exactly one assertion")
        return bag.items.pop()

    def include_token(self, token: etree._Element, expected: str) -> None:
        value = token.get(ns.qn(self.sp, "IncludeToken"), token.get("IncludeToken"))
        if value != expected:
            raise ConfigurationError(
                f"{pretty(token)} has sp:IncludeToken={value!r}; wssc supports {expected!r}"
            )

    def derived_keys(self, bag: _Bag) -> bool:
        on = bag.take(self.sp, "RequireDerivedKeys") is not None
        if self.d.is_sp12 and bag.take(self.sp, "RequireExplicitDerivedKeys") is not None:
            on = True
        if bag.take(self.sp, "RequireImpliedDerivedKeys") is not None:
            raise ConfigurationError(
                f"sp:RequireImpliedDerivedKeys in {bag.where} is not supported "
                "(WCF refuses it too): derived keys must be explicit DerivedKeyTokens"
            )
        return on

    # --- small assertions -----------------------------------------------------------------
    def suite(self, assertion: etree._Element) -> str:
        def one(bag: _Bag) -> str:
            name = etree.QName(self.single(bag)).localname
            try:
                return get_suite(name).name
            except UnsupportedAlgorithm:
                known = ", ".join(s.name for s in SUITES.values())
                raise ConfigurationError(
                    f"algorithm suite sp:{name} is not supported; wssc supports {known}"
                ) from None

        return self.nested(assertion, one)

    def layout(self, assertion: etree._Element) -> None:
        def one(bag: _Bag) -> None:
            name = etree.QName(self.single(bag)).localname
            if name not in ("Strict", "Lax", "LaxTsFirst"):
                raise ConfigurationError(f"security header layout sp:{name} is not supported")

        self.nested(assertion, one)

    def parts_with_body(self, assertion: etree._Element) -> None:
        children = [c for c in assertion if isinstance(c.tag, str)]
        body = False
        for c in children:
            q = etree.QName(c)
            if q.namespace != self.sp or q.localname not in ("Body", "Header"):
                raise ConfigurationError(f"unsupported {pretty(c)} in {pretty(assertion)}")
            body = body or q.localname == "Body"
        if not body:
            raise ConfigurationError(
                f"the bootstrap policy's {pretty(assertion)} does not cover the Body: WCF requires "
                "RST/RSTR bodies to be signed and encrypted"
            )

    def wss11(self, assertion: etree._Element) -> bool:
        def one(bag: _Bag) -> bool:
            for name in (
                "MustSupportRefKeyIdentifier",
                "MustSupportRefIssuerSerial",
                "MustSupportRefThumbprint",
                "MustSupportRefEncryptedKey",
            ):
                bag.take(self.sp, name)
            confirmation = bag.take(self.sp, "RequireSignatureConfirmation") is not None
            bag.finish()
            return confirmation

        return self.nested(assertion, one)

    def wss10(self, assertion: etree._Element) -> None:
        def one(bag: _Bag) -> None:
            for name in (
                "MustSupportRefKeyIdentifier",
                "MustSupportRefIssuerSerial",
                "MustSupportRefExternalURI",
                "MustSupportRefEmbeddedToken",
            ):
                bag.take(self.sp, name)
            bag.finish()

        self.nested(assertion, one)

    def trust(self, assertion: etree._Element) -> KeyEntropyMode:
        def one(bag: _Bag) -> KeyEntropyMode:
            bag.take(self.sp, "MustSupportIssuedTokens")
            client = bag.take(self.sp, "RequireClientEntropy") is not None
            server = bag.take(self.sp, "RequireServerEntropy") is not None
            if self.d.is_sp12:
                bag.take(self.sp, "RequireAppliesTo")
            bag.finish()
            if client and not server:
                return KeyEntropyMode.CLIENT
            if server and not client:
                return KeyEntropyMode.SERVER
            return KeyEntropyMode.COMBINED

        return self.nested(assertion, one)

    # --- tokens ---------------------------------------------------------------------------
    def x509_protection(self, token: etree._Element) -> bool:
        """AnonymousForCertificate's protection token; returns its RequireDerivedKeys."""
        self.include_token(token, self.d.never)

        def one(bag: _Bag) -> bool:
            derived = self.derived_keys(bag)
            for name in (
                "RequireThumbprintReference",
                "RequireKeyIdentifierReference",
                "RequireIssuerSerialReference",
                "WssX509V3Token10",
            ):
                bag.take(self.sp, name)
            bag.finish()
            return derived

        return self.nested(token, one)

    def signed_supporting(self, assertion: etree._Element, *, transport: bool) -> etree._Element | None:
        """A signed (encrypted) supporting token: over transport, an ``sp:IssuedToken`` (a
        bearer token: WCF's IssuedTokenOverTransport with ``IssuedKeyType.BearerKey``), which
        is returned; else a UsernameToken (None returned)."""

        def one(bag: _Bag) -> etree._Element | None:
            issued = bag.take(self.sp, "IssuedToken") if transport else None
            if issued is None:
                return None
            self.include_token(issued, self.d.always_to_recipient)
            bag.finish()
            return issued

        issued = self.nested(assertion, one)
        if issued is None:
            self.username_tokens(assertion)
        return issued

    def username_tokens(self, assertion: etree._Element) -> None:
        def one(bag: _Bag) -> None:
            token = bag.require(self.sp, "UsernameToken")
            self.include_token(token, self.d.always_to_recipient)

            def inner(b: _Bag) -> None:
                b.take(self.sp, "WssUsernameToken10")
                b.finish()

            self.nested(token, inner)
            bag.finish()

        self.nested(assertion, one)

    def endorsing(
        self, assertion: etree._Element, *, in_bootstrap: bool, transport: bool, session: bool = False
    ) -> tuple[etree._Element | None, etree._Element | None, etree._Element | None]:
        """The endorsing SCT, the endorsing ``sp:X509Token`` (a client certificate) and the
        endorsing ``sp:IssuedToken`` (federation: WCF's IssuedTokenOverTransport and
        IssuedTokenForCertificate); None for one the alternative does not hold (an optional
        one, such as ADFS's ``sp:KeyValueToken wsp:Optional``, left out)."""

        def one(bag: _Bag) -> tuple[etree._Element | None, etree._Element | None, etree._Element | None]:
            sct = None if in_bootstrap else bag.take(self.sp, "SecureConversationToken")
            # a client certificate: CertificateOverTransport's over transport, MutualCertificate's
            # under message security (its bootstrap, or its binding without a session); on a
            # session binding it is left over and refused by name
            x509 = bag.take(self.sp, "X509Token") if transport or not session else None
            if x509 is not None:
                self.x509_endorsing(x509)
            issued = bag.take(self.sp, "IssuedToken") if transport or not session else None
            if issued is not None:
                self.include_token(issued, self.d.always_to_recipient)
            bag.take(self.sp, "SignedParts")
            bag.finish()
            return sct, x509, issued

        return self.nested(assertion, one)

    def x509_endorsing(self, token: etree._Element) -> None:
        """An endorsing client certificate, sent in the message (WCF: AlwaysToRecipient; the
        reference assertion says how it is named when it is not in the message)."""
        self.include_token(token, self.d.always_to_recipient)

        def one(bag: _Bag) -> None:
            if bag.take(self.sp, "RequireDerivedKeys") is not None:
                raise ConfigurationError(
                    "sp:RequireDerivedKeys on an endorsing sp:X509Token is not supported"
                )
            for name in (
                "RequireThumbprintReference",
                "RequireKeyIdentifierReference",
                "RequireIssuerSerialReference",
                "WssX509V3Token10",
            ):
                bag.take(self.sp, name)
            bag.finish()

        self.nested(token, one)

    # --- bindings -------------------------------------------------------------------------
    def symmetric(self, assertion: etree._Element) -> BindingFacts:
        def one(bag: _Bag) -> BindingFacts:
            pt = bag.require(self.sp, "ProtectionToken")
            token = self.nested(pt, self.single)
            suite = self.suite(bag.require(self.sp, "AlgorithmSuite"))
            layout = bag.take(self.sp, "Layout")
            if layout is not None:
                self.layout(layout)
            bag.take(self.sp, "IncludeTimestamp")
            encrypt_signature = bag.take(self.sp, "EncryptSignature") is not None
            bag.take(self.sp, "OnlySignEntireHeadersAndBody")
            bag.finish()
            return BindingFacts(False, suite, encrypt_signature, protection_token=token)

        return self.nested(assertion, one)

    def asymmetric(self, assertion: etree._Element) -> BindingFacts:
        """WCF's MutualCertificate under WS-Security 1.0: X.509 initiator (the client's,
        AlwaysToRecipient) and recipient (the service's, Never) tokens, without derived keys."""

        def token(bag: _Bag) -> etree._Element:
            el = self.single(bag)
            if etree.QName(el).localname != "X509Token" or etree.QName(el).namespace != self.sp:
                raise ConfigurationError(f"{pretty(el)} in an sp:AsymmetricBinding is not supported")
            return el

        def one(bag: _Bag) -> BindingFacts:
            initiator = self.nested(bag.require(self.sp, "InitiatorToken"), token)
            recipient = self.nested(bag.require(self.sp, "RecipientToken"), token)
            self.x509_endorsing(initiator)
            if self.x509_protection(recipient):
                raise ConfigurationError(
                    "sp:RequireDerivedKeys on an sp:AsymmetricBinding token is not supported"
                )
            suite = self.suite(bag.require(self.sp, "AlgorithmSuite"))
            layout = bag.take(self.sp, "Layout")
            if layout is not None:
                self.layout(layout)
            bag.take(self.sp, "IncludeTimestamp")
            encrypt_signature = bag.take(self.sp, "EncryptSignature") is not None
            bag.take(self.sp, "OnlySignEntireHeadersAndBody")
            bag.finish()
            return BindingFacts(
                False, suite, encrypt_signature, initiator_token=initiator, recipient_token=recipient
            )

        return self.nested(assertion, one)

    def https_token(self, bag: _Bag) -> None:
        token = bag.require(self.sp, "HttpsToken")
        bag.finish()
        if token.get("RequireClientCertificate", "false").strip() in ("true", "1"):
            raise ConfigurationError("HTTPS client certificates (RequireClientCertificate) are not supported")

        def inner(b: _Bag) -> None:
            b.finish()  # RequireClientCertificate, HttpBasicAuthentication, HttpDigest…

        self.nested(token, inner)

    def transport(self, assertion: etree._Element) -> BindingFacts:
        def one(bag: _Bag) -> BindingFacts:
            self.nested(bag.require(self.sp, "TransportToken"), self.https_token)
            suite = self.suite(bag.require(self.sp, "AlgorithmSuite"))
            layout = bag.take(self.sp, "Layout")
            if layout is not None:
                self.layout(layout)
            bag.take(self.sp, "IncludeTimestamp")
            bag.finish()
            return BindingFacts(True, suite)

        return self.nested(assertion, one)

    def binding(self, bag: _Bag, *, in_bootstrap: bool) -> BindingFacts:
        """The binding assertion plus supporting tokens, Wss11 and Trust of one alternative."""
        sym = bag.take(self.sp, "SymmetricBinding")
        tb = bag.take(self.sp, "TransportBinding") if sym is None else None
        asym = bag.take(self.sp, "AsymmetricBinding") if sym is None and tb is None else None
        if sym is not None:
            b = self.symmetric(sym)
        elif tb is not None:
            b = self.transport(tb)
        elif asym is not None:
            b = self.asymmetric(asym)
        else:
            bag.finish()
            raise ConfigurationError(
                f"{bag.where} has no sp:SymmetricBinding, sp:AsymmetricBinding or sp:TransportBinding"
            )
        for name in ("SignedSupportingTokens", "SignedEncryptedSupportingTokens"):
            supporting = bag.take(self.sp, name)
            if supporting is not None:
                b.signed_issued = self.signed_supporting(supporting, transport=b.transport)
                b.username = b.signed_issued is None
        endorsing = bag.take(self.sp, "EndorsingSupportingTokens")
        if endorsing is not None:
            b.endorsing_sct, b.endorsing_x509, b.endorsing_issued = self.endorsing(
                endorsing, in_bootstrap=in_bootstrap, transport=b.transport, session=b.sct is not None
            )
        wss = bag.take(self.sp, "Wss11")
        if wss is not None:
            b.signature_confirmation = self.wss11(wss)
        wss10 = bag.take(self.sp, "Wss10") if wss is None else None
        if wss10 is not None:
            self.wss10(wss10)
            b.wss10 = True
        trust = bag.take(self.sp, self.d.trust_name)
        if trust is not None:
            b.entropy = self.trust(trust)
        return b

    def bootstrap_policy(self, assertion: etree._Element) -> BindingFacts:
        def one(bag: _Bag) -> BindingFacts:
            for name in ("SignedParts", "EncryptedParts"):
                parts = bag.take(self.sp, name)
                if parts is not None:
                    self.parts_with_body(parts)
            b = self.binding(bag, in_bootstrap=True)
            bag.finish()
            return b

        return self.nested(assertion, one)

    def session(self, sct: etree._Element) -> _Session:
        self.include_token(sct, self.d.always_to_recipient)
        if nested_policy(sct) is None:
            raise ConfigurationError(
                "sp:SecureConversationToken has no nested policy, so no "
                "sp:BootstrapPolicy: the bootstrap is unknown"
            )

        def one(bag: _Bag) -> _Session:
            derived = self.derived_keys(bag)
            cancel = None
            for cancel_ns in (ns.MSSP, self.sp):
                el = bag.take(cancel_ns, "MustNotSendCancel")
                cancel = cancel or (pretty(el) if el is not None else None)
            amend = bag.take(self.sp, "MustNotSendAmend") is not None
            renew_el = bag.take(self.sp, "MustNotSendRenew")
            bootstrap = self.bootstrap_policy(bag.require(self.sp, "BootstrapPolicy"))
            bag.finish()
            renew = pretty(renew_el) if renew_el is not None else None
            return _Session(derived, cancel, renew, amend, bootstrap)

        return self.nested(sct, one)

    # --- the endpoint policy --------------------------------------------------------------
    def endpoint(self, alt: Alternative) -> ImportedPolicy:
        bag = _Bag(alt, "the endpoint policy")
        bag.take(ns.WSAW, "UsingAddressing")
        bag.take(ns.WSAM, "Addressing")
        outer = self.binding(bag, in_bootstrap=False)
        bag.finish()
        sct = outer.sct
        if sct is None:
            return self.assemble(outer, None, outer)
        if outer.signature_confirmation:
            raise ConfigurationError(
                "sp:RequireSignatureConfirmation on the session binding is "
                "not supported (WCF forces it off for secure sessions)"
            )
        session = self.session(sct)
        return self.assemble(outer, session, session.bootstrap)

    def bootstrap_kind(self, b: BindingFacts) -> tuple[Bootstrap, bool]:
        """(bootstrap, derived keys of its protection token) for a bootstrap binding: the
        first registered shape that recognises it."""
        if b.sct is not None:
            raise ConfigurationError(
                "a secure conversation bootstrapped by another secure conversation is not supported"
            )
        for shape in self.bootstraps:
            derived = shape.recognize(self, b)
            if derived is not None:
                return shape.key, derived
        supported = ", ".join(shape.key.value for shape in self.bootstraps) or "none"
        if b.endorsing_issued is not None:
            raise ConfigurationError(
                f"{pretty(b.endorsing_issued)} as an endorsing supporting token is supported in "
                "the shapes of WCF's IssuedTokenOverTransport and IssuedTokenForCertificate only; "
                f"wssc supports {supported}"
            )
        if b.transport:
            raise ConfigurationError(
                "a transport bootstrap without a sp:UsernameToken or an endorsing sp:X509Token "
                f"(SspiNegotiatedOverTransport…) is not supported; wssc supports {supported}"
            )
        token = b.protection_token
        assert token is not None  # a symmetric binding always has one
        name = etree.QName(token).localname
        hint = _HINTS.get(name, f"wssc supports {supported}")
        raise ConfigurationError(f"protection token {pretty(token)} is not supported: {hint}")

    def assemble(self, outer: BindingFacts, session: _Session | None, boot: BindingFacts) -> ImportedPolicy:
        kind, x509_derived = self.bootstrap_kind(boot)
        wss10 = outer.wss10 or boot.wss10
        if boot.asymmetric and not wss10:
            raise ConfigurationError(
                "an sp:AsymmetricBinding with sp:Wss11 is not supported: WCF's MutualCertificate "
                "is an AsymmetricBinding under WS-Security 1.0 (sp:Wss10) only, and a "
                "SymmetricBinding under 1.1"
            )
        if wss10 and not boot.transport and not boot.asymmetric:
            raise ConfigurationError(
                f"sp:Wss10 (WS-Security 1.0, WCF's WSSecurity10… message security versions) "
                f"with the {kind.value} bootstrap is not supported: message security needs "
                "WS-Security 1.1 (EncryptedKey and thumbprint references); use a WSSecurity11… "
                "version, or a bootstrap over transport (TransportWithMessageCredential)"
            )
        version = self.d.wss10_version if wss10 else self.d.message_security_version
        if session is None:
            derived = x509_derived
        else:
            derived = session.require_derived_keys
            if outer.transport != boot.transport:
                raise ConfigurationError(
                    "the session binding and its bootstrap must both be "
                    "message security or both transport security"
                )
            if outer.suite != boot.suite:
                raise ConfigurationError(
                    f"the session uses {outer.suite} but its bootstrap uses "
                    f"{boot.suite}; wssc uses one suite per endpoint"
                )
            if outer.transport and derived:
                raise ConfigurationError(
                    "sp:RequireDerivedKeys on a secure conversation over "
                    "transport is not supported (WCF turns it off)"
                )
            # (an asymmetric bootstrap's X.509 tokens never derive keys, as WCF's)
            if not outer.transport and not boot.asymmetric and derived != x509_derived:
                raise ConfigurationError(
                    "the session and its bootstrap disagree on sp:RequireDerivedKeys; "
                    "wssc derives keys in both or neither"
                )
        _check_key_type(boot.issued_token, self.sp, bearer=boot.signed_issued is not None)
        issuer, issuer_metadata = _read_issuer(boot.issued_token, self.sp)
        settings = SecureConversationSettings(
            require_cancellation=session is None or session.cancel is None,
            can_renew_session=session is None or session.renew is None,
            require_derived_keys=derived,
            bootstrap=kind,
            algorithm_suite=outer.suite,
            message_security_version=version,
            establish_security_context=session is not None,
            key_entropy_mode=boot.entropy or outer.entropy or KeyEntropyMode.COMBINED,
            encrypt_signature=outer.encrypt_signature if not outer.transport else True,
            issuer_address=issuer,
            issuer_metadata=issuer_metadata,
            issued_token_type=_template_token_type(boot.issued_token, self.sp),
        )
        evidence = PolicyEvidence(
            must_not_send_cancel=session.cancel if session else None,
            must_not_send_renew=session.renew if session else None,
            must_not_send_amend=session.amend if session else False,
            bootstrap_signature_confirmation=boot.signature_confirmation,
        )
        return ImportedPolicy(settings, evidence)


def _dialect(alt: Alternative) -> SpDialect:
    found = {etree.QName(el).namespace for el in alt} & {ns.SP11, ns.SP12}
    if len(found) > 1:
        raise ConfigurationError("the policy mixes WS-SecurityPolicy 1.1 and 1.2 assertions")
    if not found:
        names = ", ".join(pretty(el) for el in alt) or "none"
        raise ConfigurationError(
            f"the policy has no WS-SecurityPolicy assertions (found: {names}); wssc needs "
            "message security or TransportWithMessageCredential"
        )
    return SP12_DIALECT if ns.SP12 in found else SP11_DIALECT


def policy_index(root: etree._Element) -> dict[str, etree._Element]:
    """Every ``wsp:Policy`` under ``root`` (inclusive) by its ``wsu:Id``."""
    index: dict[str, etree._Element] = {}
    for wsp in (ns.WSP15, ns.WSP12):
        for el in root.iter(ns.qn(wsp, "Policy")):
            pid = el.get(ns.qn(ns.WSU, "Id"))
            if pid:
                index.setdefault(pid, el)
    return index


def resolver(index: dict[str, etree._Element]) -> Resolver:
    """Resolve same-document references (``#id``); external URIs are never fetched."""

    def resolve(uri: str) -> etree._Element | None:
        return index.get(uri[1:]) if uri.startswith("#") else None

    return resolve


def import_policy(
    policy: etree._Element,
    *,
    bootstraps: Sequence[BootstrapShape],
    resolve: Resolver | None = None,
) -> ImportedPolicy:
    """Import one endpoint ``wsp:Policy``: the first alternative wssc can honour wins.
    ``bootstraps`` are the shapes to recognise (the registry's:
    `wssc.bootstrap.registry.settings_from_policy`).

    Raises `ConfigurationError` naming the first assertion it cannot honour.
    """
    if resolve is None:
        resolve = resolver(policy_index(policy.getroottree().getroot()))
    alts = alternatives(policy, resolve)
    errors: list[ConfigurationError] = []
    for alt in alts:
        try:
            rest, notes = screen(alt)
            imported = PolicyReader(_dialect(rest), resolve, bootstraps).endpoint(rest)
        except ConfigurationError as exc:
            errors.append(exc)
            continue
        if notes:
            imported = replace(imported, evidence=replace(imported.evidence, notes=notes))
        return imported
    if errors:
        raise errors[0]
    raise ConfigurationError("the policy has no alternatives (an empty wsp:ExactlyOne)")


def _template_token_type(token: etree._Element | None, sp: str) -> str:
    """The ``wst:TokenType`` (either WS-Trust version) an ``sp:IssuedToken``'s
    ``RequestSecurityTokenTemplate`` names; SAML 2.0's when it names none."""
    if token is None or etree.QName(token).localname != "IssuedToken":
        return ns.WSS_SAML2_TOKEN_TYPE
    for trust in (ns.TRUST_13, ns.TRUST_2005):
        found = token.find(f"{{{sp}}}RequestSecurityTokenTemplate/{{{trust}}}TokenType")
        if found is not None and (found.text or "").strip():
            return (found.text or "").strip()[:2048]
    return ns.WSS_SAML2_TOKEN_TYPE


def _check_key_type(token: etree._Element | None, sp: str, *, bearer: bool) -> None:
    """An ``sp:IssuedToken`` whose ``RequestSecurityTokenTemplate`` asks for another key type
    than the shape it sits in takes is refused by name: an endorsing or protection token
    carries a symmetric proof key (not ADFS's ``issuedtokenasymmetric…`` PublicKey, nor a
    bearer token); a signed supporting token over transport is a bearer token."""
    if token is None:
        return
    for trust in (ns.TRUST_FEB2005, ns.TRUST_V13):
        found = token.find(f"{{{sp}}}RequestSecurityTokenTemplate/{{{trust.ns}}}KeyType")
        if found is None:
            continue
        key_type = (found.text or "").strip()
        if bearer and key_type not in (ns.TRUST_FEB2005.bearer_key, ns.TRUST_V13.bearer_key):
            raise ConfigurationError(
                f"sp:IssuedToken as a signed supporting token asks for KeyType "
                f"{printable(key_type, 200)!r}; wssc takes a bearer token there (KeyType Bearer)"
            )
        if not bearer and key_type != trust.symmetric_key:
            raise ConfigurationError(
                f"sp:IssuedToken asks for KeyType {printable(key_type, 200)!r}; wssc's endorsing "
                "issued tokens carry a symmetric proof key (SymmetricKey); a bearer token is taken "
                "as a signed supporting token over transport"
            )


def _read_issuer(token: etree._Element | None, sp: str) -> tuple[str | None, str | None]:
    """(the STS address, its metadata address) an ``sp:IssuedToken`` names, if any."""
    if token is None or etree.QName(token).localname != "IssuedToken":
        return None, None
    issuer = token.find(f"{{{sp}}}Issuer")
    if issuer is None:
        return None, None
    addr = issuer.find(f"{{{ns.WSA10}}}Address")
    meta = issuer.find(f".//{{{ns.MEX}}}MetadataReference/{{{ns.WSA10}}}Address")
    text = (addr.text or "").strip()[:2048] if addr is not None else None
    return text or None, (meta.text or "").strip()[:2048] if meta is not None else None
