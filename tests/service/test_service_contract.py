"""Service contracts: decorators, encode/decode of every type, typed errors and quotas."""

from __future__ import annotations

import math

import pytest
from lxml import etree

from wssc.contract import (
    ContractLimits,
    DeserializationFailed,
    OperationSpec,
    Parameter,
    SerializationFailed,
    ValueType,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    get_contract,
    operation,
    service_contract,
)
from wssc.errors import ActionNotSupported, ConfigurationError
from wssc.xml import ns
from wssc.xml.parse import parse_xml
from wssc.xml.soap import SOAP_11, SOAP_12, Envelope, fault_from_error, read_fault

TNS = "http://tempuri.org/"


@service_contract(namespace=TNS, name="ICalculator")
class Calculator:
    @operation
    def Add(self, a: int, b: int) -> int:
        return a + b

    @operation
    def Echo(self, text: str) -> str:
        return text

    @operation(name="Total", action="urn:total", reply_action="urn:total-reply")
    async def sum_values(self, values: list[float], scale: float | None) -> float:
        return sum(values) * (scale or 1)

    @operation
    def Ping(self) -> None:
        return None

    def helper(self) -> int:  # not an operation
        return 0


CONTRACT = get_contract(Calculator)


def _op(name: str) -> OperationSpec:
    return CONTRACT.operation(name)


def _wire(el: etree._Element) -> etree._Element:
    """Serialize and re-parse with the hardened parser, as the peer would see it."""
    return parse_xml(etree.tostring(el))


# --- decorators ---------------------------------------------------------------------------
def test_contract_collects_operations_with_wcf_actions() -> None:
    assert CONTRACT.name == "ICalculator"
    assert CONTRACT.namespace == TNS
    assert set(CONTRACT.operations) == {
        "http://tempuri.org/ICalculator/Add",
        "http://tempuri.org/ICalculator/Echo",
        "http://tempuri.org/ICalculator/Ping",
        "urn:total",
    }
    add = _op("Add")
    assert add.reply_action == "http://tempuri.org/ICalculator/AddResponse"
    assert add.parameters == (Parameter("a", ValueType("int")), Parameter("b", ValueType("int")))
    assert add.result == ValueType("int")
    assert add.request_tag == f"{{{TNS}}}Add"
    assert add.response_tag == f"{{{TNS}}}AddResponse"
    assert add.result_name == "AddResult"
    assert add.method_name == "Add" and not add.is_async
    total = _op("Total")
    assert total.is_async and total.method_name == "sum_values"
    assert total.reply_action == "urn:total-reply"
    assert total.parameters[0].type == ValueType("double", is_list=True)
    assert total.parameters[1].type == ValueType("double", optional=True)
    assert _op("Ping").result is None
    assert "helper" not in CONTRACT.operation_names
    assert get_contract(Calculator()) is CONTRACT


def test_action_rule_inserts_slash_like_wcf() -> None:
    @service_contract(namespace="urn:example", name="IThing")
    class Thing:
        @operation
        def Do(self) -> None: ...

    assert list(get_contract(Thing).operations) == ["urn:example/IThing/Do"]


def test_contract_name_defaults_to_class_name_and_inherits_operations() -> None:
    class Base:
        @operation
        def Get(self) -> int:
            return 1

    @service_contract()
    class Derived(Base):
        @operation
        def Put(self, v: bytes) -> None: ...

    spec = get_contract(Derived)
    assert spec.name == "Derived"
    assert sorted(spec.operation_names) == ["Get", "Put"]
    assert spec.operation("Get").action == "http://tempuri.org/Derived/Get"


def test_find_unknown_action_raises_action_not_supported() -> None:
    assert CONTRACT.find("http://tempuri.org/ICalculator/Add") is _op("Add")
    with pytest.raises(ActionNotSupported):
        CONTRACT.find("http://tempuri.org/ICalculator/Nope")
    with pytest.raises(ActionNotSupported):
        CONTRACT.find(None)


def _define(body: str) -> None:
    namespace: dict[str, object] = {"operation": operation, "service_contract": service_contract}
    exec(f"@service_contract()\nclass C:\n{body}", namespace)


