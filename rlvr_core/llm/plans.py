"""Run plans as data: a YAML file (``configs/plans/*.yaml``) naming the fields every run shares
(``common``), a grid whose product gives the runs (``grid``, outermost first = the run order), and
an ``analysis`` block the runner ignores (rules and predictions fixed before the runs).

    plan = load_plan("configs/plans/tiny_horizon.yaml")
    plan.configs      # [RunConfig], validated, in run order

Unknown keys (a top-level key, or a ``common``/``grid`` field that :class:`RunConfig` lacks) are
errors that name the key and the allowed ones, so a typo never silently drops a field."""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from .config import RunConfig

PLAN_KEYS = ("plan", "common", "grid", "analysis")
RUN_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))


@dataclass(frozen=True)
class Plan:
    """A loaded plan: its name, the runs in order, and the analysis block (a dict, as written)."""
    name: str
    configs: list = field(default_factory=list)
    analysis: dict = field(default_factory=dict)
    path: str | None = None


def _unknown(where: str, keys, allowed) -> None:
    bad = sorted(set(keys) - set(allowed))
    if bad:
        raise ValueError(f"{where}: unknown key(s) {bad}; allowed: {sorted(allowed)}")


def plan_from_dict(data: dict, *, where: str = "plan") -> Plan:
    """A :class:`Plan` from a parsed plan file (see the module docstring)."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping at the top, got {type(data).__name__}")
    _unknown(where, data, PLAN_KEYS)
    for key in ("plan", "grid"):
        if key not in data:
            raise ValueError(f"{where}: missing key {key!r}")
    common = data.get("common") or {}
    grid = data["grid"]
    if not isinstance(common, dict) or not isinstance(grid, dict) or not grid:
        raise ValueError(f"{where}: 'common' must be a mapping and 'grid' a non-empty mapping")
    _unknown(f"{where}: common", common, RUN_FIELDS)
    _unknown(f"{where}: grid", grid, RUN_FIELDS)
    both = sorted(set(common) & set(grid))
    if both:
        raise ValueError(f"{where}: {both} in both 'common' and 'grid'")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"{where}: grid.{name} must be a non-empty list, got {values!r}")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"{where}: grid.{name} repeats a value: {values!r}")
    names = list(grid)
    configs = []
    for values in itertools.product(*(grid[n] for n in names)):
        cfg = RunConfig(**common, **dict(zip(names, values)))
        try:
            cfg.validate()
        except ValueError as e:
            raise ValueError(f"{where}: run {dict(zip(names, values))}: {e}") from e
        configs.append(cfg)
    analysis = data.get("analysis") or {}
    if not isinstance(analysis, dict):
        raise ValueError(f"{where}: 'analysis' must be a mapping")
    return Plan(name=str(data["plan"]), configs=configs, analysis=analysis)


def plan_path(name: str) -> Path:
    """The plan file ``configs/plans/<name>.yaml`` of the checkout, or of an installed package
    (shipped by setup.py as ``rlvr_core/_stored_results/plans``)."""
    from rlvr_core.infra.provenance import IN_CHECKOUT, PACKAGE_DIR, ROOT

    folder = ROOT / "configs" / "plans" if IN_CHECKOUT else PACKAGE_DIR / "_stored_results" / "plans"
    path = folder / f"{name}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
        raise ValueError(f"plan {name!r} is invalid: no {path}; plans there: {have}")
    return path


def load_plan(path) -> Plan:
    """Read, validate and expand a plan YAML file."""
    import yaml

    path = Path(path)
    plan = plan_from_dict(yaml.safe_load(path.read_text()), where=str(path))
    return dataclasses.replace(plan, path=str(path))
