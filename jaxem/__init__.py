"""jaxem: GPU-first, differentiable electron microscopy on JAX.

The names a notebook user needs first are available here (imported lazily, so ``import jaxem`` stays
fast); everything else lives in the sub-packages (see ``docs/architecture.md``)::

    import jaxem as jx
    sto = jx.zone_axis(jx.crystals.SrTiO3(), [0, 0, 1]).repeat(8, 8, 26)
    pot = jx.potential(sto, sampling=0.05, slice_thickness=1.95)                 # Å
    exit_wave = jx.multislice(jx.plane_wave(pot.grid, jx.Beam("300 kV")), pot)   # Waves carry the beam
    image = jx.hrtem_image(exit_wave, jx.Aberrations(C10=-50.0, C30=-1e4),     # C10 = −Δf [Å]
                           objective_aperture=25.0, focal_spread=30.0)          # mrad, Å → Measurement
    jx.diffraction_pattern(exit_wave, max_angle=60).show(log=True)             # mrad
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from . import physics  # noqa: E402
from .beam import Beam, as_beam  # noqa: E402
from .grid import Grid  # noqa: E402
from .measurement import Axis, Measurement  # noqa: E402

_LAZY = {
    "Structure": "jaxem.structure", "crystals": "jaxem.structure.crystals", "zone_axis": "jaxem.structure",
    "potential": "jaxem.potential", "potential_builder": "jaxem.potential",
    "absorptive_potential": "jaxem.potential",
    "Waves": "jaxem.propagate", "plane_wave": "jaxem.propagate", "waves_from_array": "jaxem.propagate",
    "multislice": "jaxem.propagate", "multislice_tilts": "jaxem.propagate",
    "diffraction_pattern": "jaxem.propagate", "intensity": "jaxem.propagate",
    "radial_profile": "jaxem.propagate", "frozen_phonon_multislice": "jaxem.propagate",
    "Aberrations": "jaxem.optics", "Aperture": "jaxem.optics", "hrtem_image": "jaxem.optics",
    "image_intensity": "jaxem.optics", "probe": "jaxem.optics", "ctf": "jaxem.optics",
    "fourier_shift": "jaxem.optics",
    "STEMSimulation": "jaxem.stem", "GridScan": "jaxem.stem", "AnnularDetector": "jaxem.stem",
    "PixelatedDetector": "jaxem.stem", "stem_scan": "jaxem.stem",
    "save": "jaxem.io", "load": "jaxem.io",
}

__all__ = ["__version__", "physics", "Beam", "as_beam", "Grid", "Axis", "Measurement", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if name == "crystals" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jaxem' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
