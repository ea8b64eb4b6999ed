"""Files: atomic zarr v3 / HDF5 writers and readers that keep axes, units and metadata."""
from .atomic import atomic_path, atomic_write_text
from .store import load, save

__all__ = ["atomic_path", "atomic_write_text", "load", "save"]
