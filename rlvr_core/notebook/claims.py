"""The claims registry: which of the paper's predictions (P1..P8) each notebook tests, with
which figures, and whether the notebook reproduced it.

The data live in ``claims.yaml`` next to this module (shipped as package data); README's short
map, notebook 00's map and the book's claim page are rendered from it, so there is one place to
change.

    >>> [c.id for c in load_claims()][:3]
    ['overview', 'P1', 'P2']
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

import yaml

STATUSES = ("reproduced", "reproduced differently", "not reproduced")
SOURCES = ("paper", "companion")
# A source checkout keeps the notebooks next to the package; an installed wheel has none, and
# then only the notebook names can be checked, against the NN_topic pattern.
_CHECKOUT_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    source: str
    statement: str
    notebooks: tuple[str, ...]
    figures: tuple[str, ...]
    status: str
    status_note: str
    summary: str

    @property
    def label(self) -> str:
        """The statement with its source label, as the notebooks write it."""
        return f"**[{self.source}]** {self.statement}"

    @property
    def notebook(self) -> str:
        """The first notebook: the one that opens the claim (a claim too large for one notebook,
        like P8, lists the rest after it)."""
        return self.notebooks[0]


# The registry's keys: ``notebook`` names one notebook or a list of them (Claim.notebooks).
_FIELDS = tuple("notebook" if f.name == "notebooks" else f.name for f in fields(Claim))


def _registry_text(path) -> tuple[str, str]:
    if path is None:
        ref = resources.files("rlvr_core") / "claims.yaml"
        return ref.read_text(encoding="utf-8"), "rlvr_core/claims.yaml"
    path = Path(path)
    return path.read_text(encoding="utf-8"), str(path)


def _claim(entry, where: str) -> Claim:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a mapping with fields {', '.join(_FIELDS)}, got {entry!r}")
    missing = [k for k in _FIELDS if k not in entry]
    unknown = sorted(set(entry) - set(_FIELDS))
    if missing or unknown:
        raise ValueError(f"{where}: missing fields {missing}, unknown fields {unknown}")
    for key in _FIELDS:
        value = entry[key]
        if key == "figures":
            if not isinstance(value, list) or not all(isinstance(f, str) and f for f in value):
                raise ValueError(f"{where}: figures must be a list of figure names, got {value!r}")
        elif key == "notebook" and isinstance(value, list) and value:
            continue                                       # checked name by name below
        elif not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: {key} must be a non-empty string, got {value!r}")
    if entry["status"] not in STATUSES:
        raise ValueError(f"{where}: status={entry['status']!r} is unknown: expected one of {STATUSES}")
    notebooks = entry["notebook"] if isinstance(entry["notebook"], list) else [entry["notebook"]]
    for nb in notebooks:
        if not isinstance(nb, str) or not re.fullmatch(r"\d\d_[a-z0-9_]+", nb):
            raise ValueError(f"{where}: notebook={nb!r} is not a notebook name like '01_gradient_gap'")
    if len(set(notebooks)) != len(notebooks):
        raise ValueError(f"{where}: notebook lists {notebooks!r} with a repeat")
    if entry["source"] not in SOURCES:
        raise ValueError(f"{where}: source={entry['source']!r} is unknown: expected one of {SOURCES}")
    values = {k: " ".join(entry[k].split()) if isinstance(entry[k], str) else tuple(entry[k])
              for k in _FIELDS if k != "notebook"}
    return Claim(notebooks=tuple(notebooks), **values)


def load_claims(path=None, *, notebooks_dir=None) -> list[Claim]:
    """The registry as a list of :class:`Claim`, in file order, validated.

    ``path`` defaults to the packaged ``claims.yaml``. Each claim's notebook must exist as
    ``<notebooks_dir>/<notebook>.py``; ``notebooks_dir`` defaults to the checkout's
    ``notebooks/`` when there is one. Raises ``ValueError`` naming the entry and the problem
    for a missing or unknown field, an unknown status or source, a duplicate id, a figure
    claimed twice or a missing notebook file."""
    text, where = _registry_text(path)
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list) or not data["claims"]:
        raise ValueError(f"{where}: expected a top-level 'claims:' list")
    if notebooks_dir is None and _CHECKOUT_NOTEBOOKS.is_dir():
        notebooks_dir = _CHECKOUT_NOTEBOOKS
    claims, owner = [], {}
    for i, entry in enumerate(data["claims"]):
        label = entry.get("id", f"#{i}") if isinstance(entry, dict) else f"#{i}"
        claim = _claim(entry, f"{where}: claim {label}")
        if any(c.id == claim.id for c in claims):
            raise ValueError(f"{where}: duplicate claim id {claim.id!r}")
        for fig in claim.figures:
            if fig in owner:
                raise ValueError(f"{where}: figure {fig!r} is listed under both {owner[fig]} and {claim.id}")
            owner[fig] = claim.id
        for nb in claim.notebooks if notebooks_dir is not None else ():
            if not (Path(notebooks_dir) / f"{nb}.py").is_file():
                raise ValueError(f"{where}: claim {claim.id}: notebook {nb!r} has no file "
                                 f"{Path(notebooks_dir) / (nb + '.py')}")
        claims.append(claim)
    return claims


def claim_by_id(claim_id: str, claims: list[Claim] | None = None) -> Claim:
    """One claim by its id (``'P4'``); ``KeyError`` naming the known ids otherwise."""
    claims = load_claims() if claims is None else claims
    for c in claims:
        if c.id == claim_id:
            return c
    raise KeyError(f"no claim {claim_id!r}: known ids {[c.id for c in claims]}")


def _cell(text: str) -> str:
    # A literal '|' would end the cell in a markdown table.
    return text.replace("|", "\\|")


def notebook_links(claim: Claim, link_prefix: str = "notebooks/", notebook_suffix: str = ".ipynb") -> str:
    """The claim's notebooks as markdown links, in order, separated by commas."""
    return ", ".join(f"[{nb}]({link_prefix}{nb}{notebook_suffix})" for nb in claim.notebooks)


