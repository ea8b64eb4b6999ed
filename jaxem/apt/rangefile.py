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

Overlapping ranges are rejected with a ``ValueError`` naming the file and both ranges. A file that is
empty, binary, has no ``[Ions]``/``[Ranges]`` sections (RRNG) or no count line (RNG), or a line that
cannot be read (``Number=abc``, a range without bounds, a missing row) is a
:class:`~jaxem.validate.FileFormatError` naming the file and the line — never an empty range table.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .. import pytree, validate
from ..io.atomic import atomic_write_text
from ..validate import FileFormatError


def ion_name(composition: dict) -> str:
    """Name of an ion from its composition, e.g. ``{"Cr": 1, "O": 2}`` → ``"CrO2"``."""
    ion = _ions((composition,), "composition")[0]
    return "".join(f"{el}{n if n > 1 else ''}" for el, n in ion)


def _ions(ions, source: str) -> tuple:
    """Ion compositions as tuples of (element, count ≥ 1); names are kept as given (placeholders such
    as ``"X"`` for an unidentified ion are allowed)."""
    if isinstance(ions, (str, bytes, dict)):
        raise validate.InputTypeError(f"{source}: ions must be a sequence of compositions such as "
                                      f"({{'Al': 1}}, {{'Fe': 1, 'O': 1}}), got {ions!r:.60}")
    out = []
    for k, ion in enumerate(ions):
        try:
            items = dict(ion).items()
        except (TypeError, ValueError):
            raise validate.InputTypeError(f"{source}: ions[{k}] must be a composition such as {{'Fe': 1}}, got "
                                          f"{ion!r:.60}") from None
        if not items:
            raise validate.InputError(f"{source}: ions[{k}] is an empty composition")
        comp = []
        for e, c in items:
            if not isinstance(e, str) or not e:
                raise validate.InputTypeError(f"{source}: ions[{k}] must map element names to counts, got the "
                                              f"key {e!r}")
            n = validate.integer(c, f"{source}: ions[{k}] count of {e}", lo=1)
            comp.append((str(e), n))
        out.append(tuple(comp))
    return tuple(out)


def _is_numeric(*values) -> bool:
    """True for concrete host data (lists, tuples, NumPy arrays), False for tracers or placeholders
    that JAX puts in a pytree's leaves when it rebuilds one."""
    return all(isinstance(v, (list, tuple, np.ndarray)) for v in values)


