"""Wave propagation: waves (with their beam), the one multislice step with observers, batching,
ensembles, detection helpers and diffraction profiles."""
from .waves import Waves, plane_wave, waves_from_array
from .observers import AbsorbedIntensity, DetectorIntegrals, ExitPlanes, Observers
from .multislice import (exit_slice_counts, fresnel_propagator, multislice, multislice_array, multislice_tilts,
                         tilted_propagator, transmission_functions)
from .ensembles import (EnsembleWaves, einstein_positions, ensemble_mean, frozen_phonon_multislice,
                        member_transmissions)
from .detect import diffraction_pattern, diffraction_patterns_array, intensity
from .profiles import azimuthal_profile, bragg_intensities, bragg_mask, radial_profile, scattering_angles

__all__ = [
    "Waves", "plane_wave", "waves_from_array",
    "AbsorbedIntensity", "DetectorIntegrals", "ExitPlanes", "Observers",
    "exit_slice_counts", "fresnel_propagator", "multislice", "multislice_array", "multislice_tilts",
    "tilted_propagator", "transmission_functions",
    "EnsembleWaves", "einstein_positions", "ensemble_mean", "frozen_phonon_multislice", "member_transmissions",
    "diffraction_pattern", "diffraction_patterns_array", "intensity",
    "azimuthal_profile", "bragg_intensities", "bragg_mask", "radial_profile", "scattering_angles",
]
