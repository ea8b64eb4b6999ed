"""Write jaxem's own electron scattering-factor tables (jaxem/data/lobato.json, kirkland.json).

The coefficients are the published tables:
  * I. Lobato & D. Van Dyck, "An accurate parameterization for scattering factors, electron densities
    and electrostatic potentials for neutral atoms that obey all physical constraints",
    Acta Cryst. A70 (2014) 636–649, Table (Z = 1–103): f(g) = Σ_{i=1..5} a_i (2 + b_i g²)/(1 + b_i g²)².
  * E. J. Kirkland, "Advanced Computing in Electron Microscopy", 2nd ed. (Springer, 2010),
    Appendix C, Table C.4 (Z = 1–103): f(q) = Σ_{i=1..3} a_i/(q² + b_i) + c_i exp(−d_i q²).
Units: f [Å], g = q = |k| [1/Å].

The numbers were keyed from a machine-readable transcription of those tables (the one distributed as
data with abTEM 1.0.11, whose tables are the published ones); this script re-keys them into jaxem's
format. Run once by maintainers (needs ``abtem`` installed, a test-only dependency); the library
reads only the JSON it writes.
"""
import json
from importlib import resources
from pathlib import Path

SOURCES = {
    "lobato": {
        "reference": "I. Lobato and D. Van Dyck, Acta Cryst. A70 (2014) 636-649",
        "formula": "f(g) = sum_i a_i (2 + b_i g^2) / (1 + b_i g^2)^2, i = 1..5",
        "units": {"a": "Angstrom", "b": "Angstrom^2", "g": "1/Angstrom", "f": "Angstrom"},
        "rows": ["a", "b"],
    },
    "kirkland": {
        "reference": "E. J. Kirkland, Advanced Computing in Electron Microscopy, 2nd ed., Springer (2010), Table C.4",
        "formula": "f(q) = sum_i a_i / (q^2 + b_i) + c_i exp(-d_i q^2), i = 1..3",
        "units": {"a": "1/Angstrom", "b": "1/Angstrom^2", "c": "Angstrom", "d": "Angstrom^2", "q": "1/Angstrom",
                  "f": "Angstrom"},
        "rows": ["a", "b", "c", "d"],
    },
}


def main():
    from jaxem.structure.elements import SYMBOLS

    base = resources.files("abtem.parametrizations") / "data"
    out_dir = Path(__file__).resolve().parents[1] / "jaxem" / "data"
    for name, meta in SOURCES.items():
        raw = json.loads((base / f"{name}.json").read_text())
        elements = {}
        for z, sym in enumerate(SYMBOLS):
            if z == 0 or sym not in raw:
                continue
            rows = raw[sym]
            elements[str(z)] = {"symbol": sym, **{r: [float(v) for v in rows[i]] for i, r in enumerate(meta["rows"])}}
        doc = {"name": name, **meta, "elements": elements}
        (out_dir / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(name, len(elements), "elements")


if __name__ == "__main__":
    main()
