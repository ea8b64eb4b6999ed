"""argparse value types: values with units are converted, bad values name the option and the range."""
import argparse

import pytest

from jaxem.cli import args


def _parser():
    p = argparse.ArgumentParser(exit_on_error=False)
    p.add_argument("--cells", type=args.positive_int)
    p.add_argument("--energy", type=args.energy_ev)
    p.add_argument("--sampling", type=args.length_angstrom)
    p.add_argument("--thickness", type=args.nonnegative_length)
    p.add_argument("--defocus", type=args.finite_length)
    p.add_argument("--dose", type=args.positive_float)
    p.add_argument("--noise", type=args.nonnegative_float)
    p.add_argument("--shift", type=args.finite_float)
    return p


def test_values_and_units_are_converted():
    ns = _parser().parse_args(["--cells", "3", "--energy", "300 kV", "--sampling", "0.01 nm",
                               "--thickness", "0", "--defocus", "-5 nm", "--dose", "1e4", "--noise", "0",
                               "--shift", "-2.5"])
    assert ns.cells == 3 and ns.noise == 0.0 and ns.shift == -2.5 and ns.dose == 1e4
    assert ns.energy == pytest.approx(300e3) and ns.sampling == pytest.approx(0.1)
    assert ns.thickness == 0.0 and ns.defocus == pytest.approx(-50.0)
    assert args.energy_ev("200000") == 200000.0 and args.length_angstrom("2") == 2.0


@pytest.mark.parametrize("option,value,match", [
    ("--cells", "0", "argument --cells: must be an integer ≥ 1, got 0"),
    ("--cells", "2.5", "argument --cells: must be an integer ≥ 1, got '2.5'"),
    ("--energy", "-300 kV", "argument --energy: must be > 0"),
    ("--energy", "300 nm", "argument --energy"),
    ("--sampling", "0", "argument --sampling: must be > 0, got 0"),
    ("--thickness", "-1", "argument --thickness: must be ≥ 0, got -1"),
    ("--defocus", "nan", "argument --defocus: must be finite"),
    ("--dose", "inf", "argument --dose: must be finite"),
    ("--noise", "-0.1", "argument --noise: must be ≥ 0"),
    ("--shift", "abc", "argument --shift: must be a number, got 'abc'"),
])
def test_bad_values_name_the_option_and_range(option, value, match):
    with pytest.raises(argparse.ArgumentError, match=match):
        _parser().parse_args([option, value])
