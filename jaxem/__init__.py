"""jaxem: GPU-first, differentiable electron microscopy on JAX.

The names a notebook user needs first are re-exported here; everything else lives in the
sub-packages (see ``ARCHITECTURE.md``).
"""
__version__ = "0.1.0"

from . import physics  # noqa: E402
from .grid import Grid  # noqa: E402
from .measurement import Axis, Measurement  # noqa: E402

__all__ = ["__version__", "physics", "Grid", "Axis", "Measurement"]
