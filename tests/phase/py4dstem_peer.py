"""Test-only bridge to py4DSTEM's direct-ptychography classes (shared by the peer tests and
``benchmarks/phase_retrieval.py``). Imports py4DSTEM lazily."""
import warnings

import numpy as np


def py4d_run(cls, ds, **recon):
    """Run a py4DSTEM direct method ``cls`` (e.g. ``py4DSTEM.process.phase.SSB``) on a jaxem
    ``Dataset4D`` with the same calibration and C10; returns the phase [rad]."""
    import py4DSTEM

    dc = py4DSTEM.DataCube(data=np.asarray(ds.array))
    dc.calibration.set_R_pixel_size(ds.scan_sampling[0])
    dc.calibration.set_R_pixel_units("A")
    dc.calibration.set_Q_pixel_size(ds.angular_sampling[0])
    dc.calibration.set_Q_pixel_units("mrad")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = cls(energy=ds.energy, datacube=dc, semiangle_cutoff=ds.semiangle,
                  polar_parameters={"C10": float(ds.aberrations.C10)}, verbose=False, device="cpu")
        obj.preprocess(plot_center_of_mass=False, plot_rotation=False, plot_overlap_trotters=False,
                       force_com_rotation=0.0, force_com_transpose=False)
        obj.reconstruct(num_jobs=1, progress_bar=False, **recon)
    return np.angle(np.asarray(obj._object))
