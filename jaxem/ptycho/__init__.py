"""Gradient-based multislice ptychography on jaxem's differentiable multislice (floor 3).

The forward model is jaxem's own: the probe of :mod:`jaxem.optics` (ψ = A·e^{−iχ}, C10 = −Δf) moved by
the one Fourier shift, through the one slice step :func:`jaxem.propagate.multislice_array`; the data
come from any calibrated :class:`jaxem.phase.Dataset4D` (simulated or read from a vendor file).
This package sits above ``propagate`` (simulation) and ``phase`` (analysis), so it may use both.

Typical use::

    ds = phase.read_4dstem("scan.mib", energy=300e3, semiangle=20.0, scan_sampling=0.5,
                           angular_sampling=0.4)
    ds = phase.calibrate_bright_field(ds)
    res = ptycho.reconstruct(ds, n_slices=8, slice_thickness=13.0, n_modes=3, iterations=50,  # start: iCoM
                             rate_positions=0.02, fit_aberrations=("C10",), tv=1e-3, kz=1.0,
                             checkpoint="run.npz")          # optimizer="lbfgs" for full-batch L-BFGS
    res.object.show(); jaxem.save(res.object, "object.zspy")

Pure level (the house's iterative shape): ``data = prepare(ds)``, ``params = init_params(model, P)``,
``state = init(params, model, cfg)``, ``state = step(state, model, cfg, arrays)``, ``result(state)``.
Units: lengths Å, angles mrad, phases rad.
"""
from .data import Geometry, PtychoData, prepare, scan_frame_patterns
from .model import (Model, PtychoParams, amplitude_error, init_params, model_amplitudes, probe_spectra,
                    transmissions)
from .solver import OPTIMIZERS, PtychoState, SolverConfig, full_error, init, loss, result, step
from .driver import PtychoResult, bytes_per_position, reconstruct
from .metrics import correlation, fourier_resample, information_limit, slice_correlations, true_slice_phases
from .seed import SEED_SCALES, com_field, icom_phase, icom_seed
from .study import UNIT_CELL, compare_methods, simulate_crystal, truth_error

__all__ = [
    "Geometry", "PtychoData", "prepare", "scan_frame_patterns",
    "Model", "PtychoParams", "amplitude_error", "init_params", "model_amplitudes", "probe_spectra", "transmissions",
    "OPTIMIZERS", "PtychoState", "SolverConfig", "full_error", "init", "loss", "result", "step",
    "PtychoResult", "bytes_per_position", "reconstruct",
    "correlation", "fourier_resample", "information_limit", "slice_correlations", "true_slice_phases", "compare_methods", "simulate_crystal", "truth_error", "UNIT_CELL",
    "SEED_SCALES", "com_field", "icom_phase", "icom_seed",
]
