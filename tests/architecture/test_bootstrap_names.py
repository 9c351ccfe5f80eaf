"""Nothing outside ``wssc/bootstrap/`` names a bootstrap in its code: the registry
(`wssc.bootstrap.registry`) is asked instead, so a new bootstrap is one module and one entry.

The rule, checked on the AST of every module: no identifier (name, attribute) and no string
constant that is not a docstring may contain a bootstrap's name (its WCF name, its enum
member, its command-line name). Docstrings and comments may describe bootstraps. The
exceptions are listed below with a reason each; the list only shrinks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "wssc"

NAMES = re.compile(
    r"UserNameOverTransport|AnonymousForCertificate|UserNameForCertificate|MutualCertificate"
    r"|USERNAME_OVER_TRANSPORT|ANONYMOUS_FOR_CERTIFICATE|USERNAME_FOR_CERTIFICATE"
    r"|username-over-transport|anonymous-for-certificate|username-for-certificate",
    re.IGNORECASE,
)

#: (module path under src/wssc, the name it may use): why.
EXCEPTIONS: dict[tuple[str, str], str] = {
    (
        "settings.py",
        "ANONYMOUS_FOR_CERTIFICATE",
    ): "the Bootstrap constants, and the WCF default bootstrap of SecureConversationSettings",
    ("settings.py", "USERNAME_OVER_TRANSPORT"): "the Bootstrap constant",
    ("settings.py", "AnonymousForCertificate"): "the Bootstrap constant's value (WCF's name)",
    ("settings.py", "UserNameOverTransport"): "the Bootstrap constant's value (WCF's name)",
    ("settings.py", "USERNAME_FOR_CERTIFICATE"): "the Bootstrap constant",
    ("settings.py", "UserNameForCertificate"): "the Bootstrap constant's value (WCF's name)",
    ("settings.py", "MutualCertificate"): "the Bootstrap constant's value (WCF's name)",
    (
        "policy/policy_import.py",
        "MutualCertificate",
    ): "the import error names an unsupported WCF binding a policy asks for",
    (
        "cli/endpoint.py",
        "AnonymousForCertificate",
    ): "--service-cert's help text; could come from the shapes' needs_service_certificate",
    (
        "cli/endpoint.py",
        "UserNameOverTransport",
    ): "inspect's description; could come from the registry's transport-mode kinds",
}


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
        # an attribute docstring: a bare string right after an assignment
        for field in ("body", "orelse"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list):
                for s in stmts[1:]:
                    if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant):
                        ids.add(id(s.value))
    return ids


def bootstrap_names_in(text: str) -> list[tuple[int, str]]:
    """(line, name) for each bootstrap name in the code of ``text`` (not its docstrings)."""
    tree = ast.parse(text)
    docs = _docstrings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        words: list[str] = []
        if isinstance(node, ast.Name):
            words = [node.id]
        elif isinstance(node, ast.Attribute):
            words = [node.attr]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            words = [node.value]
        for w in words:
            found += [(getattr(node, "lineno", 0), m.group(0)) for m in NAMES.finditer(w)]
    return found


def test_nothing_outside_bootstrap_names_a_bootstrap() -> None:
    bad: list[str] = []
    used: set[tuple[str, str]] = set()
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("bootstrap/"):
            continue
        for line, name in bootstrap_names_in(path.read_text()):
            key = (rel, name)
            if key in EXCEPTIONS:
                used.add(key)
            else:
                bad.append(f"src/wssc/{rel}:{line}: {name}")
    assert not bad, "ask the registry instead of naming a bootstrap:\n" + "\n".join(bad)
    stale = sorted(set(EXCEPTIONS) - used)
    assert not stale, f"exceptions no longer needed (remove them): {stale}"


def test_the_checker_sees_a_name_in_code_but_not_in_a_docstring() -> None:
    code = (
        '"""UserNameOverTransport is fine here."""\n'
        "x = Bootstrap.USERNAME_OVER_TRANSPORT\n"
        'y = "anonymous-for-certificate"\n'
        "#: AnonymousForCertificate in a comment\n"
    )
    assert [n for _, n in bootstrap_names_in(code)] == [
        "USERNAME_OVER_TRANSPORT",
        "anonymous-for-certificate",
    ]
