"""Dispatchers: which RST a service received, which RSTR a client received.

Both read strictly for the one WS-Trust version the endpoint speaks; anything else raises
`InvalidRequest` (a February 2005 element on a 1.3 endpoint, a missing
CancelTarget, oversize entropy, malformed base64…).
"""

from __future__ import annotations

from lxml import etree

from wssc.errors import InvalidRequest
from wssc.trust import _xml as x
from wssc.trust.messages import (
    RSTR,
    RSTRC,
    CancelRequest,
    CancelResponse,
    IssueRequest,
    RenewRequest,
    Request,
    Response,
    TokenResponse,
    read_rst,
)
from wssc.xml.ns import TrustVersion


def parse_rst(payload: etree._Element, expected: TrustVersion, action: str | None = None) -> Request:
    """Read the ``RequestSecurityToken`` body payload of an SCT Issue, Renew or Cancel.

    The kind comes from ``action`` when given (``{trust}/RST/SCT``, ``…/Renew``, ``…/Cancel``;
    then a RequestType, which WCF lets the client omit, must agree), otherwise from the
    RequestType, which is then required.
    """
    fields = read_rst(payload, expected)
    by_request_type: dict[str, type[IssueRequest | RenewRequest | CancelRequest]] = {
        expected.issue: IssueRequest,
        expected.renew: RenewRequest,
        expected.cancel: CancelRequest,
    }
    by_action: dict[str, type[IssueRequest | RenewRequest | CancelRequest]] = {
        expected.rst_sct: IssueRequest,
        expected.rst_sct_renew: RenewRequest,
        expected.rst_sct_cancel: CancelRequest,
    }
    if action is not None:
        kind = by_action.get(action)
        if kind is None:
            raise InvalidRequest(f"{action[:200]!r} is not an SCT request action of WS-Trust {expected.name}")
    elif fields.request_type is None:
        raise InvalidRequest("the RequestSecurityToken has no RequestType")
    else:
        found = by_request_type.get(fields.request_type)
        if found is None:
            raise InvalidRequest(
                f"unsupported RequestType {fields.request_type[:200]!r} for WS-Trust {expected.name}"
            )
        kind = found
    return kind.from_fields(fields, expected)


def parse_rstr(payload: etree._Element, expected: TrustVersion) -> Response:
    """Read the body payload of an SCT Issue, Renew or Cancel reply.

    Accepts the ``RequestSecurityTokenResponseCollection`` wrapper (WCF's form under
    WS-Trust 1.3) or a bare ``RequestSecurityTokenResponse`` (February 2005); a collection must
    hold exactly one RSTR.
    """
    name = x.expect(payload, expected, RSTRC, RSTR)
    rstr = payload
    if name == RSTRC:
        x.check_children_version(payload, expected)
        kids = x.children(payload)
        if any(c.tag != x.tq(expected, RSTR) for c in kids):
            raise InvalidRequest("a RequestSecurityTokenResponseCollection may only hold RSTRs")
        if len(kids) != 1:
            raise InvalidRequest(
                f"the RequestSecurityTokenResponseCollection holds {len(kids)} RSTRs, not one"
            )
        rstr = kids[0]
    if rstr.find(x.tq(expected, "RequestedTokenCancelled")) is not None:
        return CancelResponse.from_xml(rstr, expected)
    return TokenResponse.from_xml(rstr, expected)
