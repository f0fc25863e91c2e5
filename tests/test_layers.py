"""Imports point one way: cli -> levels -> config -> workflows -> interfaces -> reports -> engines, metrics,
training -> utils, labels. No level imports another level, and no package imports one of its own rank or above
(the bottom rank, the foundations, excepted)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bids_app"

#: Top-level module or package of bids_app -> its rank; a module imports only from higher ranks (or itself).
RANKS = {
    "__main__": -1,
    "cli": 0,
    "participant": 1, "group": 1, "train": 1,
    "config": 2,
    "workflows": 3,
    "interfaces": 4,
    "reports": 5,
    "engines": 6, "metrics": 6, "training": 6,
    "utils": 7, "labels": 7, "errors": 7, "data": 7, "": 7,
}
FOUNDATIONS = 7


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, package_dir: Path):
    """``(line, imported module)`` of every bids_app import in ``path``, relative ones resolved."""
    name = _module_name(path, package_dir)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = [target] if node.module or not node.level else [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if target == "bids_app" or target.startswith("bids_app."):
                yield node.lineno, target


def _top(module: str, package: Path) -> str:
    """The top-level module or package of ``bids_app`` that ``module`` is in ("" for the package itself)."""
    parts = module.split(".")
    if len(parts) < 2 or not ((package / parts[1]).is_dir() or (package / f"{parts[1]}.py").is_file()):
        return ""  # bids_app itself, or a name it defines (__version__)
    return parts[1]


def layer_violations(package: Path = PACKAGE) -> list[str]:
    """One line per import against the layers."""
    violations = []
    for path in sorted(package.rglob("*.py")):
        source = _top(_module_name(path, package), package)
        for line, target in _imports(path, package):
            imported = _top(target, package)
            if imported == source or imported not in RANKS and source not in RANKS:
                continue
            if source not in RANKS or imported not in RANKS:
                where = path.relative_to(package.parent)
                violations.append(f"{where}:{line}: {target} (layer unknown: add it to RANKS)")
                continue
            low, high = RANKS[source], RANKS[imported]
            if high < low or (high == low and low != FOUNDATIONS):
                violations.append(f"{path.relative_to(package.parent)}:{line}: {source} imports {target}")
    return violations


def test_imports_point_down_the_layers():
    violations = layer_violations()
    assert not violations, "imports against the layers:\n" + "\n".join(violations)


def test_an_upward_import_is_caught(tmp_path):
    package = tmp_path / "bids_app"
    for folder in ("engines", "workflows"):
        (package / folder).mkdir(parents=True)
    (package / "participant.py").write_text("")
    (package / "engines" / "bad.py").write_text("from ..workflows.base import init_subseg_wf\n")
    (package / "train.py").write_text("from .participant import run_participant\n")
    assert layer_violations(package) == [
        "bids_app/engines/bad.py:1: engines imports bids_app.workflows.base",
        "bids_app/train.py:1: train imports bids_app.participant",
    ]
