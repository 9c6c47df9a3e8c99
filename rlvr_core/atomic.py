"""Write files so that a reader never sees a half-written one: temp file + rename."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temporaries(folder) -> list[Path]:
    """Delete temporary files that a killed writer left behind (``.<name>.*.tmp``) under ``folder``.
    Call it only when no other writer is running (``make figures`` does, at its start)."""
    folder = Path(folder)
    stale = [p for p in folder.rglob(".*.tmp") if p.is_file()] if folder.exists() else []
    for p in stale:
        p.unlink(missing_ok=True)
    return stale