def claims_summary_table(claims: list[Claim] | None = None, *, link_prefix: str = "notebooks/",
                         notebook_suffix: str = ".ipynb") -> str:
    """The short map (README's): one row per claim with its notebook and its verdict in a few
    words (``summary``); the long verdicts (``status_note``) are in :func:`claims_markdown_table`."""
    claims = load_claims() if claims is None else claims
    rows = ["| id | notebook | verdict |", "|---|---|---|"]
    for c in claims:
        nb = notebook_links(c, link_prefix, notebook_suffix)
        rows.append(f"| {c.id} | {nb} | {_cell(f'**{c.status}**: {c.summary}')} |")
    return "\n".join(rows) + "\n"


def claims_markdown_table(claims: list[Claim] | None = None, *, link_prefix: str = "notebooks/",
                          notebook_suffix: str = ".ipynb", figure_prefix: str | None = None) -> str:
    """The "claim → notebook → figures" map as a markdown table, one row per claim.

    Notebooks link to ``<link_prefix><notebook><notebook_suffix>``; figures are code-formatted
    names, or links to ``<figure_prefix><name>.png`` when ``figure_prefix`` is given."""
    claims = load_claims() if claims is None else claims
    rows = ["| id | claim | notebook | figures | status: what the notebook measured |",
            "|---|---|---|---|---|"]
    for c in claims:
        nb = notebook_links(c, link_prefix, notebook_suffix)
        if figure_prefix is None:
            figs = ", ".join(f"`{f}`" for f in c.figures)
        else:
            figs = ", ".join(f"[{f}]({figure_prefix}{f}.png)" for f in c.figures)
        status = f"**{c.status}**: {c.status_note}"
        rows.append(f"| {c.id} | {_cell(c.title)} | {nb} | {figs or '—'} | {_cell(status)} |")
    return "\n".join(rows) + "\n"


def figure_table(manifest_path=None, claims: list[Claim] | None = None):
    """Every figure as a row (claim, status, notebook, figure, caption): the registry's figures,
    with captions from the figure manifest where it has them, plus any manifest figure the
    registry does not list (so a new figure shows up before it is registered).

    ``manifest_path`` defaults to the manifest that :func:`rlvr_core.notebook.figures.savefig` writes."""
    import pandas as pd

    from rlvr_core.infra.provenance import FIGURE_DIR

    claims = load_claims() if claims is None else claims
    path = Path(manifest_path) if manifest_path is not None else FIGURE_DIR / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    rows = [{"claim": c.id, "status": c.status, "notebook": manifest.get(f, {}).get("notebook", c.notebook),
             "figure": f, "what it shows": manifest.get(f, {}).get("caption", "")}
            for c in claims for f in c.figures]
    listed = {r["figure"] for r in rows}
    rows += [{"claim": e.get("claim", ""), "status": "(not in the registry)", "notebook": e.get("notebook", ""),
              "figure": name, "what it shows": e.get("caption", "")}
             for name, e in sorted(manifest.items()) if name not in listed]
    return pd.DataFrame(rows, columns=["claim", "status", "notebook", "figure", "what it shows"])
