"""Check that every notebook source follows the companion's template and that its .ipynb is paired
with it (the pre-commit hook that `make lint`, and so `make test`, runs once).

    python scripts/check_notebooks.py [notebooks/NN_topic.py ...]

The template: a Colab badge and a setup cell whose install runs only on Colab; one cell tagged
`parameters` holding PROFILE; the next code cell validates the parameters (check_profile); no
imports after the setup cell; no function or class definitions unless the cell says why with a
`# notebook-local:` comment (reusable logic belongs in rlvr_core); `print(versions(...))` last;
checked cells (`# NBVAL_CHECK_OUTPUT`) hold `assert expect(...)` claims, not bare asserts or tables.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parent.parent


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _defines(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               for n in tree.body)


def _imports(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))


def problems(path: Path) -> list[str]:
    """Every way ``path`` departs from the template (empty when it follows it)."""
    nb = jupytext.read(path)
    text = path.read_text()
    code = _code_cells(nb)
    found = []
    if f"notebooks/{path.stem}.ipynb" not in text or "colab-badge" not in text:
        found.append("no Colab badge linking to this notebook")
    if "Run time" not in text:
        found.append("the header does not state the run time")
    checked = [c for c in code if "NBVAL_CHECK_OUTPUT" in c.source]
    if checked and not any("assert expect(" in c.source for c in checked):
        found.append("no checked cell asserts a claim (assert expect(...))")
    if not code or "google.colab" not in code[0].source:
        found.append("the first code cell is not the setup cell with the Colab-only install")
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    if len(tagged) != 1 or "PROFILE" not in code[tagged[0]].source:
        found.append("expected exactly one cell tagged 'parameters' holding PROFILE")
    elif tagged[0] + 1 >= len(code) or "check_profile(" not in code[tagged[0] + 1].source:
        found.append("the cell after 'parameters' must validate them (check_profile(...))")
    for i, cell in enumerate(code[1:], start=1):
        if _imports(cell.source):
            found.append(f"code cell {i} imports: imports belong in the setup cell")
        if _defines(cell.source) and "# notebook-local:" not in cell.source:
            found.append(f"code cell {i} defines a function or class without a '# notebook-local:' "
                         "reason: move reusable logic to rlvr_core")
        if "NBVAL_CHECK_OUTPUT" in cell.source and (
                re.search(r"\bassert (?!expect\()", cell.source) or "to_string(" in cell.source):
            found.append(f"checked code cell {i} has a bare assert or a table: use assert expect(...)")
    if not code or "print(versions(" not in code[-1].source:
        found.append("the last cell must print versions()")
    found += _pair_problems(path, nb)
    return found


def _pair_problems(path: Path, nb) -> list[str]:
    """The committed .ipynb must hold the same cells as its .py source (jupytext pair)."""
    import nbformat

    ipynb = path.with_suffix(".ipynb")
    if not ipynb.exists():
        return [f"no paired {ipynb.name}: run `make figures NB={path.stem}`"]
    cells = [(c.cell_type, c.source.strip()) for c in nb.cells]
    paired = [(c.cell_type, c.source.strip()) for c in nbformat.read(ipynb, as_version=4).cells]
    return [] if cells == paired else [f"{ipynb.name} is out of sync: run `make figures NB={path.stem}`"]


def main(paths: list[str]) -> int:
    paths = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    failed = 0
    for path in paths:
        for problem in problems(path):
            print(f"{path}: {problem}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
