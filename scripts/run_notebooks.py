"""Regenerate every notebook: sync each jupytext pair (the .py is the source of truth), execute
the .ipynb in place with papermill, and report the wall time of each.

    python scripts/run_notebooks.py [--profile default|full] [NN_topic ...]

Each notebook is executed into a temporary file that replaces the committed one only when the
run succeeded, so an interrupted run never leaves a half-written notebook behind.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import papermill

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT))
from rlvr_core.infra.provenance import atomic_write_text, remove_stale_temporaries  # noqa: E402
from rlvr_core.infra.cache import RESULTS_DIR  # noqa: E402
from rlvr_core.notebook.figures import FIGURE_DIR  # noqa: E402
from rlvr_core.infra.arguments import check_profile  # noqa: E402

VOLATILE_CELL_KEYS = ("papermill", "execution")
OVERVIEW = "00_overview"


def notebook_sources(names: list[str]) -> list[Path]:
    if not names:
        # the overview tabulates every figure from the manifest, so it runs after the others
        found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
        return [p for p in found if p.stem != OVERVIEW] + [p for p in found if p.stem == OVERVIEW]
    paths = []
    for name in names:
        path = NOTEBOOKS / f"{Path(name).stem}.py"
        if not path.exists():
            raise SystemExit(f"notebook {name!r} not found: expected {path}")
        paths.append(path)
    return paths


def synced_notebook(py: Path):
    """The notebook built from the .py, keeping the outputs of cells whose source is unchanged."""
    ipynb = py.with_suffix(".ipynb")
    nb = jupytext.read(py)
    if ipynb.exists():
        nb = jupytext.combine.combine_inputs_with_outputs(nb, nbformat.read(ipynb, as_version=4))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def is_progress_bar(output) -> bool:
    """A text progress bar (tqdm, Hugging Face's "Writing model shards"): stderr redrawn with
    carriage returns. Useful while a person watches; noise in a committed notebook."""
    return (output.get("output_type") == "stream" and output.get("name") == "stderr"
            and "\r" in output.get("text", ""))


def strip_volatile(path: Path) -> None:
    """Drop papermill's timestamps and durations, and progress bars, so a rerun changes only what
    it computed. (Execution counts stay: nbval refuses reference outputs of cells without one.)"""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not is_progress_bar(o)]
    atomic_write_text(path, nbformat.writes(nb) + "\n")


def run(py: Path, profile: str) -> float:
    ipynb = py.with_suffix(".ipynb")
    # Sync and execute in a hidden temporary file; the committed .ipynb is replaced only at the end.
    tmp = ipynb.with_name(f".{ipynb.stem}.running.ipynb")
    tmp.write_text(nbformat.writes(synced_notebook(py)) + "\n")
    # The default profile needs no injected cell, so the committed pair stays in sync.
    params = {} if profile == "default" else {"PROFILE": profile}
    start = time.perf_counter()
    try:
        papermill.execute_notebook(str(tmp), str(tmp), parameters=params, cwd=str(NOTEBOOKS),
                                   kernel_name="python3", progress_bar=False)
        strip_volatile(tmp)
        os.replace(tmp, ipynb)
    finally:
        tmp.unlink(missing_ok=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    args = parser.parse_args()
    check_profile(args.profile)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    # A run killed mid-way (SIGKILL skips every cleanup) leaves only hidden temporaries: drop them.
    for folder in (FIGURE_DIR, RESULTS_DIR):
        remove_stale_temporaries(folder)
    for leftover in NOTEBOOKS.glob(".*.running.ipynb"):
        leftover.unlink()
    times = {}
    total = time.perf_counter()
    for py in notebook_sources(args.names):
        print(f"[figures] {py.stem} (PROFILE={args.profile}) ...", flush=True)
        times[py.stem] = run(py, args.profile)
        print(f"[figures] {py.stem}: {times[py.stem]:.1f} s", flush=True)
    print(json.dumps({k: round(v, 1) for k, v in times.items()}, indent=1))
    print(f"[figures] all notebooks: {time.perf_counter() - total:.1f} s")


if __name__ == "__main__":
    main()
