import os
from pathlib import Path

import numpy as np
import pytest

from jaxem.eds import readers, spectrum

pytest.importorskip("rsciio")

# the real instrument files (CI: ../shared/data/vendor beside the repository; JAXEM_VENDOR_DATA overrides)
VENDOR = Path(os.environ.get("JAXEM_VENDOR_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "vendor"))


def _need(p):
    if not p.exists():
        pytest.skip(f"vendor file {p} absent")
    return p


def test_bcf_spectrum_image_and_fit():
    d = readers.read_eds(_need(VENDOR / "bruker" / "test_TEM.bcf"))
    assert d.counts.shape == (64, 64, 2048) and len(d.nav_axes) == 2
    assert d.metadata["beam_energy"] == 200e3 and d.metadata["elevation_deg"] == 18.0
    assert d.energy[1] - d.energy[0] == pytest.approx(0.010001)
    lines = d.metadata["xray_lines"]  # Cu_Ka, O_Ka, Pd_La, Ti_Ka
    total = d.counts.reshape(-1, 2048).sum(0).astype(float)
    # the spectrum also shows strong Si Kα (1.74 keV) and C Kα: fit them as extra elements
    amp, var = spectrum.fit_intensities(total, d.energy, lines, 200.0, fit_range=(0.3, 12.0),
                                        extra_elements=("Si", "C"))
    amp, sig = np.asarray(amp), np.sqrt(np.asarray(var))
    assert np.all(np.isfinite(amp))
    assert amp[lines.index("Ti_Ka")] > 5 * sig[lines.index("Ti_Ka")]
    assert amp[lines.index("O_Ka")] > 3 * sig[lines.index("O_Ka")]
    # map fit = fit of the sum (linearity)
    maps, _ = spectrum.fit_intensities(d.counts[:8, :8].astype(np.float64), d.energy, lines, 200.0,
                                       fit_range=(0.3, 12.0))
    sub, _ = spectrum.fit_intensities(d.counts[:8, :8].reshape(-1, 2048).sum(0).astype(np.float64),
                                      d.energy, lines, 200.0, fit_range=(0.3, 12.0))
    assert np.asarray(maps).sum((0, 1)) == pytest.approx(np.asarray(sub), rel=1e-9)


@pytest.mark.parametrize("name", ["bruker_nano.spx", "extracted_from_bcf.spx"])
def test_spx(name):
    d = readers.read_eds(_need(VENDOR / "bruker" / name))
    assert d.counts.ndim == 1 and d.energy.size == d.counts.size
    assert d.metadata["beam_energy"] == 15e3


def test_msa_and_errors():
    d = readers.read_eds(_need(VENDOR / "msa" / "example2.msa"))
    assert d.energy[0] == pytest.approx(0.2) and d.metadata["live_time"] == 100.0
    assert d.metadata["tilt_alpha_deg"] == 45.0
    with pytest.raises(ValueError, match="no EDS signal"):
        readers.read_eds(_need(VENDOR / "msa" / "example1.msa"))
    with pytest.raises(FileNotFoundError, match="nonexistent.bcf"):
        readers.read_eds("/nonexistent.bcf")


def test_hyperspy_roundtrip():
    d = readers.read_eds(_need(VENDOR / "msa" / "example2.msa"))
    s = readers.to_hyperspy(d)
    back = readers.from_hyperspy(s)
    assert np.array_equal(back.counts, d.counts) and back.energy == pytest.approx(d.energy)
    assert back.metadata["beam_energy"] == d.metadata["beam_energy"]
    assert back.metadata["elevation_deg"] == d.metadata["elevation_deg"]


def test_to_hyperspy_keeps_navigation_calibration_and_edsdata_is_a_pytree():
    import jax

    from jaxem.measurement import Axis

    counts = np.arange(3 * 4 * 16, dtype=np.float64).reshape(3, 4, 16)
    d = readers.EDSData(counts, np.linspace(0.1, 1.6, 16), (Axis("y", 2.5, "nm", 1.0), Axis("x", 3.5, "nm", -2.0)),
                        {"beam_energy": 200e3})
    leaves = jax.tree.leaves(d)
    assert len(leaves) == 2 and jax.tree.map(lambda a: a * 2, d).counts[0, 0, 1] == 2.0
    pytest.importorskip("exspy")
    s = readers.to_hyperspy(d)
    x, y = s.axes_manager.navigation_axes  # HyperSpy: fastest axis first
    assert (y.name, y.scale, y.offset, y.units) == ("y", 2.5, 1.0, "nm")
    assert (x.name, x.scale, x.offset, x.units) == ("x", 3.5, -2.0, "nm")
    assert readers.from_hyperspy(s).nav_axes == d.nav_axes


def test_reader_argument_errors(tmp_path):
    p = tmp_path / "s.xyz"
    p.write_text("1 2 3")
    with pytest.raises(ValueError, match=r"no EDS reader known for the suffix '\.xyz'"):
        readers.read_eds(p)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        readers.read_eds(tmp_path)
    msa = tmp_path / "short.msa"
    text = (VENDOR / "msa" / "example2.msa").read_text() if (VENDOR / "msa" / "example2.msa").exists() else None
    if text is None:
        pytest.skip("vendor MSA sample absent")
    # fewer channels than '#NPOINTS' announces, but a complete file otherwise
    lines = text.splitlines()
    data = [i for i, ln in enumerate(lines) if ln and not ln.startswith("#")]
    msa.write_text("\n".join(lines[:data[-1]] + lines[data[-1] + 1:]) + "\n")
    with pytest.raises(ValueError, match=r"short\.msa.*expected 80 channels, found 79"):
        readers.read_eds(msa)
