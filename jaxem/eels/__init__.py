"""Momentum–energy resolved EELS: q–E maps, loss function, plasmon dispersion, space–time picture.

Analysis package (imports floor 0, :mod:`jaxem.io` and :mod:`jaxem.beam` only). Units: q [1/Å] (the
angular wavenumber 2π/d), E [eV], x [Å], t [fs].

* Data in (:mod:`~jaxem.eels.maps`): :func:`qe_map` (arrays + axes), :func:`as_qe_map`,
  :func:`from_hyperspy`, :func:`read` (rosettasciio formats, jaxem stores), :func:`from_sqw` (S(q, ω)
  cubes, e.g. TACAW once it exists).
* Pre-processing (:mod:`~jaxem.eels.preprocess`): :func:`remove_zlp`, :func:`deconvolve` (Fourier-log),
  :func:`loss_function` (kinematic factor, slit, aperture).
* Fits (:mod:`~jaxem.eels.peaks`): :func:`fit_peaks` (Poisson ML, vmapped over q; init/step/result),
  dispersion laws (:mod:`~jaxem.eels.dispersion`): :func:`fit_dispersion`, :func:`fit_film`,
  :func:`width_onset`; models and kinematics in :mod:`~jaxem.eels.model`.
* Space–time (:mod:`~jaxem.eels.spacetime`): :func:`spacetime`, :func:`inverse_spacetime`,
  :func:`track_packet`; noise and resolution (:mod:`~jaxem.eels.noise`): :func:`loss_sigma`,
  :func:`wiener_shrink`, :func:`resolution_kernel`, :func:`resolution_factor`.
* Synthetic maps (:mod:`~jaxem.eels.synthetic`): :func:`drude_map`, :func:`film_map`.
* Everything at once: :func:`analyse`.
"""
from .maps import as_qe_map, from_hyperspy, from_sqw, qe_map, read
from .model import (HBAR, HBAR2_OVER_M, bulk_dispersion, characteristic_momentum, continuum_cutoff, continuum_edge,
                    drude_loss, film_branches, free_electron_plasmon, group_velocity, kinematic_factor, lorentz_peak,
                    rpa_alpha, slit_kinematic_factor)
from .peaks import PeakFit, PeakFitState, PeakModel, fit_peaks, peak_fit_init, peak_fit_result, peak_fit_step
from .preprocess import deconvolve, loss_function, remove_zlp
from .dispersion import DispersionFit, FilmFit, fit_dispersion, fit_film, width_onset
from .noise import loss_sigma, resolution_factor, resolution_kernel, wiener_shrink
from .spacetime import PacketTrack, SpaceTime, inverse_spacetime, resolution, spacetime, track_packet
from .synthetic import AL, drude_map, film_map, synthetic_map
from .pipeline import QEAnalysis, analyse

__all__ = [
    "as_qe_map", "from_hyperspy", "from_sqw", "qe_map", "read",
    "HBAR", "HBAR2_OVER_M", "bulk_dispersion", "characteristic_momentum", "continuum_cutoff", "continuum_edge",
    "drude_loss", "film_branches", "free_electron_plasmon", "group_velocity", "kinematic_factor", "lorentz_peak",
    "rpa_alpha", "slit_kinematic_factor",
    "PeakFit", "PeakFitState", "PeakModel", "fit_peaks", "peak_fit_init", "peak_fit_result", "peak_fit_step",
    "deconvolve", "loss_function", "remove_zlp",
    "DispersionFit", "FilmFit", "fit_dispersion", "fit_film", "width_onset",
    "loss_sigma", "resolution_factor", "resolution_kernel", "wiener_shrink",
    "PacketTrack", "SpaceTime", "inverse_spacetime", "resolution", "spacetime", "track_packet",
    "AL", "drude_map", "film_map", "synthetic_map",
    "QEAnalysis", "analyse",
]
