"""Issue 13 item 1: ``wssc svcutil`` must not turn a hostile WSDL into code that runs.

Every WSDL field svcutil reads (portType name, target namespace, operation name, parameter
name, wsaw:Action, reply action, soap:address, and through it the WSDL URL and the policy
explanation) is set to a payload that breaks out of a docstring, a triple-quoted string, a
single-quoted string and a comment (quotes, triple quotes, newlines, ``\\r``, backslashes,
U+2028/U+2029, tabs), each followed by a statement that writes a marker file. The WSDL comes
from a file and from a hostile service's ``?wsdl``. The generated module is then imported in
a subprocess that calls every method on a recording client: the marker must not appear, and
the calls must carry the WSDL's wire names. A control test proves the statement does write
the marker when it runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hostile_http import HostileHttp

from wssc.certs import generate_self_signed
from wssc.cli import svcutil
from wssc.cli.main import main
from wssc.contract import operation, service_contract
from wssc.service.engine import ServiceEngine

CERT = generate_self_signed()
ADDRESS = "http://ADDRZQ.example/svc"


@service_contract(namespace="urn:NSZQ", name="IPTZQ")
class _Placeholders:
    @operation(name="OPZQ", action="urn:ACTZQ", reply_action="urn:REPZQ")
    def op(self, PARZQ: int) -> int:
        return PARZQ


BASE = ServiceEngine(_Placeholders(), address=ADDRESS, certificate=CERT).wsdl().decode()


def _statement(marker: Path) -> str:
    return f'__import__("pathlib").Path("{marker}").write_text("pwned")'


def _payload(marker: Path) -> str:
    """Breaks out of \"\"\"…\"\"\", '''…''', '…', "…" and a comment, each time into the statement.
    No ':' (names are referenced as QNames ``tns:name``)."""
    s = _statement(marker)
    return (
        'x"""\n'
        + s
        + '\n"""'
        + "'''\n"
        + s
        + "\n'''"
        + "'\n"
        + s
        + '\n"'
        + "\n"
        + s
        + "\n#\\\r"
        + s
        + "\u2028"
        + s
        + "\u2029"
        + s
        + '\t\\"\n    '
        + s
        + "  # \\"
    )


def _namespace(marker: Path) -> str:
    """A namespace is a URI: the parser refuses '"', '\\', whitespace and U+2028 in it (see
    test_values_the_xml_parser_refuses), so the payload there uses what a URI may hold."""
    s = _statement(marker).replace('"', "'")
    return f"urn:x''';{s};'''#'"


#: placeholder in the WSDL -> (field, hostile value)
def fields(marker: Path) -> dict[str, tuple[str, str]]:
    p = _payload(marker)
    return {
        "IPTZQ": ("portType", p + "T"),
        "OPZQ": ("operation", p + "O"),
        "PARZQ": ("parameter", p + "P"),
        "urn:NSZQ": ("namespace", _namespace(marker)),
        "urn:ACTZQ": ("action", "urn:a" + p),
        "urn:REPZQ": ("reply_action", "urn:r" + p),
        ADDRESS: ("address", "http://h.example/" + p),
    }


FIELDS = ["portType", "operation", "parameter", "namespace", "action", "reply_action", "address", "all"]


