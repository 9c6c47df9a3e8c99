"""Run plans as data: YAML files (``configs/plans/*.yaml``) that name the runs of an experiment,
with the reason for each grid as a comment beside it.

A plan names the fields every run shares (``common``) and either a grid whose product gives the
runs (``grid``, outermost first = the run order) or a list of such blocks run one after another
(``parts``, each a ``common`` and a ``grid``); ``order`` (field names) sorts the runs instead
(stably); ``analysis`` is a block the runner ignores (rules and predictions fixed before the
runs). A file holds one plan (a ``plan`` name at the top) or several: ``plans`` (name -> plan)
under a ``common`` they all share, and ``profiles`` (name -> sizes, for code that builds its runs
from sizes). A narrower ``common`` overrides a wider one (a part's over its plan's over the
file's); a grid field may not also be in the ``common`` that applies to it.

    plan = load_plan("configs/plans/tiny_horizon.yaml")
    plan.configs      # [RunConfig], validated, in run order
    plans = load_plan_file(plan_path("smollm2")).plans      # {name: Plan}

Unknown keys (a top-level key, or a ``common``/``grid``/``order`` field that :class:`RunConfig`
lacks) are errors that name the key and the allowed ones, so a typo never silently drops a field."""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from .config import RunConfig

BODY_KEYS = ("common", "grid", "parts", "order", "analysis")
PLAN_KEYS = ("plan",) + BODY_KEYS
FILE_KEYS = ("common", "plans", "profiles")
PART_KEYS = ("common", "grid")
RUN_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))


@dataclass(frozen=True)
class Plan:
    """A loaded plan: its name, the runs in order, and the analysis block (a dict, as written)."""
    name: str
    configs: list = field(default_factory=list)
    analysis: dict = field(default_factory=dict)
    path: str | None = None


@dataclass(frozen=True)
class PlanFile:
    """A loaded file of several plans: the shared fields, the plans by name, the profiles."""
    common: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict)
    profiles: dict = field(default_factory=dict)
    path: str | None = None

    def profile(self, name: str, keys) -> dict:
        """The sizes of profile ``name``, which must hold exactly ``keys``."""
        where = f"{self.path or 'plan file'}: profiles"
        if name not in self.profiles:
            raise ValueError(f"{where}: unknown profile {name!r}; have {sorted(self.profiles)}")
        sizes = self.profiles[name]
        check_keys(f"{where}.{name}", sizes, keys)
        missing = sorted(set(keys) - set(sizes))
        if missing:
            raise ValueError(f"{where}.{name}: missing key(s) {missing}")
        return dict(sizes)


def check_keys(where: str, keys, allowed) -> None:
    """Raise a ValueError naming any of ``keys`` not in ``allowed`` (and the allowed ones)."""
    bad = sorted(set(keys) - set(allowed))
    if bad:
        raise ValueError(f"{where}: unknown key(s) {bad}; allowed: {sorted(allowed)}")


def _mapping(where: str, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _common(where: str, value) -> dict:
    common = _mapping(f"{where}: 'common'", value)
    check_keys(f"{where}: common", common, RUN_FIELDS)
    return common


def _expand(where: str, common: dict, grid) -> list[RunConfig]:
    """The runs of one grid (product, outermost first) over ``common``, each validated."""
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"{where}: 'grid' must be a non-empty mapping")
    check_keys(f"{where}: grid", grid, RUN_FIELDS)
    both = sorted(set(common) & set(grid))
    if both:
        raise ValueError(f"{where}: {both} in both 'common' and 'grid'")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"{where}: grid.{name} must be a non-empty list, got {values!r}")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"{where}: grid.{name} repeats a value: {values!r}")
    names, configs = list(grid), []
    for values in itertools.product(*(grid[n] for n in names)):
        cfg = RunConfig(**common, **dict(zip(names, values)))
        try:
            cfg.validate()
        except ValueError as e:
            raise ValueError(f"{where}: run {dict(zip(names, values))}: {e}") from e
        configs.append(cfg)
    return configs


