"""Give every notebook its "Open in Colab" badge and its install cell, idempotently; the public
repository is named in one place (pyproject.toml, [project.urls] Repository).

    python scripts/colab.py                              # fix the notebooks/NN_topic.py sources
    python scripts/colab.py --check                      # exit 1 if any notebook is not current
    python scripts/colab.py --set-repository OWNER/NAME  # rename the repository everywhere

The badge goes right under the title. The install block opens the first code cell: on Colab (or
wherever RLVR_INSTALL names a pip source, as the Colab emulation does) it installs the companion
with the extras that notebook needs; elsewhere it does nothing. Run `make figures` afterwards to
refresh the paired .ipynb files.
"""
from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = re.compile(r"github\.com/([\w.-]+/[\w.-]+?)(?=[/\"')\s]|\.git|$)")


def repository() -> str:
    """OWNER/NAME of the public repository, from pyproject.toml."""
    url = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    return SLUG.search(url).group(1)


REPO = repository()
BADGE = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
         f"(https://colab.research.google.com/github/{REPO}/blob/main/notebooks/{{stem}}.ipynb)")
INSTALL = '''# Setup. On Colab (or wherever RLVR_INSTALL names a pip source), install the companion first.
import os
import subprocess
import sys

if "google.colab" in sys.modules or os.environ.get("RLVR_INSTALL"):
    source = os.environ.get("RLVR_INSTALL") or "git+https://github.com/{repo}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"rlvr-core{extras} @ {{source}}"],
                   check=True)
'''
# Any earlier version of the block, up to the end of its pip call.
OLD_INSTALL = re.compile(r"# Setup\. On Colab.*?check=True\)\n(?:\s+check=True\)\n)?", re.S)


def install_block(text: str) -> str:
    extras = "[llm]" if "rlvr_core.llm" in text else ""
    return INSTALL.format(repo=REPO, extras=extras)


def fix(text: str, stem: str) -> str:
    badge = BADGE.format(stem=stem)
    if badge not in text:
        text = re.sub(r"^# \[!\[Open In Colab\].*\n", "", text, flags=re.M)
        text = re.sub(r"^(# # .+\n)", lambda m: m.group(1) + f"# {badge}\n", text, count=1, flags=re.M)
    block = install_block(text)
    if block not in text:
        if OLD_INSTALL.search(text):
            text = OLD_INSTALL.sub(lambda m: block, text, count=1)
            # the new block imports os, subprocess and sys itself
            head, sep, rest = text.partition(block)
            rest = re.sub(r"\A(?:import (?:os|subprocess|sys)\n)+", "", rest)
            rest = re.sub(r"\A\s*import sys, subprocess\n", "", rest)
            text = head + sep + ("" if rest.startswith("\n") else "\n") + rest
        else:
            text = text.replace("\n# %%\n", "\n# %%\n" + block + "\n", 1)
    return text


def files_naming_the_repository(root: Path = ROOT) -> list[Path]:
    """The text files that may name the repository (the .ipynb follow their .py via make figures)."""
    return [root / "pyproject.toml", root / "README.md", root / "CITATION.cff",
            *sorted((root / "notebooks").glob("*.py")), *sorted((root / "book").glob("**/*.py")),
            *sorted((root / "book").glob("**/*.md")), *sorted((root / "book").glob("**/*.yml"))]


def set_repository(new: str, root: Path = ROOT) -> list[Path]:
    """Replace the repository slug in every text file that names it."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", new):
        raise SystemExit(f"--set-repository {new!r}: expected OWNER/NAME")
    changed = []
    for path in files_naming_the_repository(root):
        if path.is_file() and REPO in (text := path.read_text()):
            path.write_text(text.replace(REPO, new))
            changed.append(path)
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--set-repository", metavar="OWNER/NAME")
    args = parser.parse_args()
    if args.set_repository:
        for path in set_repository(args.set_repository):
            print(f"renamed in {path.relative_to(ROOT)}")
        print("now run: python scripts/colab.py && make figures")
        return 0
    bad = []
    for py in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        text = py.read_text()
        new = fix(text, py.stem)
        if new != text:
            bad.append(py.name)
            if not args.check:
                py.write_text(new)
    verb = "lack" if args.check else "fixed"
    print(f"{len(bad)} notebooks {verb} a current Colab badge or install cell: {', '.join(bad) or '-'}")
    return 1 if (args.check and bad) else 0


if __name__ == "__main__":
    sys.exit(main())