def _xml(value: str) -> str:
    return escape(value, {'"': "&quot;", "'": "&apos;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def hostile_wsdl(marker: Path, field: str) -> tuple[bytes, dict[str, str]]:
    """The WSDL with ``field`` (or every field) hostile, and the wire values it then holds."""
    text = BASE
    wire = {
        "portType": "IPTZQ",
        "operation": "OPZQ",
        "parameter": "PARZQ",
        "namespace": "urn:NSZQ",
        "action": "urn:ACTZQ",
        "address": ADDRESS,
    }
    for placeholder, (name, value) in fields(marker).items():
        if field in (name, "all"):
            text = text.replace(placeholder, _xml(value))
            if name in wire:
                wire[name] = value
    assert text != BASE
    return text.encode(), wire


_IMPORTER = r"""
import importlib.util, inspect, json, sys
spec = importlib.util.spec_from_file_location("hostile_client", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)

class Recorder:
    def __init__(self):
        self.calls = []
    def call(self, name, **kw):
        self.calls.append([name, kw])
        return 7
    def close(self):
        self.calls.append(["close", {}])

classes = [v for v in vars(m).values() if isinstance(v, type) and v.__module__ == m.__name__]
rec = Recorder()
with classes[0](client=rec) as c:
    for py in m.OPERATIONS:
        n = len(inspect.signature(getattr(c, py)).parameters)
        getattr(c, py)(*range(41, 41 + n))
print(json.dumps({"operations": m.OPERATIONS, "calls": rec.calls, "name": m.CONTRACT_NAME,
                  "namespace": m.CONTRACT_NAMESPACE, "url": m.WSDL_URL,
                  "policy": list(m.SECURITY_POLICY)}))
"""


def import_generated(module: Path, marker: Path) -> dict[str, object]:
    """Import the module in a fresh interpreter and call every method on a recorder."""
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORTER, str(module)], capture_output=True, text=True, timeout=60
    )
    assert not marker.exists(), "importing the generated client ran the WSDL's payload"
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout)
    return out


def assert_maps_to_wire(got: dict[str, object], wire: dict[str, str], url: str) -> None:
    ops = got["operations"]
    assert isinstance(ops, dict) and len(ops) == 1
    ((py, (wire_op, action)),) = ops.items()
    assert py.isidentifier() and py.isascii()
    assert (wire_op, action) == (wire["operation"], wire["action"])
    assert got["calls"] == [[wire["operation"], {wire["parameter"]: 41}], ["close", {}]]
    assert (got["name"], got["namespace"], got["url"]) == (wire["portType"], wire["namespace"], url)
    policy = got["policy"]
    assert isinstance(policy, list) and wire["address"] in "\n".join(policy)


def _svcutil(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["svcutil", *args])
    return rc, capsys.readouterr().err


