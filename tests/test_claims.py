"""The claims registry (rlvr_core/claims.yaml): it loads and validates, it agrees with the figure
manifest and the notebooks, README's map is rendered from it, and the repository cites only what
it contains (no outside design document, no earlier code base)."""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from rlvr_core.notebook import figures
from rlvr_core.notebook.claims import (STATUSES, claim_by_id, claims_markdown_table, claims_summary_table,
                              figure_table, load_claims)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
MANIFEST = json.loads((ROOT / "figures" / "manifest.json").read_text())


def _entry(**over):
    entry = {"id": "P1", "title": "t", "source": "paper", "statement": "s",
             "notebook": "01_gradient_gap", "figures": ["a"], "status": "reproduced",
             "status_note": "n", "summary": "s"}
    entry.update(over)
    return entry


def _write(tmp_path, *entries):
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump({"claims": list(entries)}, allow_unicode=True))
    return path


# ---- the registry itself ----------------------------------------------------------------------

def test_registry_loads_with_the_expected_ids_and_statuses():
    claims = load_claims()
    assert [c.id for c in claims] == ["overview", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8",
                                      "checker"]
    assert all(c.status in STATUSES and c.status_note and c.statement for c in claims)
    assert claim_by_id("P5").status == "not reproduced"  # notebook 05's own verdict
    assert claim_by_id("checker").source == "companion"  # the checker is not the paper's claim
    with pytest.raises(KeyError, match="P9"):
        claim_by_id("P9")


def test_savefig_accepts_exactly_the_registry_ids():
    assert set(figures.CLAIMS) == {c.id for c in load_claims()}


@pytest.mark.parametrize("over, match", [
    ({"status": "mostly"}, "status='mostly' is unknown"),
    ({"source": "blog"}, "source='blog' is unknown"),
    ({"notebook": "gradient gap"}, "not a notebook name"),
    ({"notebook": ["01_gradient_gap", "gradient gap"]}, "not a notebook name"),
    ({"notebook": ["01_gradient_gap", "01_gradient_gap"]}, "with a repeat"),
    ({"notebook": []}, "notebook must be a non-empty string"),
    ({"figures": "a"}, "figures must be a list"),
    ({"title": ""}, "title must be a non-empty string"),
])
def test_bad_entries_are_refused_with_a_clear_message(tmp_path, over, match):
    with pytest.raises(ValueError, match=match):
        load_claims(_write(tmp_path, _entry(**over)))


def test_missing_and_unknown_fields_are_refused(tmp_path):
    entry = _entry(extra=1)
    del entry["status_note"]
    with pytest.raises(ValueError, match=r"missing fields \['status_note'\], unknown fields \['extra'\]"):
        load_claims(_write(tmp_path, entry))


def test_duplicate_ids_and_twice_claimed_figures_are_refused(tmp_path):
    with pytest.raises(ValueError, match="duplicate claim id 'P1'"):
        load_claims(_write(tmp_path, _entry(), _entry(figures=["b"])))
    with pytest.raises(ValueError, match="figure 'a' is listed under both P1 and P2"):
        load_claims(_write(tmp_path, _entry(), _entry(id="P2")))


def test_a_notebook_without_a_file_is_refused(tmp_path):
    (tmp_path / "nb").mkdir()
    path = _write(tmp_path, _entry())
    with pytest.raises(ValueError, match="notebook '01_gradient_gap' has no file"):
        load_claims(path, notebooks_dir=tmp_path / "nb")
    (tmp_path / "nb" / "01_gradient_gap.py").write_text("")
    assert load_claims(path, notebooks_dir=tmp_path / "nb")[0].figures == ("a",)


