"""Projected-potential slices from exact Fourier-space structure factors.

Each slice holds the projected potential v(r) [V·Å] of the atoms whose centres lie in it (the
"infinite projection": an atom's whole potential goes into its slice). On the periodic grid the
Fourier coefficients are computed exactly, with no deposition or interpolation:

    v(k) = (KAPPA / A) Σ_species f_s(|k|) Σ_{j ∈ s} occ_j · exp(−2π² ⟨u²⟩_j·k²) · exp(−2πi k·r_j)

(A the cell area [Å²], KAPPA = 2π a0 e). The sum over atoms factorises in x and y,
exp(−2πi(kx x + ky y)) = exp(−2πi kx x)·exp(−2πi ky y), so each species' structure factor is one
complex matrix product (ny × M) @ (M × nx) — cheap, exact for off-grid atoms, and smooth (so
differentiable) in positions, ⟨u²⟩ (B) and occupancies. The Debye–Waller factor is applied only
when ``debye_waller=True`` (the DW-smeared static potential); frozen-phonon and absorptive models
handle thermal motion otherwise.

Periodic crystals: a structure made by ``Structure.repeat(..., nz)`` has ``z_repeats = nz``; only the
slices of one repeat unit are computed and the slice *sequence* repeats them.
"""
from __future__ import annotations

import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from .. import physics
from ..accel import batch_size, real_dtype, resolve_precision
from ..grid import Grid
from ..structure import Structure, slice_assignment, slices_for_structure
from .parametrizations import get_parametrization


@struct.dataclass
class PotentialSlices:
    """Projected potential of a specimen as slices along the beam.

    Attributes:
        array: (n_unique, ny, nx) projected potential of the distinct slices [V·Å] (real, or complex
            v + iv′ for absorptive models).
        sequence: (n_slices,) index into ``array`` of each slice from entrance to exit surface (static).
        slice_thickness: thickness of every slice [Å] (static).
        grid: the lateral :class:`~jaxem.grid.Grid` (static).
        energy: electron energy [eV] the slices were made for (static; None when they do not depend
            on it, e.g. real potentials; absorptive potentials set it).
    """

    array: jnp.ndarray
    sequence: tuple = struct.field(pytree_node=False)
    slice_thickness: float = struct.field(pytree_node=False)
    grid: Grid = struct.field(pytree_node=False)
    energy: float | None = struct.field(pytree_node=False, default=None)

    @property
    def n_slices(self) -> int:
        return len(self.sequence)

    @property
    def thickness(self) -> float:
        """Total specimen thickness [Å]."""
        return self.n_slices * self.slice_thickness

    def slice_array(self, i: int):
        return self.array[self.sequence[i]]

    def full(self):
        """(n_slices, ny, nx) array of every slice (materialises repeats)."""
        return self.array[jnp.asarray(self.sequence)]


def _unit_is_periodic(structure: Structure) -> bool:
    """True when the atoms are z_repeats shifted copies of the first unit (checked on the host to
    1e-4 Å, the resolution of float32 positions ~100 Å from the origin)."""
    r = structure.z_repeats
    if r == 1:
        return True
    try:
        pos = np.asarray(structure.positions)
    except jax.errors.TracerArrayConversionError:
        return True  # traced inside a transformation: trust the static flag
    n = len(pos)
    if n % r:
        return False
    nu = n // r
    cz = np.asarray(structure.cell)[2] / r
    blocks = pos.reshape(r, nu, 3) - np.arange(r)[:, None, None] * cz
    numbers = np.asarray(structure.numbers).reshape(r, nu)
    return bool(np.allclose(blocks, blocks[:1], atol=1e-4) and np.all(numbers == numbers[:1]))


def _atom_tables(z_unit, species_index, n_slices, dz, n_species):
    """Host-side index tables: for each (slice, species) the atom indices, padded with -1."""
    sl = slice_assignment(z_unit, dz, n_slices)
    key = sl.astype(np.int64) * n_species + species_index
    order = np.argsort(key, kind="stable")
    counts = np.bincount(key, minlength=n_slices * n_species)
    m = max(1, int(counts.max()) if counts.size else 1)
    table = -np.ones((n_slices * n_species, m), dtype=np.int32)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - starts[key[order]]
    table[key[order], rank] = order
    return table.reshape(n_slices, n_species, m)


