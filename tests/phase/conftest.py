"""Session fixtures for the phase tests: small simulated white-noise weak phase objects (σφ std
0.002 rad, so that second-order scattering is negligible even where a transfer function is small;
300 kV, 20 mrad)."""
import numpy as np
import pytest

from jaxem.optics.aberrations import Aberrations

from .forward import make_dataset

AB_DEFOCUS = Aberrations.create(C10=150.0)  # Δf = −150 Å (overfocus convention C10 = −Δf)
AB_ASTIG = Aberrations.create(C10=150.0, C12=40.0, phi12=np.deg2rad(30.0))


@pytest.fixture(scope="session")
def wpo_defocus():
    """48×48 scan × 48×48 detector, C10 = 150 Å, float64; (dataset, true phase)."""
    return make_dataset(48, sigma=0.002, aberrations=AB_DEFOCUS)


@pytest.fixture(scope="session")
def wpo_focus():
    return make_dataset(48, sigma=0.002, aberrations=Aberrations())


@pytest.fixture(scope="session")
def wpo_rotated():
    """64×64 × 64×64, C10 = 150 Å, C12 = 40 Å, φ12 = 30°, detector rotated by −13°."""
    return make_dataset(64, sigma=0.002, aberrations=AB_ASTIG, rotation=np.deg2rad(-13.0))


class CompileCounter:
    """Counts JAX traces and backend compilations while active (``jax.monitoring`` events)."""

    EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/backend_compile_duration")

    def __init__(self):
        self.events = []

    def _listener(self, event, duration, **kwargs):
        if event in self.EVENTS:
            self.events.append(event)

    def __enter__(self):
        import jax

        jax.monitoring.register_event_duration_secs_listener(self._listener)
        return self

    def __exit__(self, *exc):
        import jax

        jax.monitoring.unregister_event_duration_listener(self._listener)

    @property
    def count(self):
        return len(self.events)


@pytest.fixture
def compile_counter():
    """``with compile_counter() as c: …; c.count`` — number of traces/compilations inside."""
    return CompileCounter