def test_a_claim_can_take_several_notebooks_each_of_which_must_exist(tmp_path):
    """P8 spans three notebooks: the list keeps its order (the first opens the claim) and a
    missing second notebook is refused like a missing first one (negative control)."""
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "01_gradient_gap.py").write_text("")
    path = _write(tmp_path, _entry(notebook=["01_gradient_gap", "02_convergence"]))
    with pytest.raises(ValueError, match="notebook '02_convergence' has no file"):
        load_claims(path, notebooks_dir=tmp_path / "nb")
    (tmp_path / "nb" / "02_convergence.py").write_text("")
    (claim,) = load_claims(path, notebooks_dir=tmp_path / "nb")
    assert claim.notebooks == ("01_gradient_gap", "02_convergence") and claim.notebook == "01_gradient_gap"
    row = claims_summary_table([claim]).splitlines()[2]
    assert "[01_gradient_gap](notebooks/01_gradient_gap.ipynb), [02_convergence](" in row


def test_an_empty_registry_is_refused(tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text("claims: []\n")
    with pytest.raises(ValueError, match="top-level 'claims:' list"):
        load_claims(path)


def test_the_registry_ships_with_the_package():
    # A non-editable install must carry claims.yaml, or load_claims() fails after `pip install .`.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "claims.yaml" in pyproject["tool"]["setuptools"]["package-data"]["rlvr_core"]


# ---- agreement with the manifest and the notebooks --------------------------------------------

def test_every_registry_figure_is_in_the_manifest_under_the_same_claim_and_notebook():
    for c in load_claims():
        for name in c.figures:
            assert name in MANIFEST, f"{c.id}: figure {name} is not in figures/manifest.json"
            assert MANIFEST[name]["claim"] == c.id and MANIFEST[name]["notebook"] in c.notebooks, name


def test_every_manifest_figure_belongs_to_a_claim():
    listed = {f for c in load_claims() for f in c.figures}
    assert sorted(set(MANIFEST) - listed) == [], "figures missing from rlvr_core/claims.yaml"


def test_every_notebook_appears_in_the_registry():
    assert sorted({nb for c in load_claims() for nb in c.notebooks}) == NOTEBOOKS


def test_figure_table_lists_registry_figures_and_unregistered_ones(tmp_path):
    manifest = {"log_odds_curvature_identity": {"notebook": "01_gradient_gap", "claim": "P1",
                                                "caption": "cap"},
                "new_figure": {"notebook": "01_gradient_gap", "claim": "P1", "caption": "new"}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    table = figure_table(tmp_path / "manifest.json")
    registered = sum(len(c.figures) for c in load_claims())
    assert len(table) == registered + 1
    row = table.set_index("figure").loc["log_odds_curvature_identity"]
    assert (row["claim"], row["what it shows"]) == ("P1", "cap")
    assert table.set_index("figure").loc["new_figure", "status"] == "(not in the registry)"


# ---- rendered maps ----------------------------------------------------------------------------

def test_markdown_table_has_one_row_per_claim_and_escapes_pipes():
    claims = load_claims()
    rows = claims_markdown_table(claims).strip().splitlines()
    assert len(rows) == 2 + len(claims)
    # a bare '|' inside a cell would split it: every row has exactly the header's cell count
    assert {len(re.split(r"(?<!\\)\|", r)) for r in rows} == {7}
    assert "[05_success_rate_and_stagnation](notebooks/05_success_rate_and_stagnation.ipynb)" in rows[7]


def test_readme_map_is_the_rendered_registry():
    sys.path.insert(0, str(ROOT / "scripts"))
    import render_claims

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert render_claims.rendered_readme(text) == text, \
        "README's claim map is out of date: run python scripts/render_claims.py"
    assert render_claims.split_readme(text)[1].strip() == claims_summary_table().strip()


def test_summary_table_has_one_row_per_claim_with_its_status_and_escapes_pipes():
    claims = load_claims()
    rows = claims_summary_table(claims).strip().splitlines()
    assert len(rows) == 2 + len(claims)
    assert {len(re.split(r"(?<!\\)\|", r)) for r in rows} == {5}
    for c, row in zip(claims, rows[2:]):
        links = ", ".join(f"[{nb}](notebooks/{nb}.ipynb)" for nb in c.notebooks)
        assert row.startswith(f"| {c.id} | {links} | **{c.status}**: ")


def test_overview_notebook_calls_the_library_for_its_map():
    source = (ROOT / "notebooks" / "00_overview.py").read_text()
    assert "claims_markdown_table(" in source and "figure_table(" in source
    assert "manifest.json\").read_text" not in source and "json.loads" not in source


# ---- no outside references --------------------------------------------------------------------

# The design document's name (upper case, a whole word) and any mention of the earlier code
# base; assembled from pieces so that this file does not match itself.
OUTSIDE = re.compile(r"\b" + "SP" + r"EC\b|(?i:" + "proto" + "type)")


def _repository_files():
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, text=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    return sorted({p for p in out.splitlines() if (ROOT / p).is_file()})


def _lines(path: str):
    """(where, text) for each line of a text file; for a notebook, of its cells' sources only
    (outputs are regenerated)."""
    data = (ROOT / path).read_bytes()
    if path.endswith(".ipynb"):
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        for i, cell in enumerate(nb.cells):
            for j, line in enumerate(cell.source.splitlines(), 1):
                yield f"{path}:cell {i}:{j}", line
        return
    if b"\0" in data[:8192]:
        return  # binary
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    for j, line in enumerate(text.splitlines(), 1):
        yield f"{path}:{j}", line


def _outside_references(files):
    return [f"{where}: {line.strip()[:100]}" for path in files
            for where, line in _lines(path) if OUTSIDE.search(line)]


def test_no_outside_references_anywhere():
    """The repository stands alone: no citation of documents a reader does not have (notebook
    cells included)."""
    found = _outside_references(_repository_files())
    assert not found, "references to documents outside the repository:\n" + "\n".join(found)


def test_overview_notebook_output_shows_the_current_registry():
    """The committed 00_overview.ipynb displays the registry as it is now (nbval leaves that output
    unchecked, so a registry edit without re-running the notebook would go unseen)."""
    nb = json.loads((ROOT / "notebooks" / "00_overview.ipynb").read_text(encoding="utf-8"))
    shown = ["".join(o.get("data", {}).get("text/markdown", ""))
             for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert claims_markdown_table(link_prefix="").strip() in [s.strip() for s in shown], \
        "notebooks/00_overview.ipynb is out of date: make figures NB=00_overview"


# ---- the registry says no more than the notebooks ----------------------------------------------

NOTE_WORDS, SUMMARY_WORDS = 40, 12
# A number as prose writes it: an optional sign (a minus right after a space or bracket), digits,
# decimals, an exponent and a percent sign; not part of a name (P4, SmolLM2, 7B, J0) or of a longer
# number. A multiplier's x or × (x1.8, 2.6×) is not part of the number.
_NUMBER = re.compile(r"(?<![\w.])(-?)(\d+(?:\.\d+)?(?:e[-+]?\d+)?)(\s?%)?(?!(?!x)\w|\.\d)", re.I)


def _normalise(text: str) -> str:
    text = text.replace("−", "-").replace("×", "x").replace("\u2009", " ").replace("\\%", "%")
    text = re.sub(r"(?<![\w.])x(?=\d)", " ", text)                       # x1.8 -> 1.8
    text = re.sub(r"10\^\{?(-?\d+)\}?", r"1e\1", text)                  # 10^{-12} -> 1e-12
    return re.sub(r"(\d)\s*\\?times\s*10\^\{?(-?\d+)\}?", r"\1e\2", text)  # 3\times10^{-4} -> 3e-4


def numbers_in(text: str) -> list[tuple[str, float, bool]]:
    """(as written, value, is a percentage) for every number of a prose text."""
    return [(m.group(0).strip(), float(m.group(1) + m.group(2)), bool(m.group(3)))
            for m in _NUMBER.finditer(_normalise(text))]


def _printed_text(stem: str) -> str:
    """What a reader of the committed, executed notebook sees as text: its markdown cells and the
    text outputs of its code cells (printed streams, text/plain, rendered markdown) — not its code."""
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            parts.append(src)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append("".join(out["text"]))
            for mime in ("text/markdown", "text/plain"):
                value = out.get("data", {}).get(mime)
                if value is not None:
                    parts.append("".join(value) if isinstance(value, list) else value)
    return "\n".join(parts)


def _evidence_stems(claim) -> list[str]:
    # The overview prints the registry itself, so it cannot vouch for it: its summary row is
    # checked against the notebooks it summarises.
    if claim.notebook == "00_overview":
        return [s for s in NOTEBOOKS if s != "00_overview"]
    return list(claim.notebooks)


def unsupported_numbers(note: str, printed: str) -> list[str]:
    """The numbers of ``note`` that ``printed`` does not contain. A number matches by value and
    sign (0.90 = 0.9, 1e-12 = 10^{-12}); a percentage also matches its fraction (34% = 0.34)."""
    values, percents = set(), set()
    for _, value, pct in numbers_in(printed):
        (percents if pct else values).add(value)
    return [w for w, v, pct in numbers_in(note)
            if not (v in percents or (pct and round(v / 100, 12) in values) or (not pct and v in values))]


def test_number_extraction_reads_prose_numbers():
    got = [w for w, _, _ in numbers_in("P4: slope −1.07 (90% CI [−1.24, −0.90]) on SmolLM2, x1.8 and "
                                       "2.6× apart, 1e-12, 10^{-8}, 7B, J0, T = 2…64, 1/a, 5.5e-5")]
    assert got == ["-1.07", "90%", "-1.24", "-0.90", "1.8", "2.6", "1e-12", "1e-8", "2", "64", "1",
                   "5.5e-5"]


def test_number_check_flags_a_number_the_notebook_does_not_print():
    """Negative control: the check can fail. A made-up verdict for notebook 03 quoting one number
    the notebook prints (0.29) and four it does not: a rounding of it (0.3), a rounding of a printed
    12.71 (12.7), a percentage (83%) and a sign flip (−0.29). Exactly those four are flagged."""
    printed = _printed_text("03_collapse_threshold")
    shown = {v for _, v, _ in numbers_in(printed)}
    assert 0.29 in shown and 12.71 in shown and not {0.3, 12.7, 0.83, 83.0, -0.29} & shown
    note = "predicted/measured 0.29 (about 0.3), 12.7 on the monotone rule, collapse in 83% of runs, −0.29"
    assert unsupported_numbers(note, printed) == ["0.3", "12.7", "83%", "-0.29"]
    # and a real note passes, signs, percentages and multipliers normalised
    assert unsupported_numbers("slope −1.07 (90% CI [−1.24, −0.90])", _printed_text("04_length_scaling")) == []
    assert unsupported_numbers("34% of runs absorbed, x4.26", _printed_text("05_success_rate_and_stagnation")
                               + _printed_text("10_step_size_checker")) == []


@pytest.mark.parametrize("claim", load_claims(), ids=lambda c: c.id)
def test_registry_cites_only_numbers_its_notebook_prints(claim):
    """Every number in a claim's verdict (status_note and summary) is one that the committed,
    executed notebook shows its reader: the registry says no more than the notebook."""
    printed = "\n".join(_printed_text(s) for s in _evidence_stems(claim))
    missing = unsupported_numbers(f"{claim.status_note} {claim.summary}", printed)
    assert not missing, (f"{claim.id}: numbers not printed by {', '.join(_evidence_stems(claim))}: "
                         f"{missing}")


@pytest.mark.parametrize("claim", load_claims(), ids=lambda c: c.id)
def test_verdicts_are_short(claim):
    assert len(claim.status_note.split()) <= NOTE_WORDS, \
        f"{claim.id}: status_note has {len(claim.status_note.split())} words (at most {NOTE_WORDS})"
    assert len(claim.summary.split()) <= SUMMARY_WORDS, \
        f"{claim.id}: summary has {len(claim.summary.split())} words (at most {SUMMARY_WORDS})"


def test_word_limit_check_can_fail(tmp_path):
    """Negative control: a 41-word note loads (the loader does not limit length) but fails the test's rule."""
    (claim,) = load_claims(_write(tmp_path, _entry(status_note=" ".join(["word"] * (NOTE_WORDS + 1)))),
                           notebooks_dir=ROOT / "notebooks")
    assert len(claim.status_note.split()) > NOTE_WORDS
