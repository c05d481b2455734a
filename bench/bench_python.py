#!/usr/bin/env python3
"""Python-side speed (issue 16), ratios against baselines measured in the same run.

1. Threshold conversion through an exported 4-bit model: nladc.ADCModel.output on 10^8
   float32 values (target >= 2e8 values/s on 2 cores). Baselines: numpy copying the same
   array (the memory floor) and numpy.searchsorted + take (what a user would write).
2. A CNN forward pass on the CPU with NL-ADCs attached against the float forward pass
   (target <= 1.3x): the examples/pytorch_quickstart.py network, batch 256, 2 threads.
3. A crossbar layer through the behavioral ADC, Adc.convert_inputs (BehavioralAdc::
   convert_batch underneath; ideal wires, 64 rows x 32 columns, 8192 input vectors),
   against numpy's float64 matmul of the same shapes (the MACs alone, no ADC).

Usage: PYTHONPATH=build/python /usr/bin/python3 bench/bench_python.py [values]
(scripts/bench.sh runs it after the C++ benchmarks.)
"""

import os
import pathlib
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn

import nladc
import nladc.torch as nt

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODEL = ROOT / "characterization" / "default" / "models" / "adc_model.json"
torch.set_num_threads(2)


def median_seconds(repeats, work):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_lookup(n):
    model = nladc.ADCModel.load(MODEL)
    rng = np.random.default_rng(1)
    x = rng.uniform(model.lo - 0.5, model.hi + 0.5, n).astype(np.float32)
    t_copy = median_seconds(3, lambda: x.copy())
    small = x[: n // 10]
    thresholds, levels = model.thresholds, model.levels.astype(np.float32)
    t_numpy = median_seconds(3, lambda: levels[np.searchsorted(thresholds, small, side="left")]) * 10
    t_1 = median_seconds(3, lambda: model.output(x, threads=1))
    t_2 = median_seconds(3, lambda: model.output(x, threads=2))
    check = model.output(small[:100000])
    assert np.array_equal(check, levels[np.searchsorted(thresholds, small[:100000].astype(np.float64), side="left")])
    print(f"ADCModel.output: {n:.0e} float32 values through the 4-bit model ({MODEL.relative_to(ROOT)})")
    print(f"  baseline numpy copy           {t_copy:7.3f} s  {n / t_copy:.3g} values/s")
    print(f"  baseline numpy searchsorted   {t_numpy:7.3f} s  {n / t_numpy:.3g} values/s")
    print(f"  nladc, 1 thread               {t_1:7.3f} s  {n / t_1:.3g} values/s  ({t_numpy / t_1:.1f}x numpy, {t_1 / t_copy:.2f}x copy time)")
    print(f"  nladc, 2 threads              {t_2:7.3f} s  {n / t_2:.3g} values/s  ({t_numpy / t_2:.1f}x numpy, {t_1 / t_2:.2f}x 1 thread)")
    print(f"  target >= 2e8 values/s on 2 cores: {'met' if n / t_2 >= 2e8 else 'MISSED'}")


def quickstart_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(800, 128), nn.ReLU(), nn.Linear(128, 10))


def bench_cnn():
    torch.manual_seed(1)
    model = quickstart_cnn().eval()
    batch = torch.rand(256, 1, 28, 28)
    calibration = [torch.rand(64, 1, 28, 28) for _ in range(4)]
    import copy
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attached = nt.attach(copy.deepcopy(model), calibration, bits=4, method="bs-kmq").eval()
    with torch.no_grad():
        for m in (model, attached):  # warm-up
            m(batch)
        t_float = median_seconds(15, lambda: model(batch))
        t_adc = median_seconds(15, lambda: attached(batch))
    ratio = t_adc / t_float
    print("CNN forward (quickstart network, batch 256, 2 threads, no grad)")
    print(f"  float (ReLU)                  {t_float * 1e3:7.2f} ms")
    print(f"  NL-ADCs attached (4-bit)      {t_adc * 1e3:7.2f} ms  ({ratio:.2f}x float)")
    print(f"  target <= 1.3x float: {'met' if ratio <= 1.3 else 'MISSED'}")


def bench_layer():
    adc = nladc.Adc(ROOT / "characterization" / "default" / "mapping" / "design.json", ideal=True)
    rng = np.random.default_rng(2)
    inputs = rng.uniform(0.0, 1.0, (8192, 64))
    weights = rng.uniform(-1.0, 1.0, (64, 32))
    n = inputs.shape[0] * weights.shape[1]
    t_matmul = median_seconds(5, lambda: inputs @ weights)
    t_1 = median_seconds(5, lambda: adc.convert_inputs(inputs, weights, threads=1))
    t_2 = median_seconds(5, lambda: adc.convert_inputs(inputs, weights, threads=2))
    print("Adc.convert_inputs: 8192 inputs x (64 rows x 32 columns), ideal wires")
    print(f"  baseline numpy matmul         {t_matmul * 1e3:7.2f} ms  {n / t_matmul:.3g} 64-row dot products/s")
    print(f"  nladc, 1 thread               {t_1 * 1e3:7.2f} ms  {n / t_1:.3g} conversions/s  ({t_1 / t_matmul:.1f}x matmul)")
    print(f"  nladc, 2 threads              {t_2 * 1e3:7.2f} ms  {n / t_2:.3g} conversions/s  ({t_1 / t_2:.2f}x 1 thread)")


if __name__ == "__main__":
    bench_lookup(int(float(sys.argv[1])) if len(sys.argv) > 1 else 100_000_000)
    bench_cnn()
    bench_layer()
