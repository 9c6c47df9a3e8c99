"""The notebook pipeline: pairs in sync, figures in the manifest exist, environments agree."""
import json
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def _script(name: str):
    """A script of scripts/ imported as a module (they are not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_there_are_notebooks():
    assert any(p.stem == "01_gradient_gap" for p in SOURCES)


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_committed_notebook_has_outputs_and_no_errors(py):
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any(c.outputs for c in code), f"{py.stem}.ipynb was committed without outputs"
    for c in code:
        assert not [o for o in c.outputs if o.output_type == "error"], c.source[:80]


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_committed_notebook_has_no_progress_bars_or_local_paths(py):
    """Progress bars and machine paths are noise to a reader and differ between machines."""
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    for c in nb.cells:
        for o in c.get("outputs", []):
            text = o.get("text", "") if o.output_type == "stream" else ""
            assert "\r" not in text, f"progress bar in {py.stem}: {c.source[:60]!r}"
            assert str(ROOT) not in text, f"local path in {py.stem}: {c.source[:60]!r}"


def _manifest_figures(stem: str) -> set[str]:
    manifest = json.loads((ROOT / "figures" / "manifest.json").read_text())
    return {name for name, entry in manifest.items() if entry["notebook"] == stem}


def _png_width(b64: str) -> int:
    import base64
    import struct

    return struct.unpack(">I", base64.b64decode(b64)[16:20])[0]  # IHDR width


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_committed_notebook_shows_every_figure_it_saves(py):
    """A reader of the executed notebook sees each figure of the manifest that the notebook
    saves, as a PNG output of its cell, at a width that reads on a laptop screen."""
    from rlvr_core.notebook.figures import OUTPUT_KEY, shown_figures

    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    missing = _manifest_figures(py.stem) - set(shown_figures(nb))
    assert not missing, f"{py.stem}.ipynb saves but does not show {sorted(missing)}: make figures"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if OUTPUT_KEY in out.get("metadata", {}):
                width = _png_width(out["data"]["image/png"])
                assert 400 <= width <= 1800, f"{out.metadata[OUTPUT_KEY]}: {width} px wide"


def test_figure_check_fails_on_a_notebook_with_a_figure_removed():
    """Negative control: drop one figure output of an executed notebook and the check sees it."""
    from rlvr_core.notebook.figures import OUTPUT_KEY, shown_figures

    nb = nbformat.read(ROOT / "notebooks" / "01_gradient_gap.ipynb", as_version=4)
    shown = shown_figures(nb)
    assert shown, "01_gradient_gap.ipynb shows no figure"
    for cell in nb.cells:
        cell["outputs"] = [o for o in cell.get("outputs", [])
                           if o.get("metadata", {}).get(OUTPUT_KEY) != shown[0]]
    assert _manifest_figures("01_gradient_gap") - set(shown_figures(nb)) == {shown[0]}


def test_manifest_figures_exist():
    manifest = json.loads((ROOT / "figures" / "manifest.json").read_text())
    assert manifest
    notebooks = {p.stem for p in SOURCES}
    for name, entry in manifest.items():
        assert entry["notebook"] in notebooks, f"{name}: unknown notebook {entry['notebook']}"
        for f in entry["files"]:
            assert (ROOT / f).exists(), f"{name}: {f} missing"


def _requirements():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [l.strip() for l in lines if l.strip() and not l.startswith("#")]


def test_requirements_pinned_and_torch_cpu_pin():
    reqs = _requirements()
    assert all("==" in r for r in reqs), [r for r in reqs if "==" not in r]
    assert "torch==2.13.0" in reqs


def test_environment_yml_wraps_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps and "pip" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert "-r requirements.txt" in pip


def test_pyproject_ranges_admit_the_pinned_versions():
    """pyproject.toml declares ranges (Colab keeps its own torch); requirements.txt is the lock.
    Every pinned version must satisfy the declared range, or `make` would install a set the
    package itself rejects."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # the vllm extra is for CUDA machines: no build of it installs on the CPU reference machine
    extras = {k: v for k, v in project["optional-dependencies"].items() if k != "vllm"}
    assert set(project["optional-dependencies"]) - set(extras) <= {"vllm"}
    declared = [Requirement(r) for r in project["dependencies"]
                + [r for group in extras.values() for r in group]]
    pins = {Requirement(r).name: next(iter(Requirement(r).specifier)).version for r in _requirements()}
    assert not any(str(r.specifier).startswith("==") for r in declared if r.name == "torch")
    for req in declared:
        assert req.name in pins, f"{req.name} is declared but not pinned in requirements.txt"
        assert req.specifier.contains(pins[req.name], prereleases=True), (req, pins[req.name])


