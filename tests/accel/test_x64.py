"""The one answer to float64 without JAX's 64-bit mode (jaxem.accel.policy): x64_enabled,
default_precision, float64_mode; and every library site that needs float64 uses them.

The test session runs with x64 on (tests/conftest.py); ``jax.enable_x64(False)`` here recreates a
user's default program (x64 off)."""
import math
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import accel

ROOT = Path(__file__).resolve().parents[2] / "jaxem"


def test_mode_helpers_follow_the_flag_and_float64_mode_restores_it():
    with jax.enable_x64(False):
        assert not accel.x64_enabled() and accel.default_precision() == "float32"
        assert accel.precision_of(np.zeros(2)) == "float32"
        with pytest.raises(ValueError, match="precision='float64' needs JAX's 64-bit mode.*float64_mode"):
            accel.resolve_precision("float64")
        with accel.float64_mode():
            assert accel.x64_enabled() and accel.default_precision() == "float64"
            assert accel.resolve_precision("f8") == "float64" and accel.real_dtype("double") == jnp.float64
            assert jnp.asarray(1.0).dtype == jnp.float64 and jnp.zeros(2, jnp.complex128).dtype == jnp.complex128
            assert float(jnp.asarray(1.0) + 1e-12) != 1.0  # really computed in double
        assert not accel.x64_enabled()
        with pytest.raises(RuntimeError, match="boom"), accel.float64_mode():
            raise RuntimeError("boom")
        assert not accel.x64_enabled() and jnp.asarray(1.0).dtype == jnp.float32  # restored after an error
    assert accel.x64_enabled() and accel.default_precision() == "float64"


def test_no_module_outside_accel_reads_or_switches_the_64_bit_mode():
    """``jax_enable_x64`` / ``jax.enable_x64`` appear only in jaxem/accel/policy.py."""
    offenders = []
    for f in ROOT.rglob("*.py"):
        if f.relative_to(ROOT).as_posix() == "accel/policy.py":
            continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if re.search(r"jax_enable_x64|enable_x64\s*\(|experimental\.enable_x64", line):
                offenders.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "64-bit mode read or switched outside jaxem.accel:\n" + "\n".join(offenders)


def _morse_hessian_numpy(cell, pos, D, a, r0, rc):
    """Φ (N, N, 3, 3) of a Morse crystal from the closed form, NumPy float64: for i ≠ j,
    Φ_ij = −Σ_L [φ''(r) n nᵀ + φ'(r)/r (1 − n nᵀ)] over images d = x_j + L − x_i with r < rc, and
    Φ_ii = −Σ_{j≠i} Φ_ij (translation invariance)."""
    n = len(pos)
    phi = np.zeros((n, n, 3, 3))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            for t in np.ndindex(5, 5, 5):
                d = pos[j] + (np.array(t) - 2) @ cell - pos[i]
                r = np.linalg.norm(d)
                if r >= rc:
                    continue
                e1, e2 = math.exp(-a * (r - r0)), math.exp(-2 * a * (r - r0))
                d1, d2 = D * (-2 * a * e2 + 2 * a * e1), D * (4 * a * a * e2 - 2 * a * a * e1)
                nn = np.outer(d, d) / r**2
                phi[i, j] -= d2 * nn + d1 / r * (np.eye(3) - nn)
        phi[i, i] = -phi[i].sum(0)
    return phi


def test_morse_hessian_is_double_precision_with_x64_off():
    """Two atoms in a 3.3 Å periodic box (Girifalco–Weizer Ni Morse: D = 0.4205 eV, α = 1.4199 1/Å,
    r₀ = 2.780 Å, cut at 4 Å, so images count; 3.3 Å has no exact float32): jax.hessian inside
    ``accel.float64_mode`` against the closed form to 1e-12, in a program without x64. Float32
    anywhere — the Hessian or the image shifts — would give ~1e-7."""
    from jaxem.phonons import hessian_force_constants, morse_energy

    cell = np.diag([3.3, 3.1, 2.9])
    pos = np.array([[0.1, 0.2, 0.3], [1.75, 1.4, 1.6]])
    ref = _morse_hessian_numpy(cell, pos, 0.4205, 1.4199, 2.780, 4.0)
    with jax.enable_x64(False):
        got = hessian_force_constants(morse_energy(cell, 0.4205, 1.4199, 2.780, 4.0), pos)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def _one_atom_projector():
    """A one-atom Γ-only mode projector (Ni mass, 5 THz, three Cartesian branches): enough for dtypes."""
    from jaxem.phonons.modes import ModeProjector

    return ModeProjector(basis=np.eye(3, dtype=np.complex128).reshape(1, 3, 1, 3),
                         sqrt_masses=np.sqrt([58.6934]), frequencies=np.full((1, 3), 5.0),
                         qpoints=np.zeros((1, 3)), positions=np.zeros((1, 3)))


def test_modal_ensembles_use_the_precision_vocabulary():
    """phonons.modal spelled float64 as 'float64'/'double' only and fell back to float32 silently for
    every other alias (and for 'float64' without x64); it now resolves ``precision`` through accel
    (None: JAX's default float)."""
    from jaxem.phonons import modal

    p = _one_atom_projector()
    for precision, want in ((None, np.float64), ("f8", np.float64), ("c16", np.float64), (np.float32, np.float32)):
        assert modal.designed_snapshots(p, 300, precision=precision).dtype == want, precision
    traj = modal.harmonic_trajectory(jax.random.PRNGKey(0), p, 300, 4, 10.0, precision="f8")
    assert traj.dtype == np.float64
    with jax.enable_x64(False):
        assert modal.designed_snapshots(p, 300).dtype == np.float32
        with pytest.raises(ValueError, match="precision='float64' needs JAX's 64-bit mode"):
            modal.designed_snapshots(p, 300, precision="float64")
    with pytest.raises(ValueError, match="precision must be 'float32' or 'float64'"):
        modal.designed_snapshots(p, 300, precision="float16")


def test_phase_precision_is_select_precision():
    """phase.stack kept its own x64 test in front of accel.select_precision; the accel rule alone
    gives the same answers (float64 data → float64 only in 64-bit mode)."""
    from jaxem.phase.stack import phase_precision

    d64, d32 = np.zeros((2, 2), np.float64), np.zeros((2, 2), np.float32)
    assert (phase_precision(None, d64), phase_precision(None, d32), phase_precision("single", d64)) == \
        ("float64", "float32", "float32")
    with jax.enable_x64(False):
        assert phase_precision(None, d64) == "float32" == accel.select_precision(None, d64)
        with pytest.raises(ValueError, match="precision='double' needs JAX's 64-bit mode"):
            phase_precision("double", d32)
