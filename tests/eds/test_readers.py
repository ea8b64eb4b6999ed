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