def _body(where: str, data: dict, name: str, inherited: dict) -> Plan:
    """A :class:`Plan` from a plan's body (``common``, ``grid`` or ``parts``, ``order``, ``analysis``)."""
    common = {**inherited, **_common(where, data.get("common"))}
    if ("grid" in data) == ("parts" in data):
        raise ValueError(f"{where}: expected exactly one of 'grid' and 'parts'")
    if "grid" in data:
        configs = _expand(where, common, data["grid"])
    else:
        parts = data["parts"]
        if not isinstance(parts, list) or not parts:
            raise ValueError(f"{where}: 'parts' must be a non-empty list")
        configs = []
        for i, part in enumerate(parts):
            at = f"{where}: parts[{i}]"
            part = _mapping(at, part)
            check_keys(at, part, PART_KEYS)
            configs += _expand(at, {**common, **_common(at, part.get("common"))}, part.get("grid"))
    order = data.get("order")
    if order is not None:
        if not isinstance(order, list) or not order:
            raise ValueError(f"{where}: 'order' must be a non-empty list of field names")
        check_keys(f"{where}: order", order, RUN_FIELDS)
        configs.sort(key=lambda c: tuple(getattr(c, f) for f in order))
    keys = [c.key() for c in configs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{where}: the same run appears twice")
    return Plan(name=str(name), configs=configs, analysis=_mapping(f"{where}: 'analysis'", data.get("analysis")))


def plan_from_dict(data: dict, *, where: str = "plan") -> Plan:
    """A :class:`Plan` from a parsed one-plan file (see the module docstring)."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping at the top, got {type(data).__name__}")
    check_keys(where, data, PLAN_KEYS)
    if "plan" not in data:
        raise ValueError(f"{where}: missing key 'plan'")
    return _body(where, data, data["plan"], {})


def check_body(where: str, body) -> dict:
    """``body`` if it is a mapping of plan-body keys (``BODY_KEYS``), else a ValueError."""
    body = _mapping(where, body)
    check_keys(where, body, BODY_KEYS)
    return body


def plan_file_from_dict(data: dict, *, where: str = "plan file") -> PlanFile:
    """A :class:`PlanFile` from a parsed file of several plans (see the module docstring)."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping at the top, got {type(data).__name__}")
    check_keys(where, data, FILE_KEYS)
    common = _common(where, data.get("common"))
    plans = {name: _body(f"{where}: plans.{name}", check_body(f"{where}: plans.{name}", body), name, common)
             for name, body in _mapping(f"{where}: 'plans'", data.get("plans")).items()}
    profiles = _mapping(f"{where}: 'profiles'", data.get("profiles"))
    for name, sizes in profiles.items():
        _mapping(f"{where}: profiles.{name}", sizes)
    if not plans and not profiles:
        raise ValueError(f"{where}: expected 'plans' or 'profiles'")
    return PlanFile(common=common, plans=plans, profiles=profiles)


def plan_path(name: str) -> Path:
    """The plan file ``configs/plans/<name>.yaml`` of the checkout, or of an installed package
    (setup.py ships the folder as ``rlvr_core/_stored_results/plans``)."""
    from rlvr_core.infra.provenance import IN_CHECKOUT, PACKAGE_DIR, ROOT

    folder = ROOT / "configs" / "plans" if IN_CHECKOUT else PACKAGE_DIR / "_stored_results" / "plans"
    path = folder / f"{name}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
        raise ValueError(f"plan {name!r} is invalid: no {path}; plans there: {have}")
    return path


def _read(path):
    import yaml

    return yaml.safe_load(Path(path).read_text())


def load_plan(path) -> Plan:
    """Read, validate and expand a one-plan YAML file."""
    plan = plan_from_dict(_read(path), where=str(path))
    return dataclasses.replace(plan, path=str(path))


def load_plan_file(path) -> PlanFile:
    """Read, validate and expand a YAML file of several plans (and profiles)."""
    plans = plan_file_from_dict(_read(path), where=str(path))
    return dataclasses.replace(plans, path=str(path),
                               plans={k: dataclasses.replace(p, path=str(path)) for k, p in plans.plans.items()})
