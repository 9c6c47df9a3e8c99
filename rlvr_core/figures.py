"""One figure style and one way to save figures: png + pdf, written atomically, with a
manifest entry (figure -> notebook -> parameters -> paper claim -> commit). The entry holds
nothing that changes between two runs on one commit (no timestamps)."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from . import provenance
from .provenance import atomic_write_bytes, atomic_write_text, git_commit
from .validation import check_choice

FIGURE_DIR = provenance.FIGURE_DIR
MANIFEST = "manifest.json"
CLAIMS = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "overview", "checker")


def set_style() -> None:
    """The companion's plotting style (seaborn whitegrid, readable sizes)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150,
                                "savefig.bbox": "tight", "axes.titlesize": "medium",
                                "svg.hashsalt": "rlvr"})


def _render(fig, fmt: str) -> bytes:
    import io

    buf = io.BytesIO()
    # Fixed metadata so the same figure gives the same bytes on a rerun.
    meta = {"Software": None} if fmt == "png" else {"Creator": None, "Producer": None,
                                                     "CreationDate": None}
    fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()


def savefig(fig, name: str, *, notebook: str, claim: str, params: dict | None = None,
            caption: str = "") -> Path:
    """Write ``figures/<name>.png`` and ``.pdf`` atomically and record the figure in
    ``figures/manifest.json``. ``name`` says what the figure shows."""
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"name={name!r} is invalid: expected letters, digits, '_' or '-'")
    check_choice("claim", claim, CLAIMS)
    FIGURE_DIR.mkdir(parents=True, exist_ok=True)
    for fmt in ("png", "pdf"):
        atomic_write_bytes(FIGURE_DIR / f"{name}.{fmt}", _render(fig, fmt))
    manifest_path = FIGURE_DIR / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[name] = {"notebook": notebook, "claim": claim, "caption": caption,
                      "params": {k: params[k] for k in sorted(params or {})},
                      "files": [f"figures/{name}.png", f"figures/{name}.pdf"],
                      "commit": git_commit()}
    atomic_write_text(manifest_path, json.dumps(dict(sorted(manifest.items())), indent=1,
                                                default=str) + "\n")
    return FIGURE_DIR / f"{name}.png"


def show(fig) -> None:
    """Display in a notebook, then close so figures do not pile up in memory."""
    plt.show()
    plt.close(fig)
