"""Small helpers for the notebooks' first and last cells."""
from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "numpy", "scipy", "matplotlib", "seaborn", "pandas", "transformers", "trl",
            "papermill", "jupytext", "nbval")


def versions(extra: tuple[str, ...] = ()) -> str:
    """Package versions and the commit, for the last cell of every notebook."""
    lines = []
    for name in PACKAGES + tuple(extra):
        try:
            lines.append(f"{name:>14} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{name:>14} (not installed)")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    lines.append(f"{'commit':>14} {commit or 'unknown'}")
    return "\n".join(lines)
