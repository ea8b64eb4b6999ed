"""Floor-0 atomic writes: stale temporaries of killed writers, concurrent writers, readers during swaps."""
import signal
import subprocess
import sys


from jaxem.atomic import atomic_path, clean_stale, exchange_dirs


def test_exchange_is_supported_here(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(); b.mkdir(); (a / "x").write_text("a"); (b / "x").write_text("b")
    assert exchange_dirs(a, b)
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_killed_writer_leaves_old_result_and_next_write_cleans(tmp_path):
    target = tmp_path / "out.zarr"
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "v").write_text("old")
    code = ("import sys, time\nfrom jaxem.atomic import atomic_path\n"
            f"with atomic_path({str(target)!r}, is_dir=True) as tmp:\n"
            "    (tmp / 'v').write_text('new'); print('ready', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    stale = list(tmp_path.glob(".out.zarr.*.tmp"))
    assert len(stale) == 1
    assert clean_stale(target) == []  # a live writer's temporary is left alone
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert (target / "v").read_text() == "old"
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "v").write_text("newer")
    assert (target / "v").read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]


def _writer(path, tag, n):
    for _ in range(n):
        with atomic_path(path, is_dir=True) as tmp:
            (tmp / "data").write_text(tag * 4096)


def test_concurrent_writers_and_reader(tmp_path):
    target = tmp_path / "store.zarr"
    _writer(target, "I", 1)
    code = ("import sys\nfrom jaxem.atomic import atomic_path\n"
            "for i in range(150):\n"
            f"    with atomic_path({str(target)!r}, is_dir=True) as tmp:\n"
            "        (tmp / 'data').write_text(sys.argv[1] * 4096)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, tag]) for tag in ("A", "B")]
    missing = mixed = 0
    while any(p.poll() is None for p in procs):
        try:
            mixed += len(set((target / "data").read_text())) != 1  # one writer's complete file
        except FileNotFoundError:
            missing += 1
    assert [p.wait() for p in procs] == [0, 0]
    assert missing == 0 and mixed == 0
    assert set((target / "data").read_text()) in ({"A"}, {"B"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.zarr"]
