"""Service contracts: the model (`.model`), the XSD value codec (`.codec`), and the
contract's WSDL and XSD, written and read (`.wsdl`). Below ``session/`` and ``service/``:
clients and services both use it."""

from wssc.contract.codec import (
    DeserializationFailed,
    SerializationFailed,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    first_long_string,
)
from wssc.contract.model import (
    DEFAULT_LIMITS,
    ContractLimits,
    ContractSpec,
    OperationSpec,
    Parameter,
    ValueType,
    combine_uri,
    get_contract,
    operation,
    service_contract,
    string_limits,
)

__all__ = [
    "DEFAULT_LIMITS",
    "ContractLimits",
    "ContractSpec",
    "DeserializationFailed",
    "OperationSpec",
    "Parameter",
    "SerializationFailed",
    "ValueType",
    "combine_uri",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "first_long_string",
    "get_contract",
    "operation",
    "service_contract",
    "string_limits",
]
