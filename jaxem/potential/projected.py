"""Projected-potential slices from exact Fourier-space structure factors.

Each slice holds the projected potential v(r) [V·Å] of the atoms whose centres lie in it (the
"infinite projection": an atom's whole potential goes into its slice). On the periodic grid the
Fourier coefficients are computed exactly, with no deposition or interpolation:

    v(k) = (KAPPA / A) Σ_species f_s(|k|) Σ_{j ∈ s} occ_j · exp(−2π² ⟨u²⟩_j·k²) · exp(−2πi k·r_j)

(A the cell area [Å²], KAPPA = 2π a0 e). The sum over atoms factorises in x and y,
exp(−2πi(kx x + ky y)) = exp(−2πi kx x)·exp(−2πi ky y), so each species' structure factor is one
complex matrix product (ny × M) @ (M × nx) — cheap, exact for off-grid atoms, and smooth (so
differentiable) in positions, ⟨u²⟩ (B) and occupancies. v is real, so only kx ≥ 0 is computed and
transformed back by ``irfft2`` (half the product and the transform; on an even axis the Nyquist
line takes the Hermitian part, so the result equals Re ifft2 of the full sum to rounding). The Debye–Waller factor is applied only
when ``debye_waller=True`` (the DW-smeared static potential); frozen-phonon and absorptive models
handle thermal motion otherwise.

Periodic crystals: a structure made by ``Structure.repeat(..., nz)`` has ``z_repeats = nz``; only the
slices of one repeat unit are computed and the slice *sequence* repeats them.

Atoms on or outside the cell faces follow the structure's ``pbc`` (:mod:`jaxem.structure.slicing`):
along a periodic axis they are wrapped (an atom on the top face z = L goes into the first slice,
as in ASE-based codes), along a non-periodic axis they are rejected with their count and the cell's
range. ``structure`` may be a :class:`~jaxem.structure.Structure` or an ``ase.Atoms`` (converted by
:func:`jaxem.structure.from_ase`, which keeps its Debye–Waller factors, occupancies and ``pbc``).

The grid must be able to represent the potential: a lateral sampling ≤ :data:`MAX_SAMPLING` (1 Å;
atomic potentials vary on 0.1–0.5 Å, typical multislice samplings are 0.02–0.1 Å) and at least
:data:`MIN_GPTS` pixels along each axis of the cell; the slice thickness must lie in (0, depth of the
cell].
"""
from __future__ import annotations

import functools
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import physics, pytree, validate
from ..accel import batch_size, cpu_working_set, dtypes, dtypes_of
from ..beam import as_beam
from ..grid import Grid
from ..structure import Structure, as_structure, check_in_cell, slice_assignment, slices_for_structure
from ..structure.slicing import BOUNDARY_TOLERANCE, check_lateral_vacuum, check_sites
from .parametrizations import PARAMETRIZATIONS, get_parametrization

#: coarsest lateral sampling [Å] that can represent an atomic potential
MAX_SAMPLING = 1.0
#: fewest grid points along each axis of the cell
MIN_GPTS = 4
#: most grid points along one axis (a complex64 slice of 65536² is 34 GB)
MAX_GPTS = 65536


