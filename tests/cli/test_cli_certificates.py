"""A private key that does not belong to its certificate is refused when it is loaded, with a
clear error (before, every session then failed with the generic fault)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wssc.certs import Certificate, dev_certificate, generate_self_signed, load, save
from wssc.errors import ConfigurationError

ONE, OTHER = generate_self_signed(), generate_self_signed()


def _mismatched(directory: Path) -> tuple[Path, Path]:
    """``dev-cert.pem`` of one certificate, ``dev-key.pem`` of another."""
    cert_path, key_path = directory / "dev-cert.pem", directory / "dev-key.pem"
    save(ONE, cert_path, directory / "one-key.pem")
    save(OTHER, directory / "other-cert.pem", key_path)
    return cert_path, key_path


def test_a_matching_pair_loads(tmp_path: Path) -> None:
    save(ONE, tmp_path / "c.pem", tmp_path / "k.pem")
    c = load(tmp_path / "c.pem", tmp_path / "k.pem")
    assert c.key is not None and c.thumbprint_sha1 == ONE.thumbprint_sha1
    assert dev_certificate(tmp_path)[0].key is not None  # generated on first use: a pair


def test_load_refuses_a_key_of_another_certificate(tmp_path: Path) -> None:
    cert_path, key_path = _mismatched(tmp_path)
    with pytest.raises(ConfigurationError) as err:
        load(cert_path, key_path)
    text = str(err.value.detail)
    assert str(key_path) in text and str(cert_path) in text
    assert "does not belong to the certificate" in text


def test_dev_certificate_refuses_a_mismatched_pair(tmp_path: Path) -> None:
    _mismatched(tmp_path)
    with pytest.raises(ConfigurationError, match="does not belong to the certificate"):
        dev_certificate(tmp_path)


def test_a_certificate_object_refuses_a_key_of_another_certificate() -> None:
    assert Certificate(ONE.cert, ONE.key).key is ONE.key
    assert Certificate(ONE.cert).key is None  # a peer's certificate: no key, no check
    with pytest.raises(ConfigurationError, match="does not belong to the certificate"):
        Certificate(ONE.cert, OTHER.key)


def test_wssc_serve_refuses_a_mismatched_pair(tmp_path: Path) -> None:
    """``wssc serve --cert-dir DIR`` with a key of another certificate: exit 2, one clear
    line naming both files, no traceback, and nothing listening."""
    cert_path, key_path = _mismatched(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "wssc", "serve", "--port", "1", "--cert-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.startswith("error: the private key ")
    assert str(key_path) in r.stderr and str(cert_path) in r.stderr
    assert "wssc demo service at" not in r.stdout  # refused before it starts serving
