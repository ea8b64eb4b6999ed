import numpy as np
import pytest

from jaxem.hrtem.displacements import polar_displacements


def test_polar_displacements_analytic():
    a = 4.0
    xy = np.array([[0, 0], [2.1, 2.05], [2, 0], [0, 2]], float)  # Ba, Ti(+O), O, O in one periodic cell
    d, pos = polar_displacements(xy, [[56], [8, 22], [8], [8]], (a, a))
    np.testing.assert_allclose(d, [[0.1, 0.05]], atol=1e-12)
    with pytest.raises(ValueError, match="pure Z=8"):
        polar_displacements(xy[:2], [[56], [8, 22]], (a, a))
    # a non-periodic field (huge lengths): the four O columns around Ti
    xy4 = np.array([[2.1, 2.05], [2, 0], [0, 2], [4, 2], [2, 4]], float)
    d, _ = polar_displacements(xy4, [[8, 22], [8], [8], [8], [8]], (1e9, 1e9))
    np.testing.assert_allclose(d, [[0.1, 0.05]], atol=1e-9)
