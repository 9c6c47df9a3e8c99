"""Test the lower bounds that pyproject.toml declares.

    python scripts/lower_bounds.py

pyproject.toml declares compatible ranges (`pkg>=X`) so that `pip install` on Colab keeps the
packages already there, while requirements.txt pins the exact versions `make test` runs with. A
floor nobody installs is a guess; this script installs every floor and runs the library tests:

1. reads the floors of `[project] dependencies` and of the `llm` extra (tomllib) and writes a pip
   constraints file pinning each package to its floor (`pkg==X`);
2. creates a fresh venv in build/lower-bounds-venv and installs, non-editable,
   `pip install -c <constraints> torch==2.13.0 ".[llm]"` plus the pytest of requirements.txt;
3. checks that every installed version equals its floor, then runs the unit tests of the library
   that need neither the notebook pipeline nor jupyter nor a browser, from an empty working folder
   (so the installed package is the one tested and writes nothing into the checkout).

The package and the tests come from one snapshot of the checkout's files (tracked and untracked,
not ignored), so an edit made while the script runs cannot set one against the other.

torch is the one exception: torch's floor 2.6 is declared, not tested: the only torch build this
offline machine has is 2.13.0 (a CPU build on local disk; PyPI's other torch releases are multi-GB
CUDA builds). Everything else comes from PyPI.

Prints each package, its floor and the installed version, then the pytest result; exits nonzero
if a floor does not install, an installed version differs from its floor, or a test fails.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "build" / "lower-bounds-venv"
TORCH = "2.13.0"  # the only torch build on this machine (see the docstring)
# Tests left out: they need the notebook pipeline (papermill, nbformat, jupytext, nbval), the
# browser, pip/pre-commit, or the checkout's git state. (The few tests that start
# `python -m rlvr_core...` in the repository folder run the snapshot's copy: same code, same venv.)
IGNORE = ["test_bad_parameters.py", "test_claims.py", "test_colab_binder.py", "test_crash_safety.py",
          "test_perturbation.py", "test_pipeline.py", "test_site_browser.py", "test_zz_work_tree.py"]


def floors() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = {}
    for spec in project["dependencies"] + project["optional-dependencies"]["llm"]:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)", spec)
        if not m:
            sys.exit(f"not a plain `pkg>=X` floor: {spec!r}")
        found[m[1].lower()] = m[2]
    return found


def requirement_pin(name: str) -> str:
    return next(line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                if line.startswith(f"{name}=="))


def snapshot(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    return dest


def run(cmd, **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, **kw)


def installed_versions(python: Path) -> dict[str, str]:
    out = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True,
                         text=True, check=True).stdout
    return {n.lower().replace("_", "-"): v for n, v in (line.split("==") for line in out.split())}


def check(scratch: Path) -> int:
    want = floors()
    print(f"torch's floor {want['torch']} is declared, not tested: the only torch build this "
          f"offline machine has is {TORCH}.")
    constraints = VENV.parent / "lower-bounds-constraints.txt"
    constraints.parent.mkdir(exist_ok=True)
    constraints.write_text("".join(f"{p}=={v}\n" for p, v in want.items() if p != "torch"))
    shutil.rmtree(VENV, ignore_errors=True)
    run([sys.executable, "-m", "venv", VENV], check=True)
    python = VENV / "bin" / "python"
    pip = [python, "-m", "pip", "install", "-q"]
    # torch alone first, so the CPU build on local disk is the one taken (as in colab_emulation.py)
    run([*pip, f"torch=={TORCH}"], check=True)
    src = snapshot(scratch / "src")
    if run([*pip, "-c", constraints, f"torch=={TORCH}", f"{src}[llm]",
            requirement_pin("pytest")]).returncode:
        print("FAIL: the floors do not install together (pip's message above)")
        return 1

    have = installed_versions(python)
    print(f"\n{'package':<14}{'floor':<10}installed")
    wrong = []
    for p, v in want.items():
        got = have.get(p, "missing")
        same = got.split("+")[0] in (v, f"{v}.0", f"{v}.0.0")
        if not same and p != "torch":
            wrong.append(p)
        note = "" if same else ("  (the one torch here)" if p == "torch" else "  <- NOT THE FLOOR")
        print(f"{p:<14}{v:<10}{got}{note}")
    if wrong:
        print(f"FAIL: installed versions differ from the floors: {', '.join(wrong)}")
        return 1

    # An installed package writes results and figures into the working folder (an empty one here).
    work = scratch / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLVR_")}
    env.update(HF_HUB_OFFLINE="1", MPLBACKEND="Agg")
    where = subprocess.run([python, "-c", "import rlvr_core; print(rlvr_core.__file__)"], cwd=work,
                           env=env, capture_output=True, text=True).stdout.strip()
    print(f"\ntesting the installed package: {where}")
    return run([python, "-m", "pytest", src / "tests", "-m", "not perturbation", "-q",
                "-p", "no:cacheprovider", *(f"--ignore={src / 'tests' / t}" for t in IGNORE)],
               cwd=work, env=env).returncode


def main() -> int:
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="lower-bounds-") as scratch:
        rc = check(Path(scratch))
    print(f"\n{'PASS' if rc == 0 else 'FAIL'}: lower bounds of pyproject.toml (torch {TORCH} in place "
          f"of its floor), exit {rc}, {(time.time() - start) / 60:.1f} min")
    return rc


if __name__ == "__main__":
    sys.exit(main())