@pytest.mark.parametrize(
    "body",
    [
        "    @operation\n    def f(self, a) -> int: ...",  # no annotation
        "    @operation\n    def f(self, a: int): ...",  # no return annotation
        "    @operation\n    def f(self, a: dict) -> int: ...",
        "    @operation\n    def f(self, a: int | str) -> int: ...",
        "    @operation\n    def f(self, a: list[int] | None) -> int: ...",
        "    @operation\n    def f(self, a: list[int | None]) -> int: ...",
        "    @operation\n    def f(self, a: list[list[int]]) -> int: ...",
        "    @operation\n    def f(self, *a: int) -> int: ...",
        "    @operation\n    def f(self, **a: int) -> int: ...",
        "    @operation\n    def f(self) -> set[int]: ...",
        "    @operation\n    def f(self) -> int: ...\n"
        "    @operation(name='f')\n    def g(self) -> int: ...",  # duplicate name
        "    def f(self) -> int: ...",  # no operations at all
        "    @staticmethod\n    @operation\n    def f(a: int) -> int: ...",
    ],
)
def test_bad_contracts_are_refused(body: str) -> None:
    with pytest.raises(ConfigurationError):
        _define(body)


def test_get_contract_of_plain_class_raises() -> None:
    with pytest.raises(ConfigurationError):
        get_contract(object)


# --- wire shape ---------------------------------------------------------------------------
def test_request_and_response_shape() -> None:
    req = encode_request(_op("Add"), {"a": 1, "b": 2})
    assert etree.tostring(req) == b'<Add xmlns="http://tempuri.org/"><a>1</a><b>2</b></Add>'
    resp = encode_response(_op("Add"), 3)
    assert etree.tostring(resp) == (
        b'<AddResponse xmlns="http://tempuri.org/"><AddResult>3</AddResult></AddResponse>'
    )
    assert etree.tostring(encode_response(_op("Ping"), None)) == (
        b'<PingResponse xmlns="http://tempuri.org/"/>'
    )


def test_none_is_written_as_xsi_nil() -> None:
    req = encode_request(_op("Total"), {"values": [], "scale": None})
    scale = req.find(f"{{{TNS}}}scale")
    assert scale is not None and scale.get(f"{{{ns.XSI}}}nil") == "true"
    assert req.findall(f"{{{TNS}}}values") == []
    # an omitted optional parameter is sent as nil too
    assert decode_request(_op("Total"), _wire(encode_request(_op("Total"), {}))) == {
        "values": [],
        "scale": None,
    }


def test_decode_accepts_prefixes_whitespace_comments_and_any_order() -> None:
    payload = parse_xml(
        b'<t:Add xmlns:t="http://tempuri.org/">\n  <t:b> 2 </t:b><!-- c -->\n'
        b"  <t:a>+1<!-- x -->0</t:a>\n</t:Add>"
    )
    assert decode_request(_op("Add"), payload) == {"a": 10, "b": 2}


# --- round trips for every type -------------------------------------------------------------
ROUND_TRIPS: list[tuple[ValueType, list[object]]] = [
    (ValueType("int"), [0, 1, -1, 2**31 - 1, -(2**31)]),
    (ValueType("long"), [2**63 - 1, -(2**63)]),
    (ValueType("string"), ["", "héllo <&> ]]>", "  keeps spaces\n", "\u20ac\U0001f600"]),
    (ValueType("boolean"), [True, False]),
    (ValueType("double"), [0.0, -0.0, 1.5, -1e-300, 1.7976931348623157e308, math.inf, -math.inf]),
    (ValueType("base64Binary"), [b"", b"\x00", bytes(range(256))]),
    (ValueType("int", optional=True), [None, 5]),
    (ValueType("string", optional=True), [None, "", "x"]),
    (ValueType("base64Binary", optional=True), [None, b"abc"]),
    (ValueType("int", is_list=True), [[], [1], [1, 2, 3]]),
    (ValueType("string", is_list=True), [[], ["a", "", "c"]]),
    (ValueType("boolean", is_list=True), [[True, False]]),
    (ValueType("base64Binary", is_list=True), [[b"a", b""]]),
]


def _spec(t: ValueType) -> OperationSpec:
    return OperationSpec(
        name="Op",
        namespace="urn:rt",
        action="urn:rt/Op",
        reply_action="urn:rt/OpResponse",
        parameters=(Parameter("v", t), Parameter("w", ValueType("int"))),
        result=t,
    )


@pytest.mark.parametrize(("t", "values"), ROUND_TRIPS, ids=lambda x: str(x))
def test_round_trip(t: ValueType, values: list[object]) -> None:
    spec = _spec(t)
    for value in values:
        req = _wire(encode_request(spec, {"v": value, "w": 7}))
        decoded = decode_request(spec, req)
        assert decoded == {"v": value, "w": 7}
        assert [type(x) for x in _flat(decoded["v"])] == [type(x) for x in _flat(value)]
        resp = _wire(encode_response(spec, value))
        assert decode_response(spec, resp) == value


