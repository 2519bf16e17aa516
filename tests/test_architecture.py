"""The rooms stay apart: small modules, no import cycle, `reco` free of Streamlit, and only the
store package names an engine."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

SOURCES = [ROOT / "streamlit_app.py", *ROOT.glob("app/**/*.py"), *ROOT.glob("reco/**/*.py")]


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


MODULES = {module_name(p): p for p in SOURCES if p.name != "streamlit_app.py"}


def imports_of(path: Path) -> set[str]:
    """The project's modules ``path`` imports when it runs (not under TYPE_CHECKING), without a
    package's imports of its own parts (its re-exports)."""
    me = module_name(path)
    tree = ast.parse(path.read_text())
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = {f"{node.module}.{a.name}" for a in node.names} & MODULES.keys()
            found |= parts
            if len(parts) < len(node.names) and node.module in MODULES:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names} & MODULES.keys()
    return {m for m in found if not m.startswith(f"{me}.")}


def test_modules_are_small() -> None:
    sizes = sorted(len(p.read_text().splitlines()) for p in SOURCES)
    assert sizes[-1] <= 600, "a module over 600 lines has a second job"
    assert sizes[len(sizes) // 2] < 250
    assert len((ROOT / "streamlit_app.py").read_text().splitlines()) <= 120  # the frame


def test_no_import_cycle() -> None:
    graph = {name: imports_of(path) for name, path in MODULES.items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for other in sorted(graph[name]):
            visit(other, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())


def test_reco_is_free_of_streamlit_and_only_the_store_names_an_engine() -> None:
    engines = re.compile(r"EdgeStore|QdrantServerStore|qdrant_edge|qdrant_client|QdrantClient")
    for path in SOURCES:
        text = path.read_text()
        where = path.relative_to(ROOT).as_posix()
        if where.startswith("reco/"):
            assert "streamlit" not in text, where
        if not where.startswith("reco/store/"):
            assert not engines.search(text), where
