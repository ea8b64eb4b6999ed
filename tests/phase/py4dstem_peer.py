"""Test-only bridge to py4DSTEM's phase-retrieval classes (shared by the peer tests and
``benchmarks/phase_retrieval.py``). Imports py4DSTEM lazily.

Direct ptychography (SSB, OBF, WDD): :func:`py4d_run`. Parallax (tilt-corrected bright field):
:func:`py4d_parallax`. py4DSTEM 0.14.18's ``Parallax.reconstruct`` (iterative cross-correlation
alignment) does not run under NumPy ≥ 2.4 (``float()`` of a 1-element array), but it is not needed
for a comparison at *known* aberrations: ``Parallax.preprocess`` with ``polar_parameters`` already
shifts every virtual bright-field image by the aberration gradient (Fourier shift), which is the
same estimator as :func:`jaxem.phase.direct.parallax`. Settings made equivalent:

* the same bright-field pixels (``dp_mask``); py4DSTEM divides each vBF image by its own mean while
  jaxem divides all of them by one mean pattern intensity, so the pixels are chosen where the
  aperture is flat (amplitude ≥ 0.9) and both weightings coincide;
* no padding and no edge blending (``object_padding_px=(0, 0)``, ``edge_blend`` → 0): jaxem's scan
  is periodic; rotation 0, no transpose (both read the array as (scan_y, scan_x, ky, kx));
* upsampling: py4DSTEM's ``subpixel_alignment`` bilinear kernel-density estimate with the shifts from
  ``preprocess`` (jaxem: exact Fourier tiling). Its ``integer_pixel_rolling_alignment`` variant is a
  different estimator (shifts truncated toward zero by ``modf`` instead of rounded, deposits divided
  by a per-pixel count) and is not compared;
* phase flip: ``aberration_correct(use_CTF_fit=False)`` multiplies by sgn(sin(πλC1 q²)); it needs
  the attribute ``aberrations_C1`` that ``aberration_fit`` would set — here it is set to the known C10.
"""
import warnings

import numpy as np


def _datacube(ds):
    """The py4DSTEM DataCube of a jaxem dataset (``Dataset4D.to_py4dstem``: R pixel size [Å], Q pixel
    size [1/Å], origin and semi-angle in py4DSTEM's calibration)."""
    return ds.to_py4dstem()


def py4d_run(cls, ds, **recon):
    """Run a py4DSTEM direct method ``cls`` (e.g. ``py4DSTEM.process.phase.SSB``) on a jaxem
    ``Dataset4D`` with the same calibration and C10; returns the phase [rad]."""
    dc = _datacube(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = cls(energy=ds.energy, datacube=dc, semiangle_cutoff=ds.semiangle,
                  polar_parameters={"C10": float(ds.aberrations.C10)}, verbose=False, device="cpu")
        obj.preprocess(plot_center_of_mass=False, plot_rotation=False, plot_overlap_trotters=False,
                       force_com_rotation=0.0, force_com_transpose=False)
        obj.reconstruct(num_jobs=1, progress_bar=False, **recon)
    return np.angle(np.asarray(obj._object))


def bf_mask(stack, detector_shape):
    """Boolean detector mask of the bright-field pixels of a jaxem ``BFStack``."""
    m = np.zeros(detector_shape, bool)
    idx = np.asarray(stack.indices)
    m[idx[:, 0], idx[:, 1]] = True
    return m


def py4d_parallax(ds, dp_mask, upsampling: int = 1, flip: bool = False):
    """py4DSTEM ``Parallax`` image of a jaxem ``Dataset4D`` at its known C10 (see module docstring):
    the aligned bright-field image (``upsampling`` 1) or the bilinear-KDE upsampled one, optionally
    phase-flipped. Returns a float array ((u·)Sy, (u·)Sx)."""
    import py4DSTEM

    dc = _datacube(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = py4DSTEM.process.phase.Parallax(energy=ds.energy, datacube=dc, verbose=False, device="cpu",
                                            polar_parameters={"C10": float(ds.aberrations.C10)},
                                            object_padding_px=(0, 0))
        p.preprocess(dp_mask=dp_mask, edge_blend=1e-6, force_rotation_angle_deg=0.0, force_transpose=False,
                     plot_average_bf=False)
        if upsampling > 1:
            p.subpixel_alignment(kde_upsample_factor=int(upsampling), kde_sigma_px=0.0,
                                 plot_upsampled_BF_comparison=False, progress_bar=False)
        if not flip:
            return np.asarray(p.recon_BF_subpixel_aligned if upsampling > 1 else p.recon_BF)
        p.aberrations_C1 = float(ds.aberrations.C10)
        p.aberration_correct(use_CTF_fit=False, plot_corrected_phase=False, upsampled=upsampling > 1)
        return np.asarray(p.recon_phase_corrected)