@partial(jax.jit, static_argnames=("grid", "debye_waller", "batch"))
def projected_potential_slices(positions, u2, occupancy, table, form_factors, grid: Grid,
                               debye_waller: bool = False, batch: int = 1):
    """Projected potential [V·Å] of each slice (pure function, jit-compiled).

    Args:
        positions: (N, 3) atom positions (x, y, z) [Å].
        u2: (N, 3) ⟨u²⟩ per direction [Å²] (used when ``debye_waller``).
        occupancy: (N,) occupancies.
        table: (n_slices, S, M) int32 atom indices per slice and species, −1 = padding.
        form_factors: (S, ny, nx) scattering factors f_s(|k|) [Å] on the FFT grid.
        grid: lateral grid (static).
        debye_waller: multiply each atom's factor by exp(−2π²⟨u²⟩k²).
        batch: slices computed together (static; from the memory budget).
    Returns:
        (n_slices, ny, nx) real array, dtype of ``positions``.
    """
    rdtype = positions.dtype
    cdtype = jnp.complex128 if rdtype == jnp.float64 else jnp.complex64
    ky, kx = grid.frequencies(rdtype)
    ny, nx = grid.gpts
    prefactor = physics.KAPPA / grid.area * ny * nx  # ifft2 divides by N

    def one_slice(idx):  # idx: (S, M)
        valid = idx >= 0
        safe = jnp.where(valid, idx, 0)
        w = jnp.where(valid, occupancy[safe], 0.0).astype(rdtype)
        x, y = positions[safe, 0], positions[safe, 1]
        ex = jnp.exp(-2j * jnp.pi * x[..., None] * kx).astype(cdtype)  # (S, M, nx)
        ey = jnp.exp(-2j * jnp.pi * y[..., None] * ky).astype(cdtype)  # (S, M, ny)
        if debye_waller:
            ex = ex * jnp.exp(-2 * jnp.pi**2 * u2[safe, 0][..., None] * kx**2)
            ey = ey * jnp.exp(-2 * jnp.pi**2 * u2[safe, 1][..., None] * ky**2)
        ey = ey * w[..., None]
        sf = jnp.einsum("smy,smx->syx", ey, ex)  # structure factor per species
        vk = jnp.sum(form_factors.astype(rdtype) * sf, axis=0) * prefactor
        return jnp.fft.ifft2(vk).real.astype(rdtype)

    return jax.lax.map(one_slice, table, batch_size=batch)


@struct.dataclass
class PotentialLayout:
    """Everything about a structure's potential that is fixed before differentiation: the grid, the
    atom-to-slice tables and the scattering factors (leaves), and the static slicing metadata."""

    table: jnp.ndarray
    form_factors: jnp.ndarray
    grid: Grid = struct.field(pytree_node=False)
    sequence: tuple = struct.field(pytree_node=False)
    slice_thickness: float = struct.field(pytree_node=False)
    n_unit_atoms: int = struct.field(pytree_node=False)
    n_atoms: int = struct.field(pytree_node=False)
    debye_waller: bool = struct.field(pytree_node=False)
    batch: int = struct.field(pytree_node=False)


def build_potential(layout: PotentialLayout, structure: Structure) -> PotentialSlices:
    """Pure, jit/grad-compatible: the potential of ``structure`` on a fixed ``layout``."""
    if len(structure) != layout.n_atoms:
        raise ValueError(f"the layout was set up for {layout.n_atoms} atoms, got {len(structure)}")
    nu = layout.n_unit_atoms
    rdtype = layout.form_factors.dtype
    arr = projected_potential_slices(
        structure.positions[:nu].astype(rdtype), structure.u2[:nu].astype(rdtype),
        structure.occupancy[:nu].astype(rdtype), layout.table, layout.form_factors, layout.grid,
        debye_waller=layout.debye_waller, batch=layout.batch,
    )
    return PotentialSlices(arr, layout.sequence, layout.slice_thickness, layout.grid)


