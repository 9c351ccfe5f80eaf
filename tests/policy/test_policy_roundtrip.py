"""Export → WSDL → import gives back the settings, for every combination."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from lxml import etree
from policy_testkit import OPS, TNS, make_wsdl

from wssc.bootstrap.registry import (
    BOOTSTRAPS,
    bootstrap_kind,
    policy_for,
    settings_from_policy,
    settings_from_wsdl,
)
from wssc.policy import message_policy_element
from wssc.settings import WS2007, WSHTTP, Bootstrap, KeyEntropyMode, SecureConversationSettings
from wssc.xml import ns

COMBOS = list(
    itertools.product((WSHTTP, WS2007), (True, False), tuple(BOOTSTRAPS), (True, False), (True, False))
)


def over_transport(b: Bootstrap) -> bool:
    return bootstrap_kind(b).security_mode == "transport"


def message_policy(s: SecureConversationSettings, policy_id: str) -> etree._Element:
    return message_policy_element(s, policy_id, mode=bootstrap_kind(s.bootstrap).security_mode)


def _id(c: tuple) -> str:  # type: ignore[type-arg]
    v, rc, b, dk, cr = c
    return f"{v.name}-{'cancel' if rc else 'nocancel'}-{b.name}-dk{int(dk)}-renew{int(cr)}"


def expected_import(s: SecureConversationSettings) -> SecureConversationSettings:
    """What a client can learn from the policy WCF would publish for ``s``.

    * over transport derived keys are off (WCF), so only the effective value survives;
    * SP 1.2 writes MustNotSendRenew when cancellation is off *or* renew is off, so a cookie-mode
      endpoint reads back as not renewable; SP 1.1 cannot say it at all, so it reads renewable.
    """
    sp12 = s.message_security_version.is_sp12
    return dataclasses.replace(
        s,
        require_derived_keys=bootstrap_kind(s.bootstrap).derived_keys(s),
        can_renew_session=(s.require_cancellation and s.can_renew_session) if sp12 else True,
    )


@pytest.mark.parametrize("combo", COMBOS, ids=_id)
def test_round_trip_through_wsdl(combo: tuple) -> None:  # type: ignore[type-arg]
    version, rc, bootstrap, dk, cr = combo
    s = SecureConversationSettings(
        require_cancellation=rc,
        can_renew_session=cr,
        require_derived_keys=dk,
        bootstrap=bootstrap,
        message_security_version=version,
    )
    policy = policy_for(s, policy_id="B_ICalc_policy")
    ops = None
    if not over_transport(bootstrap):
        ops = (message_policy(s, "B_ICalc_Input_policy"), message_policy(s, "B_ICalc_Output_policy"))
    cert = b"0\x82\x01\x0adummy-der"
    wsdl = make_wsdl(policy, ops, certificate=cert if not over_transport(bootstrap) else None)
    ep = settings_from_wsdl(wsdl)

    assert ep.settings == expected_import(s)
    assert ep.settings.require_cancellation is rc
    assert ep.policy_id == "B_ICalc_policy"
    assert ep.soap_version == "1.2"
    assert ep.address == "http://127.0.0.1:8080/svc"
    assert ep.port_name == "P_ICalc" and ep.binding_name == "B_ICalc"
    assert ep.service_certificate_der == (cert if not over_transport(bootstrap) else None)
    # Evidence: which assertion carried the decision.
    if rc:
        assert ep.evidence.must_not_send_cancel is None
    else:
        assert ep.evidence.must_not_send_cancel == (
            "sp:MustNotSendCancel" if version is WS2007 else "mssp:MustNotSendCancel"
        )
    assert ep.evidence.must_not_send_amend is (version is WS2007)
    # Operations and their actions.
    assert [o.name for o in ep.operations] == list(OPS)
    add = ep.operations[0]
    assert add.soap_action == f"{TNS}ICalc/Add"
    assert add.input_action == f"{TNS}ICalc/Add"
    assert add.output_action == f"{TNS}ICalc/AddResponse"
    assert add.protection == (None if over_transport(bootstrap) else "EncryptAndSign")


@pytest.mark.parametrize("bootstrap", list(BOOTSTRAPS), ids=lambda b: b.name)
@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=lambda v: v.name)
def test_round_trip_without_security_context(bootstrap: Bootstrap, version: object) -> None:
    s = SecureConversationSettings(
        establish_security_context=False, bootstrap=bootstrap, message_security_version=version
    )  # type: ignore[arg-type]
    got = settings_from_policy(policy_for(s, policy_id="p")).settings
    assert got.establish_security_context is False
    assert got.bootstrap is bootstrap
    assert got.message_security_version is version
    assert got.require_cancellation is True and got.can_renew_session is True
    assert got.require_derived_keys is bootstrap_kind(s.bootstrap).derived_keys(s)


@pytest.mark.parametrize("mode", list(KeyEntropyMode), ids=lambda m: m.name)
def test_round_trip_entropy_suite_and_encrypt_signature(mode: KeyEntropyMode) -> None:
    s = SecureConversationSettings(
        algorithm_suite="Basic128Rsa15",
        key_entropy_mode=mode,
        encrypt_signature=False,
        message_security_version=WS2007,
    )
    assert settings_from_policy(policy_for(s, policy_id="p")).settings == s


def test_round_trip_with_ws_policy_12_and_soap11() -> None:
    s = SecureConversationSettings(require_cancellation=False)
    wsdl = make_wsdl(policy_for(s, policy_id="p", wsp_ns=ns.WSP12), soap="1.1", wsp_ns=ns.WSP12)
    ep = settings_from_wsdl(wsdl)
    assert ep.soap_version == "1.1"
    assert ep.settings == s
    assert ep.endpoint_settings().soap_version == "1.1"
    assert ep.endpoint_settings().secure_conversation == s


@pytest.mark.parametrize("bootstrap", list(BOOTSTRAPS), ids=lambda b: b.name)
@pytest.mark.parametrize("version", [WSHTTP, WS2007], ids=lambda v: v.name)
def test_the_wsdl_the_service_publishes_imports(bootstrap: Bootstrap, version: object) -> None:
    """Integration: wssc.contract.wsdl places our policies; the importer reads them back."""
    from wssc.contract import get_contract, operation, service_contract
    from wssc.contract.wsdl import build_wsdl
    from wssc.xml.soap import SOAP_12

    @service_contract(namespace=TNS, name="ICalc")
    class Calc:
        @operation
        def Add(self, a: int, b: int) -> int:
            return a + b

    s = SecureConversationSettings(
        require_cancellation=False, bootstrap=bootstrap, message_security_version=version
    )  # type: ignore[arg-type]
    policies = [policy_for(s, policy_id="B_policy")]
    op_ids = None
    if not over_transport(bootstrap):
        policies += [message_policy(s, "In_policy"), message_policy(s, "Out_policy")]
        op_ids = ("In_policy", "Out_policy")
    wsdl = build_wsdl(
        get_contract(Calc),
        address="https://h.example/calc",
        soap_version=SOAP_12,
        policies=policies,
        binding_policy_id="B_policy",
        operation_policy_ids=op_ids,
        identity_certificate_der=b"der",
    )
    ep = settings_from_wsdl(wsdl)
    assert ep.settings == expected_import(s)
    assert ep.service_certificate_der == b"der"
    assert ep.address == "https://h.example/calc"
    (add,) = ep.operations
    assert add.input_action == f"{TNS}ICalc/Add"
    assert add.protection == (None if over_transport(bootstrap) else "EncryptAndSign")
