"""Imports flow downward only: no module imports from a layer above its own.

The layers, from the bottom (../shared/DESIGN.md's picture, as the code has it): a module may
import from its own layer and the layers below. Every ``import`` counts, at module level or
inside a function, under ``TYPE_CHECKING`` or not. ``wssc/__init__.py`` (the front door) sits
on top: it re-exports from everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "wssc"

LAYERS: list[list[str]] = [
    ["wssc.xml.ns", "wssc.errors", "wssc.logs", "wssc.turn"],
    ["wssc.xml", "wssc.settings", "wssc.claims", "wssc.http_body"],
    ["wssc.crypto", "wssc.certs"],
    ["wssc.tokens", "wssc.contract"],
    ["wssc.trust", "wssc.policy", "wssc.security"],
    ["wssc.store", "wssc.federation"],
    ["wssc.bootstrap"],
    ["wssc.session"],
    ["wssc.service", "wssc.client", "wssc.demo"],
    ["wssc.integrations", "wssc.cli", "wssc.__main__", "wssc"],
]


def layer_of(module: str) -> int:
    """The layer of the longest listed prefix of ``module``."""
    best, best_len = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    if best < 0:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    return imports_in(path.read_text(), module_name(path), path.name == "__init__.py")


def imports_in(text: str, me: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) for every wssc import in ``text``, the source of ``me``."""
    tree = ast.parse(text)
    package = me if is_package else me.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("wssc")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("wssc"):
                continue
            for alias in node.names:  # ``from wssc.xml import ns`` imports the module wssc.xml.ns
                sub = f"{target}.{alias.name}"
                out.append((node.lineno, sub if is_module(sub) else target))
    return out


def is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def all_modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_module_is_in_a_layer() -> None:
    for path in all_modules():
        layer_of(module_name(path))


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: module_name(p))
def test_no_upward_import(path: Path) -> None:
    me = module_name(path)
    mine = layer_of(me)
    upward = [
        f"{path.relative_to(SRC.parent)}:{line}: {me} (layer {mine}) imports {target} "
        f"(layer {layer_of(target)})"
        for line, target in imports(path)
        if layer_of(target) > mine
    ]
    assert not upward, "\n".join(upward)


def test_the_checker_sees_an_upward_import() -> None:
    """The check itself can fail: a module of a low layer that imports the engine, directly,
    relatively or inside a function."""
    me = "wssc.xml.probe"
    for text in (
        "from wssc.service.engine import ServiceEngine\n",
        "from ..service import engine\n",
        "def f():\n    import wssc.service.engine\n",
    ):
        found = [t for _, t in imports_in(text, me, False)]
        assert any(layer_of(t) > layer_of(me) for t in found), (text, found)


def import_graph() -> dict[str, set[str]]:
    """Module -> the wssc modules it imports (every import: top level, in a function, under
    ``TYPE_CHECKING``). A package's ``__init__`` counts as the module named by the package."""
    graph: dict[str, set[str]] = {}
    for path in all_modules():
        me = module_name(path)
        graph.setdefault(me, set()).update(t for _, t in imports(path) if t != me)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan's algorithm,
    iterative), each as a sorted list: an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle() -> None:
    """No two modules import each other, directly or through others, not even under
    ``TYPE_CHECKING``: each concept has one home below its users."""
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_checker_sees_a_cycle() -> None:
    """The cycle check itself can fail: a three-module ring, a two-module pair (one side
    under TYPE_CHECKING), and a tree without a cycle."""
    ring = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(ring) == [["a", "b", "c"]]
    text = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from wssc.policy import export\n"
    pair = {
        "wssc.policy.shapes": {t for _, t in imports_in(text, "wssc.policy.shapes", False)},
        "wssc.policy.export": {"wssc.policy.shapes"},
    }
    assert cycles(pair) == [["wssc.policy.export", "wssc.policy.shapes"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
