"""Level design on arrays: the same level sets as `nladc levels`, the exact k-means optimum."""

import json

import numpy as np
import pytest

import nladc


def test_version():
    assert nladc.__version__.startswith("0.")


@pytest.mark.parametrize("method", ["linear", "lloyd-max", "cdf", "kmeans", "bs-kmq"])
def test_design_levels_matches_cli(method, activations, workdir, cli):
    x = np.load(activations)
    out = workdir / f"levels_{method}.json"
    cli("levels", "--input", activations, "--bits", 3, "--method", method, "--out", out)
    from_cli = nladc.LevelSet.load(out)
    from_python = nladc.design_levels(x, bits=3, method=method)
    assert np.array_equal(from_python.levels, from_cli.levels)
    assert np.array_equal(from_python.thresholds, from_cli.thresholds)
    assert (from_python.lo, from_python.hi, from_python.method) == (from_cli.lo, from_cli.hi, from_cli.method)
    cli_mse = json.loads(out.read_text())["metrics"]["mse"]
    assert from_python.metrics["mse"] == pytest.approx(cli_mse, rel=1e-12)


def brute_force_kmeans_mse(x, k):
    """Exact 1-D k-means by dynamic programming over the sorted samples (O(k n^2)): an
    independent reference for small n."""
    x = np.sort(x.astype(np.float64))
    n = len(x)
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])

    def sse(i, j):  # samples i..j-1
        w = j - i
        return s2[j] - s2[i] - (s1[j] - s1[i]) ** 2 / w

    cost = np.full((k + 1, n + 1), np.inf)
    cost[0, 0] = 0.0
    for c in range(1, k + 1):
        for j in range(c, n + 1):
            cost[c, j] = min(cost[c - 1, i] + sse(i, j) for i in range(c - 1, j))
    return cost[k, n] / n


def test_kmeans_reaches_the_exact_optimum_on_held_out_arrays(rng):
    # Several held-out arrays (not the data anything was tuned on): a mixture like ReLU
    # activations, a lognormal, a uniform with ties.
    arrays = [
        np.maximum(rng.normal(0.3, 1.0, 300), 0.0),
        rng.lognormal(0.0, 0.7, 300),
        np.round(rng.uniform(0, 5, 300), 1),
    ]
    for x in arrays:
        designed = nladc.design_levels(x, bits=2, method="kmeans")
        optimum = brute_force_kmeans_mse(x, 4)
        mse = np.mean((x - designed.quantize(x)) ** 2)
        assert mse == pytest.approx(optimum, rel=1e-4)
        assert designed.metrics["mse"] == pytest.approx(optimum, rel=1e-4)


def test_kmeans_on_a_large_array_matches_the_cli(rng, workdir, cli):
    # Above the exact-summary limit (262 144 samples) the histogram path with refinement runs.
    x = (rng.gamma(2.0, 1.0, 400000)).astype(np.float32)
    path = workdir / "gamma.npy"
    np.save(path, x)
    out = workdir / "gamma_levels.json"
    cli("levels", "--input", path, "--bits", 4, "--method", "kmeans", "--out", out)
    from_cli = nladc.LevelSet.load(out)
    designed = nladc.design_levels(x, bits=4, method="kmeans")
    assert np.array_equal(designed.thresholds, from_cli.thresholds)
    mse = np.mean((x.astype(np.float64) - designed.quantize(x.astype(np.float64))) ** 2)
    assert mse == pytest.approx(json.loads(out.read_text())["metrics"]["mse"], rel=1e-9)


def test_levelset_round_trips_through_the_cli_file_format(workdir, cli, activations):
    x = np.load(activations)
    designed = nladc.design_levels(x, bits=4, method="bs-kmq", variant="weight")
    path = workdir / "py_levels.json"
    designed.save(path)
    document = json.loads(path.read_text())
    assert document["format"] == "nladc-levelset" and document["variant"] == "weight"
    # The CLI scores it: it reads the file this package wrote.
    scored = cli("score", "--levels", path, "--input", activations)
    assert "mse" in scored.lower()
    again = nladc.LevelSet.load(path)
    assert np.array_equal(again.levels, designed.levels)


def test_code_and_quantize_follow_the_comparator_convention():
    s = nladc.LevelSet([0.0, 1.0, 2.0, 3.0], lo=0.0, hi=3.0)
    assert np.array_equal(s.thresholds, [0.5, 1.5, 2.5])
    x = np.array([-1.0, 0.5, 0.5000001, 1.5, 2.6, 9.0])
    assert s.code(x).tolist() == [0, 0, 1, 1, 3, 3]
    assert s.quantize(x.astype(np.float32)).dtype == np.float32


def test_compare_and_score():
    x = np.maximum(np.random.default_rng(1).normal(0.5, 1, 20000), 0)
    rows = nladc.compare_levels(x, bits=[3])
    methods = {row["method"] for row in rows}
    assert {"linear/midtread", "kmeans/exact", "bs-kmq/drop-pin"} <= methods
    exact = next(r for r in rows if r["method"] == "kmeans/exact")
    assert exact["ratio_to_kmeans"] == pytest.approx(1.0)
    assert nladc.score_levels(exact["levels"], x)["mse"] == pytest.approx(exact["mse"], rel=1e-12)


def test_bad_inputs_raise_with_the_message(workdir):
    with pytest.raises(ValueError, match=r"array: element 2: is NaN"):
        nladc.design_levels(np.array([1.0, 2.0, np.nan, 3.0]), bits=2)
    with pytest.raises(ValueError, match="bits = 0"):
        nladc.design_levels(np.arange(10.0), bits=0)
    with pytest.raises(ValueError, match="nosuch"):
        nladc.design_levels(np.arange(10.0), bits=2, method="nosuch")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        nladc.LevelSet.load(workdir / "missing.json")
    bad = workdir / "bad_levels.json"
    bad.write_text('{"format": "nladc-levelset", "version": 1, "bits": 2, "levels": [0, 1, 2]}')
    with pytest.raises(ValueError, match="bad_levels.json"):
        nladc.LevelSet.load(bad)
    with pytest.raises(TypeError):
        nladc.design_levels(["a", "b"], bits=2)
    with pytest.raises(ValueError, match="levels"):
        nladc.LevelSet([0.0, 2.0, 1.0, 3.0])
