"""Cached bandit results (numpy/torch), one file per (name, parameters, code).

Invalidation rule (see :mod:`rlvr_core.infra.provenance`): the key of a result is the hash of its name,
its parameters and :func:`code_version`, the hash of the source files that compute bandit
results: the folders of ``provenance.COMPUTING_FOLDERS`` (paper, simulators, stats, ...). Editing
the simulation code recomputes a result; editing plotting, checks, storage or LLM code does not. Old files are never rewritten:
a new key means a new file.

A result is a dict of numpy arrays and JSON-able scalars, stored as ``results/<name>-<key>.npz``
through a temporary file and a rename. A file that cannot be read back (truncated, corrupted)
is treated as missing and recomputed.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from rlvr_core.infra import provenance
from rlvr_core.infra.provenance import atomic_write_bytes, content_hash

RESULTS_DIR = provenance.RESULTS_DIR


def code_version() -> str:
    """Hash of the source that computes bandit results (not llm/, not plotting)."""
    return provenance.bandit_code_hash()


def result_key(name: str, params: dict) -> str:
    return content_hash({"name": name, "params": params, "code": code_version()})


def _path(name: str, params: dict) -> Path:
    return RESULTS_DIR / f"{name}-{result_key(name, params)}.npz"


def _encode(result: dict, params: dict) -> bytes:
    arrays = {k: np.asarray(v) for k, v in result.items()}
    arrays["__params__"] = np.asarray(json.dumps(params, sort_keys=True, default=str))
    buf = io.BytesIO()
    # np.savez writes zip entries with a fixed timestamp, so equal inputs give equal bytes.
    np.savez(buf, **arrays)
    return buf.getvalue()


def load(name: str, params: dict) -> dict | None:
    """The cached result, or None when absent or unreadable."""
    path = _path(name, params)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files if k != "__params__"}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError):
        return None
    return {k: (v.item() if v.ndim == 0 else v) for k, v in out.items()}


def cached(name: str, params: dict, compute: Callable[[], dict], *, refresh: bool = False) -> dict:
    """Return ``compute()``'s result, from ``results/`` when already computed."""
    if not refresh:
        hit = load(name, params)
        if hit is not None:
            return hit
    result = compute()
    atomic_write_bytes(_path(name, params), _encode(result, params))
    return load(name, params)
