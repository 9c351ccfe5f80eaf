"""How a WSS4J peer run is read: only a WS-Security refusal is a rejection; a crash of the
peer never is (it fails the test instead). No peer needed: the outputs are the peer's own
formats (``WssPeer.java``: main, describe)."""

from __future__ import annotations

import subprocess

import pytest

from peers import wss4j_verdict

FAILED_CHECK = (
    "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}FailedCheck"
)


def _proc(rc: int, stdout: str = "", stderr: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(["peer", "verify"], rc, stdout, stderr)


def test_accepted() -> None:
    v = wss4j_verdict(_proc(0, "=== results ===\nVERIFY OK\n"))
    assert v.ok and v.fault is None


def test_a_wss4j_refusal_is_a_rejection_with_its_fault() -> None:
    err = (
        "[callback usage=SECURITY_CONTEXT_TOKEN ...]\n"
        "ERROR: org.apache.ws.security.WSSecurityException: The signature or decryption was "
        f"invalid [errorCode=6, faultCode={FAILED_CHECK}]\n"
    )
    v = wss4j_verdict(_proc(1, "", err))
    assert not v.ok and v.fault == FAILED_CHECK


def test_a_policy_refusal_is_a_rejection() -> None:
    v = wss4j_verdict(_proc(3, "", "VERIFY FAILED (policy): the Body is not encrypted\n"))
    assert not v.ok and v.fault == "policy"


@pytest.mark.parametrize(
    "proc",
    [
        _proc(1, "", "ERROR: java.lang.NullPointerException: null\n"),
        _proc(1, "", "ERROR: java.lang.NoClassDefFoundError: org/apache/xml/security/Init\n"),
        # a WSSecurityException only as the *cause* of a crash is still a crash
        _proc(
            1,
            "",
            "ERROR: java.lang.IllegalStateException: boom\n  caused by: "
            "org.apache.ws.security.WSSecurityException: x [errorCode=6, faultCode="
            f"{FAILED_CHECK}]\n",
        ),
        _proc(2, "", "usage error: unknown option --x\n"),
        _proc(137, "", ""),
        _proc(0, "no verdict printed\n"),
    ],
    ids=["npe", "classpath", "wrapped", "usage", "killed", "exit0-without-ok"],
)
def test_a_crash_is_never_a_rejection(proc: subprocess.CompletedProcess[str]) -> None:
    with pytest.raises(AssertionError):
        wss4j_verdict(proc)
