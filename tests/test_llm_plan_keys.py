"""Every language-model run plan still names the same runs, in the same order: the result key
(``RunConfig.key``, the file name under results/llm/<model>/) and a hash of the whole
configuration (bookkeeping fields included) of every run of every plan the notebooks, studies and
scripts use, against tests/data/llm_plan_keys.json. The fixture was written by the code that
trained the committed runs (the plans as Python, before they moved to configs/plans/*.yaml), so
a plan file that drops, adds, reorders or changes a run fails here, and every committed result
is still found.

    .venv/bin/python tests/test_llm_plan_keys.py --write   # only on purpose: a plan changed
"""
import hashlib
import json
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "data" / "llm_plan_keys.json"
# constants of the Python plans that went with the move to YAML (nothing outside the plans read
# them; what they held is in every run's hash): the evaluation fields, the cap-128 rates
DROPPED = {"SMOLLM2_EVAL", "SMOLLM2_LONG_LRS"}
# bookkeeping fields RunConfig gained after the fixture was written, with their defaults: they
# change no trained number (see test_llm_step_speed), so at the default they are left out of the
# hashed repr and the fixture stays the record of the code that trained the committed runs
ADDED_AFTER = (("packed_generation", True),)


def runs(configs) -> list:
    """[key, hash of the full repr] per run, in order."""
    return [[c.key(), hashlib.sha256(_repr(c).encode()).hexdigest()[:16]] for c in configs]


def _repr(config) -> str:
    text = repr(config)
    for name, default in ADDED_AFTER:
        if getattr(config, name) == default:
            text = text.replace(f", {name}={default!r}", "")
    return text


def current() -> dict:
    """Every plan's runs (and the plan-level constants, as repr) from the code as it is now."""
    import dataclasses

    from rlvr_core.llm import midpoints
    from rlvr_core.llm import sweeps as sw
    from rlvr_core.studies import grpo_tiny, smollm2_learning_rate, smollm2_length_normalisation

    out = {"constants": {name: repr(getattr(sw, name)) for name in (
        "TINY_COMMON", "SMOLLM2_LRS", "SMOLLM2_ADAMW_LRS", "SMOLLM2_FINE_LRS",
        "SMOLLM2_LONG_CAP", "SMOLLM2_ADAMW_RAMP")}}
    for profile in ("default", "full"):
        plan = sw.tiny_plan(profile)
        out[f"tiny_plan/{profile}"] = repr(plan)
        out[f"tiny_plan/{profile}/sets"] = [repr(k) for k in sw.tiny_all_configs(plan)]
        for key, cfgs in sw.tiny_all_configs(plan).items():
            out[f"tiny_all_configs/{profile}/{key[0]}_{key[1]}"] = runs(cfgs)
        out[f"grpo_tiny.configs/{profile}"] = runs(
            c for cs in grpo_tiny.configs(grpo_tiny.sizes(profile)).values() for c in cs)
    out["smollm2_configs()"] = runs(sw.smollm2_configs())
    out["smollm2_configs(0.03)"] = runs(sw.smollm2_configs(learning_rates=(0.03,)))
    out["smollm2_adamw_ramp config"] = runs([dataclasses.replace(
        sw.smollm2_configs(learning_rates=(0.03,))[0], optim="adamw_torch")])
    out["smollm2_plan"] = runs(sw.smollm2_plan())
    out["smollm2_seed_plan"] = runs(sw.smollm2_seed_plan())
    out["smollm2_dr_grpo_plan"] = runs(sw.smollm2_dr_grpo_plan())
    out["smollm2_adamw_configs(SMOLLM2_ADAMW_LRS)"] = runs(sw.smollm2_adamw_configs(sw.SMOLLM2_ADAMW_LRS))
    out["smollm2_adamw_configs(1e-5, 1e-4)"] = runs(sw.smollm2_adamw_configs((1e-5, 1e-4)))
    out["smollm2_fine_plan"] = runs(sw.smollm2_fine_plan())
    out["smollm2_long_plan"] = runs(sw.smollm2_long_plan())
    out["smollm2_long_plan(midpoints.SEEDS)"] = runs(sw.smollm2_long_plan(midpoints.SEEDS))
    out["smollm2_learning_rate.sizes"] = runs(smollm2_learning_rate.sizes("default"))
    out["smollm2_length_normalisation.sizes"] = runs(smollm2_length_normalisation.sizes("default"))
    return out


def test_every_plan_names_the_same_runs_in_the_same_order():
    expected, now = json.loads(FIXTURE.read_text()), current()
    assert list(now) == list(expected)
    expected["constants"] = {k: v for k, v in expected["constants"].items() if k not in DROPPED}
    for name in expected:
        assert now[name] == expected[name], name


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    FIXTURE.write_text(json.dumps(current(), indent=1) + "\n")
    print(f"wrote {FIXTURE}")
