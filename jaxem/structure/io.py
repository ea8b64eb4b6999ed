"""Structure files: CIF import/export with Debye–Waller factors and occupancies; other formats via ASE.

CIF reading (:func:`read_cif`) parses the file with ASE's CIF parser, expands each asymmetric site by
the space-group operations (ASE ``Spacegroup``), and keeps per site what ASE's ``Atoms`` drop:

- occupancy from ``_atom_site_occupancy`` (sites shared by two species stay two atoms, each with its
  own occupancy);
- Debye–Waller factors, first found of: anisotropic ``_atom_site_aniso_U_ij`` / ``_B_ij`` (the
  Cartesian diagonal of U is stored as ⟨u²⟩ per direction), ``_atom_site_U_iso_or_equiv``,
  ``_atom_site_B_iso_or_equiv`` (⟨u²⟩ = B/8π²); explicit ``B``/``U_iso``/``u2`` arguments override.

The cell is oriented as ASE does (a ∥ x, b in the x–y plane). :func:`write_cif` writes a P1 CIF with
fractional coordinates, occupancies, ``_atom_site_U_iso_or_equiv`` and, for an orthorhombic cell
with anisotropic ⟨u²⟩, the ``_atom_site_aniso_U_11/22/33`` loop; the write is atomic.
Units: lengths [Å], U and ⟨u²⟩ [Å²], B [Å²].
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from .. import validate
from .elements import atomic_number, symbol
from .structure import Structure, as_structure, from_ase

_EIGHT_PI2 = 8 * math.pi**2


def _num(value, name):
    """CIF numeric value (may carry an uncertainty '0.0063(2)'); None for '?' or '.'."""
    if value is None:
        return None
    if isinstance(value, (int, float, np.floating, np.integer)):
        return float(value)
    text = str(value).strip()
    if text in ("?", "."):
        return None
    if "(" in text:
        text = text[: text.index("(")]
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"CIF item {name} has a non-numeric value {value!r}") from None


def _column(block, name, n, default=None):
    values = block.get(name)
    if values is None:
        return [default] * n
    if not isinstance(values, list):
        values = [values]
    if len(values) != n:
        raise ValueError(f"CIF loop {name} has {len(values)} rows, expected {n}")
    out = [_num(v, name) for v in values]
    return [default if v is None else v for v in out]


def _site_element(label: str, type_symbol) -> int:
    text = str(type_symbol if type_symbol not in (None, "?", ".") else label)
    letters = "".join(ch for ch in text if ch.isalpha())
    for k in (2, 1):  # 'Sr2+' → 'Sr', 'O1' → 'O', 'Ti' → 'Ti'
        try:
            return atomic_number(letters[:k])
        except ValueError:
            continue
    raise ValueError(f"cannot read an element from CIF site {label!r} (type {type_symbol!r})")


def _aniso_u_cart(block, labels, cell):
    """Cartesian U tensors (3, 3) per site label from the aniso loop, or {}."""
    alabels = block.get("_atom_site_aniso_label")
    if alabels is None:
        return {}
    if not isinstance(alabels, list):
        alabels = [alabels]
    n = len(alabels)
    kind = "u" if "_atom_site_aniso_u_11" in block else ("b" if "_atom_site_aniso_b_11" in block else None)
    if kind is None:
        return {}
    comp = {}
    for ij in ("11", "22", "33", "12", "13", "23"):
        comp[ij] = _column(block, f"_atom_site_aniso_{kind}_{ij}", n, default=0.0)
    recip = np.linalg.inv(cell).T  # rows: reciprocal vectors a*, b*, c* (no 2π)
    nmat = np.diag(np.linalg.norm(recip, axis=1))
    amat = cell.T  # columns: a, b, c
    out = {}
    for k, lab in enumerate(alabels):
        u = np.array([[comp["11"][k], comp["12"][k], comp["13"][k]],
                      [comp["12"][k], comp["22"][k], comp["23"][k]],
                      [comp["13"][k], comp["23"][k], comp["33"][k]]], dtype=float)
        if kind == "b":
            u = u / _EIGHT_PI2
        out[str(lab)] = amat @ nmat @ u @ nmat @ amat.T  # U_cart = A N U N A^T
    return out


def read_cif(path, B=None, U_iso=None, u2=None, index: int = 0) -> Structure:
    """Read a CIF (data block ``index``) into a :class:`Structure` with occupancies and ⟨u²⟩.

    Args:
        path: CIF file.
        B: Debye–Waller factor [Å²] overriding the file (scalar, per-atom array or {symbol: B}).
        U_iso: isotropic displacement parameter [Å²] overriding the file.
        u2: ⟨u²⟩ per Cartesian direction [Å²] overriding the file.
        index: which data block with a structure to read (0 = first).

    Returns:
        The expanded unit cell (positions [Å], cell rows [Å]).
    """
    from ase.geometry import cellpar_to_cell
    from ase.io.cif import parse_cif
    from ase.spacegroup import Spacegroup

    path = validate.path(path, "path", kind="file")
    index = validate.integer(index, "index", lo=0)
    with validate.reading(path, "CIF file"):  # the parser raises many kinds of errors on malformed files
        blocks = [b for b in parse_cif(str(path)) if b.has_structure()]
    if not blocks:
        raise validate.FileFormatError(path, "holds no structure (cell and atom sites)")
    if index >= len(blocks):
        raise validate.InputError(f"index must lie in [0, {len(blocks) - 1}] (data blocks with a structure in "
                                  f"{str(path)!r}), got {index}")
    block = blocks[index]
    cellpar = block.get_cellpar()
    if cellpar is None:
        raise validate.FileFormatError(path, "has no complete _cell_length/_cell_angle items")
    with validate.reading(path, "CIF file"):
        cell = cellpar_to_cell([float(_num(x, "_cell")) for x in cellpar])
    if abs(np.linalg.det(cell)) < 1e-9:
        raise validate.FileFormatError(path, f"the cell {list(cellpar)} has zero volume")
    labels = block.get("_atom_site_label")
    frac = block._raw_scaled_positions()
    if frac is None:
        raise validate.FileFormatError(path, "has no _atom_site_fract_x/y/z")
    try:  # values in the file: errors name the file
        frac = np.array([[_num(v, "_atom_site_fract") for v in row] for row in frac], dtype=float)
        n = len(frac)
        if labels is None:
            labels = [f"site{k}" for k in range(n)]
        elif not isinstance(labels, list):
            labels = [labels]
        types = block.get("_atom_site_type_symbol")
        if types is not None and not isinstance(types, list):
            types = [types]
        types = types if types is not None else [None] * n
        occ = _column(block, "_atom_site_occupancy", n, default=1.0)
        uiso = _column(block, "_atom_site_u_iso_or_equiv", n)
        biso = _column(block, "_atom_site_b_iso_or_equiv", n)
        aniso = _aniso_u_cart(block, labels, cell)
        with validate.reading(path, "CIF file's space group"):
            sg = block.get_spacegroup(subtrans_included=True)
            if not isinstance(sg, Spacegroup):
                sg = Spacegroup(sg)

        ops = sg.get_symop()  # (rotation, translation) in fractional coordinates, centring included
        amat = cell.T  # columns: a, b, c
        amat_inv = np.linalg.inv(amat)
        numbers, positions, occupancy, u2s = [], [], [], []
        any_dw = False
        for k in range(n):
            z = _site_element(labels[k], types[k])
            if str(labels[k]) in aniso:
                ucart = aniso[str(labels[k])]
                any_dw = True
            elif uiso[k] is not None:
                ucart = np.eye(3) * uiso[k]
                any_dw = True
            elif biso[k] is not None:
                ucart = np.eye(3) * (biso[k] / _EIGHT_PI2)
                any_dw = True
            else:
                ucart = np.zeros((3, 3))
            if np.min(np.linalg.eigvalsh(ucart)) < -1e-12:
                raise ValueError(f"CIF site {labels[k]!r} has a negative displacement parameter "
                                 f"(U/B must be ≥ 0 Å², got eigenvalues {np.linalg.eigvalsh(ucart).round(6)})")
            seen = []
            for rot, tr in ops:
                f = (rot @ frac[k] + tr) % 1.0
                f[np.abs(f - 1.0) < 1e-6] = 0.0
                if any(np.all(np.abs(((f - g) + 0.5) % 1.0 - 0.5) < 1e-4) for g in seen):
                    continue
                seen.append(f)
                rcart = amat @ rot @ amat_inv  # the operation's rotation in Cartesian coordinates
                numbers.append(z)
                positions.append(f @ cell)
                occupancy.append(occ[k])
                u2s.append(np.maximum(np.diag(rcart @ ucart @ rcart.T), 0.0))  # round-off only
    except validate.FileFormatError:
        raise
    except ValueError as exc:
        raise validate.FileFormatError(path, str(exc)) from None
    given = [x is not None for x in (B, U_iso, u2)]
    if not any(given):
        u2 = np.array(u2s)
        if not any_dw:
            warnings.warn(f"{path.name}: no Debye–Waller factors in the CIF; using ⟨u²⟩ = 0",
                          stacklevel=2)
    try:
        return Structure.create(np.array(positions), numbers, cell, B=B, U_iso=U_iso, u2=u2,
                                occupancy=np.array(occupancy))
    except validate.InputError as exc:
        if any(given):  # an override given by the caller
            raise
        raise validate.FileFormatError(path, f"holds an invalid value: {exc}") from None


def _fmt(x: float) -> str:
    return f"{x:.8f}"


def cif_text(structure: Structure, title: str = "jaxem") -> str:
    """P1 CIF text of ``structure`` (see :func:`write_cif`)."""
    from ase.geometry import cell_to_cellpar

    structure = as_structure(structure)
    if not isinstance(title, str):
        raise validate.InputTypeError(f"title must be a string, got {type(title).__name__}")

    cell = np.asarray(structure.cell, dtype=np.float64)
    cellpar = cell_to_cellpar(cell)
    frac = np.asarray(structure.positions, dtype=np.float64) @ np.linalg.inv(cell)
    u2 = np.asarray(structure.u2, dtype=np.float64)
    occ = np.asarray(structure.occupancy, dtype=np.float64)
    nums = np.asarray(structure.numbers)
    lines = [f"data_{''.join(ch if ch.isalnum() else '_' for ch in title) or 'jaxem'}",
             "_symmetry_space_group_name_H-M 'P 1'", "_symmetry_Int_Tables_number 1",
             "loop_", "_symmetry_equiv_pos_as_xyz", "  'x, y, z'"]
    for tag, v in zip(("length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma"),
                      cellpar):
        lines.append(f"_cell_{tag} {_fmt(v)}")
    lines += ["loop_", "_atom_site_label", "_atom_site_type_symbol", "_atom_site_fract_x",
              "_atom_site_fract_y", "_atom_site_fract_z", "_atom_site_occupancy",
              "_atom_site_U_iso_or_equiv", "_atom_site_adp_type"]
    labels = [f"{symbol(int(z))}{k + 1}" for k, z in enumerate(nums)]
    ortho = np.allclose(cell - np.diag(np.diag(cell)), 0.0, atol=1e-9) and np.all(np.diag(cell) > 0)
    aniso = ortho and not np.allclose(u2, u2.mean(axis=1, keepdims=True), rtol=0, atol=1e-12)
    for k in range(len(nums)):
        f = frac[k]
        lines.append(f"{labels[k]} {symbol(int(nums[k]))} {_fmt(f[0])} {_fmt(f[1])} {_fmt(f[2])} "
                     f"{_fmt(occ[k])} {u2[k].mean():.8g} {'Uani' if aniso else 'Uiso'}")
    if aniso:
        lines += ["loop_", "_atom_site_aniso_label", "_atom_site_aniso_U_11", "_atom_site_aniso_U_22",
                  "_atom_site_aniso_U_33", "_atom_site_aniso_U_12", "_atom_site_aniso_U_13",
                  "_atom_site_aniso_U_23"]
        for k in range(len(nums)):
            lines.append(f"{labels[k]} {u2[k, 0]:.8g} {u2[k, 1]:.8g} {u2[k, 2]:.8g} 0 0 0")
    return "\n".join(lines) + "\n"


def write_cif(structure: Structure, path, title: str = "jaxem") -> Path:
    """Write ``structure`` as a P1 CIF atomically (occupancies and U [Å²] included).

    Args:
        structure: the structure to write.
        path: target file; written to a temporary file and moved into place.
        title: data-block name.

    Returns:
        The path written.
    """
    structure = as_structure(structure)
    from ..atomic import atomic_path

    text = cif_text(structure, title)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def read(path, format: str | None = None, B=None, U_iso=None, u2=None, index: int = 0) -> Structure:
    """Read any structure file: CIF through :func:`read_cif`, other formats through ``ase.io.read``.

    Args:
        path: the file.
        format: ASE format name (default: from the extension).
        B, U_iso, u2: Debye–Waller factors [Å²] (see :meth:`Structure.create`).
        index: frame or data block to read.
    """
    path = validate.path(path, "path", kind="file")
    if (format or path.suffix.lstrip(".")).lower() == "cif":
        return read_cif(path, B=B, U_iso=U_iso, u2=u2, index=index)
    index = validate.integer(index, "index")
    import ase.io

    with validate.reading(path, "structure file"):
        atoms = ase.io.read(str(path), index=index, format=format)
    return from_ase(atoms, B=B, U_iso=U_iso, u2=u2)


def to_ase(structure: Structure):
    """``ase.Atoms`` of ``structure`` (its ``pbc``; ⟨u²⟩ and occupancy kept as per-atom arrays that
    :func:`from_ase` reads back)."""
    return as_structure(structure).to_ase()


def write(structure: Structure, path, format: str | None = None) -> Path:
    """Write ``structure`` atomically: CIF through :func:`write_cif`, other formats through ASE."""
    structure = as_structure(structure)
    path = validate.path(path, "path", must_exist=False)
    if (format or path.suffix.lstrip(".")).lower() == "cif":
        return write_cif(structure, path)
    import ase.io

    from ..atomic import atomic_path

    fmt = _ase_format(path, format)
    with atomic_path(path) as tmp:
        ase.io.write(str(tmp), structure.to_ase(), format=fmt)
    return path


def _ase_format(path: Path, format) -> str:
    """The ASE format name to write ``path`` in: ``format``, else from the suffix; unknown → an error
    naming it and the closest format ASE knows."""
    from ase.io.formats import filetype, ioformats

    if format is not None and not isinstance(format, str):
        raise validate.InputTypeError(f"format must be an ASE format name (e.g. 'cif', 'xyz'), got {format!r}")
    try:
        fmt = format or filetype(str(path), read=False, guess=False)
    except Exception:  # noqa: BLE001 - ASE raises several kinds
        fmt = None
    if fmt not in ioformats or not ioformats[fmt].can_write:
        hint = validate.closest(format or path.suffix.lstrip("."), [k for k, v in ioformats.items() if v.can_write])
        what = f"format {format!r}" if format else f"the suffix {path.suffix!r} of path {str(path)!r}"
        raise validate.InputError(f"cannot write structures in {what}: not a format ASE can write; give format= "
                                  f"(e.g. 'cif', 'extxyz', 'vasp')" + (f" (did you mean {hint!r}?)" if hint else ""))
    return fmt


__all__ = ["read_cif", "write_cif", "cif_text", "read", "write", "from_ase", "to_ase"]
