"""The package's import rules, read from the source (every import, lazy ones and `importlib` string
targets included):

- only the command line (`cephalo_ray/cli.py`) and the jobs import `cephalo_ray.jobs`;
- no stage package imports another stage package: what two stages share lives in the core modules
  or in `cephalo_ray.models` (the model toolkit), which import no stage;
- nothing imports a top-level `jobs` package (the wheel installs `cephalo_ray` only).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "cephalo_ray"
STAGES = {"extract", "refine", "train", "merge", "serve", "caption", "evaluate"}
TOOLKIT = {"models"}
MODULE_PATH = re.compile(r"(cephalo_ray|jobs)(\.[A-Za-z_][A-Za-z0-9_]*)+")


def imports_of(path: Path) -> set[str]:
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: str) -> set[str]:
    """Every module `source` imports: statements anywhere, and strings that name a module whole."""
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if MODULE_PATH.fullmatch(node.value.split(":")[0]):  # importlib targets, `module:attr` too
                found.add(node.value.split(":")[0])
    return found


def area_of(path: Path) -> str:
    """`cli`, `jobs`, a stage or toolkit package name, or `core` for the top-level modules."""
    parts = path.relative_to(PACKAGE).parts
    if len(parts) == 1:
        return "cli" if parts[0] == "cli.py" else "core"
    return parts[0]


def area_of_module(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "jobs":
        return "top-level jobs"
    if parts[0] != "cephalo_ray" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in STAGES | TOOLKIT | {"jobs"} else "core"


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    area = area_of(path)
    broken = []
    for module in sorted(imports_of(path)):
        target = area_of_module(module)
        if target is None or target == area:
            continue
        if target == "top-level jobs":
            broken.append(f"{module}: there is no top-level `jobs` package; jobs live in cephalo_ray.jobs")
        elif target == "jobs" and area not in {"cli", "jobs"}:
            broken.append(f"{module}: only the command line and the jobs import cephalo_ray.jobs")
        elif target in STAGES and area in STAGES:
            broken.append(
                f"{module}: stage `{area}` imports stage `{target}`; move what they share to models/ or core"
            )
        elif target in STAGES | TOOLKIT and area == "core":
            broken.append(f"{module}: core modules import no stage or toolkit package")
        elif target in STAGES and area in TOOLKIT:
            broken.append(f"{module}: the model toolkit imports no stage")
    assert not broken, "\n".join(broken)


def test_the_rules_see_lazy_relative_and_string_imports() -> None:
    source = (
        "def load():\n"
        "    import importlib\n"
        "    from cephalo_ray.serve import app\n"
        "    from ..refine import prompts\n"
        "    return importlib.import_module('cephalo_ray.jobs.serve')\n"
    )
    found = imports_in(source, "cephalo_ray.caption")
    assert {"cephalo_ray.serve.app", "cephalo_ray.refine.prompts", "cephalo_ray.jobs.serve"} <= found
    assert {area_of_module(module) for module in found} >= {"serve", "refine", "jobs"}
