"""Cached results keyed by a hash of (name, parameters, code version).

A result is a dict of numpy arrays and JSON-able scalars, stored as ``results/<name>-<key>.npz``
through a temporary file and a rename. A file that cannot be read back (truncated, corrupted)
is treated as missing and recomputed.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from .atomic import atomic_write_bytes

PACKAGE_DIR = Path(__file__).resolve().parent
RESULTS_DIR = Path(os.environ.get("RLVR_RESULTS_DIR", PACKAGE_DIR.parent / "results"))


def code_version() -> str:
    """Hash of every rlvr_core source file: a code change invalidates cached results."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def result_key(name: str, params: dict) -> str:
    blob = json.dumps({"name": name, "params": params, "code": code_version()},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


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
