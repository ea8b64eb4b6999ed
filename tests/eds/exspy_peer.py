"""Test-only bridge to exspy (GPL, used as an oracle only): run its quantification drivers on
given line intensities, ζ/k-factors and geometry. Intensities: (..., n) with lines last."""
from __future__ import annotations

import warnings

import numpy as np


def exspy_modules():
    import pytest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exspy = pytest.importorskip("exspy")
        from exspy._misc import material
        from exspy._misc.eds import utils as eds_utils
    return exspy, material, eds_utils


def exspy_line_energy(line):
    exspy, _, eds_utils = exspy_modules()
    return eds_utils._get_energy_xray_line(line)


def exspy_mac_matrix(lines, elements):
    """M[l, j] = exspy's μ/ρ of element j at exspy's energy of line l [cm²/g]."""
    _, material, _ = exspy_modules()
    e = [exspy_line_energy(l) for l in lines]
    return np.array([[float(material.mass_absorption_coefficient(el, [ei])[0]) for el in elements]
                     for ei in e])


def exspy_quantify(intensities, lines, method, factors, *, take_off_deg=None, dose=None,
                   beam_current_nA=None, live_time_s=None, absorption=False, thickness_nm=None,
                   convergence=1e-4, max_iterations=100, units="atomic", timing=None):
    """Run exspy's EDSTEMSpectrum.quantification; returns (fractions (..., n), extra or None).

    ``timing``: optional dict that receives ``seconds`` of the quantification call alone."""
    import time

    exspy, _, _ = exspy_modules()
    I = np.asarray(intensities, dtype=float)
    nav = I.shape[:-1]
    s = exspy.signals.EDSTEMSpectrum(np.zeros(nav + (64,), dtype=np.float32))
    ax = s.axes_manager.signal_axes[0]
    ax.scale, ax.offset, ax.units = 0.32, 0.0, "keV"
    s.set_microscope_parameters(beam_energy=200.0, live_time=live_time_s or 1.0,
                                beam_current=beam_current_nA or 1.0, tilt_stage=0.0,
                                azimuth_angle=0.0, elevation_angle=take_off_deg or 22.0)
    s.add_lines(lines)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ints = s.get_lines_intensity(xray_lines=lines)
    order = [i.metadata.Sample.xray_lines[0] for i in ints]
    for sig in ints:
        sig.data = I[..., lines.index(sig.metadata.Sample.xray_lines[0])].copy()
    fac = [factors[lines.index(l)] for l in order]
    kw = dict(method=method, factors=fac, composition_units=units, absorption_correction=absorption,
              take_off_angle=take_off_deg, convergence_criterion=convergence,
              max_iterations=max_iterations, show_progressbar=False)
    if method == "CL":
        kw["navigation_mask"] = None
        kw["thickness"] = thickness_nm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        res = s.quantification(ints, **kw)
        if timing is not None:
            timing["seconds"] = time.perf_counter() - t0
    comp = res[0] if isinstance(res, tuple) else res
    out = np.stack([comp[order.index(l)].data for l in lines], -1) / 100.0
    extra = res[1].data if isinstance(res, tuple) else None
    return out, extra
