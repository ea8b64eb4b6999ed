"""Completeness checks for zarr arrays: a missing chunk is an error, never zarr's fill value."""
from __future__ import annotations

from ..validate import FileFormatError


def check_complete(array, path, name: str = "data", allow_partial: bool = False) -> None:
    """Raise :class:`~jaxem.validate.FileFormatError` if any chunk of the zarr ``array`` is missing.

    zarr returns its fill value for chunks that are not stored, so an interrupted or damaged store
    would otherwise read as valid data (zeros). ``allow_partial=True`` skips the check (the caller
    accepts fill values for missing chunks).
    """
    if allow_partial:
        return
    expected = int(array.nchunks)
    found = int(array.nchunks_initialized)
    if found < expected:
        raise FileFormatError(path, f"array {name!r} is incomplete: {expected - found} of its {expected} "
                                    f"chunks are missing (interrupted write or damaged store); pass "
                                    f"allow_partial=True to read the rest with fill values")