def _flat(v: object) -> list[object]:
    return list(v) if isinstance(v, list) else [v]


def test_round_trip_nan_and_float_accepts_int() -> None:
    spec = _spec(ValueType("double"))
    got = decode_response(spec, _wire(encode_response(spec, math.nan)))
    assert isinstance(got, float) and math.isnan(got)
    got = decode_response(spec, _wire(encode_response(spec, 3)))
    assert got == 3.0 and isinstance(got, float)


def test_tuple_is_accepted_for_a_list() -> None:
    spec = _spec(ValueType("int", is_list=True))
    assert decode_response(spec, _wire(encode_response(spec, (1, 2)))) == [1, 2]


def test_void_response_round_trip() -> None:
    assert decode_response(_op("Ping"), _wire(encode_response(_op("Ping"), None))) is None


# --- decode errors ------------------------------------------------------------------------
def _payload(xsd: str, text: str) -> etree._Element:
    return parse_xml(f'<Op xmlns="urn:rt"><v>{text}</v><w>1</w></Op>'.encode())


BAD_VALUES = [
    ("int", ""),
    ("int", "abc"),
    ("int", "1.0"),
    ("int", "1e3"),
    ("int", "2147483648"),
    ("int", "-2147483649"),
    ("int", "1_000"),
    ("int", "\u0661"),  # ARABIC-INDIC DIGIT ONE: int() takes it, xs:int does not
    ("int", "9" * 5000),
    ("long", "9223372036854775808"),
    ("boolean", "True"),
    ("boolean", "yes"),
    ("boolean", ""),
    ("double", "inf"),
    ("double", "nan"),
    ("double", "Infinity"),
    ("double", "1_0"),
    ("double", "1e"),
    ("double", ""),
    ("base64Binary", "@@@@"),
    ("base64Binary", "abc"),
]


@pytest.mark.parametrize(("xsd", "text"), BAD_VALUES)
def test_bad_lexical_values_raise_deserialization_failed(xsd: str, text: str) -> None:
    with pytest.raises(DeserializationFailed) as info:
        decode_request(_spec(ValueType(xsd)), _payload(xsd, text))
    err = info.value
    assert err.code.namespace == ns.WCF_DISPATCHER
    assert err.code.local == "DeserializationFailed"
    assert err.code.side == "Sender"
    assert "v" in err.reason
    if text.strip():
        assert text.strip()[:3] not in err.reason.split(": ", 1)[1]  # values are never echoed


@pytest.mark.parametrize(
    ("xml", "fragment"),
    [
        (b'<Add xmlns="http://tempuri.org/"><a>1</a></Add>', "missing"),
        (b'<Add xmlns="http://tempuri.org/"><a>1</a><b>2</b><b>3</b></Add>', "twice"),
        (b'<Add xmlns="http://tempuri.org/"><a>1</a><b>2</b><c>3</c></Add>', "unexpected"),
        (b'<Add xmlns="http://tempuri.org/"><a>1</a><b xmlns="urn:x">2</b></Add>', "unexpected"),
        (b'<Add xmlns="http://tempuri.org/"><a>1</a><b><i>2</i></b></Add>', "elements"),
        (b'<Sub xmlns="http://tempuri.org/"><a>1</a><b>2</b></Sub>', "expected"),
        (b'<Add xmlns="urn:other"><a>1</a><b>2</b></Add>', "expected"),
        (
            b'<Add xmlns="http://tempuri.org/" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
            b'<a i:nil="true"/><b>2</b></Add>',
            "nil",
        ),
    ],
)
def test_structural_errors(xml: bytes, fragment: str) -> None:
    with pytest.raises(DeserializationFailed, match=fragment):
        decode_request(_op("Add"), parse_xml(xml))


def test_nil_with_content_is_refused() -> None:
    xml = (
        b'<Echo xmlns="http://tempuri.org/" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        b'<text i:nil="true">x</text></Echo>'
    )
    spec = OperationSpec(
        "Echo", TNS, "a", "b", (Parameter("text", ValueType("string", optional=True)),), None
    )
    with pytest.raises(DeserializationFailed, match="nil"):
        decode_request(spec, parse_xml(xml))


