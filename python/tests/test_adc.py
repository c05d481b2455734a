"""The behavioral ADC from Python against the CLI, Monte Carlo chips against `nladc mc`,
exported models against the files the CLI exports."""

import csv
import json
import re

import numpy as np
import pytest

import nladc

from conftest import SOURCE


def cli_code(cli, design_file, mac):
    out = cli("convert", "--design", design_file, "--mac", repr(float(mac)))
    return int(re.match(r"code (\d+) ", out).group(1))


def test_convert_matches_transfer_and_convert(design_file, workdir, cli, rng):
    adc = nladc.Adc(design_file)
    transfer = workdir / "transfer.csv"
    cli("transfer", "--design", design_file, "--out", transfer)
    rows = list(csv.DictReader(transfer.open()))
    measured_cli = np.array([float(r["measured"]) for r in rows])
    thresholds = adc.transition_levels()
    # The CSV prints 10 significant digits: the same bisection, at that resolution.
    assert np.allclose(thresholds, measured_cli, rtol=1e-9, atol=0)

    levels = adc.design.levels
    span = levels.hi - levels.lo
    tolerance = levels.lsb * 1e-6  # the bisection's resolution
    on = np.concatenate([thresholds, np.nextafter(thresholds, np.inf), np.nextafter(thresholds, -np.inf),
                         measured_cli, levels.thresholds])
    away = rng.uniform(levels.lo - 0.1 * span, levels.hi + 0.1 * span, 100_000)
    macs = np.concatenate([away, on])
    codes, outputs = adc.convert(macs)
    assert codes.dtype == np.int32 and codes.shape == macs.shape
    assert np.array_equal(outputs, levels.levels[codes])

    # Away from the transition levels the code is the count of T[k] below the value.
    far = np.min(np.abs(macs[:, None] - thresholds[None, :]), axis=1) > tolerance
    assert far.sum() >= 100_000 - 10
    assert np.array_equal(codes[far], np.searchsorted(thresholds, macs[far], side="left"))
    # On and next to them (where the bisection cannot decide) against `nladc convert` itself.
    for mac, code in zip(macs[~far], codes[~far]):
        assert code == cli_code(cli, design_file, mac), mac
    # The thread count does not change anything.
    assert np.array_equal(adc.convert(macs, threads=1)[0], codes)


def test_convert_takes_any_shape_and_rejects_nan(design_file):
    adc = nladc.Adc(nladc.Design.load(design_file))
    codes, outputs = adc.convert(np.full((2, 3, 4), 1.0, dtype=np.float32))
    assert codes.shape == (2, 3, 4) and outputs.dtype == np.float64
    with pytest.raises(ValueError, match="mac: element 1: is NaN"):
        adc.convert(np.array([0.5, np.nan]))
    assert adc.energy(1.0)["total_J"] > 0


def read_trials(path, thresholds, suffix=""):
    rows = list(csv.DictReader(path.open()))
    return np.array([[float(r[f"T{k}{suffix}"]) for k in range(1, thresholds + 1)] for r in rows])


def test_sample_chips_are_the_chips_of_nladc_mc(design_file, workdir, cli):
    study = workdir / "study.json"
    study.write_text(json.dumps({"format": "nladc-study", "version": 2, "design": str(design_file),
                                 "trials": 24, "seed": 7, "block_size": 8}))
    out = workdir / "mc"
    cli("mc", "--study", study, "--threads", 2, "--out", out)
    from_mc = read_trials(out / "trials.csv", 15)
    chips = nladc.sample_chips(design_file, study, n=24)
    assert chips.shape == (24, 15)
    assert np.array_equal(chips, from_mc)
    trimmed = nladc.sample_chips(nladc.Design.load(design_file), study, n=24, trimmed=True, threads=1)
    assert np.array_equal(trimmed, read_trials(out / "trials.csv", 15, "_trim"))
    # The seed argument overrides the study's; another seed gives other chips.
    assert np.array_equal(nladc.sample_chips(design_file, study, n=3, seed=7), chips[:3])
    assert not np.array_equal(nladc.sample_chips(design_file, study, n=3, seed=8), chips[:3])


def test_map_levels_matches_the_cli(design_file, workdir):
    levels_file = workdir / "levels.json"
    design = nladc.map_levels(nladc.LevelSet.load(levels_file))
    from_cli = nladc.Design.load(design_file)
    assert design.hash == from_cli.hash
    assert np.array_equal(design.realized_thresholds, from_cli.realized_thresholds)
    saved = workdir / "py_design.json"
    assert design.save(saved) == from_cli.hash


CHARACTERIZED = SOURCE / "characterization" / "default" / "characterization"


