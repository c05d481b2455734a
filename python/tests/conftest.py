"""Shared fixtures: the CLI to compare against and a mapped 4-bit design made by it.

ctest sets NLADC_CLI (the built `nladc`) and NLADC_SOURCE (the checkout); run by hand,
they default to build/nladc and the repository root.
"""

import os
import pathlib
import subprocess

import numpy as np
import pytest

SOURCE = pathlib.Path(os.environ.get("NLADC_SOURCE", pathlib.Path(__file__).resolve().parents[2]))
CLI = pathlib.Path(os.environ.get("NLADC_CLI", SOURCE / "build" / "nladc"))


def run_cli(*args, cwd=None):
    """Runs `nladc ARGS`; returns stdout, raising with stderr on failure."""
    result = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise AssertionError(f"nladc {' '.join(map(str, args))} failed ({result.returncode}): {result.stderr}")
    return result.stdout


@pytest.fixture(scope="session")
def cli():
    assert CLI.exists(), f"{CLI} not built"
    return run_cli


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("nladc")


@pytest.fixture(scope="session")
def activations(workdir, cli):
    """The embedded default data (a ReLU-and-clamp mixture), 200 000 samples, as .npy."""
    path = workdir / "acts.npy"
    cli("synth", "--n", 200000, "--seed", 3, "--out", path)
    return path


@pytest.fixture(scope="session")
def design_file(workdir, cli, activations):
    """A 4-bit BS-KMQ level set mapped by the CLI."""
    levels = workdir / "levels.json"
    design = workdir / "design.json"
    cli("levels", "--input", activations, "--bits", 4, "--method", "bs-kmq", "--out", levels)
    cli("map", "--levels", levels, "--out", design)
    return design


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(20261207)
