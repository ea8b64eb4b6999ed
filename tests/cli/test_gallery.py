import types

from jaxem.cli import gallery
from jaxem.cli.main import build_parser


def test_failing_section_is_reported_not_fatal(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    import numpy as np

    from jaxem import Axis, Measurement

    def good(ctx):
        ctx.text("<p>ok</p>")
        fig, ax = plt.subplots()
        ax.plot([0, 1])
        ctx.figure("line", fig, "a line")
        ctx.table(["a", "b"], [[1, 2.5]])
        ctx.data("arr", Measurement(np.zeros(3), (Axis("x"),)))

    def bad(ctx):
        raise RuntimeError("boom")

    mods = [(1, "good", types.SimpleNamespace(TITLE="Good", run=good)),
            (2, "bad", types.SimpleNamespace(TITLE="Bad", run=bad))]
    monkeypatch.setattr(gallery, "discover_sections", lambda only=None: mods)
    failures = gallery.build_gallery(tmp_path)
    assert failures == ["bad"]
    page = (tmp_path / "index.html").read_text()
    assert "boom" in page and "figures/good_line.png" in page and (tmp_path / "data" / "good_arr.zarr").exists()


def test_every_section_and_command_is_discovered():
    names = [key for _, key, _ in gallery.discover_sections()]
    for expected in ("multislice", "optics", "crystals", "absorptive", "md", "eds", "apt"):
        assert expected in names
    sub = build_parser()._subparsers._group_actions[0].choices
    assert {"demo", "simulate"} <= set(sub)


def test_multislice_and_optics_sections_build(tmp_path):
    assert gallery.build_gallery(tmp_path, only=["multislice", "optics"]) == []
    assert (tmp_path / "figures" / "multislice_kirkland_5_12.png").exists()
