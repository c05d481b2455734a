"""Runs examples/pytorch_quickstart.py shrunk (NLADC_QUICKSTART_FAST=1: 2 000 training and
1 000 test images) and checks its report: every line there, accuracies in [0, 1]."""

import os
import re
import subprocess
import sys

import pytest

SOURCE = os.environ.get("NLADC_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(SOURCE, "examples", "pytorch_quickstart.py")
DATA = os.environ.get("NLADC_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not os.path.exists(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")),
                    reason="Fashion-MNIST not installed (Debian package dataset-fashion-mnist)")
def test_quickstart_runs_fast():
    env = dict(os.environ, NLADC_QUICKSTART_FAST="1")
    run = subprocess.run([sys.executable, EXAMPLE], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "Fashion-MNIST: 2000 training images, 1000 test images" in out

    def accuracy(pattern, separator=": "):
        match = re.search(pattern + separator + r"(\d\.\d{4})", out)
        assert match, f"no line matching {pattern!r} in:\n{out}"
        value = float(match.group(1))
        assert 0.0 <= value <= 1.0
        return value

    assert accuracy("float accuracy") > 0.3  # far above chance (0.1) after one small epoch
    accuracy("linear 3-bit NL-ADC accuracy")
    accuracy("bs-kmq 3-bit NL-ADC accuracy")
    chips = [accuracy(f"bs-kmq chip {i} accuracy") for i in range(5)]
    match = re.search(r"bs-kmq 5 chips: mean (\d\.\d{4}) ± (\d\.\d{4})", out)
    assert match and min(chips) - 1e-4 <= float(match.group(1)) <= max(chips) + 1e-4
    assert "layer 1 thresholds: designed" in out
    accuracy("linear 5 chips: mean", " ")
    accuracy("bs-kmq 5 chips, uncompensated mapping: mean", " ")
    assert "uncompensated chip mean" in out
    assert re.search(r"not converted: 9 \(Linear: .*classifier", out)
    assert re.search(r"wall time: \d+\.\d s", out)