def test_adc_model_codes_equal_the_exported_thresholds(workdir, cli, rng):
    model_json = workdir / "adc_model.json"
    model_spice = workdir / "adc_model.sp"
    cli("export", "--from", CHARACTERIZED, "--format", "json", "--out", model_json)
    cli("export", "--from", CHARACTERIZED, "--format", "spice", "--out", model_spice)
    model = nladc.ADCModel.load(model_json)
    # The thresholds read independently: from the JSON with the json module, from the SPICE
    # subcircuit's u() staircase with a regular expression.
    from_json = np.array([t["mean"] for t in json.loads(model_json.read_text())["thresholds"]])
    from_spice = np.array([float(v) for v in re.findall(r"u\(v\(in\)/in_per_unit-\(([^)]+)\)\)", model_spice.read_text())])
    assert np.array_equal(from_json, from_spice) and np.array_equal(model.thresholds, from_json)

    x = rng.uniform(model.lo - 0.5, model.hi + 0.5, 1_000_000)
    x[:15] = from_json
    x[15:30] = np.nextafter(from_json, np.inf)
    expected = np.searchsorted(from_json, x, side="left")  # count of thresholds strictly below
    assert np.array_equal(model.convert(x), expected)
    # float32 inputs: decided exactly against the float64 thresholds.
    x32 = x.astype(np.float32)
    x32[:15] = from_json.astype(np.float32)
    assert np.array_equal(model.convert(x32), np.searchsorted(from_json, x32.astype(np.float64), side="left"))
    assert np.array_equal(model.output(x), model.levels[expected])
    assert model.bits == 4 and model.sigma.shape == (15,)
    # The same model straight from the characterization, saved byte for byte as the CLI exports it.
    again = workdir / "again.json"
    nladc.ADCModel.from_characterization(CHARACTERIZED).save(again)
    assert again.read_text() == model_json.read_text()


def test_calibration_loads_and_changes_the_conversion(design_file, workdir):
    calibrated = SOURCE / "characterization" / "default" / "calibration" / "calibrated.json"
    calibration = nladc.Calibration.load(calibrated)
    assert "offset_V" in calibration.parameters and calibration.block_parameters
    default_design = SOURCE / "characterization" / "default" / "mapping" / "design.json"
    plain = nladc.Adc(default_design).transition_levels()
    with_calibration = nladc.Adc(default_design, calibration=calibrated).transition_levels()
    assert plain.shape == with_calibration.shape and not np.array_equal(plain, with_calibration)
    with pytest.raises(FileNotFoundError, match="nosuch.json"):
        nladc.Calibration.load(workdir / "nosuch.json")


def test_lookup_is_exact_and_reports_nan(rng):
    thresholds = np.sort(rng.normal(0, 1, 63))
    levels = np.arange(64, dtype=np.float64)
    for dtype in (np.float32, np.float64):
        x = rng.normal(0, 1.2, 300_001).astype(dtype)
        x[:63] = thresholds.astype(dtype)
        reference = np.searchsorted(thresholds, x.astype(np.float64), side="left")
        assert np.array_equal(nladc.lookup(x, thresholds), reference)
        out = nladc.lookup(x, thresholds, levels, threads=2)
        assert out.dtype == dtype and np.array_equal(out, levels[reference].astype(dtype))
    # More thresholds than the counting kernel takes: the binary search.
    many = np.sort(rng.uniform(-3, 3, 1000))
    x = rng.normal(0, 1, 10_000)
    assert np.array_equal(nladc.lookup(x, many), np.searchsorted(many, x, side="left"))
    bad = np.zeros(200_000, dtype=np.float32)
    bad[123_456] = np.nan
    with pytest.raises(ValueError, match="values: element 123456: is NaN"):
        nladc.lookup(bad, thresholds)
    with pytest.raises(ValueError, match="thresholds must be ascending"):
        nladc.lookup(x, thresholds[::-1])
    with pytest.raises(ValueError, match="10 levels for 63 thresholds"):
        nladc.lookup(x, thresholds, levels[:10])


def test_convert_inputs_is_the_crossbar_layer(design_file, rng):
    """A layer's inputs and weights through the ideal ADC against the MAC value computed
    here: scale x sum_i round(x_i (2^B - 1)) / (2^B - 1) x w_i (g_max - g_min)."""
    design = nladc.Design.load(design_file)
    tech = json.loads(design.to_json())["technology"]
    rows = tech["array"]["rows"]
    steps = 2 ** tech["array"]["input_bits"] - 1
    span_S = tech["device"]["g_max_S"] - tech["device"]["g_min_S"]
    adc = nladc.Adc(design, ideal=True)

    batch, columns = 300, 7
    inputs = rng.uniform(0.0, 1.0, (batch, rows))
    weights = rng.uniform(-0.3, 1.0, (rows, columns)) * np.linspace(0.2, 1.0, columns)
    codes, outputs = adc.convert_inputs(inputs, weights)
    assert codes.shape == (batch, columns) and codes.dtype == np.int32
    assert np.array_equal(outputs, design.levels.levels[codes])

    macs = design.scale_per_S * (np.round(inputs * steps) / steps) @ (weights * span_S)
    expected, _ = adc.convert(macs)
    # Away from a transition level (relative rounding of the two sums) the codes agree.
    thresholds = adc.transition_levels()
    far = np.min(np.abs(macs[..., None] - thresholds), axis=-1) > 1e-9 * design.levels.lsb
    assert far.mean() > 0.99
    assert np.array_equal(codes[far], expected[far])
    assert len(np.unique(codes)) >= 8  # the cases span the codes

    # 1-D arguments drop their axis; the thread count changes nothing.
    assert adc.convert_inputs(inputs[3], weights)[0].shape == (columns,)
    assert adc.convert_inputs(inputs, weights[:, 2])[0].shape == (batch,)
    assert np.array_equal(adc.convert_inputs(inputs, weights[:, 2])[0], codes[:, 2])
    assert np.array_equal(adc.convert_inputs(inputs, weights, threads=1)[0], codes)
    with pytest.raises(ValueError, match="inputs: element 5: is not finite"):
        bad = inputs.copy()
        bad.flat[5] = np.nan
        adc.convert_inputs(bad, weights)
    with pytest.raises(ValueError, match="weights: 3 rows for inputs of"):
        adc.convert_inputs(inputs, weights[:3])
