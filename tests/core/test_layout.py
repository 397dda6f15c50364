"""The code's layout rules, checked on the source: imports go down the layers, reads do not
import writes, and a test module never imports another test module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = {
    p.name for p in (ROOT / "crm").iterdir() if (p / "__init__.py").exists() and p.name != "core"
}


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function, as an absolute name."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            # `from tests.partners import test_crud` imports a module too.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def modules_under(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_no_test_module_imports_another_test_module():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[-1].startswith("test_")
        )
        for path in modules_under("tests")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_imports_no_domain():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[:2] in [["crm", d] for d in DOMAINS]
        )
        for path in modules_under("crm/core")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_demo_runner_imports_no_domain_above_auth():
    """Partners, sales and interactions register their demo steps into crm.demo."""
    above = {m for m in imported_modules(ROOT / "crm/demo.py") if m.startswith("crm.")}
    assert {m.split(".")[1] for m in above} <= {"auth", "core", "extensions"}


def test_reads_do_not_import_writes():
    offenders = [
        str(path.relative_to(ROOT))
        for path in modules_under("crm")
        if path.name == "queries.py"
        and f"crm.{path.parent.name}.services" in imported_modules(path)
    ]
    assert offenders == []


def test_shared_pieces_are_taken_from_core_not_from_partners():
    shared = {"Page", "COUNT_LIMIT", "CONTROL_CHARS", "Errors", "FieldErrors", "capped_page"}
    offenders = []
    for path in modules_under("crm"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crm.partners"):
                offenders += [
                    f"{path.relative_to(ROOT)}: {a.name}" for a in node.names if a.name in shared
                ]
    assert offenders == []
