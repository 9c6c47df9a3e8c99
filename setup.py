"""Build hook (the rest of the metadata is in pyproject.toml): ship the committed language-model
results (results/llm/**.json, a few MB that stand for hours of compute) inside the wheel as
rlvr_core/_stored_results/llm, so an installed package (Colab, Binder) re-plots them instead of
recomputing, and the run plans (configs/plans/*.yaml) as rlvr_core/_stored_results/plans.
rlvr_core.infra.provenance.seed_llm_results copies them into the working folder."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

STORED = Path(__file__).resolve().parent / "results" / "llm"
PLANS = Path(__file__).resolve().parent / "configs" / "plans"   # run plans as data (rlvr_core.llm.plans)


class BuildWithStoredResults(build_py):
    def run(self):
        super().run()
        if STORED.is_dir() and not self.editable_mode:
            target = Path(self.build_lib) / "rlvr_core" / "_stored_results" / "llm"
            shutil.rmtree(target, ignore_errors=True)  # a reused build/ must not keep removed runs
            shutil.copytree(STORED, target,
                            ignore=lambda folder, names: [n for n in names if n.startswith(".")])
        if PLANS.is_dir() and not self.editable_mode:
            target = Path(self.build_lib) / "rlvr_core" / "_stored_results" / "plans"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(PLANS, target)


setup(cmdclass={"build_py": BuildWithStoredResults})
