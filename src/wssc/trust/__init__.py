"""Sans-IO WS-Trust bodies for the SecurityContextToken exchanges: Issue, Renew and Cancel.

* `.entropy`: `computed_key` (``P_SHA1(client entropy, server entropy)``), bounds;
* `.messages`: the RST/RSTR dataclasses with ``to_xml(sc)`` / ``from_xml(el, trust)``;
* `.parse`: `parse_rst` (service) and `parse_rstr` (client) dispatchers;
* `.keys`: `issue_key` (service) and `client_key_from_rstr` (client).

A round trip, service and client agreeing on the key::

    rst = IssueRequest.build(sc, suite)                         # client
    req = parse_rst(rst.to_xml(sc), sc.trust)                   # service
    issued = issue_key(req, KeyEntropyMode.COMBINED, suite)
    body = issued.response(sc, sct, Lifetime(now, now + 15 * 3600)).to_xml(sc)
    rstr = parse_rstr(body, sc.trust)                           # client
    key = client_key_from_rstr(rstr, rst.entropy, KeyEntropyMode.COMBINED, 256, suite)
"""

from wssc.trust.entropy import (
    MAX_ENTROPY_BYTES,
    MAX_KEY_BITS,
    MIN_KEY_BITS,
    check_key_size,
    computed_key,
    new_entropy,
)
from wssc.trust.keys import IssuedKey, client_key_from_rstr, issue_key
from wssc.trust.messages import (
    BinarySecret,
    CancelRequest,
    CancelResponse,
    ComputedKey,
    ContextTarget,
    IssueRequest,
    Lifetime,
    OpaqueProof,
    ProofToken,
    RenewRequest,
    Request,
    Response,
    SecretType,
    TokenResponse,
    renewed_token,
)
from wssc.trust.parse import parse_rst, parse_rstr

__all__ = [
    "MAX_ENTROPY_BYTES",
    "MAX_KEY_BITS",
    "MIN_KEY_BITS",
    "BinarySecret",
    "CancelRequest",
    "CancelResponse",
    "ComputedKey",
    "ContextTarget",
    "IssueRequest",
    "IssuedKey",
    "Lifetime",
    "OpaqueProof",
    "ProofToken",
    "RenewRequest",
    "Request",
    "Response",
    "SecretType",
    "TokenResponse",
    "check_key_size",
    "client_key_from_rstr",
    "computed_key",
    "issue_key",
    "new_entropy",
    "parse_rst",
    "parse_rstr",
    "renewed_token",
]
