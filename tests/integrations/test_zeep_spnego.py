"""zeep over SPNEGO (issue 17): the zeep transports carry a negotiating bootstrap's legs, against
a real `wssc serve --bootstrap spnego` and a real MIT KDC (`tests/kdc.py`), both families."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import zeep

from kdc import PASSWORD, REALM, SERVICE, Kdc  # type: ignore[import-not-found]
from servers import Server
from wssc.bootstrap.registry import ClientCredentials
from wssc.integrations.zeep import async_secure_session, secure_session

ALICE = ClientCredentials(spn=SERVICE, username=f"alice@{REALM}", password=PASSWORD)


@pytest.fixture
def spnego(kdc: Kdc, server: Callable[..., Server]) -> Callable[[str], Server]:
    def get(binding: str) -> Server:
        return server("--bootstrap", "spnego", "--binding", binding, "--keytab", str(kdc.service_keytab))

    return get


def _sent_actions(kwargs: dict[str, object]) -> list[str]:
    """The wsa:Action of each request the transport posts (recorded at its HTTP client)."""
    actions: list[str] = []
    transport = kwargs["transport"]
    session = getattr(transport, "session", None)
    if session is not None and hasattr(session, "hooks"):  # requests (sync transport)
        session.hooks["response"].append(lambda r, *a, **k: actions.append(_action(r.request.body)))
    else:

        async def hook(request: object) -> None:
            actions.append(_action(request.content))  # type: ignore[attr-defined]

        transport.client.event_hooks["request"].append(hook)  # type: ignore[attr-defined]
    return actions


def _action(body: object) -> str:
    text = body.decode() if isinstance(body, bytes) else str(body or "")
    start = text.find("Action")
    start = text.find(">", start) + 1
    return text[start : text.find("<", start)]


@pytest.mark.parametrize("binding", ["wshttp", "ws2007"])
def test_zeep_opens_a_session_over_spnego(spnego: Callable[[str], Server], binding: str) -> None:
    srv = spnego(binding)
    kwargs = secure_session(srv.wsdl_url, credentials=ALICE)
    actions = _sent_actions(kwargs)
    with zeep.Client(srv.wsdl_url, **kwargs) as client:
        assert client.service.Add(a=20, b=22) == 42
        assert client.service.Add(a=1, b=1) == 2
        session = kwargs["transport"].secure_session  # type: ignore[attr-defined]
        assert session.sct is not None
    # Kerberos: one leg (RST/Issue), then the RST/SCT under the negotiated token, two calls, Cancel
    assert [a.rsplit("/", 2)[-2] + "/" + a.rsplit("/", 1)[-1] for a in actions[:2]] == [
        "RST/Issue",
        "RST/SCT",
    ]
    assert sum(a.endswith("/RST/SCT/Cancel") for a in actions) == 1


def test_async_zeep_opens_a_session_over_spnego(spnego: Callable[[str], Server]) -> None:
    srv = spnego("ws2007")

    async def main() -> object:
        kwargs = async_secure_session(srv.wsdl_url, credentials=ALICE)
        async with zeep.AsyncClient(srv.wsdl_url, **kwargs) as client:
            return await client.service.Add(a=2, b=3)

    assert asyncio.run(main()) == 5


def test_zeep_with_a_wrong_password_gets_the_fault(spnego: Callable[[str], Server]) -> None:
    """A wrong password: Kerberos gets no ticket, pyspnego falls back to NTLM, and the service
    (no NTLM account here) answers WCF's trust FailedAuthentication, which zeep raises."""
    srv = spnego("wshttp")
    wrong = ClientCredentials(spn=SERVICE, username=f"alice@{REALM}", password="not-" + PASSWORD)
    with zeep.Client(srv.wsdl_url, **secure_session(srv.wsdl_url, credentials=wrong)) as client:
        with pytest.raises(zeep.exceptions.Fault) as info:
            client.service.Add(a=1, b=1)
    assert "authentication failed" in str(info.value)
    assert info.value.subcodes and info.value.subcodes[0].localname == "FailedAuthentication"
