"""The address filter's comparison (WCF's EndpointAddressMessageFilter) and the forwarded
origin a declared proxy reports; an unsigned wsa:To is refused by the message policy."""

from __future__ import annotations

import pytest
from lxml import etree

from core.helpers import drop_reference, message, ok, policy, reject, resign, tree
from wssc.errors import ConfigurationError, InvalidSecurity
from wssc.service.address import AddressFilter
from wssc.service.transport import forwarded_origin, transport_info

OWN = "http://svc.example:8000/Calc/svc"


@pytest.mark.parametrize(
    ("to", "same"),
    [
        (OWN, True),
        ("http://SVC.example:8000/Calc/svc", True),
        ("http://other-name:8000/Calc/svc", True),  # StrongWildcard: the host is ignored
        ("http://svc.example:8000/calc/SVC/", True),  # path case, trailing slash
        ("http://svc.example:8000/Calc/%73vc", True),  # percent-decoded
        ("http://u:p@svc.example:8000/Calc/svc?wsdl#x", True),  # user info, query, fragment
        ("https://svc.example:8000/Calc/svc", False),  # scheme
        ("http://svc.example:8001/Calc/svc", False),  # port
        ("http://svc.example/Calc/svc", False),  # default port 80
        ("http://svc.example:8000/Calc/other", False),  # path
        ("http://svc.example:8000/Calc/svc/x", False),
        ("urn:uuid:1", False),
        ("", False),
        ("http://svc.example:99999/Calc/svc", False),
    ],
)
def test_wcf_comparison(to: str, same: bool) -> None:
    assert AddressFilter(OWN).matches(to) is same


def test_exact_host_name_comparison() -> None:
    f = AddressFilter(OWN, "Exact")
    assert f.matches("http://SVC.EXAMPLE:8000/Calc/svc")
    assert not f.matches("http://other-name:8000/Calc/svc")


def test_default_ports() -> None:
    assert AddressFilter("https://h/svc").matches("https://h:443/svc")
    assert not AddressFilter("https://h/svc").matches("https://h:80/svc")


def test_origin_of_a_proxy() -> None:
    f = AddressFilter("http://127.0.0.1:8000/svc", "Exact")
    assert f.matches("https://public.example/svc", "https://public.example")
    assert f.matches("https://public.example:443/svc/", "https://public.example:443")
    assert not f.matches("https://public.example/other", "https://public.example")
    assert not f.matches("https://elsewhere.example/svc", "https://public.example")
    assert not f.matches("https://public.example/svc", None)


def test_bad_configuration() -> None:
    with pytest.raises(ConfigurationError):
        AddressFilter("/svc")
    with pytest.raises(ConfigurationError):
        AddressFilter(OWN, "WeakWildcard")


@pytest.mark.parametrize(
    ("headers", "origin"),
    [
        ({"x-forwarded-proto": "https", "x-forwarded-host": "pub.example"}, "https://pub.example"),
        ({"x-forwarded-proto": "https", "host": "pub.example:8443"}, "https://pub.example:8443"),
        (
            {
                "x-forwarded-proto": "https, http",
                "x-forwarded-host": "a.example, b",
                "x-forwarded-port": "444",
            },
            "https://a.example:444",
        ),
        ({"forwarded": 'for=1.2.3.4;proto=https;host="pub.example"', "host": "x"}, "https://pub.example"),
        ({"x-forwarded-for": "1.2.3.4", "host": "h:81"}, "http://h:81"),
        ({"x-forwarded-proto": "gopher", "host": "h"}, None),
        ({"x-forwarded-host": "evil.example/svc?", "x-forwarded-proto": "https"}, None),
        ({"x-forwarded-proto": "https"}, None),
    ],
)
def test_forwarded_origin(headers: dict[str, str], origin: str | None) -> None:
    assert forwarded_origin(headers, secure=False) == origin


def test_origin_only_from_a_declared_proxy() -> None:
    h = {"x-forwarded-proto": "https", "x-forwarded-host": "pub.example"}
    assert transport_info(secure=False, peer="p", headers=h, forwarded_allow_ips=()).origin is None
    info = transport_info(secure=True, peer="p", headers=h, forwarded_allow_ips=("p",))
    assert info.origin == "https://pub.example"
    assert (
        transport_info(secure=True, peer="p", headers={"host": "h"}, forwarded_allow_ips=("p",)).origin
        is None
    )


def test_an_unsigned_to_is_refused_by_the_service_policy() -> None:
    """The address filter trusts wsa:To only because the policy requires it signed."""
    root = tree(message(derived=False, encrypt=False))
    drop_reference(root, "To")
    resign(root)
    pol = policy(derived=False, encrypt=False, require_signed_addressing=True)
    ok(etree.tostring(root), policy(derived=False, encrypt=False))  # signed otherwise
    exc = reject(InvalidSecurity, etree.tostring(root), pol)
    assert exc.detail == "the addressing header To is not signed"


@pytest.mark.parametrize("mode", ["StrongWildcard", "Exact"])
@pytest.mark.parametrize("own", [OWN, "https://h/svc", "http://H:80/A/b/", "http://h/s%20v"])
def test_the_configured_address_matches_itself(own: str, mode: str) -> None:
    # matches() takes the configured string without parsing it; the same address written
    # otherwise still goes through the WCF comparison.
    f = AddressFilter(own, mode)
    assert f.matches(own)
    assert f.matches(f" {own} ") is f.matches(own.strip())
    assert not f.matches(own.rstrip("/") + "x")
