"""Mutation check for issue 13: delete (or shift by one) each listed security check, one at
a time, run the test meant to catch it, and report KILLED (the test failed, as it must) or
SURVIVED. The source file is restored after each run. Exit status 1 if any survived.

    python scripts/mutate_checks.py [NAME ...]     (from the repository root, venv active)
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEC = "src/wssc/security/"
DEC, AUTH, DIG, INB, PROC = (
    SEC + m + ".py" for m in ("decrypt", "authenticate", "digests", "inbound", "processors")
)
T = "tests/session/test_each_check_alone.py::"

#: (name, file, text, mutated text, test)
MUTANTS = [
    (
        "signer-root",
        DEC,
        "        if tok.base is not signer.base:\n            raise InvalidSecurity(\n"
        '                "the data was encrypted',
        '        if False:\n            raise InvalidSecurity(\n                "the data was encrypted',
        T + "test_body_encrypted_under_another_sessions_key_is_refused",
    ),
    (
        "sig-other-key",
        AUTH,
        "if via is not None and via.base is not tok.base:",
        "if False:",
        T + "test_signature_encrypted_under_another_sessions_key_is_refused",
    ),
    (
        "rl-after-sig",
        DEC,
        "            if ctx.policy.sign_before_encrypt:\n                raise "
        'InvalidSecurity(\n                    "a ReferenceList follows',
        "            if False:\n                raise "
        'InvalidSecurity(\n                    "a ReferenceList follows',
        T + "test_reference_list_after_the_signature_is_refused",
    ),
    (
        "plain-sig",
        AUTH,
        "if via is None and ctx.policy.require_encrypted_signature:",
        "if False:",
        T + "test_plain_signature_where_the_policy_encrypts_it_is_refused",
    ),
    (
        "replay-skew",
        SEC + "charge.py",
        "self.policy.replay_window + self.policy.max_clock_skew",
        "self.policy.replay_window",
        T + "test_a_replay_just_before_the_window_and_skew_end_is_refused",
    ),
    (
        "strict-sigmethod",
        AUTH,
        "checker is None or (p.strict_algorithms and alg not in (",
        "checker is None or (False and alg not in (",
        T + "test_signature_method_downgrade_is_refused",
    ),
    (
        "strict-digest",
        DIG,
        "dalg not in _DIGESTS or (p.strict_algorithms and dalg != p.suite.digest)",
        "dalg not in _DIGESTS",
        T + "test_digest_method_downgrade_is_refused",
    ),
    (
        "header-64-del",
        INB,
        "if position > p.max_header_elements:",
        "if False:",
        T + "test_64_security_header_children_pass_and_65_do_not",
    ),
    (
        "header-64-off",
        INB,
        "if position > p.max_header_elements:",
        "if position >= p.max_header_elements:",
        T + "test_64_security_header_children_pass_and_65_do_not",
    ),
    (
        "refs-16-del",
        PROC,
        "if state.data_references > state.policy.max_encrypted_data:",
        "if False:",
        T + "test_16_data_references_pass_and_17_do_not",
    ),
    (
        "refs-16-off",
        PROC,
        "if state.data_references > state.policy.max_encrypted_data:",
        "if state.data_references >= state.policy.max_encrypted_data:",
        T + "test_16_data_references_pass_and_17_do_not",
    ),
    (
        "hdr-ed-16-del",
        PROC,
        "if len(state.header_encrypted) >= state.policy.max_encrypted_data:",
        "if False:",
        T + "test_16_header_encrypted_data_pass_and_17_do_not",
    ),
    (
        "hdr-ed-16-off",
        PROC,
        "if len(state.header_encrypted) >= state.policy.max_encrypted_data:",
        "if len(state.header_encrypted) > state.policy.max_encrypted_data:",
        T + "test_16_header_encrypted_data_pass_and_17_do_not",
    ),
]


def main(only: list[str]) -> int:
    survived = 0
    for name, path, old, new, test in MUTANTS:
        if only and name not in only:
            continue
        p = ROOT / path
        src = p.read_text()
        if src.count(old) != 1:
            print(f"{name:18} NOT FOUND (the check's code changed: update this script)")
            survived += 1
            continue
        try:
            p.write_text(src.replace(old, new))
            r = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
        finally:
            p.write_text(src)
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        why = next((ln for ln in lines if ln.startswith("E ")), "")
        print(
            f"{name:18} {'KILLED' if r.returncode else 'SURVIVED'}  {lines[-1] if lines else ''}  {why[:120]}"
        )
        survived += r.returncode == 0
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
