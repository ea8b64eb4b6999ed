"""The one 4D-STEM layout, shared by the simulation writer (:func:`jaxem.stem.stem_scan_to_zarr`) and
the analysis readers (``jaxem.phase.read_4dstem``, ``Dataset4D.from_measurement``).

A 4D-STEM data set is a :class:`~jaxem.measurement.Measurement` of shape (scan_y, scan_x, θy, θx):

* axes ``scan_y, scan_x`` [Å]: probe positions, ``offset`` = the first position;
* axes ``θy, θx`` [mrad]: scattering angles of the *centred* diffraction patterns (zero angle at
  index ``n // 2`` for unbinned patterns; in general at ``-offset / sampling``). Readers also accept
  ``ky, kx`` [1/Å] and convert with the beam (k = θ / λ);
* ``signal_ndim = 2`` (HyperSpy: navigation = scan, signal = pattern);
* metadata with units: ``energy`` [eV] and ``beam`` (energy, tilt, wavelength), ``semi_angle``
  [mrad], ``scan_sampling`` [Å], ``detector_sampling`` [mrad]; ``quantity`` of the values.

Written with :func:`jaxem.io.save` / :func:`jaxem.io.writer` it is one chunk per scan row. A
``.zspy`` store opens in ``hs.load`` (Signal2D, every axis calibrated) and in
``xr.open_zarr(path, group=jaxem.io.SIGNAL_GROUP)`` (dims named, coordinates); ``.zarr`` is the
zarr v3 variant of the same layout (HyperSpy reads it through ``rsciio.zspy.file_reader``).
:func:`calibration` reads the calibrations back in fixed units.
"""
from __future__ import annotations

from .. import validate
from ..measurement import Measurement, metadata_value, quantity

__all__ = ["DIMS", "metadata", "calibration"]

#: dimension names of the 4D-STEM layout
DIMS = ("scan_y", "scan_x", "θy", "θx")
_RECIPROCAL = {("θy", "θx"): "mrad", ("ky", "kx"): "1/Å"}


def metadata(beam, semi_angle, scan_sampling, detector_sampling, **extra) -> dict:
    """Metadata of a 4D-STEM data set with units (see the module docstring); ``extra`` entries are
    added as given (plain numbers under documented keys get their units when written)."""
    return {"energy": quantity(beam.energy, "eV"), "beam": beam.to_dict(),
            "semi_angle": quantity(validate.scalar(semi_angle, "semi_angle", "mrad", nonnegative=True), "mrad"),
            "scan_sampling": quantity(list(validate.pair(scan_sampling, "scan_sampling", "Å")), "Å"),
            "detector_sampling": quantity(list(validate.pair(detector_sampling, "detector_sampling", "mrad")), "mrad"),
            "quantity": "fraction of probe intensity", "units": "", **extra}


def calibration(m: Measurement) -> dict:
    """The calibrations of a 4D-STEM :class:`~jaxem.measurement.Measurement` in fixed units.

    Returns a dict with ``energy`` [eV], ``beam`` (a :class:`~jaxem.beam.Beam`), ``scan_sampling``
    and ``scan_origin`` (y, x) [Å], ``detector_sampling`` (y, x) [1/Å], ``detector_sampling_mrad``
    (y, x) [mrad], ``center`` (y, x) [pixels] (the zero-angle position in the pattern) and
    ``semi_angle`` [mrad] (None if not recorded). Errors name what does not follow the layout.
    """
    if not isinstance(m, Measurement):
        raise validate.InputTypeError(f"a 4D-STEM Measurement is needed, got {type(m).__name__}")
    if m.ndim != 4:
        raise validate.InputError(f"a 4D-STEM Measurement has 4 axes (scan_y, scan_x, θy, θx), got {m.dims}")
    ay, ax, ky, kx = m.axes
    if (ay.name, ax.name) != DIMS[:2] or ay.units != "Å" or ax.units != "Å":
        raise validate.InputError(f"4D-STEM scan axes must be scan_y, scan_x in Å, got "
                                  f"{ay.name} [{ay.units}], {ax.name} [{ax.units}]")
    units = _RECIPROCAL.get((ky.name, kx.name))
    if units is None or ky.units != units or kx.units != units:
        raise validate.InputError(f"4D-STEM pattern axes must be θy, θx [mrad] or ky, kx [1/Å], got "
                                  f"{ky.name} [{ky.units}], {kx.name} [{kx.units}]")
    if "beam" not in m.metadata and "energy" not in m.metadata:
        raise validate.InputError("4D-STEM metadata must hold the beam energy ('energy' [eV] or 'beam')")
    beam = m.beam()
    if units == "mrad":
        mrad = (ky.sampling, kx.sampling)
        inv = tuple(float(beam.mrad_to_frequency(s)) for s in mrad)
    else:
        inv = (ky.sampling, kx.sampling)
        mrad = tuple(float(beam.frequency_to_mrad(s)) for s in inv)
    return {"energy": beam.energy, "beam": beam, "scan_sampling": (ay.sampling, ax.sampling),
            "scan_origin": (ay.offset, ax.offset), "detector_sampling": inv, "detector_sampling_mrad": mrad,
            "center": (-ky.offset / ky.sampling, -kx.offset / kx.sampling),
            "semi_angle": metadata_value(m.metadata, "semi_angle", "mrad",
                                         metadata_value(m.metadata, "semi_angle_mrad", "mrad", None))}
