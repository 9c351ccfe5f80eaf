"""The session key on each side of an Issue or Renew, per ``KeyEntropyMode`` (reference §A.3).

==================  ==========================  =====================================
mode                RSTR proof                  key
==================  ==========================  =====================================
CombinedEntropy     ComputedKey + server        ``computed_key(client, server, KeySize)``
                    ``Entropy``, ``KeySize``
ServerEntropy       ``BinarySecret`` (the key)  random, ``KeySize`` bits
ClientEntropy       none                        the client's entropy
==================  ==========================  =====================================

The service side follows WCF's ``ProcessRstAndIssueKey``, the client side WCF's
``GetIssuedToken``; every mismatch raises `InvalidRequest`.
"""

from __future__ import annotations

import secrets
from typing import Final, NamedTuple

from wssc.crypto.suites import AlgorithmSuite
from wssc.errors import ConfigurationError, InvalidRequest
from wssc.settings import KeyEntropyMode
from wssc.tokens.sct import SecurityContextToken
from wssc.trust.entropy import check_entropy, check_key_bits, check_key_size, computed_key
from wssc.trust.messages import (
    BinarySecret,
    ComputedKey,
    IssueRequest,
    Lifetime,
    RenewRequest,
    SecretType,
    TokenResponse,
)
from wssc.xml import ns
from wssc.xml.ns import ScVersion

_SCT_TYPES: Final = frozenset(v.sct_token_type for v in ns.SC_VERSIONS.values())
_CK_PSHA1: Final = frozenset(v.trust.ck_psha1 for v in ns.SC_VERSIONS.values())


class IssuedKey(NamedTuple):
    """What `issue_key` decided: the key, the server entropy to send (CombinedEntropy
    only) and the proof token to put in the RSTR (``None`` in ClientEntropy mode)."""

    key: bytes
    server_entropy: bytes | None
    proof: ComputedKey | BinarySecret | None

    def __repr__(self) -> str:  # never show key material
        return f"IssuedKey(<{len(self.key) * 8}-bit key>, proof={type(self.proof).__name__})"

    @property
    def key_size_bits(self) -> int | None:
        """The RSTR ``KeySize``: WCF writes none in ClientEntropy mode."""
        return None if self.proof is None else len(self.key) * 8

    def response(
        self,
        sc: ScVersion,
        token: SecurityContextToken,
        lifetime: Lifetime | None,
        context: str | None = None,
    ) -> TokenResponse:
        """The RSTR carrying ``token`` with this key's proof, entropy and size."""
        return TokenResponse.build(
            sc,
            token,
            lifetime=lifetime,
            proof=self.proof,
            server_entropy=self.server_entropy,
            key_size=self.key_size_bits,
            context=context,
        )


def issue_key(
    rst: IssueRequest | RenewRequest,
    mode: KeyEntropyMode,
    suite: AlgorithmSuite,
    sc: ScVersion | None = None,
) -> IssuedKey:
    """Service side: validate the request's key material and produce the session key.

    * CombinedEntropy and ClientEntropy need client entropy; ServerEntropy refuses it.
    * A TokenType, when present, must be the SCT type (of ``sc`` when given).
    * The requested KeySize (default: the suite's) must suit the suite, as WCF's
      ``ValidateRequestedKeySize``; in ClientEntropy mode the entropy length is checked instead.
    """
    expected_types = {sc.sct_token_type} if sc is not None else _SCT_TYPES
    if rst.token_type is not None and rst.token_type not in expected_types:
        raise InvalidRequest("the requested TokenType is not a SecurityContextToken")
    entropy = rst.entropy
    if mode is KeyEntropyMode.SERVER:
        if entropy is not None:
            raise InvalidRequest("ServerEntropy mode cannot accept client entropy")
    elif entropy is None:
        raise InvalidRequest(f"{mode.value} mode requires client entropy")
    else:
        check_entropy(entropy, "the client")

    if mode is KeyEntropyMode.CLIENT:
        assert entropy is not None
        check_key_size(len(entropy) * 8, suite)
        return IssuedKey(entropy, None, None)

    bits = rst.key_size or suite.symmetric_key_bits
    check_key_size(bits, suite)
    if mode is KeyEntropyMode.SERVER:
        key = secrets.token_bytes(bits // 8)
        return IssuedKey(key, None, BinarySecret(key, SecretType.SYMMETRIC_KEY))
    assert entropy is not None
    server_entropy = secrets.token_bytes(bits // 8)
    return IssuedKey(computed_key(entropy, server_entropy, bits), server_entropy, ComputedKey())


def client_key_from_rstr(
    rstr: TokenResponse,
    client_entropy: bytes | None,
    mode: KeyEntropyMode,
    key_size_bits: int,
    suite: AlgorithmSuite | None = None,
) -> bytes:
    """Client side: the session key from an Issue/Renew RSTR.

    ``client_entropy`` is what the RST carried (``None`` in ServerEntropy mode);
    ``key_size_bits`` the size requested, used when the RSTR has no ``KeySize``. With
    ``suite`` the resulting key size must also suit the suite (Basic256: 256 bits…).
    """
    if mode is KeyEntropyMode.SERVER:
        if client_entropy is not None:
            raise ConfigurationError("ServerEntropy mode sends no client entropy")
    elif client_entropy is None:
        raise ConfigurationError(f"{mode.value} mode needs the client entropy of the request")

    if mode is KeyEntropyMode.CLIENT:
        assert client_entropy is not None
        if rstr.proof is not None or rstr.entropy is not None:
            raise InvalidRequest("ClientEntropy mode: the RSTR cannot carry a proof token or server entropy")
        key = client_entropy
    elif mode is KeyEntropyMode.SERVER:
        if isinstance(rstr.proof, ComputedKey) or rstr.entropy is not None:
            raise InvalidRequest("ServerEntropy mode: the RSTR cannot carry a computed key or server entropy")
        if not isinstance(rstr.proof, BinarySecret):
            raise InvalidRequest("ServerEntropy mode: the RSTR has no BinarySecret proof token")
        if rstr.proof.type is SecretType.NONCE:
            raise InvalidRequest("ServerEntropy mode: the proof token is a Nonce, not a key")
        key = rstr.proof.value
        if rstr.key_size and rstr.key_size != len(key) * 8:
            raise InvalidRequest("the RSTR KeySize does not match the proof key")
    else:
        assert client_entropy is not None
        if not isinstance(rstr.proof, ComputedKey):
            raise InvalidRequest("CombinedEntropy mode: the RSTR has no ComputedKey proof")
        if rstr.proof.algorithm is not None and rstr.proof.algorithm not in _CK_PSHA1:
            raise InvalidRequest(f"unsupported ComputedKey algorithm {rstr.proof.algorithm[:200]!r}")
        if rstr.entropy is None:
            raise InvalidRequest("CombinedEntropy mode: the RSTR has no server entropy")
        bits = rstr.key_size or key_size_bits
        key = computed_key(client_entropy, rstr.entropy, bits)

    check_key_bits(len(key) * 8)
    if suite is not None:
        check_key_size(len(key) * 8, suite)
    return key