@pytree.dataclass
class PotentialSlices:
    """Projected potential of a specimen as slices along the beam.

    Attributes:
        array: (n_unique, ny, nx) projected potential of the distinct slices [V·Å] (real, or complex
            v + iv′ for absorptive models).
        sequence: (n_slices,) index into ``array`` of each slice from entrance to exit surface (static).
        slice_thickness: thickness of every slice [Å] (static).
        grid: the lateral :class:`~jaxem.grid.Grid` (static).
        energy: electron energy [eV] the slices were made for (static; None when they do not depend
            on it, e.g. real potentials; absorptive potentials set it). Validated as a
            :class:`~jaxem.beam.Beam` energy (a number or e.g. ``"300 kV"``, or a Beam).
    """

    array: jnp.ndarray = pytree.field(units="V·Å")
    sequence: tuple = pytree.field(static=True)
    slice_thickness: float = pytree.field(static=True, units="Å")
    grid: Grid = pytree.field(static=True)
    energy: float | None = pytree.field(static=True, units="eV", default=None)

    def __post_init__(self):
        if not isinstance(self.grid, Grid):
            raise validate.InputTypeError(f"grid must be a jaxem Grid, got {type(self.grid).__name__}")
        try:
            seq = tuple(validate.integer(i, "sequence", lo=0) for i in self.sequence)
        except TypeError:
            raise validate.InputTypeError(f"sequence must be a tuple of slice indices, got {self.sequence!r}") from None
        if not seq:
            raise validate.InputError("sequence must hold at least one slice index, got ()")
        object.__setattr__(self, "sequence", seq)
        object.__setattr__(self, "slice_thickness",
                           validate.scalar(self.slice_thickness, "slice_thickness", "Å", positive=True,
                                           allow_traced=False))
        if self.energy is not None:
            object.__setattr__(self, "energy", as_beam(self.energy, "energy").energy)
        shape = getattr(self.array, "shape", None)
        if shape is not None and not isinstance(self.array, type):
            if len(shape) < 3 or tuple(shape[-2:]) != tuple(self.grid.gpts):
                raise validate.InputError(f"array must have shape (n_unique, {self.grid.gpts[0]}, {self.grid.gpts[1]}) "
                                          f"for the grid, got {tuple(shape)}")
            if max(seq) >= shape[-3]:
                raise validate.InputError(f"sequence refers to slice {max(seq)} but array holds {shape[-3]} slices")

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
    pos = np.asarray(structure.positions)
    n = len(pos)
    if n % r:
        return False
    nu = n // r
    cz = np.asarray(structure.cell)[2] / r
    blocks = pos.reshape(r, nu, 3) - np.arange(r)[:, None, None] * cz
    numbers = np.asarray(structure.numbers).reshape(r, nu)
    return bool(np.allclose(blocks, blocks[:1], atol=1e-4) and np.all(numbers == numbers[:1]))


def _atom_tables(slice_index, species_index, n_slices, n_species):
    """Host-side index tables: for each (slice, species) the atom indices, padded with -1."""
    sl = np.asarray(slice_index, np.int64)
    key = sl * n_species + np.asarray(species_index, np.int64)
    order = np.argsort(key, kind="stable")
    counts = np.bincount(key, minlength=n_slices * n_species)
    m = max(1, int(counts.max()) if counts.size else 1)
    table = -np.ones((n_slices * n_species, m), dtype=np.int32)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - starts[key[order]]
    table[key[order], rank] = order
    return table.reshape(n_slices, n_species, m)


