#!/usr/bin/python3
"""An independent check of `nladc export --format csv` against DNN+NeuroSim V1.5's reader.

NeuroSim V1.5 (github.com/neurosim/NeuroSim; forks keep the same files) reads the file
given by `inference.py --output_noise -1 --output_noise_file FILE` in `QuantMixin.init_cim`
(pytorch-quantization/pytorch_quantization/cim/modules/_utils.py): csv.reader, the first
row is the header, the columns `output`, `mean` and `std` are found by name
(header.index), every later row gives float(row[column]); more than 2^adc_precision + 1
rows is an error. `CIM.ADC_output` (cim/modules/macro.py) then takes the ideal partial
sum s = inputs @ weights clamped to 0 .. 2^adc_precision, draws
normal(mean[s], std[s]), rounds it and clamps it to 0 .. 2^adc_precision. So row i is
partial sum i and the table needs exactly 2^bits + 1 rows.

This script re-implements that reader (not nladc's code) and checks the numbers against a
Monte Carlo of the exported JSON model: chips draw each threshold t_k from
N(mean_k, sigma_k), the code of the input x_i = i * scale is #{k : t_k < x_i}, the output
is levels[code] / scale.

Usage: neurosim_csv.py NLADC CHARACTERIZATION_DIR
Exit 0: pass, 1: a check failed, 77: NumPy is missing (ctest: skipped).
"""
import csv
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import numpy as np
except ImportError:
    print("neurosim_csv: NumPy is not installed for", sys.executable, "- skipped")
    sys.exit(77)

CHIPS = 200_000  # Monte Carlo chips
DRAWS = 20_000   # NeuroSim-style draws per row
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def read_like_neurosim(path):
    """The reader of init_cim: columns by name from the header, one float per row."""
    with open(path, "r") as file:
        reader = csv.reader(file)
        header = next(reader)
        if "output" not in header or "mean" not in header or "std" not in header:
            raise SystemExit(f"{path}: header {header} lacks output, mean or std")
        value_index, mean_index, std_index = header.index("output"), header.index("mean"), header.index("std")
        values, means, stds = [], [], []
        for row in reader:
            values.append(float(row[value_index]))
            stds.append(float(row[std_index]))
            means.append(float(row[mean_index]))
    return header, np.array(values), np.array(means), np.array(stds)


def main():
    nladc, characterization = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as work:
        csv_file, json_file = Path(work) / "m.csv", Path(work) / "m.json"
        for fmt, out in (("csv", csv_file), ("json", json_file)):
            subprocess.run([nladc, "export", "--from", characterization, "--format", fmt, "--out", str(out)],
                           check=True, stdout=subprocess.DEVNULL)
        header, outputs, means, stds = read_like_neurosim(csv_file)
        model = json.loads(json_file.read_text())
        # The extra columns a careless reader could trip on: partial_sum is the row index.
        with open(csv_file) as f:
            rows = list(csv.DictReader(f))

    levelset = model["levelset"]
    bits = levelset["bits"]
    lo, hi = levelset["range"]
    levels = np.array(levelset["levels"], dtype=float)
    mu = np.array([float(t["mean"]) for t in model["thresholds"]])  # "inf"/"-inf" read as floats
    sigma = np.array([float(t["sigma"]) for t in model["thresholds"]])
    scale = (hi - lo) / 2**bits  # the default partial-sum scale: the LSB
    partial_sums = 2**bits + 1

    # NeuroSim's own limit is "not more than 2^adc_precision + 1"; it indexes up to 2^adc_precision.
    check(len(means) == partial_sums, f"{len(means)} data rows, NeuroSim needs {partial_sums} for {bits} bits")
    check(np.all(np.isfinite(means)) and np.all(np.isfinite(stds)), "non-finite mean or std")
    check(np.all(np.diff(means) >= 0), "mean decreases somewhere")
    check(np.all(stds >= 0), "negative std")
    if "partial_sum" in header:
        check([int(r["partial_sum"]) for r in rows] == list(range(len(rows))), "partial_sum is not the row index")
    if "input" in header:
        inputs = np.array([float(r["input"]) for r in rows])
        check(np.allclose(inputs, np.arange(len(rows)) * scale, rtol=1e-15, atol=0), "input is not i * LSB")

    rng = np.random.default_rng(20250501)
    thresholds = mu + sigma * rng.standard_normal((CHIPS, len(mu)))
    thresholds[:, ~np.isfinite(mu)] = mu[~np.isfinite(mu)]
    step = np.max(np.diff(levels)) / scale  # the largest output step, counts
    worst_z = worst_clamp = 0.0
    for i in range(min(len(means), partial_sums)):
        x = i * scale
        out = levels[np.count_nonzero(thresholds < x, axis=1)] / scale
        m, s = out.mean(), out.std()
        # Nominal chip (the model's mean thresholds), the comparator's strict t < x.
        check(math.isclose(outputs[i], levels[np.count_nonzero(mu < x)] / scale, rel_tol=1e-12, abs_tol=1e-12),
              f"row {i}: output {outputs[i]} is not the nominal level / scale")
        # Mean: standard error s / sqrt(N).
        se = max(stds[i], s) / math.sqrt(CHIPS)
        z = abs(m - means[i]) / se if se > 0 else (0.0 if abs(m - means[i]) < 1e-12 else math.inf)
        worst_z = max(worst_z, z)
        check(z < 5, f"row {i}: Monte Carlo mean {m} against the csv's {means[i]} ({z:.1f} standard errors)")
        # Variance: Var(s^2) <= mu4 / N <= R^2 sigma^2 / N, R the largest |output - mean|.
        spread = max(float(np.max(np.abs(out - m))), step)
        tol = 6 * spread * max(stds[i], s) / math.sqrt(CHIPS) + 1e-12
        check(abs(s * s - stds[i] ** 2) <= tol,
              f"row {i}: Monte Carlo std {s} against the csv's {stds[i]} (variance tolerance {tol:.3g})")
        # NeuroSim's draw for this partial sum: round(normal(mean, std)), then its clamp to
        # 0 .. 2^bits. The normal only approximates a discrete output (a row between two
        # levels has a wide std), so the clamp may act in the tails; it must stay rare, and
        # the drawn counts must average to the table's mean within the integer rounding.
        raw = np.round(rng.normal(means[i], stds[i], DRAWS))
        draws = np.clip(raw, 0.0, float(2**bits))
        check(draws.min() >= 0 and draws.max() <= 2**bits, f"row {i}: NeuroSim draws leave 0 .. {2**bits}")
        clamped = float(np.mean((raw < 0) | (raw > 2**bits)))
        worst_clamp = max(worst_clamp, clamped)
        check(clamped <= 0.01, f"row {i}: NeuroSim's clamp changes {100 * clamped:.2f} % of the draws")
        check(abs(draws.mean() - means[i]) <= 0.5 + 5 * stds[i] / math.sqrt(DRAWS),
              f"row {i}: NeuroSim's draws average {draws.mean()}, the table's mean is {means[i]}")

    print(f"neurosim_csv: {len(means)} rows ({bits} bits, scale {scale:g}); Monte Carlo of {CHIPS} chips: "
          f"worst mean deviation {worst_z:.2f} standard errors; NeuroSim's clamp acts on at most "
          f"{100 * worst_clamp:.2f} % of a row's draws; {len(failures)} failures")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
