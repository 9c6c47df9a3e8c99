"""`make bench`: run every benchmarks/bench_*.py, print what it prints, and append each result line
to benchmarks/history.tsv (date, commit, script, line) so a slowdown shows in the history. The
commit reads ``<hash>-dirty`` when tracked files were edited: the timing is then not that commit's."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rlvr_core.infra.provenance import ROOT, git_commit, git_dirty  # noqa: E402

HISTORY = ROOT / "benchmarks" / "history.tsv"


def main() -> int:
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if not scripts:
        print("no benchmarks/bench_*.py found")
        return 1
    today, rows = dt.date.today().isoformat(), []
    rev = git_commit() + ("-dirty" if git_dirty() else "")
    for script in scripts:
        print(f"== {script.name}", flush=True)
        proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            return proc.returncode
        rows += [f"{today}\t{rev}\t{script.stem}\t{line.strip()}" for line in proc.stdout.splitlines()
                 if line.strip()]
    new = not HISTORY.exists()
    with HISTORY.open("a") as fh:
        if new:
            fh.write("date\tcommit\tbenchmark\tresult\n")
        fh.write("\n".join(rows) + "\n")
    print(f"[bench] {len(rows)} lines appended to {HISTORY.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
