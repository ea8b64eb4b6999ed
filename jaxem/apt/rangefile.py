"""Range tables and their files: RRNG (IVAS/APSuite INI text) and RNG (Oak Ridge / Imago text).

A range maps a mass-to-charge window [lo, hi) [Da] to an ion type; an ion type is a composition
(element → count), so molecular ions such as CrO₂ are ``{"Cr": 1, "O": 2}``.

* **RRNG**: ``[Ions]`` (``Number=``, ``IonN=Sym``) and ``[Ranges]`` (``Number=``,
  ``RangeN=<lo> <hi> Vol:<nm³> El:n … Color:RRGGBB``). Some files write decimal commas
  (``22,8615``); both separators are accepted.
* **RNG**: first line ``n_ions n_ranges``; per ion a name line and a ``name r g b`` line; a
  ``----- El1 El2 …`` header; then ``. lo hi c1 c2 …`` rows with one count per column. An optional
  ``--- polyatomic extension`` block after a blank line is ignored (the counts already define the
  molecular ions).

Overlapping ranges are rejected with a ``ValueError`` naming the file and both ranges.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write_text


def ion_name(composition: dict) -> str:
    """Name of an ion from its composition, e.g. ``{"Cr": 1, "O": 2}`` → ``"CrO2"``."""
    return "".join(f"{el}{n if n > 1 else ''}" for el, n in composition.items())


@dataclass
class RangeTable:
    """Mass ranges and the ion types they define.

    Attributes:
        lo, hi: range bounds [Da], arrays of shape (n_ranges,).
        ions: ion compositions (tuple of (element, count) tuples), one per range.
        volume: atomic/ionic volume per range [nm³] (RRNG ``Vol``; 0 when unknown).
        color: ``RRGGBB`` hex string per range.
        elements: element list of the file's ``[Ions]`` block (in order).
    """

    lo: np.ndarray
    hi: np.ndarray
    ions: list
    volume: np.ndarray = None
    color: list = None
    elements: list = field(default_factory=list)
    source: str = "<table>"

    def __post_init__(self):
        self.lo = np.asarray(self.lo, np.float64)
        self.hi = np.asarray(self.hi, np.float64)
        n = len(self.lo)
        if self.hi.shape != (n,) or len(self.ions) != n:
            raise ValueError(f"{self.source}: lo, hi and ions must have equal length, got {n}, {self.hi.shape}, {len(self.ions)}")
        self.ions = [tuple((str(e), int(c)) for e, c in dict(ion).items()) for ion in self.ions]
        self.volume = np.zeros(n) if self.volume is None else np.asarray(self.volume, np.float64)
        self.color = ["CCCCCC"] * n if self.color is None else list(self.color)
        if not self.elements:
            self.elements = list(dict.fromkeys(e for ion in self.ions for e, _ in ion))
        bad = np.flatnonzero(~(self.hi > self.lo))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{self.source}: range {i + 1} has hi={self.hi[i]} ≤ lo={self.lo[i]} [Da]")
        order = np.argsort(self.lo, kind="stable")
        lo, hi = self.lo[order], self.hi[order]
        clash = np.flatnonzero(lo[1:] < hi[:-1])
        if clash.size:
            a, b = int(order[clash[0]]), int(order[clash[0] + 1])
            raise ValueError(
                f"{self.source}: overlapping ranges {a + 1} [{self.lo[a]}, {self.hi[a]}) and "
                f"{b + 1} [{self.lo[b]}, {self.hi[b]}) Da"
            )

    @property
    def ion_types(self) -> list:
        """Distinct ion compositions in order of first appearance."""
        return list(dict.fromkeys(self.ions))

    @property
    def ion_names(self) -> list[str]:
        return [ion_name(dict(i)) for i in self.ion_types]

    def ion_index(self) -> np.ndarray:
        """Index into :attr:`ion_types` of every range."""
        types = {t: k for k, t in enumerate(self.ion_types)}
        return np.array([types[i] for i in self.ions], np.int64)

    def assign(self, mass) -> np.ndarray:
        """Ion-type index of every event (``-1`` when unranged).

        Args:
            mass: m/q values [Da].

        Returns:
            int64 array of the same shape.
        """
        m = np.asarray(mass, np.float64)
        order = np.argsort(self.lo)
        lo, hi, typ = self.lo[order], self.hi[order], self.ion_index()[order]
        k = np.searchsorted(lo, m, side="right") - 1
        kc = np.clip(k, 0, max(len(lo) - 1, 0))
        inside = (k >= 0) & (m < hi[kc]) if len(lo) else np.zeros(m.shape, bool)
        return np.where(inside, typ[kc] if len(lo) else -1, -1)

    def __eq__(self, other):
        return (isinstance(other, RangeTable) and np.array_equal(self.lo, other.lo)
                and np.array_equal(self.hi, other.hi) and self.ions == other.ions
                and np.allclose(self.volume, other.volume) and self.color == other.color)


_NUM = r"[-+]?\d+(?:[.,]\d*)?(?:[eE][-+]?\d+)?"


def _num(tok: str) -> float:
    return float(tok.replace(",", "."))


def read_rrng(path) -> RangeTable:
    """Read an RRNG range file (decimal points or commas; molecular ions).

    Args:
        path: file path.

    Returns:
        :class:`RangeTable`.

    Raises:
        ValueError: malformed line (names file and line number), count mismatch, overlapping ranges.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    section, elements, lo, hi, ions, vol, col = None, [], [], [], [], [], []
    n_ranges = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]").strip().lower()
            continue
        key, _, val = line.partition("=")
        key = key.strip().lower()
        if section == "ions" and key.startswith("ion") and key != "number":
            elements.append(val.strip())
        elif section == "ranges" and key == "number":
            n_ranges = int(val)
        elif section == "ranges" and key.startswith("range"):
            toks = val.split()
            try:
                a, b = _num(toks[0]), _num(toks[1])
            except (IndexError, ValueError):
                raise ValueError(f"RRNG file {str(path)!r} line {lineno}: cannot read range bounds in {raw!r}") from None
            comp, v, c = {}, 0.0, "CCCCCC"
            for tok in toks[2:]:
                name, _, value = tok.partition(":")
                if name.lower() == "vol":
                    v = _num(value)
                elif name.lower() == "color":
                    c = value.upper()
                elif name.lower() == "name":
                    continue
                elif value and re.fullmatch(r"\d+", value):
                    if int(value) > 0:
                        comp[name] = comp.get(name, 0) + int(value)
                else:
                    raise ValueError(f"RRNG file {str(path)!r} line {lineno}: unexpected token {tok!r}")
            if not comp:
                raise ValueError(f"RRNG file {str(path)!r} line {lineno}: range without ion composition")
            lo.append(a), hi.append(b), ions.append(comp), vol.append(v), col.append(c)
    if n_ranges is not None and n_ranges != len(lo):
        raise ValueError(f"RRNG file {str(path)!r}: [Ranges] Number={n_ranges} but {len(lo)} ranges listed")
    return RangeTable(lo, hi, ions, vol, col, elements, source=f"RRNG file {str(path)!r}")


