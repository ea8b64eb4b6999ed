"""4D-STEM streamed to disk: :func:`stem_scan` with a pixelated detector, written scan row by scan row
in the one 4D-STEM layout (:mod:`jaxem.io.stem4d`)."""
from __future__ import annotations

import inspect

import numpy as np

from .. import validate
from ..io import writer
from ..io.stem4d import metadata
from .detectors import PixelatedDetector
from .scan import GridScan
from .scanning import STEMSimulation, stem_scan

__all__ = ["stem_scan_to_zarr"]


def _n_configurations(kwargs) -> int:
    thermal = kwargs.get("thermal")
    if thermal is None:
        return 1
    if thermal == "snapshots":
        return int(np.shape(kwargs.get("snapshots"))[0])
    n = kwargs.get("n_configs")
    return int(n if n is not None else inspect.signature(stem_scan).parameters["n_configs"].default or 8)


def stem_scan_to_zarr(path, sim: STEMSimulation, scan: GridScan, potential=None, **kwargs) -> dict:
    """Like :func:`stem_scan`, but the 4D-STEM data of the (one) pixelated detector go to a store at
    ``path``, one scan row per chunk, without holding the 4D array in memory.

    The store follows the one 4D-STEM layout (:mod:`jaxem.io.stem4d`): axes ``scan_y, scan_x`` [Å],
    ``θy, θx`` [mrad] (centred patterns, the detector's own axes), metadata with units (energy, beam,
    semi-angle, scan and detector sampling, aberrations, detector, thermal model). Name it ``.zspy``
    to open it with ``hs.load``; ``.zarr`` gives zarr v3 (xarray:
    ``xr.open_zarr(path, group=jaxem.io.SIGNAL_GROUP)``); :func:`jaxem.io.load` (``lazy=True`` for
    large scans) reads either. It is written to a temporary sibling and swapped in when complete
    (atomic; the completion mark is written last): an interrupted scan leaves what was there before.

    Args:
        path: the store (``.zspy``, ``.zarr``, ``.hspy``, ``.h5``).
        sim, scan, potential, kwargs: as for :func:`stem_scan` (``chunk_callback`` is taken;
            ``exit_planes`` would make a 5D data set and is refused).

    Returns:
        the other detectors' signals, ``{name: Measurement}`` (in memory, as :func:`stem_scan`).
    """
    for key in ("chunk_callback", "exit_planes"):
        if kwargs.get(key) is not None:
            raise validate.InputError(f"stem_scan_to_zarr writes one 4D data set through its own chunk_callback; "
                                      f"{key}= is not supported here (use stem_scan)")
    pix = [d for d in getattr(sim, "detectors", ()) if isinstance(d, PixelatedDetector)]
    if len(pix) != 1:
        raise validate.InputError(f"stem_scan_to_zarr needs exactly one PixelatedDetector in sim.detectors (one "
                                  f"4D data set per store), got {len(pix)}")
    det = pix[0]
    grid = getattr(potential, "grid", None)
    if grid is None:
        raise validate.InputTypeError(f"potential must be PotentialSlices (it fixes the grid), got "
                                      f"{type(potential).__name__}")
    beam = sim.beam
    ny, nx = scan.gpts
    with writer(path) as w:
        state = {}

        def callback(rows, chunk):
            block = np.asarray(chunk[det.name])
            if block.ndim != 4:  # pragma: no cover - stem_scan's chunk contract
                raise RuntimeError(f"stem_scan gave {det.name!r} chunks of shape {block.shape}, expected 4D")
            if "data" not in state:
                state["data"] = w.create((ny, nx) + block.shape[2:], block.dtype, ("scan_y", "scan_x", "θy", "θx"),
                                         chunks=(1, nx) + block.shape[2:])
            state["data"][rows] = block

        res = stem_scan(sim, scan, potential, chunk_callback=callback, **kwargs)
        axes = tuple(scan.axes()) + tuple(det.signal_axes(beam, grid))
        sim_md = {k: v for k, v in sim.to_dict().items() if k not in ("beam", "semi_angle", "detectors")}
        md = metadata(beam, sim.semi_angle, scan.sampling, (axes[2].sampling, axes[3].sampling),
                      title=det.name, **sim_md, detector=det.to_dict(), scan=scan.to_dict(),
                      thermal=kwargs.get("thermal") or "static", n_configurations=_n_configurations(kwargs))
        w.finish(axes, md, signal_ndim=2)
    return res