def test_make_figures_runs_the_overview_last():
    """00_overview tabulates the manifest that the other notebooks write, so one `make figures`
    must leave it current: it has to run after every other notebook."""
    mod = _script("run_notebooks")
    order = [p.stem for p in mod.notebook_sources([])]
    assert order[-1] == "00_overview" and sorted(order) == [p.stem for p in SOURCES]
    assert [p.stem for p in mod.notebook_sources(["00_overview", "01_gradient_gap"])] == \
        ["00_overview", "01_gradient_gap"]  # an explicit list keeps its order


# The template and pair check itself (scripts/check_notebooks.py) runs once per `make test`, as the
# pre-commit hook of `make lint`; these tests only show that it can fail.

def test_template_check_refuses_a_bare_assert_in_a_checked_cell(tmp_path):
    """Negative control: the template check can fail."""
    mod = _script("check_notebooks")
    text = (ROOT / "notebooks" / "01_gradient_gap.py").read_text()
    bad = tmp_path / "01_gradient_gap.py"
    bad.write_text(text.replace("assert expect(", "assert 0 < 1 or expect(", 1))
    assert any("bare assert" in p for p in mod.problems(bad))


def test_pair_check_refuses_an_ipynb_out_of_sync_with_its_source(tmp_path):
    """Negative control: a .py edited without re-pairing its .ipynb is reported."""
    mod = _script("check_notebooks")
    src = ROOT / "notebooks" / "00_overview.py"
    (tmp_path / "00_overview.ipynb").write_bytes(src.with_suffix(".ipynb").read_bytes())
    py = tmp_path / "00_overview.py"
    py.write_text(src.read_text())
    assert mod.problems(py) == []
    py.write_text(src.read_text().replace("# %%", "# %%\nx = 1\n\n# %%", 1))
    assert [p for p in mod.problems(py) if "out of sync" in p]


def test_run_plan_selects_part_of_a_plan_and_rejects_rates_it_lacks():
    from rlvr_core.llm.sweeps import smollm2_long_plan

    run_plan = _script("run_plan")
    plan = smollm2_long_plan()
    none_stored = dict(stored=lambda c: False)
    assert run_plan.runs_to_do(plan, **none_stored) == plan
    part = run_plan.runs_to_do(plan, lrs=[0.1, 0.3], seeds=[1], **none_stored)
    assert part and all(c.seed == 1 and c.learning_rate in (0.1, 0.3) for c in part)
    assert len(part) == sum(c.seed == 1 and c.learning_rate in (0.1, 0.3) for c in plan)
    assert run_plan.runs_to_do(plan, reverse=True, **none_stored) == plan[::-1]
    assert run_plan.runs_to_do(plan, stored=lambda c: c.seed == 0) == [c for c in plan if c.seed != 0]
    with pytest.raises(SystemExit, match="0.5"):
        run_plan.runs_to_do(plan, lrs=[0.5], **none_stored)
    dr = run_plan.runs_to_do(plan, loss_types=["dr_grpo"], seeds=[2], **none_stored)
    assert dr and len(dr) == sum(c.loss_type == "dr_grpo" and c.seed == 2 for c in plan)
    assert all(c.loss_type == "dr_grpo" and c.seed == 2 for c in dr)
    with pytest.raises(SystemExit, match="dapo"):
        run_plan.runs_to_do(plan, loss_types=["dapo"], **none_stored)


