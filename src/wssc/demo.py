"""The demo service of ``wssc serve``: a small calculator/echo contract."""

from __future__ import annotations

from wssc.contract import operation, service_contract


@service_contract(namespace="http://tempuri.org/", name="ICalculator")
class Calculator:
    """``Add(a: int, b: int) -> int`` and ``Echo(text: str) -> str``."""

    @operation
    def Add(self, a: int, b: int) -> int:
        return a + b

    @operation
    def Echo(self, text: str) -> str:
        return text
