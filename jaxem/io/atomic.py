"""Atomic writes: re-exported from :mod:`jaxem.atomic` (floor 0), where the implementation lives."""
from ..atomic import atomic_path, atomic_write_bytes, atomic_write_text, clean_stale  # noqa: F401