@pytree.dataclass
class RangeTable:
    """Mass ranges and the ion types they define.

    Attributes:
        lo, hi: range bounds [Da], arrays of shape (n_ranges,).
        ions: ion compositions (tuple of (element, count) tuples), one per range.
        volume: atomic/ionic volume per range [nm³] (RRNG ``Vol``; 0 when unknown).
        color: ``RRGGBB`` hex string per range.
        elements: element list of the file's ``[Ions]`` block (in order).
        source: where the table comes from (used in messages).
    """

    lo: np.ndarray = pytree.field(units="Da")
    hi: np.ndarray = pytree.field(units="Da")
    ions: tuple = pytree.field(static=True)
    volume: np.ndarray = pytree.field(default=None, units="nm³")
    color: tuple = pytree.field(static=True, default=None)
    elements: tuple = pytree.field(static=True, default=())
    source: str = pytree.field(static=True, default="<table>")

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        put("ions", _ions(self.ions, self.source))
        if not _is_numeric(self.lo, self.hi):
            return
        lo, hi = np.asarray(self.lo, np.float64), np.asarray(self.hi, np.float64)
        n = len(lo)
        if lo.shape != (n,) or hi.shape != (n,) or len(self.ions) != n:
            raise validate.InputError(f"{self.source}: lo, hi and ions must have equal length, got {lo.shape}, "
                                      f"{hi.shape}, {len(self.ions)}")
        put("lo", lo)
        put("hi", hi)
        put("volume", np.zeros(n) if self.volume is None else np.asarray(self.volume, np.float64))
        put("color", ("CCCCCC",) * n if self.color is None else tuple(str(c) for c in self.color))
        put("elements", tuple(self.elements) if self.elements else
            tuple(dict.fromkeys(e for ion in self.ions for e, _ in ion)))
        if self.volume.shape != (n,) or len(self.color) != n:
            raise validate.InputError(f"{self.source}: volume and color need one entry per range ({n}), got "
                                      f"{self.volume.shape} and {len(self.color)}")
        nonfinite = np.flatnonzero(~(np.isfinite(lo) & np.isfinite(hi)))
        if nonfinite.size:
            i = int(nonfinite[0])
            raise validate.InputError(f"{self.source}: range {i + 1} has a non-finite bound lo={lo[i]}, "
                                      f"hi={hi[i]} [Da] ({nonfinite.size} such range(s))")
        bad = np.flatnonzero(~(hi > lo))
        if bad.size:
            i = int(bad[0])
            raise validate.InputError(f"{self.source}: range {i + 1} has hi={hi[i]} ≤ lo={lo[i]} [Da]")
        order = np.argsort(lo, kind="stable")
        slo, shi = lo[order], hi[order]
        clash = np.flatnonzero(slo[1:] < shi[:-1])
        if clash.size:
            a, b = int(order[clash[0]]), int(order[clash[0] + 1])
            raise validate.InputError(
                f"{self.source}: overlapping ranges {a + 1} [{lo[a]}, {hi[a]}) and "
                f"{b + 1} [{lo[b]}, {hi[b]}) Da"
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

        Raises:
            InputError: NaN/inf masses (count and first index), which no range can hold.
        """
        m = np.asarray(validate.array(mass, "mass", kind="real", units="Da", min_size=0), np.float64)
        order = np.argsort(self.lo)
        lo, hi, typ = self.lo[order], self.hi[order], self.ion_index()[order]
        k = np.searchsorted(lo, m, side="right") - 1
        kc = np.clip(k, 0, max(len(lo) - 1, 0))
        inside = (k >= 0) & (m < hi[kc]) if len(lo) else np.zeros(m.shape, bool)
        return np.where(inside, typ[kc] if len(lo) else -1, -1)

    def __eq__(self, other):
        return (isinstance(other, RangeTable) and np.array_equal(self.lo, other.lo)
                and np.array_equal(self.hi, other.hi) and self.ions == other.ions
                and np.allclose(self.volume, other.volume) and tuple(self.color) == tuple(other.color))

    __hash__ = None  # holds arrays


_NUM = r"[-+]?\d+(?:[.,]\d*)?(?:[eE][-+]?\d+)?"


def _num(tok: str) -> float:
    return float(tok.replace(",", "."))


def _text(path, kind: str) -> str:
    """The text of a range file; an empty or binary file is an error naming it."""
    path = validate.path(path, "path", kind="file")
    with validate.reading(path, f"{kind} file"):
        raw = path.read_bytes()
    if not raw.strip():
        raise FileFormatError(path, f"{kind} file is empty ({len(raw)} bytes): expected a text range table")
    control = sum(raw.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    if b"\0" in raw or control > 0.01 * len(raw):
        raise FileFormatError(path, f"{kind} file is binary ({control} control bytes in {len(raw)}): expected "
                                    f"a text range table")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_rrng(path) -> RangeTable:
    """Read an RRNG range file (decimal points or commas; molecular ions).

    Args:
        path: file path.

    Returns:
        :class:`RangeTable`.

    Raises:
        FileFormatError: empty or binary file, no ``[Ions]``/``[Ranges]`` section, a malformed line
            (names file and line number), a count that disagrees with the lines listed.
        ValueError: overlapping ranges or hi ≤ lo.
    """
    path = Path(path)
    text = _text(path, "RRNG")
    where = f"RRNG file {str(path)!r}"
    section, elements, lo, hi, ions, vol, col = None, [], [], [], [], [], []
    seen, numbers = set(), {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]").strip().lower()
            seen.add(section)
            continue
        if section not in ("ions", "ranges"):
            if section is None:
                raise FileFormatError(path, f"line {lineno}: {raw.strip()[:60]!r} before the first section "
                                            f"header: an RRNG file starts with '[Ions]'")
            continue  # other sections carry nothing we read
        key, eq, val = line.partition("=")
        if not eq:
            raise FileFormatError(path, f"line {lineno}: expected 'key=value' in [{section}], got "
                                        f"{raw.strip()[:60]!r}")
        key = key.strip().lower()
        if key == "number":
            try:
                numbers[section] = (int(val.strip()), lineno)
            except ValueError:
                raise FileFormatError(path, f"line {lineno}: [{section}] Number={val.strip()!r} is not an "
                                            f"integer") from None
        elif section == "ions" and key.startswith("ion"):
            if not val.strip():
                raise FileFormatError(path, f"line {lineno}: {raw.strip()!r} names no ion")
            elements.append(val.strip())
        elif section == "ranges" and key.startswith("range"):
            toks = val.split()
            try:
                a, b = _num(toks[0]), _num(toks[1])
            except (IndexError, ValueError):
                raise FileFormatError(path, f"line {lineno}: cannot read range bounds in {raw!r}") from None
            comp, v, c = {}, 0.0, "CCCCCC"
            for tok in toks[2:]:
                name, _, value = tok.partition(":")
                if name.lower() == "vol":
                    try:
                        v = _num(value)
                    except ValueError:
                        raise FileFormatError(path, f"line {lineno}: cannot read the volume in {tok!r}") from None
                elif name.lower() == "color":
                    if not re.fullmatch(r"[0-9A-Fa-f]{6}", value):
                        raise FileFormatError(path, f"line {lineno}: colour {tok!r} is not 6 hex digits RRGGBB")
                    c = value.upper()
                elif name.lower() == "name":
                    continue
                elif value and re.fullmatch(r"\d+", value):
                    if int(value) > 0:
                        comp[name] = comp.get(name, 0) + int(value)
                else:
                    raise FileFormatError(path, f"line {lineno}: unexpected token {tok!r}")
            if not comp:
                raise FileFormatError(path, f"line {lineno}: range without ion composition")
            lo.append(a), hi.append(b), ions.append(comp), vol.append(v), col.append(c)
    missing = [s for s in ("ions", "ranges") if s not in seen]
    if missing:
        raise FileFormatError(path, f"has no {' or '.join(f'[{m.capitalize()}]' for m in missing)} section: not "
                                    f"an RRNG file, or its header lines are missing")
    for sec, found, what in (("ions", len(elements), "ions"), ("ranges", len(lo), "ranges")):
        if sec in numbers and numbers[sec][0] != found:
            raise FileFormatError(path, f"line {numbers[sec][1]}: [{sec.capitalize()}] Number={numbers[sec][0]} but "
                                        f"{found} {what} listed")
    if not lo:
        raise FileFormatError(path, "lists no ranges (a range file without ranges ranges nothing)")
    try:
        return RangeTable(lo, hi, ions, vol, col, elements, source=where)
    except validate.InputError as err:  # overlapping ranges, unknown elements …: a damaged file
        raise FileFormatError(path, str(err).replace(f"{where}: ", "")) from None


@validate.typed
def format_rrng(table: RangeTable) -> str:
    """Canonical RRNG text of a range table (``%.4f`` bounds, ``%.5f`` volumes, CRLF-free)."""
    if not isinstance(table, RangeTable):
        raise validate.InputTypeError(f"table must be a RangeTable, got {type(table).__name__}")
    lines = ["[Ions]", f"Number={len(table.elements)}"]
    lines += [f"Ion{k}={e}" for k, e in enumerate(table.elements, 1)]
    lines += ["[Ranges]", f"Number={len(table.lo)}"]
    for k, (a, b, ion, v, c) in enumerate(zip(table.lo, table.hi, table.ions, table.volume, table.color), 1):
        comp = " ".join(f"{e}:{n}" for e, n in ion)
        lines.append(f"Range{k}={a:.4f} {b:.4f} Vol:{v:.5f} {comp} Color:{c}")
    return "\n".join(lines) + "\n"


@validate.typed
def write_rrng(path, table: RangeTable) -> Path:
    """Write a range table as RRNG text atomically (see :func:`format_rrng`)."""
    if not isinstance(table, RangeTable):
        raise validate.InputTypeError(f"table must be a RangeTable, got {type(table).__name__}")
    return atomic_write_text(path, format_rrng(table))


def read_rng(path) -> RangeTable:
    """Read an RNG (Oak Ridge) range file.

    Args:
        path: file path.

    Returns:
        :class:`RangeTable` (colours converted to ``RRGGBB``; no volumes).

    Raises:
        FileFormatError: empty or binary file, malformed header, a missing or malformed line, a
            column count mismatch (names file and line).
        ValueError: overlapping ranges or hi ≤ lo.
    """
    path = Path(path)
    lines = [ln.rstrip() for ln in _text(path, "RNG").splitlines()]

    def line(k):  # 0-based index → text, or an error naming the missing line
        if k >= len(lines):
            raise FileFormatError(path, f"line {k + 1}: the file ends after {len(lines)} lines (truncated)")
        return lines[k]

    try:
        n_ions, n_ranges = (int(t) for t in line(0).split()[:2])
        if n_ions < 1 or n_ranges < 1:
            raise ValueError
    except ValueError:
        raise FileFormatError(path, f"line 1: expected 'n_ions n_ranges' (both ≥ 1: a range file without ranges "
                                    f"ranges nothing), got {lines[:1]!r}") from None
    colors = {}
    for k in range(n_ions):
        toks = line(2 + 2 * k).split()
        try:
            colors[toks[0]] = "".join(f"{int(round(255 * _num(t))):02X}" for t in toks[1:4])
            if len(toks) < 4:
                raise ValueError
        except (ValueError, IndexError):
            raise FileFormatError(path, f"line {3 + 2 * k}: expected 'name r g b', got {toks}") from None
    hdr_at = 1 + 2 * n_ions
    if not line(hdr_at).lstrip().startswith("-"):
        raise FileFormatError(path, f"line {hdr_at + 1}: expected the '----- El1 El2 …' header")
    cols = lines[hdr_at].split()[1:]
    if len(cols) != n_ions:
        raise FileFormatError(path, f"line {hdr_at + 1}: {len(cols)} columns, header announced {n_ions} ions")
    lo, hi, ions, col = [], [], [], []
    for k in range(n_ranges):
        ln = hdr_at + 2 + k
        toks = line(ln - 1).split()
        try:
            if len(toks) != 3 + n_ions or toks[0] != ".":
                raise ValueError
            counts = [int(_num(t)) for t in toks[3:]]
            a, b = _num(toks[1]), _num(toks[2])
        except ValueError:
            raise FileFormatError(path, f"line {ln}: expected '. lo hi' and {n_ions} counts, got {toks}") from None
        comp = {e: c for e, c in zip(cols, counts) if c > 0}
        if not comp:
            raise FileFormatError(path, f"line {ln}: range without ion composition (all counts 0)")
        lo.append(a), hi.append(b), ions.append(comp)
        col.append(colors.get(ion_name(comp), colors.get(next(iter(comp)), "CCCCCC")))
    return RangeTable(lo, hi, ions, None, col, cols, source=f"RNG file {str(path)!r}")
