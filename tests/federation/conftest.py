"""Certificates for the federation tests: an STS (the issuer), a relying party, a stranger."""

from __future__ import annotations

import pytest

from wssc.certs import Certificate, generate_self_signed


@pytest.fixture(scope="session")
def sts_cert() -> Certificate:
    return generate_self_signed("sts.test")


@pytest.fixture(scope="session")
def rp_cert() -> Certificate:
    return generate_self_signed("rp.test")


@pytest.fixture(scope="session")
def stranger_cert() -> Certificate:
    return generate_self_signed("stranger.test")