@functools.lru_cache(maxsize=16)
def _form_factors_on_grid(parametrization: str, species: tuple, grid: Grid, dtype: str):
    """f_s(|k|) [Å] of ``species`` on the FFT grid (cached: reused by every call on the same grid)."""
    k = jnp.sqrt(grid.k2(jnp.dtype(dtype)))
    return jax.jit(lambda kk: get_parametrization(parametrization).scattering_factor(species, kk))(k).astype(dtype)


def potential_layout(structure: Structure, sampling=None, gpts=None, slice_thickness: float = 1.0,
                     parametrization: str = "lobato", debye_waller: bool = False, precision=None,
                     memory_budget=None) -> PotentialLayout:
    """Fix the grid and the atom-to-slice layout of ``structure`` on the host (arguments as in
    :func:`potential`)."""
    if not isinstance(structure, Structure):
        raise TypeError(f"structure must be a jaxem Structure, got {type(structure).__name__}")
    structure.check_orthorhombic()
    lx, ly, lz = structure.lengths
    grid = Grid.from_extent((ly, lx), sampling=sampling, gpts=gpts, fft_friendly=True)
    rdtype = real_dtype(resolve_precision(precision))

    repeats = structure.z_repeats if _unit_is_periodic(structure) else 1
    nu = len(structure) // repeats
    n_unit, dz = slices_for_structure(lz / repeats, slice_thickness)

    numbers = np.asarray(structure.numbers)[:nu]
    species, species_index = np.unique(numbers, return_inverse=True)
    table = jnp.asarray(_atom_tables(np.asarray(structure.positions)[:nu, 2], species_index, n_unit, dz,
                                     len(species)))
    form = _form_factors_on_grid(parametrization, tuple(int(z) for z in species), grid, jnp.dtype(rdtype).name)
    s, m = table.shape[1], table.shape[2]
    per_slice = 8 * (grid.gpts[0] * grid.gpts[1] * (3 + s) + 2 * s * m * sum(grid.gpts))
    batch = int(batch_size(per_slice, n_unit, memory_budget))
    sequence = tuple(int(i) for i in np.tile(np.arange(n_unit), repeats))
    return PotentialLayout(table, form, grid, sequence, float(dz), int(nu), len(structure),
                           bool(debye_waller), batch)


def potential_builder(structure: Structure, sampling=None, gpts=None, slice_thickness: float = 1.0,
                      parametrization: str = "lobato", debye_waller: bool = False, precision=None,
                      memory_budget=None):
    """Factory: fix the grid and the atom-to-slice layout of ``structure`` (on the host) and return a
    pure function ``build(structure) -> PotentialSlices`` that is jit-compatible and differentiable
    in positions, ⟨u²⟩ and occupancies (atoms keep the slice they were assigned here). The layout is
    available as ``build.layout``.

    Arguments as in :func:`potential`.
    """
    layout = potential_layout(structure, sampling, gpts, slice_thickness, parametrization, debye_waller,
                              precision, memory_budget)
    build = partial(build_potential, layout)
    build.layout = layout
    return build


def potential(structure: Structure, sampling=None, gpts=None, slice_thickness: float = 1.0,
              parametrization: str = "lobato", debye_waller: bool = False, precision=None,
              memory_budget=None) -> PotentialSlices:
    """Projected-potential slices of ``structure`` (infinite projection, exact structure factors).

    Args:
        structure: atoms in an orthorhombic cell (beam along z).
        sampling: largest lateral pixel size [Å] (scalar or (dy, dx)); the grid is rounded up to an
            FFT-friendly size (factors 2, 3, 5, 7), so the actual sampling may be slightly finer.
            Or give ``gpts`` for an exact grid.
        gpts: grid points (ny, nx).
        slice_thickness: largest slice thickness [Å]; the repeat unit along z is divided into equal slices.
        parametrization: 'lobato' (default) or 'kirkland'.
        debye_waller: smear the static potential with each atom's Debye–Waller factor.
        precision: 'float32' (default) or 'float64'.
        memory_budget: bytes for batching slices (default from :mod:`jaxem.accel`).
    Returns:
        :class:`PotentialSlices`. To differentiate with respect to the structure, use
        :func:`potential_builder` (the slice layout needs concrete z positions).
    """
    return potential_builder(structure, sampling, gpts, slice_thickness, parametrization, debye_waller,
                             precision, memory_budget)(structure)
