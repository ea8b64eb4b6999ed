"""4D-STEM streamed to disk: :func:`stem_scan` with pixelated detectors written chunk by chunk."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .detectors import PixelatedDetector
from .scan import GridScan
from .scanning import STEMSimulation, stem_scan


def stem_scan_to_zarr(path, sim: STEMSimulation, scan: GridScan, **kwargs) -> dict:
    """Like :func:`stem_scan`, but pixelated 4D-STEM data go to a zarr v3 store chunk by chunk.

    The store is written to a temporary sibling and moved into place at the end (atomic). Arrays
    ``<detector>`` have shape (scan_y, scan_x, ky, kx) with one chunk per scan row; the other
    detectors are returned in memory and stored as well.
    """
    import zarr

    from ..io import atomic_path

    pix = [d for d in sim.detectors if isinstance(d, PixelatedDetector)]
    if not pix:
        raise ValueError("stem_scan_to_zarr needs at least one PixelatedDetector")
    path = Path(path)
    with atomic_path(path, is_dir=True) as tmp:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        arrays = {}

        def callback(rows, chunk):
            for j, d in enumerate(pix):
                data = chunk[f"pix{j}"]
                if d.name not in arrays:
                    arrays[d.name] = root.create_array(d.name, shape=scan.gpts + data.shape[2:], dtype=data.dtype,
                                                       chunks=(1, scan.gpts[1]) + data.shape[2:])
                arrays[d.name][rows] = data

        res = stem_scan(sim, scan, chunk_callback=callback, **kwargs)
        for name, m in res.items():
            arr = root.create_array(name, shape=m.shape, dtype=np.asarray(m.array).dtype)
            arr[...] = np.asarray(m.array)
            arr.attrs.update({"axes": [a.to_dict() for a in m.axes], "metadata": m.metadata})
        for d in pix:
            arrays[d.name].attrs.update({"energy": sim.energy, "detector_sampling_mrad": list(d.sampling(
                kwargs.get("potential").grid, sim.energy)), "scan_sampling_A": list(scan.sampling)})
    return res
