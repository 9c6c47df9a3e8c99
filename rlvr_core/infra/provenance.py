"""Where results live, what produced them, and how they are written to disk.

Cache-invalidation rule (the one rule of the project)
-----------------------------------------------------
A cached result is stored under a key = ``content_hash`` of (name, parameters, hash of the source
of the modules that compute it). A change to the parameters or to that source gives a new key, so
the old file is simply no longer found; nothing is ever deleted or rewritten in place.

* Bandit results (numpy/torch, ``results/<name>-<key>.npz``, :mod:`rlvr_core.infra.cache`): the source
  hash is :func:`bandit_code_hash`, over the folders that compute them (:data:`COMPUTING_FOLDERS`)
  and any module at the package's top level. Editing ``llm/``, ``notebook/`` (plots, checked
  claims, the registry) or ``infra/`` keeps them; editing the computing code recomputes them.
* LLM results (``results/llm/**.json``, committed to git, hours of compute): the source is not
  part of the key. They are keyed by their full run configuration only (``RunConfig.key()``, the
  line-search request) and recomputed on request with ``refresh=True`` (``PROFILE=full``). Each
  new file records :func:`provenance` (commit, dirty flag, package versions, CPU) and the hash of
  its starting weights, so a reader can tell which code produced it.
* Figures are always redrawn; their manifest entry records the commit (no timestamps, so two runs
  on one commit write the same manifest).

Every file goes through :func:`atomic_write_bytes` (temporary file + rename) and every folder
through :func:`atomic_directory`, so a reader never sees a half-written one.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
ROOT = PACKAGE_DIR.parent
# In a checkout (or an editable install) everything lives in the repository. A regular install
# (Colab, `pip install rlvr-core`) has no repository around it: results and figures then go to
# the working folder, where the reader sees them, never into site-packages.
IN_CHECKOUT = (ROOT / "pyproject.toml").is_file() and (ROOT / "rlvr_core").is_dir()
WORK_DIR = ROOT if IN_CHECKOUT else Path.cwd()
RESULTS_DIR = Path(os.environ.get("RLVR_RESULTS_DIR", WORK_DIR / "results"))
FIGURE_DIR = Path(os.environ.get("RLVR_FIGURE_DIR", WORK_DIR / "figures"))
LLM_RESULTS_DIR = Path(os.environ.get("RLVR_LLM_RESULTS_DIR", WORK_DIR / "results" / "llm"))
LLM_CACHE_DIR = WORK_DIR / ".cache" / "llm"
# The committed language-model results (hours of compute), shipped inside the wheel by setup.py.
STORED_LLM_RESULTS = PACKAGE_DIR / "_stored_results" / "llm"

# The folders whose code computes bandit results: their source is the cache's code version. Every
# other folder only presents, checks or stores results, or is the language-model side; a test keeps
# each folder of the package in one of the two lists.
COMPUTING_FOLDERS = ("paper", "simulators", "stats", "stepsize", "studies")
OTHER_FOLDERS = ("llm", "notebook", "infra", "_stored_results")


def seed_llm_results(target: Path | None = None, stored: Path = STORED_LLM_RESULTS) -> int:
    """Copy the language-model results shipped with an installed package into ``target`` (the
    working folder's results/llm), so notebooks 07-10 re-plot them instead of recomputing
    hours of runs. Files already there are kept. Returns the number of files copied."""
    target = Path(target or LLM_RESULTS_DIR)
    if not stored.is_dir():
        return 0
    copied = 0
    for src in stored.rglob("*.json"):
        dst = target / src.relative_to(stored)
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            copied += 1
    return copied


# --- hashes -------------------------------------------------------------------------------------

def content_hash(obj, n: int = 16) -> str:
    """First ``n`` hex digits of the sha256 of ``obj`` as canonical JSON (key order ignored)."""
    blob = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:n]


def file_hash(path, n: int = 16) -> str:
    """First ``n`` hex digits of the sha256 of a file's bytes (read in chunks: weights are big)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:n]


def source_hash(files, root, n: int = 12) -> str:
    """Hash of source files, names (relative to ``root``) included so a rename counts."""
    h = hashlib.sha256()
    for path in sorted(map(Path, files)):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:n]


def bandit_sources(package_dir=PACKAGE_DIR) -> list[Path]:
    """The source files that compute bandit results: every module under
    :data:`COMPUTING_FOLDERS`, and every top-level module but the package's face and command line."""
    package_dir = Path(package_dir)
    out = []
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).parts
        top_level = len(parts) == 1 and parts[0] not in ("__init__.py", "__main__.py")
        if top_level or parts[0] in COMPUTING_FOLDERS:
            out.append(path)
    return out


def bandit_code_hash(package_dir=PACKAGE_DIR) -> str:
    return source_hash(bandit_sources(package_dir), package_dir)


# --- what produced a result ---------------------------------------------------------------------

def _git(*args, cwd=ROOT) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None


def git_commit(root=ROOT) -> str:
    """Short hash of HEAD, or ``"unknown"`` outside a git checkout."""
    out = _git("rev-parse", "--short", "HEAD", cwd=root)
    return (out.stdout.strip() if out and out.returncode == 0 else "") or "unknown"


def git_dirty(root=ROOT) -> bool | None:
    """True when tracked files differ from HEAD; None outside a git checkout. Untracked files
    (results, caches) do not count."""
    out = _git("status", "--porcelain", "--untracked-files=no", cwd=root)
    if out is None or out.returncode != 0:
        return None
    return bool(out.stdout.strip())


def package_versions(names) -> dict:
    """{name: installed version, or None when not installed}."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def cpu_info() -> dict:
    """Torch's CPU settings that change float results: threads and the SIMD kernels in use."""
    import torch

    info = {"torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    if "ATEN_CPU_CAPABILITY" in os.environ:
        info["aten_cpu_capability"] = os.environ["ATEN_CPU_CAPABILITY"]
    return info


def provenance(packages=()) -> dict:
    """Commit, dirty flag, package versions and CPU info, for a new result file."""
    return {"commit": git_commit(), "dirty": git_dirty(), "versions": package_versions(packages),
            "cpu": cpu_info()}


# --- atomic writes ------------------------------------------------------------------------------

def atomic_write_bytes(path, data: bytes) -> Path:
    """Write through a hidden temporary file and a rename: readers see the old or the new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_directory(path):
    """Yield a hidden temporary folder next to ``path``; it becomes ``path`` when the block
    succeeds and is removed when it raises. An existing ``path`` is replaced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    tmp.chmod(0o755)    # mkdtemp makes it private; the finished folder is an ordinary one
    try:
        yield tmp
        _replace_directory(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_directory(src: Path, dst: Path) -> None:
    # A rename cannot overwrite a non-empty folder: move the old one aside first, drop it after.
    trash = None
    if dst.exists():
        trash = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp"))
        os.replace(dst, trash / dst.name)
    os.replace(src, dst)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def remove_stale_temporaries(folder) -> list[Path]:
    """Delete the temporaries (``.<name>.*.tmp`` files and folders) that a killed writer left
    under ``folder``. Call it only when no other writer is running (``make figures`` does, at its
    start)."""
    folder = Path(folder)
    stale = sorted(folder.rglob(".*.tmp")) if folder.exists() else []
    for p in stale:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return stale


if not IN_CHECKOUT and "RLVR_LLM_RESULTS_DIR" not in os.environ:
    # An installed package (Colab): make the shipped language-model results visible in the working
    # folder before any notebook looks for them. Unwritable folders just go without.
    try:
        seed_llm_results()
    except OSError:
        pass
