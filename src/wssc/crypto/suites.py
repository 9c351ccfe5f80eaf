"""WCF's security algorithm suites: URIs and key lengths (reference §A.9).

=================  ==============  =========  ================  ==========  ===========
suite              encryption      key wrap   signature (sym)   sig DK      enc DK
=================  ==============  =========  ================  ==========  ===========
Basic256 (dflt)    aes256-cbc      kw-aes256  hmac-sha1         24 bytes    32 bytes
Basic192           aes192-cbc      kw-aes192  hmac-sha1         24 bytes    24 bytes
Basic128           aes128-cbc      kw-aes128  hmac-sha1         16 bytes    16 bytes
Basic256Sha256     aes256-cbc      kw-aes256  hmac-sha256       24 bytes    32 bytes
TripleDes          tripledes-cbc   kw-3des    hmac-sha1         24 bytes    24 bytes
=================  ==============  =========  ================  ==========  ===========

Each has an ``…Rsa15`` twin whose asymmetric key wrap is RSA-1.5 instead of RSA-OAEP.

Two readings of the suites' signature algorithms (`AlgorithmSuite.read_as`):

- ``"wcf"`` (the default): WCF's ``SecurityAlgorithmSuite`` classes. The ``…Sha256`` suites
  sign with HMAC-SHA256 (symmetric) and RSA-SHA256 (asymmetric)
  (``Basic256Sha256SecurityAlgorithmSuite.DefaultSymmetricSignatureAlgorithm``).
- ``"ws-sp"``: WS-SecurityPolicy 1.2 §6.1, whose table gives every suite ``[Sym Sig]
  HmacSha1`` and ``[Asym Sig] RsaSha1``; ``Basic256Sha256`` changes only the digest to SHA-256.
  Metro and WSS4J/CXF read the suites so (WSS4J's ``AlgorithmSuiteType`` for Basic256Sha256:
  digest sha256, signatures hmac-sha1/rsa-sha1).
- ``"mono"``: Mono's WCF (6.8), which signs with RSA-SHA256 under every suite (its X.509
  endorsements under ``Basic256`` carry ``rsa-sha256``, ``../shared/peers/mono`` captures) and
  with the suite's HMAC otherwise. Only for a Mono peer (`MONO_COMPATIBLE`).

The first two differ only for the ``…Sha256`` suites; everything else (digest, encryption, key
wraps, derived key lengths) is the same in both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from wssc.errors import UnsupportedAlgorithm
from wssc.settings import SuiteReading
from wssc.xml import ns


@dataclass(frozen=True, slots=True)
class AlgorithmSuite:
    name: str
    encryption: str
    symmetric_key_wrap: str
    asymmetric_key_wrap: str
    symmetric_signature: str
    asymmetric_signature: str
    digest: str
    signature_key_length: int  # bytes, for derived signature keys
    encryption_key_length: int  # bytes, for derived encryption keys
    symmetric_key_bits: int  # the issued SCT key size (RST KeySize)
    min_symmetric_key_bits: int
    max_symmetric_key_bits: int
    c14n: str = ns.EXC_C14N

    @property
    def max_derived_key_length(self) -> int:
        """WCF's MaxDerivedKeyLength: the larger of the signature and encryption DK lengths."""
        return max(self.signature_key_length, self.encryption_key_length)

    @property
    def sp_name(self) -> str:
        """The WS-SecurityPolicy assertion local name (``Basic256``, ``TripleDesRsa15``…)."""
        return self.name

    def read_as(self, reading: SuiteReading) -> AlgorithmSuite:
        """This suite's signature algorithms as ``reading`` defines them (see the module's
        docstring): ``"wcf"`` leaves it as it is; ``"ws-sp"`` signs with HMAC-SHA1 and
        RSA-SHA1, WS-SecurityPolicy's ``[Sym Sig]`` and ``[Asym Sig]`` for every suite; ``"mono"``
        signs with RSA-SHA256 in every suite."""
        if reading == "wcf":
            return self
        if reading == "ws-sp":
            return replace(self, symmetric_signature=ns.HMAC_SHA1, asymmetric_signature=ns.RSA_SHA1)
        if reading == "mono":
            return replace(self, asymmetric_signature=ns.RSA_SHA256)
        raise UnsupportedAlgorithm(f"unknown suite reading {reading!r}; known: wcf, ws-sp, mono")


def _rsa15(s: AlgorithmSuite) -> AlgorithmSuite:
    return replace(s, name=s.name + "Rsa15", asymmetric_key_wrap=ns.RSA_15)


BASIC256: Final = AlgorithmSuite(
    "Basic256",
    ns.AES256_CBC,
    ns.KW_AES256,
    ns.RSA_OAEP_MGF1P,
    ns.HMAC_SHA1,
    ns.RSA_SHA1,
    ns.SHA1,
    24,
    32,
    256,
    256,
    256,
)
BASIC192: Final = AlgorithmSuite(
    "Basic192",
    ns.AES192_CBC,
    ns.KW_AES192,
    ns.RSA_OAEP_MGF1P,
    ns.HMAC_SHA1,
    ns.RSA_SHA1,
    ns.SHA1,
    24,
    24,
    192,
    192,
    256,
)
BASIC128: Final = AlgorithmSuite(
    "Basic128",
    ns.AES128_CBC,
    ns.KW_AES128,
    ns.RSA_OAEP_MGF1P,
    ns.HMAC_SHA1,
    ns.RSA_SHA1,
    ns.SHA1,
    16,
    16,
    128,
    128,
    256,
)
BASIC256SHA256: Final = AlgorithmSuite(
    "Basic256Sha256",
    ns.AES256_CBC,
    ns.KW_AES256,
    ns.RSA_OAEP_MGF1P,
    ns.HMAC_SHA256,
    ns.RSA_SHA256,
    ns.SHA256,
    24,
    32,
    256,
    256,
    256,
)
TRIPLEDES: Final = AlgorithmSuite(
    "TripleDes",
    ns.TRIPLEDES_CBC,
    ns.KW_TRIPLEDES,
    ns.RSA_OAEP_MGF1P,
    ns.HMAC_SHA1,
    ns.RSA_SHA1,
    ns.SHA1,
    24,
    24,
    192,
    192,
    256,  # WCF's TripleDes IsSymmetricKeyLengthSupported: 192 to 256 bits (CXF asks 256)
)

SUITES: Final[dict[str, AlgorithmSuite]] = {}
for _s in (BASIC256, BASIC192, BASIC128, BASIC256SHA256, TRIPLEDES):
    SUITES[_s.name.lower()] = _s
    SUITES[_s.name.lower() + "rsa15"] = _rsa15(_s)

DEFAULT_SUITE: Final = BASIC256


def get_suite(name: str) -> AlgorithmSuite:
    """Find a suite by name, case-insensitively (``basic256``, ``Basic128Rsa15``…)."""
    try:
        return SUITES[name.replace("-", "").replace("_", "").lower()]
    except KeyError:
        known = ", ".join(s.name for s in SUITES.values())
        raise UnsupportedAlgorithm(f"unknown algorithm suite {name!r}; known: {known}") from None
