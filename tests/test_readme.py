"""README.md fits on two screens and keeps what a first-time reader needs: the two commands (the
test command the one CI runs), a hero figure that exists, the short claim map (tests/test_claims.py
checks it is the rendered registry), the step-size one-liners, citation and licence; everything
else lives in docs/ and CONTRIBUTING.md, which the book shows too."""
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAX_WORDS = 700
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def test_readme_fits_on_two_screens():
    words = len(README.split())
    assert words <= MAX_WORDS, f"README.md has {words} words (at most {MAX_WORDS})"


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_the_two_commands_and_ci_runs_the_readme_test_command():
    commands = [line.split("#")[0].strip() for block in _bash_blocks(README) for line in block.splitlines()]
    assert "make figures" in commands and "make test" in commands
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make test" in ci, ".ci/run must call the README's test command"


def test_every_local_link_and_image_resolves():
    local = [t for t in LINK.findall(README) if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    assert local, "the README links no local file"
    missing = [t for t in local if not (ROOT / t.split("#")[0]).exists()]
    assert not missing, missing


def test_hero_figure_is_a_saved_figure():
    images = [t for t in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README) if t.startswith("figures/")]
    assert len(images) == 1, images
    import json

    manifest = json.loads((ROOT / "figures" / "manifest.json").read_text())
    assert Path(images[0]).stem in manifest and images[0].endswith(".png")


def guide_pages() -> list[str]:
    """The book's GUIDE_PAGES, read from its source: importing the extension needs docutils, which
    the library-only installs (lower_bounds.py, a Colab reader) do not have."""
    import ast

    tree = ast.parse((ROOT / "book" / "_ext" / "rlvr_book.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "GUIDE_PAGES":
            return ast.literal_eval(node.value)
    raise AssertionError("book/_ext/rlvr_book.py defines no GUIDE_PAGES")


def test_moved_sections_live_in_pages_the_readme_and_the_book_link():
    for page in guide_pages():
        assert (ROOT / f"{page}.md").is_file(), page
        assert f"]({page}.md)" in README, f"README does not link {page}.md"
    moved = {"docs/testing": ["What `make test` checks", "ATEN_CPU_CAPABILITY", "lower_bounds.py",
                              "<!-- timings:start -->"],
             "docs/language-models": ["ExponentialRangeTest", "accelerate launch", "run_plan.py",
                                      "vllm_importance_sampling_correction"],
             "docs/reading": ["make site", "environment.yml", "Colab"],
             "CONTRIBUTING": ["## Layout", "## Adding a notebook", "render_claims.py", "40 words"]}
    for page, needles in moved.items():
        text = (ROOT / f"{page}.md").read_text(encoding="utf-8")
        assert all(n in text for n in needles), (page, [n for n in needles if n not in text])


def test_layout_lists_the_top_level_folders_that_exist():
    """CONTRIBUTING's layout names only folders that exist, and every tracked top-level folder."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    block = re.search(r"## Layout\n\n```\n(.*?)```", text, flags=re.S).group(1)
    named = {m.group(1).split("/")[0] for m in re.finditer(r"^(\S+)", block, flags=re.M)}
    assert all((ROOT / n).exists() for n in named), sorted(n for n in named if not (ROOT / n).exists())
    try:
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                               check=True, timeout=60).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    folders = {f.split("/")[0] for f in files if "/" in f}
    assert folders <= named, sorted(folders - named)


def test_check_lr_one_liner_runs():
    from rlvr_core.__main__ import main

    line = next(block for block in _bash_blocks(README) if "check-lr" in block)
    line = line[line.index("python -m rlvr_core check-lr"):].split("\n#")[0].replace("\\\n", " ")
    args = shlex.split(line.splitlines()[0])[3:]
    assert main(args) == 0


def test_range_test_one_liner_names_a_config_that_exists():
    line = next(ln for block in _bash_blocks(README) for ln in block.splitlines()
                if ln.startswith("python -m rlvr_core.llm.range_test"))
    config = shlex.split(line)[shlex.split(line).index("--config") + 1]
    assert (ROOT / config).is_file() and (ROOT / "rlvr_core" / "llm" / "range_test.py").is_file()