def test_response_errors() -> None:
    with pytest.raises(DeserializationFailed, match="missing"):
        decode_response(_op("Add"), parse_xml(b'<AddResponse xmlns="http://tempuri.org/"/>'))
    with pytest.raises(DeserializationFailed, match="unexpected"):
        decode_response(
            _op("Ping"), parse_xml(b'<PingResponse xmlns="http://tempuri.org/"><x/></PingResponse>')
        )


# --- quotas -------------------------------------------------------------------------------
def test_default_string_limit_is_64_kib() -> None:
    spec = _op("Echo")
    ok = "x" * (64 * 1024)
    assert decode_request(spec, _wire(encode_request(spec, {"text": ok}))) == {"text": ok}
    with pytest.raises(DeserializationFailed, match=r"string content length quota \(\d+\)"):
        decode_request(spec, _wire(encode_request(spec, {"text": ok + "x"})))


def test_configurable_limits() -> None:
    small = ContractLimits(max_string_length=8, max_binary_length=4, max_list_length=3)
    s = _spec(ValueType("string"))
    assert decode_request(s, _wire(encode_request(s, {"v": "12345678", "w": 1})), small)
    with pytest.raises(DeserializationFailed, match=r"string content length quota \(\d+\)"):
        decode_request(s, _wire(encode_request(s, {"v": "123456789", "w": 1})), small)
    b = _spec(ValueType("base64Binary"))
    assert decode_request(b, _wire(encode_request(b, {"v": b"1234", "w": 1})), small)
    with pytest.raises(DeserializationFailed, match="bytes"):
        decode_request(b, _wire(encode_request(b, {"v": b"12345", "w": 1})), small)
    lst = _spec(ValueType("int", is_list=True))
    assert decode_request(lst, _wire(encode_request(lst, {"v": [1, 2, 3], "w": 1})), small)
    with pytest.raises(DeserializationFailed, match="more than 3 items"):
        decode_request(lst, _wire(encode_request(lst, {"v": [1, 2, 3, 4], "w": 1})), small)
    # the text limit also bounds non-string lexical forms (leading zeros, padding)
    i = _spec(ValueType("int"))
    with pytest.raises(DeserializationFailed, match=r"string content length quota \(\d+\)"):
        decode_request(i, _payload("int", " " * 9 + "1"), small)


# --- encode errors ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("t", "value"),
    [
        (ValueType("int"), "1"),
        (ValueType("int"), True),
        (ValueType("int"), 1.0),
        (ValueType("int"), 2**31),
        (ValueType("int"), None),
        (ValueType("string"), b"bytes"),
        (ValueType("string"), "bell\x07"),
        (ValueType("boolean"), 1),
        (ValueType("double"), "1.5"),
        (ValueType("double"), False),
        (ValueType("base64Binary"), "text"),
        (ValueType("int", is_list=True), 1),
        (ValueType("int", is_list=True), "123"),
        (ValueType("int", is_list=True), [1, None]),
    ],
)
def test_encode_wrong_types_raise_serialization_failed(t: ValueType, value: object) -> None:
    with pytest.raises(SerializationFailed):
        encode_response(_spec(t), value)
    with pytest.raises(SerializationFailed):
        encode_request(_spec(t), {"v": value, "w": 1})


def test_encode_request_argument_errors() -> None:
    with pytest.raises(SerializationFailed, match="unknown"):
        encode_request(_op("Add"), {"a": 1, "b": 2, "c": 3})
    with pytest.raises(SerializationFailed, match="missing"):
        encode_request(_op("Add"), {"a": 1})
    with pytest.raises(SerializationFailed, match="None"):
        encode_response(_op("Ping"), 1)


def test_serialization_failed_is_a_receiver_fault_without_detail() -> None:
    err = SerializationFailed("x: secret-ish detail")
    assert err.code.side == "Receiver"
    assert "secret-ish" not in err.reason


@pytest.mark.parametrize("version", [SOAP_11, SOAP_12])
def test_deserialization_failed_maps_to_wcf_fault(version: object) -> None:
    with pytest.raises(DeserializationFailed) as info:
        decode_request(_op("Add"), parse_xml(b'<Add xmlns="http://tempuri.org/"><a>x</a></Add>'))
    env = fault_from_error(version, info.value)  # type: ignore[arg-type]
    fault = read_fault(Envelope(parse_xml(etree.tostring(env))))
    assert fault is not None
    assert fault.code.clark == f"{{{ns.WCF_DISPATCHER}}}DeserializationFailed"
    assert fault.reason.startswith("The formatter threw an exception")
