"""The Beam: one place for the energy, λ, σ, γ and the angle ↔ frequency conversions of a grid."""
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st

from jaxem import physics
from jaxem.beam import Beam, as_beam
from jaxem.grid import Grid


def test_published_values():
    b = Beam(300e3)
    assert b.wavelength == pytest.approx(0.019687, rel=3e-5)
    assert b.sigma == pytest.approx(6.5262e-4, rel=1e-4)
    assert Beam("200 kV").sigma == pytest.approx(7.2884e-4, rel=1e-4)


def test_hashable_and_static_under_jit():
    import jax
    import jax.numpy as jnp

    assert hash(Beam(300e3)) == hash(Beam("300 kV")) and Beam(300e3) == Beam("0.3 MeV")
    f = jax.jit(lambda x, beam: x * beam.wavelength, static_argnames="beam")
    assert float(f(jnp.float32(1.0), beam=Beam(300e3))) == pytest.approx(0.019687, rel=1e-4)
    assert jax.tree.leaves(Beam(300e3)) == []


@given(st.floats(1e3, 1e6), st.integers(8, 512), st.floats(0.01, 1.0))
def test_angular_sampling_matches_lambda_over_extent(energy, n, d):
    b, g = Beam(energy), Grid((n, n), (d, d))
    assert np.allclose(b.angular_sampling(g), b.wavelength * 1e3 / (n * d))
    assert b.frequency_to_mrad(b.mrad_to_frequency(20.0)) == pytest.approx(20.0)
    assert b.cutoff_angle(g) < b.nyquist_angle(g)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "300", "lots", "5 furlongs", None, True])
def test_bad_energy_names_energy(bad):
    with pytest.raises((ValueError, TypeError), match="energy|beam"):
        as_beam(bad)


@pytest.mark.parametrize("tilt", [(float("nan"), 0), (1, 2, 3), "x"])
def test_bad_tilt(tilt):
    with pytest.raises((ValueError, TypeError), match="tilt"):
        Beam(300e3, tilt)


def test_tilt_beyond_grid_is_rejected():
    g = Grid((64, 64), (0.2, 0.2))
    with pytest.raises(ValueError, match="beam tilt of 500 mrad exceeds"):
        Beam(300e3, (500, 0)).check_tilt(g)
    Beam(300e3, (5, 0)).check_tilt(g)


def test_wavelength_is_computed_only_by_the_beam():
    root = Path(__file__).resolve().parents[1] / "jaxem"
    offenders = []
    for f in root.rglob("*.py"):
        if f.name in ("beam.py", "physics.py"):
            continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if re.search(r"\bphysics\.(wavelength|interaction_constant|relativistic_gamma)\(|\bwavelength\(\s*[a-z_.]*energy", line):
                offenders.append(f"{f.relative_to(root)}:{i}: {line.strip()}")
    assert not offenders, "λ/σ derived outside jaxem.beam:\n" + "\n".join(offenders)
