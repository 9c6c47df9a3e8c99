"""One figure style and one way to save figures: png + pdf, written atomically, with a
manifest entry (figure -> notebook -> parameters -> paper claim -> commit). The entry holds
nothing that changes between two runs on one commit (no timestamps)."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from rlvr_core.infra import provenance
from rlvr_core.infra.provenance import atomic_write_bytes, atomic_write_text, git_commit
from rlvr_core.infra.arguments import check_choice

FIGURE_DIR = provenance.FIGURE_DIR
MANIFEST = "manifest.json"
# A notebook shows each figure at 110 dpi (a 10-inch figure is 1100 px wide: sharp at a laptop's
# notebook or book width) in a 256-colour palette, which keeps a figure near 25 kB in the
# committed notebook; the files in figures/ keep full colour at 150 dpi.
DISPLAY_DPI = 110
# The key, in an image output's metadata, that names the figure: the pipeline test and the
# book find a notebook's figures by it.
OUTPUT_KEY = "rlvr_figure"
CLAIMS = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "overview", "checker")


def set_style() -> None:
    """The companion's plotting style (seaborn whitegrid, readable sizes)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150,
                                "savefig.bbox": "tight", "axes.titlesize": "medium",
                                "svg.hashsalt": "rlvr"})


def _render(fig, fmt: str, dpi: float | None = None) -> bytes:
    import io

    buf = io.BytesIO()
    # Fixed metadata so the same figure gives the same bytes on a rerun.
    meta = {"Software": None} if fmt == "png" else {"Creator": None, "Producer": None,
                                                     "CreationDate": None}
    fig.savefig(buf, format=fmt, metadata=meta, **({"dpi": dpi} if dpi else {}))
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
    fig._rlvr_saved = {"name": name, "claim": claim, "caption": caption}  # read by show()
    return FIGURE_DIR / f"{name}.png"


def display_png(fig) -> bytes:
    """The PNG a notebook shows: DISPLAY_DPI, palette colours, no dithering (plots have few
    colours, so the palette is exact for lines and text and close for anti-aliased edges)."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(_render(fig, "png", dpi=DISPLAY_DPI))).convert("RGB")
    buf = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        buf, format="PNG", optimize=True)
    return buf.getvalue()


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def caption_markdown(name: str, claim: str, caption: str) -> str:
    """The line under a figure in a notebook: its file name, its claim and its caption."""
    return f"*Figure `{name}`* (claim {claim}). {' '.join(caption.split())}".rstrip()


def show(fig) -> None:
    """Show the figure where the notebook discusses it, then close it.

    In a Jupyter kernel (papermill, JupyterLab, Colab, Binder) the figure becomes a PNG output of
    the cell, whatever the matplotlib backend: ``make figures`` runs kernels under the Agg
    backend, where ``plt.show()`` draws nothing. A figure saved with :func:`savefig` carries its
    name in the output's metadata and its caption as a Markdown output under it. Outside a
    kernel (a script) this is ``plt.show()``."""
    if not _in_notebook():
        plt.show()
        plt.close(fig)
        return
    import base64

    from IPython.display import Markdown, display

    saved = getattr(fig, "_rlvr_saved", None)
    png = base64.b64encode(display_png(fig)).decode("ascii")
    label = saved["name"] if saved else "figure"
    meta = {OUTPUT_KEY: saved["name"]} if saved else {}
    display({"image/png": png, "text/plain": f"<Figure {label}>"}, raw=True, metadata=meta)
    plt.close(fig)
    if saved and saved["caption"]:
        display(Markdown(caption_markdown(saved["name"], saved["claim"], saved["caption"])))


def shown_figures(nb) -> list[str]:
    """The names of the saved figures that an executed notebook (an ``nbformat`` node or its
    JSON dict) shows as PNG outputs, in order."""
    names = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}) and OUTPUT_KEY in out.get("metadata", {}):
                names.append(out["metadata"][OUTPUT_KEY])
    return names


def rate_colours(fig, axes, rates, *, label: str = "learning rate η", cmap: str = "plasma"):
    """One colour per step size on a log scale, and one colour bar beside ``axes`` that names
    them: a reader matches a curve to its rate by colour instead of a legend of one entry per
    run. Returns ``{rate: colour}``."""
    import numpy as np
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, LogNorm

    rates = sorted({float(r) for r in rates})
    if not rates or rates[0] <= 0:
        raise ValueError(f"rates={rates!r} is invalid: expected one or more positive step sizes")
    # the palette's last sixth is too pale to read on white
    palette = ListedColormap(plt.get_cmap(cmap)(np.linspace(0, 0.85, 256)))
    lo, hi = rates[0], rates[-1] if rates[-1] > rates[0] else rates[0] * 10
    norm = LogNorm(lo / 1.2, hi * 1.2)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=palette), ax=axes, pad=0.015, aspect=30)
    bar.set_ticks(rates, labels=[f"{r:.2g}" for r in rates])
    bar.minorticks_off()
    bar.set_label(label)
    return {r: palette(norm(r)) for r in rates}
