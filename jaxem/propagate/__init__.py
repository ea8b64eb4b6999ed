"""Wave propagation: waves, multislice (lax.scan over slices), batching, ensembles, detection helpers."""
from .waves import Waves, plane_wave, waves_from_array
from .multislice import (fresnel_propagator, multislice, multislice_array, multislice_tilts, tilted_propagator,
                         transmission_functions)
from .ensembles import (EnsembleWaves, einstein_positions, ensemble_mean, frozen_phonon_multislice,
                        member_transmissions)
from .detect import diffraction_pattern, diffraction_patterns_array, intensity
from .profiles import azimuthal_profile, bragg_intensities, bragg_mask, radial_profile, scattering_angles

__all__ = [
    "Waves", "plane_wave", "waves_from_array",
    "fresnel_propagator", "multislice", "multislice_array", "multislice_tilts", "tilted_propagator",
    "transmission_functions",
    "EnsembleWaves", "einstein_positions", "ensemble_mean", "frozen_phonon_multislice", "member_transmissions",
    "diffraction_pattern", "diffraction_patterns_array", "intensity",
    "azimuthal_profile", "bragg_intensities", "bragg_mask", "radial_profile", "scattering_angles",
]
