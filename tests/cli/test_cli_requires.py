"""Every command checks its optional dependencies before it starts, and names the extra."""

from __future__ import annotations

import sys

import pytest

from wssc.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_serve_without_uvicorn_fails_before_the_banner(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    rc, out, err = _run(capsys, "serve", "--port", "8123", "--cert-dir", str(tmp_path))
    assert rc == 2
    assert out == ""  # no "wssc demo service at ..." banner before the failure
    assert "uvicorn" in err and "pip install 'wssc[service]'" in err


def test_serve_redis_store_without_redis(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    rc, out, err = _run(capsys, "serve", "--store", "redis://127.0.0.1:1/0")
    assert rc == 2 and out == ""
    assert "pip install 'wssc[redis]'" in err


def test_call_without_httpx(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    rc, _out, err = _run(capsys, "call", "http://127.0.0.1:1/svc", "Add", "1", "2")
    assert rc == 2
    assert "pip install 'wssc[client]'" in err and "unexpected" not in err


def test_inspect_url_without_httpx(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    rc, _, err = _run(capsys, "inspect", "http://127.0.0.1:1/svc?wsdl")
    assert rc == 2 and "pip install 'wssc[client]'" in err


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_bad_port_is_refused(capsys: pytest.CaptureFixture[str], port: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", "--port", port])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--port" in err and ("not a TCP port" in err or "not a port number" in err)
