"""Small helpers for the notebooks' first and last cells."""
from __future__ import annotations

from rlvr_core.infra.provenance import git_commit, package_versions

PACKAGES = ("torch", "numpy", "scipy", "matplotlib", "seaborn", "pandas", "transformers", "trl",
            "papermill", "jupytext", "nbval")


def versions(extra: tuple[str, ...] = ()) -> str:
    """Package versions and the commit, for the last cell of every notebook."""
    lines = [f"{name:>14} {version or '(not installed)'}"
             for name, version in package_versions(PACKAGES + tuple(extra)).items()]
    lines.append(f"{'commit':>14} {git_commit()}")
    return "\n".join(lines)
