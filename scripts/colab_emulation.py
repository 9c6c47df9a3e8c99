"""Emulate a Colab reader: every notebook opened alone, with nothing but what its first cell installs.

    python scripts/colab_emulation.py [--venv DIR] [--out DIR] [NN_topic ...]

1. A fresh virtual environment holds a pre-installed torch (Colab ships its own; here the pinned
   CPU build stands in for it) and a regular, non-editable `pip install .[llm]` of this checkout,
   with requirements.txt as constraints so the run is reproducible offline.
2. Each committed notebook is copied ALONE into an empty folder and executed there with
   papermill. RLVR_INSTALL points the notebook's install cell at this checkout (on Colab the cell
   installs from the public repository instead), so the install cell itself runs.
3. A notebook passes when it runs to the end (every checked claim holds), its figures land in its
   own folder (not in site-packages) and nothing was written into the installed package.

Prints one line per notebook (time, pass/fail, where figures and results landed) and writes
`<out>/colab_emulation.json`; exits 1 if any notebook fails.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def run(cmd, **kw):
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def make_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)])
        run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"])
        torch_pin = next(line for line in (ROOT / "requirements.txt").read_text().splitlines()
                         if line.startswith("torch=="))
        run([python, "-m", "pip", "install", "-q", torch_pin])  # "Colab's own torch"
    run([python, "-m", "pip", "install", "-q", "-c", str(ROOT / "requirements.txt"),
         f"{ROOT}[llm]", "papermill", "ipykernel"])
    return python


def package_files(python: Path) -> set[str]:
    out = subprocess.run([python, "-c", "import rlvr_core, pathlib; p = pathlib.Path("
                          "rlvr_core.__file__).parent; print('\\n'.join(str(f) for f in "
                          "p.rglob('*') if '__pycache__' not in f.parts))"],
                         capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
    return set(out.stdout.split())


def emulate(python: Path, name: str, out: Path) -> dict:
    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy(NOTEBOOKS / f"{name}.ipynb", folder / f"{name}.ipynb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLVR_")}
    env.update(RLVR_INSTALL=ROOT.as_uri(), HF_HUB_OFFLINE="1", MPLBACKEND="Agg")
    start = time.perf_counter()
    proc = subprocess.run([python, "-m", "papermill", f"{name}.ipynb", f"{name}.out.ipynb",
                           "-k", "python3", "--no-progress-bar"], cwd=folder, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    figures = sorted(p.name for p in (folder / "figures").glob("*.png"))
    results = sum(1 for _ in (folder / "results").rglob("*") if _.is_file())
    return {"notebook": name, "passed": proc.returncode == 0, "seconds": round(seconds, 1),
            "figures_in_folder": len(figures), "result_files_in_folder": results,
            "error": "" if proc.returncode == 0 else proc.stderr[-2000:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # inside the checkout's ignored build/ folder: a fresh clone (CI) gets a fresh environment
    parser.add_argument("--venv", default=str(ROOT / "build" / "colab-venv"))
    parser.add_argument("--out", default=str(ROOT / "build" / "colab"))
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    names = args.names or sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    python = make_venv(Path(args.venv))
    before = package_files(python)
    out = Path(args.out)
    report = []
    for name in names:
        row = emulate(python, name, out)
        report.append(row)
        print(f"[colab] {name}: {'pass' if row['passed'] else 'FAIL'} in {row['seconds']} s; "
              f"{row['figures_in_folder']} figures and {row['result_files_in_folder']} result "
              f"files in its own folder", flush=True)
        if not row["passed"]:
            print(row["error"])
    written = sorted(package_files(python) - before)
    if written:
        print("[colab] FAIL: notebooks wrote into the installed package:", *written[:10], sep="\n  ")
    (out / "colab_emulation.json").write_text(json.dumps(
        {"notebooks": report, "written_into_package": written}, indent=1) + "\n")
    failed = [r["notebook"] for r in report if not r["passed"]]
    print(f"colab: {len(report) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed or written else 0


if __name__ == "__main__":
    sys.exit(main())