def test_every_config_file_a_config_names_exists_and_the_7b_launch_is_sharded():
    """A user copies the launch line of a config's header: each file it names must exist, and
    the 7B config (fp32 weights + AdamW, ~112 GiB) must be launched sharded, not as plain DDP."""
    import re

    named = {}
    for cfg in sorted((ROOT / "configs").glob("*.yaml")):
        for path in re.findall(r"configs/[\w./-]+\.yaml", cfg.read_text()):
            named.setdefault(path, cfg.name)
    assert named, "no config names another file"
    missing = {p: who for p, who in named.items() if not (ROOT / p).exists()}
    assert not missing, f"configs name files that do not exist: {missing}"
    header = (ROOT / "configs" / "qwen2.5-math-7b.yaml").read_text().split("\nmodel:")[0]
    launches = re.findall(r"accelerate launch[^\n]*", header)
    assert launches and all("fsdp.yaml" in line for line in launches), launches


SHAPED = '''# %% [markdown]
# # 99 · A shaped notebook

# %% tags=["hide-input"]
import sys

# %% tags=["parameters"]
PROFILE = "default"

# %% tags=["hide-input"]
sizes = dict(n=3)

# %% [markdown]
# ## 1. A claim
# **[derived]** One equals one.

# %%
x = 1

# %% [markdown]
# ### Checks and limits

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
assert expect("one", x, 1.0, tol=0)

# %% [markdown]
# <details><summary>Why the tolerance is zero</summary>
#
# It is exact arithmetic.
# </details>

# %% [markdown]
# ## 2. Next section
'''


@pytest.mark.parametrize("change, problem", [
    (("x = 1\n", "x = 1\n" + "y = 2\n" * 15), "lines (at most 15)"),
    (("x = 1\n", 'x = 1\nprint(f"the check holds with x = {x} as the theory says it must")\n'),
     "builds prose"),
    (("x = 1\n", "x = 1\ndisplay(Markdown('**So.**'))\n"), "builds prose"),
    (("x = 1\n", "x = 1 if PROFILE == 'default' else 2\n"), "compares PROFILE"),
    (("x = 1\n", "x = 1\nsavefig(a)\nsavefig(b)\n"), "more than one figure"),
    (("# ### Checks and limits\n", "# ### More\n"), "outside a 'Checks and limits' part"),
    (('# %% tags=["hide-cell"]\n', "# %%\n"), "not tagged hide-cell"),
    (("# <details><summary>Why", "# <summary>Why"), "not a <details> block"),
    (('# %% tags=["hide-input"]\nsizes', "# %%\nsizes"), "not tagged hide-input"),
])
def test_shape_check_accepts_the_shape_and_names_each_departure(change, problem):
    """The reading-shape rules pass a shaped notebook and each rule fails on its own departure."""
    import jupytext

    mod = _script("check_notebooks")
    assert mod.shape_problems(jupytext.reads(SHAPED, fmt="py:percent")) == []
    old, new = change
    assert old in SHAPED
    found = mod.shape_problems(jupytext.reads(SHAPED.replace(old, new, 1), fmt="py:percent"))
    assert any(problem in p for p in found), found


def test_shape_word_count_splits_main_line_from_folds(tmp_path):
    mod = _script("check_notebooks")
    path = tmp_path / "99_shaped.py"
    path.write_text(SHAPED)
    main, folded = mod.words(path)
    assert main == 11  # A shaped notebook · A claim · derived One equals one · Next section
    assert folded == 12  # Checks and limits · Why the tolerance is zero · It is exact arithmetic
