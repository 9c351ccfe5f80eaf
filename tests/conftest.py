"""Shared fixtures: the WSS4J interop peer and the ``wssc`` CLI runner (see ``peers.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from peers import PeerMissing, Wss4jPeer, find_wss4j_peer, in_ci
from peers import wssc_cli as _wssc_cli


@pytest.fixture(scope="session")
def wss4j() -> Wss4jPeer:
    """The WSS4J peer. Missing: a failure under CI=true, else a loud skip."""
    try:
        return find_wss4j_peer()
    except PeerMissing as exc:
        if in_ci():
            pytest.fail(f"WSS4J PEER MISSING under CI=true: {exc}. scripts/setup.sh must build it.")
        pytest.skip(
            f"!!! WSS4J PEER MISSING — run scripts/setup.sh; interop NOT tested ({exc}) !!!"
        )


@pytest.fixture(scope="session")
def wssc_cli() -> Callable[..., Any]:
    """``wssc_cli(*args, input=None) -> CompletedProcess``: ``python -m wssc ARGS``."""
    return _wssc_cli
