"""hrtem tests: small dense linear algebra (GP Cholesky) runs single-threaded BLAS — on a loaded
2-core machine a multi-threaded OpenBLAS is 60–100× slower for these sizes."""
import pytest

from jaxem.hrtem.turbo import single_threaded_blas


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    with single_threaded_blas():
        yield