@partial(jax.jit, static_argnames=("grid", "debye_waller", "batch"))
@validate.typed
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
    rdtype, cdtype = dtypes_of(positions)
    ky, kx = grid.frequencies(rdtype)
    ny, nx = grid.gpts
    nh = nx // 2 + 1  # v is real: only kx ≥ 0 is computed (half the structure factor), then irfft2
    kx = kx[:nh]
    ff = form_factors[..., :nh].astype(rdtype)
    prefactor = physics.KAPPA / grid.area * ny * nx  # ifft2 divides by N
    even_x, even_y = nx % 2 == 0, ny % 2 == 0

    def one_slice(idx):  # idx: (S, M)
        valid = idx >= 0
        safe = jnp.where(valid, idx, 0)
        w = jnp.where(valid, occupancy[safe], 0.0).astype(rdtype)
        x, y = positions[safe, 0], positions[safe, 1]
        ex = jnp.exp(-2j * jnp.pi * x[..., None] * kx).astype(cdtype)  # (S, M, nx//2 + 1)
        ey = jnp.exp(-2j * jnp.pi * y[..., None] * ky).astype(cdtype)  # (S, M, ny)
        if debye_waller:
            ex = ex * jnp.exp(-2 * jnp.pi**2 * u2[safe, 0][..., None] * kx**2)
            ey = ey * jnp.exp(-2 * jnp.pi**2 * u2[safe, 1][..., None] * ky**2)
        ey = ey * w[..., None]
        # Re ifft2(X) = ifft2 of the Hermitian part (X(k) + X*(−k))/2, which equals X except on the Nyquist
        # row/column of an even axis (k and −k are the same pixel there): the phase factor becomes its cosine,
        # and the corner pixel gets cos(a + b) = cos a cos b − sin a sin b (exact, not an approximation)
        if even_x and even_y:
            corner = -jnp.sum(ex[..., -1].imag * ey[..., ny // 2].imag, axis=-1)  # (S,)
        if even_x:
            ex = ex.at[..., -1].set(ex[..., -1].real.astype(cdtype))
        if even_y:
            ey = ey.at[..., ny // 2].set(ey[..., ny // 2].real.astype(cdtype))
        sf = jnp.einsum("smy,smx->syx", ey, ex)  # structure factor per species, kx ≥ 0
        if even_x and even_y:
            sf = sf.at[:, ny // 2, -1].add(corner.astype(cdtype))
        vk = jnp.sum(ff * sf, axis=0) * prefactor
        return jnp.fft.irfft2(vk, s=(ny, nx)).astype(rdtype)

    return jax.lax.map(one_slice, table, batch_size=batch)


@pytree.dataclass
class PotentialLayout:
    """Everything about a structure's potential that is fixed before differentiation: the grid, the
    atom-to-slice tables and the scattering factors (leaves), and the static slicing metadata.

    Attributes:
        table: (n_unit_slices, S, M) atom indices per slice and species (−1 = padding).
        form_factors: (S, ny, nx) f_s(|k|) [Å] on the FFT grid (its dtype is the precision).
        slice_index: (n_unit_atoms,) slice of each atom of the repeat unit (after the pbc rule).
        grid, sequence, slice_thickness [Å], n_unit_atoms, n_atoms, debye_waller, batch: static.
    """

    table: jnp.ndarray
    form_factors: jnp.ndarray
    slice_index: jnp.ndarray
    grid: Grid = pytree.field(static=True)
    sequence: tuple = pytree.field(static=True)
    slice_thickness: float = pytree.field(static=True, units="Å")
    n_unit_atoms: int = pytree.field(static=True)
    n_atoms: int = pytree.field(static=True)
    debye_waller: bool = pytree.field(static=True)
    batch: int = pytree.field(static=True)


@validate.typed
def build_potential(layout: PotentialLayout, structure: Structure) -> PotentialSlices:
    """Pure, jit/grad-compatible: the potential of ``structure`` on a fixed ``layout``."""
    structure = as_structure(structure)
    if len(structure) != layout.n_atoms:
        raise validate.InputError(f"structure has {len(structure)} atoms, but the layout was set up for "
                                  f"{layout.n_atoms}")
    nu = layout.n_unit_atoms
    rdtype = layout.form_factors.dtype
    pos = structure.positions[:nu]
    # the structure factors are periodic in the lateral extent: wrap (x, y) in the positions' own precision
    # before the cast, so a float64 atom many periods away is not misplaced by float32 rounding
    ly, lx = layout.grid.extent
    pos = jnp.concatenate([pos[..., :2] % jnp.asarray([lx, ly], pos.dtype), pos[..., 2:]], axis=-1)
    arr = projected_potential_slices(
        pos.astype(rdtype), structure.u2[:nu].astype(rdtype),
        structure.occupancy[:nu].astype(rdtype), layout.table, layout.form_factors, layout.grid,
        debye_waller=layout.debye_waller, batch=layout.batch,
    )
    return PotentialSlices(arr, layout.sequence, layout.slice_thickness, layout.grid)


@functools.lru_cache(maxsize=16)
def _form_factors_on_grid(parametrization: str, species: tuple, grid: Grid, dtype: str):
    """f_s(|k|) [Å] of ``species`` on the FFT grid (cached: reused by every call on the same grid)."""
    k = jnp.sqrt(grid.k2(jnp.dtype(dtype)))
    return jax.jit(lambda kk: get_parametrization(parametrization).scattering_factor(species, kk))(k).astype(dtype)


def lateral_grid(structure: Structure, sampling=None, gpts=None) -> Grid:
    """The lateral grid of ``structure``'s (orthorhombic) cell from ``sampling`` [Å] or ``gpts``,
    checked to represent an atomic potential (see the module docstring for the ranges)."""
    lx, ly, _ = as_structure(structure).lengths
    if (sampling is None) == (gpts is None):
        raise validate.InputError(f"give exactly one of sampling [Å] or gpts, got sampling={sampling!r}, "
                                  f"gpts={gpts!r}")
    cell_text = f"a {ly:.4g} × {lx:.4g} Å (y × x) cell"
    if sampling is not None:
        sampling = validate.pair(sampling, "sampling", "Å", positive=True)
        if max(sampling) > MAX_SAMPLING:
            raise validate.InputError(
                f"sampling = {max(sampling):g} Å is too coarse to represent atomic potentials (they vary on "
                f"0.1–0.5 Å); expected 0 < sampling ≤ {MAX_SAMPLING:g} Å (typical: 0.02–0.1 Å)")
        what = f"sampling = {sampling[0]:g}" + (f", {sampling[1]:g}" if sampling[1] != sampling[0] else "") + " Å"
        n = max(e / d for e, d in zip((ly, lx), sampling))
        if n > MAX_GPTS:
            raise validate.InputError(f"{what} gives {n:.3g} pixels per axis on {cell_text}, more than {MAX_GPTS}; "
                                      f"use a coarser sampling")
        grid = Grid.from_extent((ly, lx), sampling=sampling, fft_friendly=True)
    else:
        gpts = validate.pair(gpts, "gpts", kind=int, lo=1)
        grid = Grid.from_extent((ly, lx), gpts=gpts)
        what = f"gpts = {gpts}"
        if max(grid.sampling) > MAX_SAMPLING:
            need = tuple(int(math.ceil(e / MAX_SAMPLING)) for e in grid.extent)
            raise validate.InputError(
                f"gpts = {gpts} gives a sampling of {max(grid.sampling):.4g} Å on {cell_text}, too coarse to "
                f"represent atomic potentials; expected a sampling ≤ {MAX_SAMPLING:g} Å, i.e. gpts ≥ {need}")
    if min(grid.gpts) < MIN_GPTS:
        finest = min(e / MIN_GPTS for e in grid.extent)
        raise validate.InputError(
            f"{what} gives a {grid.gpts[0]} × {grid.gpts[1]} grid on {cell_text}; at least {MIN_GPTS} pixels "
            f"per axis are needed to represent the potential: use a sampling ≤ {finest:.3g} Å or gpts ≥ "
            f"{MIN_GPTS}, or repeat the cell")
    if max(grid.gpts) > MAX_GPTS:
        raise validate.InputError(f"{what} gives a {grid.gpts[0]} × {grid.gpts[1]} grid on {cell_text}, more than "
                                  f"{MAX_GPTS} pixels per axis; use a coarser sampling")
    return grid


def _check_slice_thickness(slice_thickness, depth: float) -> float:
    """``slice_thickness`` [Å] in (0, depth]; the default (None) is 1 Å or the depth if thinner."""
    if slice_thickness is None:
        return min(1.0, depth)
    value = validate.scalar(slice_thickness, "slice_thickness", "Å", positive=True)
    if value > depth * (1 + 1e-9):
        raise validate.InputError(f"slice_thickness must lie in (0, {depth:.6g}] Å (the depth of the cell along "
                                  f"the beam), got {slice_thickness!r}")
    return value


def _unit_slices(structure: Structure, slice_thickness) -> tuple:
    """(repeats, atoms per unit, slices per unit, thickness [Å], slice index per unit atom), following
    the pbc rule of :mod:`jaxem.structure.slicing`."""
    lz = structure.lengths[2]
    periodic = structure.pbc[2]
    repeats = structure.z_repeats if _unit_is_periodic(structure) else 1
    z = np.asarray(structure.positions, np.float64)[:, 2]
    if repeats > 1 and not periodic:
        n_unit, dz = slices_for_structure(lz / repeats, slice_thickness)
        raw = np.floor(z[: len(z) // repeats] / dz + BOUNDARY_TOLERANCE)
        if np.any((raw < 0) | (raw >= n_unit)):  # atoms on the faces of the unit: slice the whole depth
            repeats = 1
    nu = len(structure) // repeats
    n_unit, dz = slices_for_structure(lz / repeats, slice_thickness)
    return repeats, nu, n_unit, dz, slice_assignment(z[:nu], dz, n_unit, periodic=periodic)


def potential_layout(structure: Structure, sampling=None, gpts=None, slice_thickness=None,
                     parametrization: str = "lobato", debye_waller: bool = False, precision=None,
                     memory_budget=None) -> PotentialLayout:
    """Fix the grid and the atom-to-slice layout of ``structure`` on the host (arguments as in
    :func:`potential`)."""
    structure = as_structure(structure)
    if validate.is_traced(structure.positions):
        raise validate.InputTypeError("structure.positions must be concrete to fix the slice layout; build the "
                                      "layout outside jit/grad (potential_builder) and trace only its build()")
    structure.check_orthorhombic()
    check_in_cell(structure.positions, structure.cell, structure.pbc)
    check_sites(structure.positions, structure.cell, structure.pbc, structure.occupancy)
    check_lateral_vacuum(structure.positions, structure.cell, structure.pbc)
    parametrization = validate.choice(parametrization, "parametrization", PARAMETRIZATIONS)
    validate.flag(debye_waller, "debye_waller")
    rdtype, cdtype = dtypes(precision)
    grid = lateral_grid(structure, sampling, gpts)
    slice_thickness = _check_slice_thickness(slice_thickness, structure.lengths[2])

    repeats, nu, n_unit, dz, slice_index = _unit_slices(structure, slice_thickness)
    numbers = np.asarray(structure.numbers)[:nu]
    species, species_index = np.unique(numbers, return_inverse=True)
    table = jnp.asarray(_atom_tables(slice_index, species_index.ravel(), n_unit, len(species)))
    form = _form_factors_on_grid(parametrization, tuple(int(z) for z in species), grid, jnp.dtype(rdtype).name)
    s, m = table.shape[1], table.shape[2]
    item = jnp.dtype(cdtype).itemsize
    per_slice = item * (grid.gpts[0] * grid.gpts[1] * (3 + s) + 2 * s * m * sum(grid.gpts))
    batch = int(batch_size(per_slice, n_unit, memory_budget, cpu_cap=cpu_working_set()))
    sequence = tuple(int(i) for i in np.tile(np.arange(n_unit), repeats))
    return PotentialLayout(table, form, jnp.asarray(slice_index), grid, sequence, float(dz), int(nu), len(structure),
                           bool(debye_waller), batch)


def potential_builder(structure: Structure, sampling=None, gpts=None, slice_thickness=None,
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


def potential(structure, sampling=None, gpts=None, slice_thickness=None,
              parametrization: str = "lobato", debye_waller: bool = False, precision=None,
              memory_budget=None) -> PotentialSlices:
    """Projected-potential slices of ``structure`` (infinite projection, exact structure factors).

    Args:
        structure: a :class:`~jaxem.structure.Structure` or an ``ase.Atoms`` in an orthorhombic cell
            (beam along z); atoms on/outside the cell faces follow its ``pbc`` (module docstring).
        sampling: largest lateral pixel size [Å] (scalar or (dy, dx)), in (0, 1] Å; the grid is
            rounded up to an FFT-friendly size (factors 2, 3, 5, 7), so the actual sampling may be
            slightly finer. Or give ``gpts`` for an exact grid. At least 4 pixels per axis.
        gpts: grid points (ny, nx).
        slice_thickness: largest slice thickness [Å], in (0, depth of the cell]; the repeat unit
            along z is divided into equal slices (default 1 Å, or the cell depth if thinner).
        parametrization: 'lobato' (default) or 'kirkland'.
        debye_waller: smear the static potential with each atom's Debye–Waller factor.
        precision: 'float32' (default) or 'float64', or any alias of ``jaxem.accel.PRECISION_ALIASES``.
        memory_budget: bytes (or e.g. ``"2G"``) for batching slices (default from :mod:`jaxem.accel`).
    Returns:
        :class:`PotentialSlices`. To differentiate with respect to the structure, use
        :func:`potential_builder` (the slice layout needs concrete z positions).
    """
    return potential_builder(structure, sampling, gpts, slice_thickness, parametrization, debye_waller,
                             precision, memory_budget)(structure)
