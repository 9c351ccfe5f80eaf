"""Federation: SAML assertions issued by a security token service (WCF's IssuedToken).

* `wssc.federation.saml2`: the SAML 2.0 assertion model; issue (build and sign) and read.
* `wssc.federation.saml_signature`: the issuer's RSA-SHA256 signature, through signxml
  (the ``federation`` extra), never a second hand-written XML-DSig.
* `wssc.federation.saml_checks`: what a relying party checks before it trusts one: the
  issuer's signature, audience, lifetime with skew, replay, and the holder-of-key proof key.
"""
