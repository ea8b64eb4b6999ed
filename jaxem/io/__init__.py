"""Files: the one on-disk data model (HyperSpy's hierarchical layout in zarr or HDF5, with dimension
names, axes and metadata with units), atomic writes, strict reads.

* :func:`save` / :func:`load`: a :class:`~jaxem.measurement.Measurement` by suffix (``.zarr``,
  ``.zspy``, ``.hspy``, ``.h5``, ``.hdf5``); ``.emd`` and unknown suffixes are refused.
* :func:`read_image`: a calibrated 2-D image from any file rosettasciio reads (pixel size in Å).
* :func:`writer`: the same layout written chunk by chunk (e.g. 4D-STEM scans streamed row by row).
* :data:`SIGNAL_GROUP`: where the data array lives (``xr.open_zarr(path, group=SIGNAL_GROUP)``).
* :func:`atomic_path`, :func:`atomic_write_text`: atomic writes (from :mod:`jaxem.atomic`).

See :mod:`jaxem.io.layout` for the layout and :mod:`jaxem.io.stem4d` for the 4D-STEM convention.
"""
from .atomic import atomic_path, atomic_write_bytes, atomic_write_text
from .images import read_image
from .layout import FORMATS, SIGNAL_GROUP, default_chunks, writer
from .store import load, save

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "load", "save", "writer", "read_image", "FORMATS",
           "SIGNAL_GROUP", "default_chunks"]
