"""rlvr_core.infra.provenance: atomic writes, hashes, git state, the cache-invalidation rule, and the
committed LLM results still found under their keys."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rlvr_core.infra import cache, provenance as P

ROOT = Path(__file__).resolve().parent.parent
LLM_DIR = ROOT / "results" / "llm"


# --- atomic writes ------------------------------------------------------------------------------

def test_atomic_write_failure_keeps_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    P.atomic_write_text(target, "old")

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(P.os, "fsync", crash)        # fails after the temp file holds the data
    with pytest.raises(OSError, match="disk full"):
        P.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_directory_renames_on_success_and_replaces(tmp_path):
    target = tmp_path / "model"
    with P.atomic_directory(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".model.")
        (tmp / "w.txt").write_text("first")
        assert not target.exists()                    # nothing visible before the block ends
    assert (target / "w.txt").read_text() == "first"
    with P.atomic_directory(target) as tmp:
        (tmp / "w.txt").write_text("second")
        assert (target / "w.txt").read_text() == "first"   # readers still see the old folder
    assert (target / "w.txt").read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_atomic_directory_removes_temporary_on_exception(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with P.atomic_directory(target) as tmp:
            (tmp / "half.bin").write_bytes(b"x")
            raise RuntimeError("killed mid-save")
    assert not tmp.exists() and not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_remove_stale_temporaries_drops_files_and_folders(tmp_path):
    (tmp_path / ".fig.png.abc.tmp").write_bytes(b"x")
    (tmp_path / "sub" / ".model.xyz.tmp").mkdir(parents=True)
    (tmp_path / "sub" / ".model.xyz.tmp" / "w.bin").write_bytes(b"x")
    (tmp_path / "keep.png").write_bytes(b"x")
    assert len(P.remove_stale_temporaries(tmp_path)) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["keep.png", "sub"]


# --- hashes -------------------------------------------------------------------------------------

def test_content_hash_ignores_key_order_and_sees_values():
    a = {"lr": 0.1, "seed": 0, "nested": {"x": 1, "y": [1, 2]}}
    b = {"nested": {"y": [1, 2], "x": 1}, "seed": 0, "lr": 0.1}
    assert P.content_hash(a) == P.content_hash(b)
    assert len(P.content_hash(a)) == 16 and len(P.content_hash(a, n=12)) == 12
    assert P.content_hash(a) != P.content_hash({**a, "seed": 1})
    assert P.content_hash(a) != P.content_hash({**a, "nested": {"x": 1, "y": [2, 1]}})


def test_file_hash_follows_content(tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    h = P.file_hash(f)
    f.write_bytes(b"abd")
    assert P.file_hash(f) != h
    f.write_bytes(b"abc")
    assert P.file_hash(f) == h


# --- git state ----------------------------------------------------------------------------------

def _git(repo, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                          check=True, capture_output=True, text=True, timeout=30).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_commit_and_dirty_in_a_temporary_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))   # never find an outer repo
    repo = tmp_path / "repo"
    repo.mkdir()
    assert P.git_dirty(repo) is None and P.git_commit(repo) == "unknown"
    _git(repo, "init", "-q")
    (repo / "a.py").write_text("x = 1\n")
    _git(repo, "add", "a.py")
    _git(repo, "commit", "-q", "-m", "first")
    assert P.git_commit(repo) == _git(repo, "rev-parse", "--short", "HEAD")
    assert P.git_dirty(repo) is False
    (repo / "untracked.txt").write_text("results do not count\n")
    assert P.git_dirty(repo) is False
    (repo / "a.py").write_text("x = 2\n")
    assert P.git_dirty(repo) is True


def test_provenance_records_what_produced_a_result():
    info = P.provenance(("numpy", "surely-not-installed-pkg"))
    assert set(info) == {"commit", "dirty", "versions", "cpu"}
    assert info["versions"]["numpy"] and info["versions"]["surely-not-installed-pkg"] is None
    assert info["cpu"]["torch_threads"] >= 1 and isinstance(info["cpu"]["cpu_capability"], str)
    json.dumps(info)


# --- the cache-invalidation rule ----------------------------------------------------------------

@pytest.fixture
def package_copy(tmp_path):
    dst = tmp_path / "rlvr_core"
    shutil.copytree(P.PACKAGE_DIR, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def _append(path: Path):
    path.write_text(path.read_text() + "\n# edited\n")


def test_bandit_code_hash_is_the_cache_code_version(package_copy):
    assert P.bandit_code_hash(package_copy) == P.bandit_code_hash() == cache.code_version()


@pytest.mark.parametrize("edited", ["llm/callback.py", "llm/runner.py", "notebook/figures.py",
                                    "notebook/nbutils.py", "notebook/expect.py", "notebook/claims.py",
                                    "infra/provenance.py", "infra/cache.py", "__main__.py"])
def test_llm_and_presentation_edits_keep_bandit_results(package_copy, edited):
    before = P.bandit_code_hash(package_copy)
    _append(package_copy / edited)
    assert P.bandit_code_hash(package_copy) == before


@pytest.mark.parametrize("edited", ["simulators/sim.py", "paper/gap.py", "stats/thresholds.py",
                                    "stepsize/checker.py", "studies/stagnation.py"])
def test_simulation_edits_invalidate_bandit_results(package_copy, edited):
    before = P.bandit_code_hash(package_copy)
    _append(package_copy / edited)
    assert P.bandit_code_hash(package_copy) != before


@pytest.mark.parametrize("new", ["new_engine.py", "simulators/new_engine.py", "studies/new_study.py"])
def test_new_simulation_module_invalidates_bandit_results(package_copy, new):
    before = P.bandit_code_hash(package_copy)
    (package_copy / new).write_text("")
    assert P.bandit_code_hash(package_copy) != before


def test_every_folder_of_the_package_is_classified():
    """A new folder must be named computing or not: the hash cannot silently skip it."""
    folders = {p.name for p in P.PACKAGE_DIR.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= set(P.COMPUTING_FOLDERS) | set(P.OTHER_FOLDERS), folders
    assert not set(P.COMPUTING_FOLDERS) & set(P.OTHER_FOLDERS)


# --- committed LLM results are still found --------------------------------------------------------

def _committed(folder: str) -> list[Path]:
    """The files under results/llm/<folder> that git tracks (the folder's files without git)."""
    if shutil.which("git") and (ROOT / ".git").exists():
        out = subprocess.run(["git", "ls-files", f"results/llm/{folder}"], cwd=ROOT,
                             capture_output=True, text=True, timeout=30, check=True).stdout
        return [ROOT / line for line in out.split()]
    return sorted((LLM_DIR / folder).glob("*.json"))


# One invariant, checked in one place: a run's key is the hash of what it trains, so the committed
# results (hours of compute) are found again, and fields that do not change the training stay out.

def test_committed_runs_are_found_under_their_recomputed_keys():
    from rlvr_core.llm.config import RunConfig
    from rlvr_core.llm.store import result_path
    from rlvr_core.llm.sweeps import load_cached

    checked = 0
    for model in ("tiny", "smollm2"):
        files = _committed(model)
        for path in files:
            stored = json.loads(path.read_text())
            cfg = RunConfig.from_dict(stored["config"])
            assert cfg.key() == stored["key"] == path.stem
            assert result_path(cfg, LLM_DIR) == path
            checked += 1
        loaded = load_cached(model, LLM_DIR)
        assert sorted(r["key"] for r in loaded) == sorted(p.stem for p in files)
    assert checked > 50, "the committed language-model runs are missing"


def test_committed_derived_results_are_found_under_their_request_keys():
    """Line searches, range tests and starting successes are keyed by their request alone; the
    line searches are also read back through their cached reader."""
    from rlvr_core.llm.probe import line_search_cached
    from rlvr_core.llm.config import RunConfig

    for kind in ("line_search", "range_test", "start_success"):
        files = _committed(kind)
        assert files, f"no committed {kind} results"
        for path in files:
            stored = json.loads(path.read_text())
            model = path.stem.rsplit("-", 1)[0]
            assert path.stem == f"{model}-{P.content_hash(stored['request'], n=12)}", path.name
    for path in _committed("line_search"):
        stored = json.loads(path.read_text())
        req = stored["request"]
        found = line_search_cached(RunConfig.from_dict(req["config"]), req["learning_rates"],
                                   num_prompts=req["num_prompts"], eval_samples=req["eval_samples"],
                                   seed=req["seed"], compute=False, results_dir=LLM_DIR)
        assert found == stored, path.name


def test_the_key_ignores_the_device_the_bookkeeping_and_new_fields_at_their_default():
    from rlvr_core.llm.config import RunConfig

    base = RunConfig(scratch_len=2)
    assert set(RunConfig.ADDED_FIELDS).isdisjoint(base.stable_dict())
    same = [RunConfig(scratch_len=2, use_cpu=True), RunConfig(scratch_len=2, use_cpu=False),
            RunConfig(scratch_len=2, tag="a note"),
            RunConfig(scratch_len=2, report_to="tensorboard", output_dir="x", save_strategy="steps",
                      save_steps=3, resume_from_checkpoint="auto", metrics_jsonl="m.jsonl")]
    assert {c.key() for c in same} == {base.key()}
    other = [RunConfig(scratch_len=2, task="math", dataset_path="sample"),
             RunConfig(scratch_len=2, eval_problems=8, eval_start=False),
             RunConfig(scratch_len=2, eval_problems=8), RunConfig(scratch_len=2, seed=1)]
    assert len({c.key() for c in other} | {base.key()}) == len(other) + 1


def test_default_result_folders_are_the_project_ones(monkeypatch):
    from rlvr_core.notebook import figures
    from rlvr_core.llm import store

    for var in ("RLVR_RESULTS_DIR", "RLVR_FIGURE_DIR", "RLVR_LLM_RESULTS_DIR"):
        if var in os.environ:
            pytest.skip(f"{var} is set")
    assert cache.RESULTS_DIR == ROOT / "results"
    assert figures.FIGURE_DIR == ROOT / "figures"
    assert store.RESULTS_DIR == LLM_DIR


def test_warm_start_folder_appears_whole_and_is_replaced_on_refresh(tmp_path):
    import rlvr_core.llm  # noqa: F401  (offline first)
    from rlvr_core.llm.models import load_local_model, warm_start_tiny

    kw = dict(cache_dir=tmp_path, max_steps=1, check_every=1, batch_size=8)
    folder = warm_start_tiny(0, **kw)
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]
    assert (folder / "warm_start.json").exists() and (folder / "model.safetensors").exists()
    load_local_model(folder)
    assert warm_start_tiny(0, refresh=True, **kw) == folder
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]      # no temporary left behind


def test_smollm2_runs_split_the_stored_runs_by_completion_cap_and_horizon():
    from rlvr_core.llm.sweeps import load_cached, smollm2_runs

    every = load_cached("smollm2", LLM_DIR)
    if not every:
        pytest.skip("no stored SmolLM2 runs")
    settings = {(r["config"]["max_completion_length"], r["config"]["max_steps"]) for r in every}
    by_setting = {s: smollm2_runs(s[0], LLM_DIR, steps=s[1]) for s in settings}
    assert sorted(r["key"] for runs in by_setting.values() for r in runs) == sorted(r["key"] for r in every)
    assert all((r["config"]["max_completion_length"], r["config"]["max_steps"]) == s
               for s, runs in by_setting.items() for r in runs)
    assert all(r["config"]["max_steps"] == 30 for r in smollm2_runs(24, LLM_DIR))   # the sweeps only
    assert smollm2_runs(7, LLM_DIR) == []
