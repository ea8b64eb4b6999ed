"""Atomic writes: a crash never leaves a half-written result that looks complete.

Everything is written to a temporary sibling (same file system) and moved into place with
``os.replace`` only once complete. Directories (zarr stores) are swapped in the same way; an
existing target is moved aside first and removed after the swap.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, is_dir: bool = False):
    """Yield a temporary path next to ``path``; on success move it to ``path``, on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_root = tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_root) / path.name
    if is_dir:
        tmp.mkdir()
    try:
        yield tmp
        if path.exists() and (path.is_dir() and not path.is_symlink()):
            old = Path(tmp_root) / (path.name + ".old")
            os.replace(path, old)
            os.replace(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
