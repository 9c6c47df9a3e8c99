"""Check that every notebook source follows the companion's template and that its .ipynb is paired
with it (the pre-commit hook that `make lint`, and so `make test`, runs once).

    python scripts/check_notebooks.py [notebooks/NN_topic.py ...]

The template: a Colab badge and a setup cell whose install runs only on Colab; one cell tagged
`parameters` holding PROFILE; the next code cell validates the parameters (check_profile); no
imports after the setup cell; no function or class definitions unless the cell says why with a
`# notebook-local:` comment (reusable logic belongs in rlvr_core); `print(versions(...))` last;
checked cells (`# NBVAL_CHECK_OUTPUT`) hold `assert expect(...)` claims, not bare asserts or tables.

The reading shape (``shape_problems``): a reader follows the unfolded main line; the evidence sits in
folded "Checks and limits" parts. Code cells at most 15 lines and at most one figure; no prose
assembled in f-strings or Markdown(...) (sentences come from the notebook's study module); PROFILE
compared nowhere in a notebook (sizes come from one study function); setup and validation cells
tagged ``hide-input``; every ``expect(`` and checked cell inside a checks part, whose code cells are
tagged ``hide-cell`` and whose prose cells are ``<details>`` blocks.

    python scripts/check_notebooks.py --words   # main-line and folded words per notebook
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parent.parent
MAX_CELL_LINES = 15
MAX_FSTRING_WORDS = 6  # a label with a number is fine; a sentence is prose
CHECKS_HEADING = re.compile(r"^#{2,4} .*Checks and limits", re.M)
SECTION_HEADING = re.compile(r"^## ", re.M)
FIGURE_CALLS = {"savefig", "show"}
INSTALL_BLOCK = re.compile(r"# Setup\. On Colab.*?check=True\)\n", re.S)  # scripts/colab.py writes it
# Notebooks not yet rewritten in the reading shape; the list only shrinks.
LEGACY_SHAPE: set[str] = set()


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
    if path.stem not in LEGACY_SHAPE:
        found += shape_problems(nb)
    found += _pair_problems(path, nb)
    return found


def parts(nb) -> list[tuple[object, bool]]:
    """Every cell with whether it lies in a folded "Checks and limits" part (from its heading to
    the next ``## `` section heading)."""
    out, folded = [], False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            if CHECKS_HEADING.search(cell.source):
                folded = True
            elif SECTION_HEADING.search(cell.source):
                folded = False
        out.append((cell, folded))
    return out


def _calls(tree, names) -> int:
    def name(f):
        return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
    return sum(isinstance(n, ast.Call) and name(n.func) in names for n in ast.walk(tree))


def _fstring_words(tree) -> int:
    """Words of literal text in the longest f-string of the cell."""
    return max((sum(len(v.value.split()) for v in n.values if isinstance(v, ast.Constant))
                for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)), default=0)


def shape_problems(nb) -> list[str]:
    found = []
    code = _code_cells(nb)
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    for i in (0, *(t + 1 for t in tagged[:1])):
        if i < len(code) and "hide-input" not in code[i].metadata.get("tags", []):
            found.append(f"code cell {i} (setup or validation) is not tagged hide-input")
    index = {id(c): i for i, c in enumerate(code)}
    for cell, folded in parts(nb):
        if cell.cell_type == "markdown":
            if folded and not CHECKS_HEADING.search(cell.source) \
                    and not cell.source.lstrip().startswith("<details>"):
                found.append(f"a prose cell in a checks part is not a <details> block: "
                             f"{cell.source.strip()[:40]!r}")
            continue
        i, source = index[id(cell)], cell.source
        lines = INSTALL_BLOCK.sub("", source).rstrip().splitlines()  # the template's block is not counted
        if len(lines) > MAX_CELL_LINES:
            found.append(f"code cell {i} has {len(lines)} lines (at most {MAX_CELL_LINES})")
        try:
            tree = ast.parse("\n".join(line for line in lines if not line.lstrip().startswith(("%", "!"))))
        except SyntaxError:
            continue
        if _calls(tree, FIGURE_CALLS) > 1:
            found.append(f"code cell {i} shows more than one figure")
        if _calls(tree, {"Markdown"}) or _fstring_words(tree) > MAX_FSTRING_WORDS:
            found.append(f"code cell {i} builds prose in an f-string or Markdown(...): print a "
                         "sentence from the notebook's study module")
        if i not in tagged and re.search(r"\bPROFILE\s*[!=]=", source):
            found.append(f"code cell {i} compares PROFILE: sizes come from the study module")
        if ("NBVAL_CHECK_OUTPUT" in source or "expect(" in source) and not folded:
            found.append(f"code cell {i} checks a claim outside a 'Checks and limits' part")
        if folded and "hide-cell" not in cell.metadata.get("tags", []):
            found.append(f"code cell {i} in a checks part is not tagged hide-cell")
    return found


def words(path: Path) -> tuple[int, int]:
    """Words of prose on the main line and in the folded parts (markdown cells only)."""
    main = folded = 0
    for cell, in_fold in parts(jupytext.read(path)):
        if cell.cell_type == "markdown":
            text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|<[^>]+>|\(http[^)]*\)", " ", cell.source, flags=re.S)
            n = len(re.findall(r"[A-Za-z][\w'-]*", text))
            details = len(re.findall(r"[A-Za-z][\w'-]*", " ".join(
                re.findall(r"<details>.*?</details>", re.sub(r"\$[^$]*\$", " ", cell.source), flags=re.S))))
            if in_fold:
                folded += n
            else:
                main, folded = main + n - details, folded + details
    return main, folded


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
    report = "--words" in paths
    paths = [Path(p) for p in paths if p != "--words"] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    if report:
        print(f"{'notebook':34} main  folded  (words of prose; ~200 words a minute)")
        for path in paths:
            print(f"{path.stem:34} {words(path)[0]:5} {words(path)[1]:6}")
        return 0
    failed = 0
    for path in paths:
        for problem in problems(path):
            print(f"{path}: {problem}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
