"""Direct phase retrieval from 4D-STEM: CoM/iCoM, SSB, OBF, WDD, parallax (+ aberration fit,
upsampling) and a streaming parallax reducer.

Analysis package: it imports no simulation code (the probe, apertures and χ come from
:mod:`jaxem.optics`). Typical use::

    ds = phase.read_4dstem("scan.mib", energy=300e3, semiangle=20.0, scan_sampling=0.5,
                           angular_sampling=0.4)
    ds = phase.calibrate_bright_field(ds)
    stack = phase.bright_field_stack(ds)
    fit = phase.fit_parallax(stack)                       # C10, C12, φ12, rotation
    img = phase.reconstruct(stack, "ssb", fit.aberrations, fit.rotation).show()

Streaming (live) parallax: ``state = streaming.init(parallax_config(ds))``, then
``state = streaming.step(state, frames, positions)`` per chunk and ``streaming.result(state)``.
Without a file, :func:`simulate_dataset` makes a calibrated weak-phase-object dataset. Non-finite
values (dead pixels, dropped frames) are masked and reported (:mod:`jaxem.phase.masking`).

Units: lengths Å, reciprocal lengths 1/Å, angles mrad (semi-angle), rotation and azimuths rad.
"""
from .alignment import (AberrationFit, cross_correlation_shifts, fit_higher_orders, fit_linear_map,
                        predicted_shifts, shift_images)
from .calibration import (BrightFieldDisk, RotationResult, calibrate_bright_field, center_of_mass,
                          find_bright_field, fit_descan, mean_pattern, rotation_from_com)
from .com import com_field, divergence, icom, icom_spectrum
from .dataset import Dataset4D
from .descan import remove_descan
from .direct import flip_mask, obf, parallax, reconstruct_spectrum, ssb
from .dose import ssnr
from .com_integration import DPCResult, dpc, probe_autocorrelation, rotation_from_curl
from .io import read_4dstem, read_zarr, write_zarr
from .masking import BadData
from .parallax_fit import fit_parallax
from .reconstruct import reconstruct
from .stack import BFStack, bright_field_stack
from . import streaming
from .streaming import ParallaxConfig, ParallaxState, parallax_config, stream_dask
from .synthetic import lattice_phase, simulate_4dstem, simulate_dataset, white_noise_phase
from .transfer import measured_transfer, radial_average, stack_transfer, transfer_function
from .wdd import wdd
from .wiener import tcbf, wiener_direct, wiener_parallax

__all__ = [
    "AberrationFit", "cross_correlation_shifts", "fit_higher_orders", "fit_linear_map", "fit_parallax",
    "predicted_shifts", "shift_images", "BrightFieldDisk", "RotationResult", "calibrate_bright_field",
    "center_of_mass", "find_bright_field", "fit_descan", "mean_pattern", "rotation_from_com",
    "com_field", "divergence", "icom", "icom_spectrum", "Dataset4D", "remove_descan", "flip_mask", "obf", "parallax",
    "reconstruct_spectrum", "ssb", "ssnr", "read_4dstem", "read_zarr", "write_zarr", "BadData", "reconstruct",
    "BFStack", "bright_field_stack", "streaming", "ParallaxConfig", "ParallaxState", "parallax_config",
    "stream_dask", "lattice_phase", "simulate_4dstem", "simulate_dataset",
    "white_noise_phase", "measured_transfer", "radial_average", "stack_transfer", "transfer_function", "wdd",
    "tcbf", "wiener_direct", "wiener_parallax", "DPCResult", "dpc", "probe_autocorrelation", "rotation_from_curl",
]
