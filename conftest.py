"""Test-session setup shared by the unit tests and nbval's notebook runs.

A test run must leave the work tree exactly as it was: notebook executions write figures and
cached results, so both go to a temporary folder for the whole session (the kernels nbval and
papermill start inherit this environment). The work tree is fingerprinted when the session starts;
``tests/test_zz_work_tree.py`` runs last and compares.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
_SCRATCH = Path(tempfile.mkdtemp(prefix="rlvr-test-"))
# Set at import, before any test module imports rlvr_core (which reads these once).
os.environ.setdefault("RLVR_FIGURE_DIR", str(_SCRATCH / "figures"))
os.environ.setdefault("RLVR_RESULTS_DIR", str(_SCRATCH / "results"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def work_tree_fingerprint() -> str | None:
    """Hash of `git status --porcelain` and the diff against HEAD; None outside a git checkout."""
    try:
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                                capture_output=True, check=True, timeout=60).stdout
        diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=ROOT, capture_output=True,
                              check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return hashlib.sha256(status + b"\0" + diff).hexdigest() + "\n" + status.decode()


def pytest_sessionstart(session):
    session.config.work_tree_fingerprint = work_tree_fingerprint
    session.config.work_tree_at_start = work_tree_fingerprint()


# Longest first: under pytest-xdist (`make test` runs two workers) the long units then start at
# once instead of leaving one worker alone at the end. A unit is a file (a notebook's cells share
# one kernel, a module its fixtures), except the perturbation runs, one notebook execution each.
LONGEST_FIRST = ("tests/test_perturbation.py", "notebooks/", "tests/test_site_browser.py",
                 "tests/test_crash_safety.py")
HEAVIEST_NOTEBOOKS = ("04_length_scaling", "05_success_rate_and_stagnation")


def _cost_rank(nodeid: str) -> tuple[int, bool]:
    rank = next((i for i, prefix in enumerate(LONGEST_FIRST) if nodeid.startswith(prefix)),
                len(LONGEST_FIRST))
    return rank, not any(nb in nodeid for nb in HEAVIEST_NOTEBOOKS)


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda i: _cost_rank(i.nodeid))  # stable: the order within a rank is kept
    # The work-tree check must see every other test's side effects: run it last.
    last = [i for i in items if i.nodeid.startswith("tests/test_zz_work_tree.py")]
    items[:] = [i for i in items if i not in last] + last


PERTURBATION_RUN = "tests/test_perturbation.py::test_checked_claims_hold_under_perturbation["


def scheduling_unit(nodeid: str) -> str:
    """What stays on one xdist worker: a file (a module, or a notebook's cells), except that each
    perturbation run is a unit of its own."""
    return nodeid if nodeid.startswith(PERTURBATION_RUN) else nodeid.split("::", 1)[0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, except that each perturbation run is a unit of its own."""
    if config.option.dist != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scheduling_unit(nodeid)

    return ByFile(config, log)


def in_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionfinish(session, exitstatus):
    # Under xdist no worker sees the other's side effects, so the controller repeats the
    # work-tree check once every worker has finished (tests/test_zz_work_tree.py skips there).
    config = session.config
    if in_xdist_worker(config) or not config.pluginmanager.hasplugin("dsession"):
        return
    before, after = config.work_tree_at_start, work_tree_fingerprint()
    if before is not None and after != before:
        print("\nFAILED: the test run changed the work tree.\nbefore:\n" + before.split("\n", 1)[1]
              + "\nafter:\n" + after.split("\n", 1)[1])
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config):
    shutil.rmtree(_SCRATCH, ignore_errors=True)
