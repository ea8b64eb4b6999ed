"""Complex absorptive potential slices v + iv′ [V·Å], so that t = exp(iσv − σv′).

Three models for the imaginary part (the first is physical, the other two are the simpler options of
Dr. Probe's CELSLC, J. Barthel, Ultramicroscopy 193 (2018) 1):

* ``"hall_hirsch"``: Einstein-model thermal diffuse scattering (Hall & Hirsch 1965; Bird & King 1990;
  Weickenmeier & Kohl 1991). The real part is the Debye–Waller-smeared potential
  (f_e(k)·exp(−2π²⟨u²⟩k²), per atom and direction); the imaginary part uses the absorptive form factor
  f′(|k|) of :mod:`jaxem.potential.tds` (which already contains the thermal factors, so no further
  DW factor is applied). Every atom needs B > 0.
* ``"fraction"``: v′ = x·v (Dr. Probe ``-abf x``), with v DW-smeared or not (``debye_waller``).
* ``"aperture"``: v′ from the intensity each atom scatters beyond the band limit (default: the grid's
  anti-alias aperture; Dr. Probe ``-abs`` without ``-dwf``). jaxem's transmission functions are
  already band-limited, which removes that intensity numerically; this model adds the single-atom,
  single-scattering estimate of the same loss analytically (in a SrTiO3 test the numerical loss of
  one slice is 70–77% of it: jaxem's v has no frequencies beyond the grid's Nyquist square), so use it
  for comparisons with Dr. Probe or with a ``cutoff`` smaller than the grid's aperture (e.g. a
  detector-limited collection angle), and expect double counting with the default cut-off.

The Hall–Hirsch model uses each atom's isotropic B = 8π²·mean(⟨u²⟩) [Å²] (anisotropic ⟨u²⟩ are
averaged for v′; v keeps the per-direction DW factors).

Both parts use the same exact Fourier-space structure factors (:func:`projected_potential_slices` is
called once with the elastic and once with the absorptive form factors), so v′ follows the atoms
exactly and the slices are jit-compatible and differentiable in positions and occupancies (v also in
⟨u²⟩; the absorptive tables are fixed on the host at the ⟨u²⟩ of the structure given to the builder).

Mean absorption: the k = 0 coefficient gives ⟨v′⟩ = KAPPA·Σ_j f′_j(0)/A per slice, so a thin
specimen attenuates the intensity as N(z) ≈ N0·exp(−μz) with μ = 2σ⟨v′⟩/Δz = Σ_j σ_TDS,j / V_cell
[1/Å] (σ_TDS,j = 2γλ f′_j(0), see :func:`mean_absorption_coefficient`).
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import validate
from ..accel import dtypes_of
from ..beam import as_beam
from ..structure import Structure, as_structure
from ..structure.elements import symbol
from .projected import PotentialSlices, _atom_tables, build_potential, potential_layout, projected_potential_slices
from .tds import GEOMETRIES, _check_detector, absorptive_table, aperture_table, tds_cross_section

MODELS = ("hall_hirsch", "fraction", "aperture")


def _atom_b(structure: Structure, n: int) -> np.ndarray:
    return np.round(8 * math.pi**2 * np.asarray(structure.u2, np.float64)[:n].mean(axis=1), 6)


def _check_hall_hirsch_b(numbers: np.ndarray, b: np.ndarray) -> None:
    bad = ~(np.isfinite(b) & (b > 0))
    if np.any(bad):
        species = sorted({symbol(int(z)) for z in numbers[bad]})
        idx = np.flatnonzero(bad)[:8].tolist()
        raise validate.InputError(
            f"the Hall–Hirsch absorptive potential needs a Debye–Waller factor B > 0 Å² for every atom; "
            f"missing (B ≤ 0) for species {species} (atoms {idx}…, B = {b[bad][:4].tolist()}); give them "
            "with Structure.create(..., B={'Sr': 0.62, ...}) or u2=/U_iso=")


def _on_grid(tabs, k):
    """(S, *k.shape) tabulated form factors [(g, f) per species] interpolated at ``k``; (0, …) for no species
    (a structure without atoms: vacuum)."""
    if not tabs:
        return jnp.zeros((0,) + k.shape, k.dtype)
    return jnp.stack([jnp.interp(k, jnp.asarray(g, k.dtype), jnp.asarray(f, k.dtype)) for g, f in tabs])


def absorptive_potential_builder(structure: Structure, beam, sampling=None, gpts=None,
                                 slice_thickness=None, model: str = "hall_hirsch",
                                 fraction: float = 0.1, cutoff=None, debye_waller=None,
                                 parametrization: str = "lobato", geometry: str = "sphere", precision=None,
                                 memory_budget=None, detector=None):
    """Factory: set up grid, slice layout and absorptive form factors on the host and return a pure
    ``build(structure) -> PotentialSlices`` with a complex array v + iv′ [V·Å].

    Args:
        structure: a Structure or an ``ase.Atoms`` in an orthorhombic cell (beam along z); B from
            ``structure.u2``.
        beam: the electron beam: a :class:`~jaxem.beam.Beam`, an energy [eV] or e.g. ``"300 kV"`` (the
            absorptive part depends on its energy; the slices record it).
        sampling, gpts, slice_thickness: as in :func:`jaxem.potential.potential` [Å].
        model: 'hall_hirsch' (default), 'fraction' or 'aperture' (see module docstring).
        fraction: x in v′ = x·v for ``model='fraction'`` (≥ 0).
        cutoff: band limit [1/Å] of ``model='aperture'`` (default: the grid's anti-alias aperture,
            with its raised-cosine edge).
        debye_waller: DW-smear the real part (forced True for 'hall_hirsch'; default False otherwise).
        parametrization: 'lobato' or 'kirkland'.
        geometry: 'sphere' or 'plane' integration of the Hall–Hirsch form factor.
        precision: 'float32' (default) or 'float64' (or any alias of ``accel.PRECISION_ALIASES``).
        memory_budget: bytes (or e.g. ``"2G"``) for batching slices and absorptive tables.
        detector: optional (inner, outer) [mrad] for ``model='hall_hirsch'``: the imaginary part then
            holds only the TDS scattered into that annulus — the detector-specific absorptive potential
            V′_det whose product with |ψ|² gives the single-inelastic TDS signal of the detector
            (:func:`jaxem.stem.stem_scan` with ``tds_potential=``).
    """
    structure = as_structure(structure)
    beam = as_beam(beam, "beam")
    model = validate.choice(model, "model", MODELS)
    geometry = validate.choice(geometry, "geometry", GEOMETRIES)
    fraction = validate.scalar(fraction, "fraction", nonnegative=True)  # checked even where unused
    detector = _check_detector(detector)
    if detector is not None and model != "hall_hirsch":
        raise validate.InputError(f"detector applies to model='hall_hirsch' only, got model={model!r}")
    if debye_waller is not None and not isinstance(debye_waller, (bool, np.bool_)):
        raise validate.InputTypeError(f"debye_waller must be True, False or None, got {debye_waller!r}")
    if model == "hall_hirsch":
        if debye_waller is False:
            raise validate.InputError("the Hall–Hirsch model uses the Debye–Waller-smeared elastic potential; "
                                      "debye_waller=False is inconsistent with it")
        debye_waller = True
    debye_waller = bool(debye_waller)
    layout = potential_layout(structure, sampling, gpts, slice_thickness, parametrization, debye_waller, precision,
                              memory_budget)
    grid, nu, dz = layout.grid, layout.n_unit_atoms, layout.slice_thickness
    n_unit = int(layout.table.shape[0])
    rdtype, cdtype = dtypes_of(layout.form_factors)
    numbers = np.asarray(structure.numbers)[:nu]
    species = np.unique(numbers)
    table = layout.table
    k = jnp.sqrt(grid.k2(rdtype))
    k_max = float(np.hypot(*(0.5 / d for d in grid.sampling))) + 0.1

    table_abs, form_abs = None, None
    if model == "hall_hirsch":
        b = _atom_b(structure, nu)
        _check_hall_hirsch_b(numbers, b)
        groups, group_index = np.unique(np.stack([numbers.astype(np.float64), b], 1), axis=0, return_inverse=True)
        group_index = np.asarray(group_index).ravel()
        tabs = [absorptive_table(int(z), float(bb), beam, k_max, parametrization, geometry, detector, memory_budget)
                for z, bb in groups]
        form_abs = _on_grid(tabs, k)
        table_abs = jnp.asarray(_atom_tables(np.asarray(layout.slice_index), group_index, n_unit, len(groups)))
    elif model == "aperture":
        if cutoff is None:
            cut, taper = grid.antialias_cutoff, grid.antialias_taper
        else:
            cut, taper = validate.scalar(cutoff, "cutoff", "1/Å", positive=True), 0.0
        tabs = [aperture_table(parametrization, int(z), beam, float(cut), float(taper), round(k_max + 0.5, 1))
                for z in species]
        form_abs = _on_grid(tabs, k)
        table_abs = table
    if form_abs is not None:
        form_abs = form_abs.astype(rdtype)

    n_total = len(structure)
    frac = float(fraction)
    batch = layout.batch

    def build(st: Structure) -> PotentialSlices:
        st = as_structure(st)
        if len(st) != n_total:
            raise validate.InputError(f"structure has {len(st)} atoms, but the builder was set up for {n_total}")
        v = build_potential(layout, st).array
        if model == "fraction":
            vi = frac * v
        else:
            pos, u2, occ = (st.positions[:nu].astype(rdtype), st.u2[:nu].astype(rdtype),
                            st.occupancy[:nu].astype(rdtype))
            vi = projected_potential_slices(pos, u2, occ, table_abs, form_abs, grid, debye_waller=False,
                                            batch=batch)
        arr = v.astype(cdtype) + 1j * vi.astype(cdtype)
        return PotentialSlices(arr, layout.sequence, float(dz), grid, beam.energy)

    return build


def absorptive_potential(structure: Structure, beam, sampling=None, gpts=None,
                         slice_thickness=None, model: str = "hall_hirsch", fraction: float = 0.1,
                         cutoff=None, debye_waller=None, parametrization: str = "lobato",
                         geometry: str = "sphere", precision=None, memory_budget=None,
                         detector=None) -> PotentialSlices:
    """Complex projected-potential slices v + iv′ [V·Å] of ``structure`` for ``beam`` (a Beam, an
    energy [eV] or e.g. ``"300 kV"``).

    Arguments as in :func:`absorptive_potential_builder`. Returns :class:`PotentialSlices` whose
    ``energy`` is set, so :func:`jaxem.propagate.multislice` refuses waves of another energy.
    """
    structure = as_structure(structure)
    return absorptive_potential_builder(structure, beam, sampling, gpts, slice_thickness, model, fraction,
                                        cutoff, debye_waller, parametrization, geometry, precision,
                                        memory_budget, detector)(structure)


def mean_absorption_coefficient(structure: Structure, beam, parametrization: str = "lobato",
                                geometry: str = "sphere") -> float:
    """Mean Hall–Hirsch (TDS) absorption coefficient μ = Σ_j σ_TDS,j / V_cell [1/Å] of the intensity
    at ``beam`` (a Beam, an energy [eV] or e.g. ``"300 kV"``).

    Equal to 2σ⟨v′⟩/Δz of :func:`absorptive_potential` slices; the elastic intensity of a thin
    specimen decays as exp(−μ z) (channelling changes this at larger thickness).
    """
    structure = as_structure(structure)
    beam = as_beam(beam, "beam")
    geometry = validate.choice(geometry, "geometry", GEOMETRIES)
    numbers = np.asarray(structure.numbers)
    b = _atom_b(structure, len(numbers))
    _check_hall_hirsch_b(numbers, b)
    pairs, index = np.unique(np.stack([numbers.astype(np.float64), b], 1), axis=0, return_inverse=True)
    weight = np.bincount(np.asarray(index).ravel(), weights=np.asarray(structure.occupancy, np.float64))
    total = sum(w * tds_cross_section(int(z), float(bb), beam, parametrization, geometry)
                for (z, bb), w in zip(pairs, weight))
    volume = abs(float(np.linalg.det(np.asarray(structure.cell))))
    return float(total / volume)