def test_the_sentinel_fires_when_the_payload_runs(tmp_path: Path) -> None:
    """The control: the statement the payloads carry does write the marker when executed,
    so its absence below means the payload did not run."""
    marker = tmp_path / "marker"
    subprocess.run([sys.executable, "-c", _statement(marker)], check=True, timeout=60)
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize("field", FIELDS)
def test_hostile_wsdl_file(field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "marker"
    data, wire = hostile_wsdl(marker, field)
    src, out = tmp_path / "hostile.wsdl", tmp_path / "client.py"
    src.write_bytes(data)
    rc, err = _svcutil(str(src), "-o", str(out), capsys=capsys)
    assert rc == 0, err
    source = out.read_text()
    assert _statement(marker) + "\n" not in source.replace("\\n", "")  # never on a line alone
    got = import_generated(out, marker)
    # no --url: the generated default is the WSDL's own soap:address, hostile or not
    assert_maps_to_wire(got, wire, wire["address"].split("?", 1)[0] + "?wsdl")


@pytest.mark.parametrize("field", ["all", "portType", "operation", "action", "address"])
def test_hostile_service_wsdl(field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "marker"
    data, wire = hostile_wsdl(marker, field)
    out = tmp_path / "client.py"
    with HostileHttp({"/svc?wsdl": data}) as evil:
        url = evil.url("/svc?wsdl")
        rc, err = _svcutil(url, "-o", str(out), capsys=capsys)
        assert evil.requests == ["/svc?wsdl"]
    assert rc == 0, err
    assert_maps_to_wire(import_generated(out, marker), wire, url)


def test_hostile_wsdl_through_the_cli_process(tmp_path: Path) -> None:
    """The same, through ``python -m wssc svcutil`` (every field hostile at once)."""
    marker = tmp_path / "marker"
    data, wire = hostile_wsdl(marker, "all")
    src, out = tmp_path / "hostile.wsdl", tmp_path / "client.py"
    src.write_bytes(data)
    proc = subprocess.run(
        [sys.executable, "-m", "wssc", "svcutil", str(src), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\n" not in proc.stdout.strip() and "\r" not in proc.stdout  # names escaped
    assert_maps_to_wire(import_generated(out, marker), wire, wire["address"].split("?", 1)[0] + "?wsdl")


@pytest.mark.parametrize(
    "value", ["\x00", "&#0;", "&#1;", "&#xFFFE;", "\x0b"], ids=["NUL", "NUL-ref", "SOH-ref", "U+FFFE", "VT"]
)
@pytest.mark.parametrize("field", ["IPTZQ", "OPZQ", "urn:ACTZQ"])
def test_values_xml_cannot_carry_are_refused(
    value: str, field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NUL and the other characters XML 1.0 forbids cannot reach a name: the parser refuses
    the document with a clear error, and nothing is written."""
    src, out = tmp_path / "bad.wsdl", tmp_path / "client.py"
    src.write_bytes(BASE.replace(field, field + value).encode())
    rc, err = _svcutil(str(src), "-o", str(out), capsys=capsys)
    assert rc == 2
    assert err.startswith("error: not a WSDL: the document is not well-formed XML")
    assert not out.exists()


@pytest.mark.parametrize("char", ['"', "\\", "\n", "\u2028", " "])
def test_values_the_xml_parser_refuses(char: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A namespace URI holding a quote, a backslash, whitespace or U+2028 is refused by the
    parser: the document is not loaded and nothing is written."""
    src, out = tmp_path / "bad.wsdl", tmp_path / "client.py"
    src.write_bytes(BASE.replace("urn:NSZQ", "urn:NSZQ" + _xml(char)).encode())
    rc, err = _svcutil(str(src), "-o", str(out), capsys=capsys)
    assert rc == 2 and "not a valid URI" in err and "Traceback" not in err
    # The error quotes the hostile namespace: one line on stderr, its control characters and
    # line separators escaped, so it cannot forge further lines of output.
    assert err.count("\n") == 1 and err.endswith("\n") and "\u2028" not in err
    assert not out.exists()


def test_a_module_that_fails_its_check_is_not_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Break the identifier rule (wire names used as they are): the ast check catches the
    injected code, svcutil fails with a clear error, and no file is written."""
    marker = tmp_path / "marker"
    data, _wire = hostile_wsdl(marker, "operation")
    src, out = tmp_path / "hostile.wsdl", tmp_path / "client.py"
    src.write_bytes(data)

    def raw(wire: str, reserved: object, taken: set[str], prefix: str) -> str:
        return wire

    monkeypatch.setattr(svcutil, "_py_name", raw)
    rc, err = _svcutil(str(src), "-o", str(out), capsys=capsys)
    assert rc == 2
    assert err.startswith("error: the generated client failed its check (")
    assert "nothing was written" in err
    assert not out.exists() and not marker.exists()


@pytest.mark.parametrize(
    "tamper",
    [
        ("\nclass ", "\n__import__('os').getpid()\nclass "),  # a statement
        ("OPERATIONS = {", "OPERATIONS = {'x': __import__('os'),"),  # a call
        ("    def close(self)", "    @staticmethod\n    def close(self)"),  # a decorator
        ("GENERATED_AT = ", "GENERATED_AT = 'not-from-the-wsdl' or "),  # a foreign literal
    ],
    ids=["statement", "call", "decorator", "literal"],
)
def test_the_check_refuses_what_was_not_planned(tamper: tuple[str, str], tmp_path: Path) -> None:
    """Each check of the ast walk, on a module changed after generation."""
    from wssc.contract import get_contract
    from wssc.errors import GeneratedCodeRejected

    seen: list[tuple[str, svcutil._Plan]] = []
    real = svcutil._check

    def spy(source: str, plan: svcutil._Plan) -> None:
        seen.append((source, plan))
        real(source, plan)

    pytest.MonkeyPatch().setattr(svcutil, "_check", spy)
    try:
        svcutil.generate(get_contract(_Placeholders), "http://h/svc?wsdl", "policy")
    finally:
        pytest.MonkeyPatch().undo()
    source, plan = seen[0]
    assert tamper[0] in source
    with pytest.raises(GeneratedCodeRejected, match="failed its check"):
        real(source.replace(tamper[0], tamper[1], 1), plan)