def format_rrng(table: RangeTable) -> str:
    """Canonical RRNG text of a range table (``%.4f`` bounds, ``%.5f`` volumes, CRLF-free)."""
    lines = ["[Ions]", f"Number={len(table.elements)}"]
    lines += [f"Ion{k}={e}" for k, e in enumerate(table.elements, 1)]
    lines += ["[Ranges]", f"Number={len(table.lo)}"]
    for k, (a, b, ion, v, c) in enumerate(zip(table.lo, table.hi, table.ions, table.volume, table.color), 1):
        comp = " ".join(f"{e}:{n}" for e, n in ion)
        lines.append(f"Range{k}={a:.4f} {b:.4f} Vol:{v:.5f} {comp} Color:{c}")
    return "\n".join(lines) + "\n"


def write_rrng(path, table: RangeTable) -> Path:
    """Write a range table as RRNG text atomically (see :func:`format_rrng`)."""
    return atomic_write_text(path, format_rrng(table))


def read_rng(path) -> RangeTable:
    """Read an RNG (Oak Ridge) range file.

    Args:
        path: file path.

    Returns:
        :class:`RangeTable` (colours converted to ``RRGGBB``; no volumes).

    Raises:
        ValueError: malformed header, column count mismatch or overlapping ranges.
    """
    path = Path(path)
    lines = [ln.rstrip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    try:
        n_ions, n_ranges = (int(t) for t in lines[0].split()[:2])
    except (IndexError, ValueError):
        raise ValueError(f"RNG file {str(path)!r} line 1: expected 'n_ions n_ranges', got {lines[:1]!r}") from None
    colors = {}
    for k in range(n_ions):
        toks = lines[2 + 2 * k].split()
        if len(toks) < 4:
            raise ValueError(f"RNG file {str(path)!r} line {3 + 2 * k}: expected 'name r g b'")
        colors[toks[0]] = "".join(f"{int(round(255 * _num(t))):02X}" for t in toks[1:4])
    hdr_at = 1 + 2 * n_ions
    if not lines[hdr_at].lstrip().startswith("-"):
        raise ValueError(f"RNG file {str(path)!r} line {hdr_at + 1}: expected the '----- El1 El2 …' header")
    cols = lines[hdr_at].split()[1:]
    if len(cols) != n_ions:
        raise ValueError(f"RNG file {str(path)!r} line {hdr_at + 1}: {len(cols)} columns, header announced {n_ions} ions")
    lo, hi, ions, col = [], [], [], []
    for k in range(n_ranges):
        ln = hdr_at + 2 + k
        toks = lines[ln - 1].split() if ln - 1 < len(lines) else []
        if len(toks) != 3 + n_ions or toks[0] != ".":
            raise ValueError(f"RNG file {str(path)!r} line {ln}: expected '. lo hi' and {n_ions} counts, got {toks}")
        counts = [int(_num(t)) for t in toks[3:]]
        comp = {e: c for e, c in zip(cols, counts) if c > 0}
        lo.append(_num(toks[1])), hi.append(_num(toks[2])), ions.append(comp)
        col.append(colors.get(ion_name(comp), colors.get(next(iter(comp)), "CCCCCC")) if comp else "CCCCCC")
    return RangeTable(lo, hi, ions, None, col, cols, source=f"RNG file {str(path)!r}")
