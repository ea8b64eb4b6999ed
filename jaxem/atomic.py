"""Atomic writes and swaps (floor 0): a reader sees the old complete result or the new one, never a
mix, a partial file or a missing path.

* Everything is written into a private temporary folder beside the target (same file system,
  ``.<name>.<random>.tmp``) and moved into place only when complete.
* Files are moved with ``os.replace`` (atomic). Directories (zarr stores, whole run folders) that
  replace an existing directory are swapped with Linux ``renameat2(RENAME_EXCHANGE)``, one atomic
  step, so a concurrent reader never finds the path missing; the old content is then deleted.
  Where the kernel or C library lacks it, the old directory is moved aside first (a reader may
  briefly see no path).
* Concurrent writers to one path serialise their swap on an ``flock`` of the parent directory: every
  save succeeds and the final content is one writer's complete output.
* A writer holds an ``flock`` on its own temporary folder while it lives. A killed writer's lock is
  released by the kernel, so the next write to the same target removes its stale temporary
  (:func:`clean_stale`), while a live writer's is left alone.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import functools
import os
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "clean_stale", "exchange_dirs", "directory_lock"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_LOCK_NAME = ".jaxem-writer.lock"


@functools.lru_cache(maxsize=1)
def _renameat2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def exchange_dirs(a, b) -> bool:
    """Atomically exchange two existing paths (Linux ``renameat2``); False where unsupported."""
    fn = _renameat2()
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(str(a)), _AT_FDCWD, os.fsencode(str(b)), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP if hasattr(errno, "ENOTSUP") else errno.EINVAL):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _try_lock(path: Path, grace: float = 60.0) -> bool:
    """True if an exclusive lock on ``path`` could be taken now (its owner is gone). A temporary
    whose lock file does not exist yet is being created: stale only when older than ``grace`` s."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        try:
            return time.time() - path.parent.stat().st_mtime > grace
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def clean_stale(path) -> list:
    """Remove temporaries of ``path`` left by killed writers (their lock is free); returns them."""
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        if tmp.is_dir() and _try_lock(tmp / _LOCK_NAME):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


@contextlib.contextmanager
def directory_lock(directory, shared: bool = False):
    """``flock`` of ``directory``: writers swap under the exclusive lock; a reader that must see one
    complete store (zarr stores are read file by file) holds it shared. A directory that cannot be
    opened is not locked."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, is_dir: bool = False):
    """Yield a temporary path next to ``path``; on success swap it in atomically, on error delete it.

    ``is_dir`` creates the temporary as an empty directory (for zarr stores and run folders).
    """
    path = Path(path)
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.is_dir() != bool(is_dir) and not path.is_symlink():
        kind = "directory" if path.is_dir() else "file"
        raise IsADirectoryError(f"{path} exists and is a {kind}; it will not be replaced by a "
                                f"{'directory' if is_dir else 'file'}") if path.is_dir() else \
            NotADirectoryError(f"{path} exists and is a file; it will not be replaced by a directory")
    clean_stale(path)
    tmp_root = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent))
    # the lock file appears under its final name only once locked (a cleaner never sees it free)
    lock_fd = os.open(tmp_root / (_LOCK_NAME + ".new"), os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    os.rename(tmp_root / (_LOCK_NAME + ".new"), tmp_root / _LOCK_NAME)
    tmp = tmp_root / path.name
    if is_dir:
        tmp.mkdir()
    try:
        yield tmp
        with directory_lock(parent):
            if is_dir and path.is_dir() and not path.is_symlink():
                if not exchange_dirs(tmp, path):
                    old = tmp_root / (path.name + ".old")
                    os.replace(path, old)
                    os.replace(tmp, path)
            else:
                os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
        os.close(lock_fd)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__} (use atomic_write_bytes for bytes)")
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__} (use atomic_write_text for text)")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
