"""Give every notebook its "Open in Colab" badge and its Colab-only install cell, idempotently.

    python scripts/colab.py          # fix the notebooks/NN_topic.py sources in place
    python scripts/colab.py --check  # exit 1 if any notebook lacks them

The badge goes right under the title; the install block opens the first code cell and does
nothing outside Colab. Run `make figures` afterwards to refresh the paired .ipynb files.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPO = "rlvr-companion/rlvr-gradient-gap"
BADGE = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
         f"(https://colab.research.google.com/github/{REPO}/blob/main/notebooks/{{stem}}.ipynb)")
INSTALL = f'''# Setup. On Colab only, install the companion first.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "git+https://github.com/{REPO}"], check=True)
'''


def fix(text: str, stem: str) -> str:
    badge = BADGE.format(stem=stem)
    if badge not in text:
        text = re.sub(r"^(# # .+\n)", lambda m: m.group(1) + f"# {badge}\n", text, count=1, flags=re.M)
    if '"google.colab" in sys.modules' not in text:
        text = text.replace("\n# %%\n", "\n# %%\n" + INSTALL + "\n", 1)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    bad = []
    for py in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        text = py.read_text()
        new = fix(text, py.stem)
        if new != text:
            bad.append(py.name)
            if not args.check:
                py.write_text(new)
    verb = "lack" if args.check else "fixed"
    print(f"{len(bad)} notebooks {verb} the Colab badge or install cell: {', '.join(bad) or '-'}")
    return 1 if (args.check and bad) else 0


if __name__ == "__main__":
    sys.exit(main())
