import numpy as np
import pytest

from jaxem.ltr import chunked, events, hdf5, reduce
from jaxem.ltr.synthetic import SyntheticLTR, simulate_events

SPEC = SyntheticLTR(scan_shape=(5, 6), n_frames=8, detector_shape=(16, 16),
                    centers=((8.0, 12.0), (4.0, 8.0)), intensity=(5.0, 3.0), critical_dose=(20.0, 10.0),
                    floor=(0.0, 0.1), growth=(None, None), halo_sigma=4.0)


def test_chunk_size_follows_budget():
    ev = simulate_events(SPEC, seed=2)
    small = chunked.chunk_positions(ev, memory_budget=2_000)
    big = chunked.chunk_positions(ev, memory_budget=2_000_000)
    assert 1 <= small < big == ev.n_positions
    starts = [s for s, _, _ in chunked.iter_chunks(ev, memory_budget=2_000)]
    assert starts == list(range(0, ev.n_positions, small))


def test_map_and_reduce_are_chunking_invariant():
    ev = simulate_events(SPEC, seed=2)
    d = events.densify(ev)
    per_pos = chunked.map_positions(ev, lambda c: events.densify(c).sum((1, 2, 3)), positions_per_chunk=7)
    np.testing.assert_array_equal(per_pos, d.sum((1, 2, 3)).reshape(5, 6))
    tot = chunked.reduce_positions(ev, lambda c: events.densify(c).sum((0, 1)), positions_per_chunk=4)
    np.testing.assert_array_equal(tot, d.sum((0, 1)))
    with pytest.raises(ValueError, match="positions_per_chunk"):
        list(chunked.iter_chunks(ev, positions_per_chunk=-1))


def test_dask_graph_matches_eager(tmp_path):
    ev = simulate_events(SPEC, seed=2)
    path = hdf5.write_events(ev, tmp_path / "e.h5")
    lab = reduce.disk_labels(SPEC.detector_shape, SPEC.centers, 2.0)
    eager = reduce.label_series(ev, lab).numpy()

    def fn(c):
        return reduce.label_series(c, lab).numpy().reshape(c.n_positions, c.n_frames, 2)

    lazy = chunked.dask_map_positions(path, fn, (SPEC.n_frames, 2), positions_per_chunk=8)
    assert lazy.shape == (5, 6, 8, 2)
    n_tasks = sum(1 for k in dict(lazy.dask) if str(k).startswith("task-"))
    assert n_tasks == 4                 # one task per chunk of 8 positions (30 positions → 4 chunks)
    np.testing.assert_allclose(lazy.compute(scheduler="synchronous"), eager)
