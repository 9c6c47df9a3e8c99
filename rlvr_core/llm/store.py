"""The store of language-model results: one JSON file per result under ``results/llm/``, read back
when present, computed and written atomically when not (an interrupted sweep resumes where it
stopped). Runs live at ``<model>/<RunConfig.key()>.json``; derived results (line searches, range
tests, starting successes) at ``<kind>/<model>-<hash of the request>.json``. The key is the
configuration or request alone, never the code (the rule of :mod:`rlvr_core.infra.provenance`)."""
from __future__ import annotations

import json
import time
from pathlib import Path

from rlvr_core.infra.provenance import LLM_RESULTS_DIR, atomic_write_text, content_hash
from .config import RunConfig
from .device import on_cpu, run_provenance
from .start_model import resolve_model

RESULTS_DIR = LLM_RESULTS_DIR


def read_or_compute(path, compute, *, refresh: bool = False, allow_compute: bool = True) -> dict | None:
    """The JSON stored at ``path``, or ``compute()`` written there; a file that cannot be read is
    recomputed. ``None`` when nothing is stored and ``allow_compute`` is False."""
    path = Path(path)
    if path.exists() and not refresh:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    if not allow_compute:
        return None
    result = compute()
    atomic_write_text(path, json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result


def result_path(cfg: RunConfig, results_dir=None) -> Path:
    """Where the result of the run ``cfg`` is stored."""
    return Path(results_dir or RESULTS_DIR) / cfg.model / f"{cfg.key()}.json"


def stored_runs(configs, results_dir=None) -> list[dict]:
    """The runs of ``configs`` that are stored, in order (a plan still running: the part so far)."""
    runs = (read_or_compute(result_path(c, results_dir), None, allow_compute=False) for c in configs)
    return [r for r in runs if r is not None]


def stored_result(kind: str, cfg: RunConfig, request: dict, compute, *, refresh: bool = False,
                  allow_compute: bool = True, results_dir=None) -> dict | None:
    """A derived language-model result (line search, range test) stored with its provenance in
    ``results/llm/<kind>/<model>-<key>.json`` and reused; the key is the request alone (the rule
    of :mod:`rlvr_core.infra.provenance`). ``compute()`` makes it when absent or on ``refresh``; returns
    ``None`` when nothing is stored and ``allow_compute`` is False."""
    key = content_hash(request, n=12)
    path = Path(results_dir or RESULTS_DIR) / kind / f"{cfg.model}-{key}.json"

    def with_provenance():
        t0 = time.perf_counter()
        result = compute()
        return {**result, "request": request,
                "provenance": {**run_provenance(resolve_model(cfg), on_cpu(cfg)),
                               "seconds": time.perf_counter() - t0}}

    return read_or_compute(path, with_provenance, refresh=refresh, allow_compute=allow_compute)
