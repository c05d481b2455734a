#!/usr/bin/env python3
"""nladc.torch quickstart: a Fashion-MNIST CNN with in-memory nonlinear ADCs.

    PYTHONPATH=build/python /usr/bin/python3 examples/pytorch_quickstart.py

Trains a small CNN for one epoch (Adam), then replaces its ReLUs by 3-bit NL-ADCs
designed on 10 training batches (linear and BS-KMQ levels), and evaluates the float
network, both ADC networks and five Monte Carlo chips of each on the 10 000 test images
(the BS-KMQ chips also with the replica steps compensated for the nominal circuit). Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist;
NLADC_FASHION_MNIST overrides the directory). NLADC_QUICKSTART_FAST=1 shrinks the run
(2 000 training and 1 000 test images) for the test suite. Seeded: the same machine
prints the same accuracies (the wall time aside). docs/python.md explains it.
"""

import copy
import gzip
import os
import time
import warnings

import numpy as np
import torch
import torch.nn as nn

import nladc
import nladc.torch as nt

start = time.perf_counter()
torch.set_num_threads(2)
torch.manual_seed(1)

DATA = os.environ.get("NLADC_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
FAST = os.environ.get("NLADC_QUICKSTART_FAST", "") == "1"
BITS = 3
BATCH = 64
CALIBRATION_BATCHES = 10
CHIPS = 5


def read_idx(name: str) -> np.ndarray:
    """An IDX file (gzip): magic 0x0000 08 NDIM (unsigned bytes), NDIM big-endian sizes, data."""
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{name}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def images(name: str) -> torch.Tensor:
    return torch.from_numpy(read_idx(name).astype(np.float32) / 255.0).unsqueeze(1)  # [N, 1, 28, 28] in [0, 1]


train_x, train_y = images("train-images-idx3-ubyte.gz"), torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
test_x, test_y = images("t10k-images-idx3-ubyte.gz"), torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
if FAST:
    train_x, train_y, test_x, test_y = train_x[:2000], train_y[:2000], test_x[:1000], test_y[:1000]
print(f"Fashion-MNIST: {len(train_x)} training images, {len(test_x)} test images")

model = nn.Sequential(
    nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),    # 28 -> 26 -> 13
    nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),   # 13 -> 11 -> 5
    nn.Flatten(), nn.Linear(800, 128), nn.ReLU(),
    nn.Linear(128, 10))

# One epoch of Adam on seeded shuffled batches.
generator = torch.Generator().manual_seed(1)
order = torch.randperm(len(train_x), generator=generator)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
model.train()
train_start = time.perf_counter()
for i in range(0, len(order), BATCH):
    index = order[i:i + BATCH]
    optimizer.zero_grad()
    loss_fn(model(train_x[index]), train_y[index]).backward()
    optimizer.step()
steps = (len(order) + BATCH - 1) // BATCH
print(f"trained 1 epoch ({steps} steps of {BATCH} images) in {time.perf_counter() - train_start:.1f} s")


def accuracy(net: nn.Module) -> float:
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(test_x), 1000):
            correct += (net(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum().item()
    return correct / len(test_x)


print(f"float accuracy: {accuracy(model):.4f}")

# Calibration: 10 training batches (another seeded draw than the training order).
calibration_order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(2))
calibration = [train_x[calibration_order[i * BATCH:(i + 1) * BATCH]] for i in range(CALIBRATION_BATCHES)]

results = {}
for method in ("linear", "bs-kmq"):
    net = copy.deepcopy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the skipped list is printed below
        nt.attach(net, calibration, bits=BITS, method=method)
    results[method] = net
    for name, layer in nt.nladc_layers(net):
        levels = " ".join(f"{v:.3g}" for v in layer.levels.tolist())
        print(f"  {method} layer {name}: {layer.bits} bits, range [{float(layer.lo):.3g}, {float(layer.hi):.3g}], "
              f"levels {levels} ({layer.calibration['samples']} of {layer.calibration['values']} values)")
    print(f"{method} {BITS}-bit NL-ADC accuracy: {accuracy(net):.4f}")
print("not converted: " + "; ".join(f"{name} ({reason})" for name, reason in results["bs-kmq"].nladc_skipped))

bskmq = results["bs-kmq"]
# What a system-level model reads (nt.save_description writes it as JSON).
description = nt.describe(bskmq, (1, 1, 28, 28))
for entry in description["layers"]:
    adc = entry["adc"]
    print(f"  {entry['name']} {entry['type']} {entry['input_shape']} -> {entry['output_shape']}: "
          f"{entry['macs_per_inference']} MACs, " +
          (f"{adc['conversions_per_inference']} conversions of the {adc['bits']}-bit {adc['method']} NL-ADC "
           f"'{adc['name']}'" if adc else "no NL-ADC"))
totals = description["totals"]
print(f"network: {totals['macs_per_inference']} MACs and {totals['adc_conversions_per_inference']} NL-ADC "
      "conversions per image")



def chip_accuracies(net: nn.Module) -> list:
    values = []
    for i in range(CHIPS):
        with nt.chip(net, i):
            values.append(accuracy(net))
    return values


def summary(values: list) -> str:
    return (f"mean {np.mean(values):.4f} ± {np.std(values, ddof=1):.4f} (sample std; "
            + " ".join(f"{v:.4f}" for v in values) + ")")


# Monte Carlo chips of the converters (the MAC arrays stay ideal), default technology,
# the replica steps compensated for the nominal circuit (the default, as the flow maps).
nt.sample_chips(bskmq, None, n=CHIPS, seed=1)
accuracies = chip_accuracies(bskmq)
for i, value in enumerate(accuracies):
    print(f"bs-kmq chip {i} accuracy: {value:.4f}")
print(f"bs-kmq {CHIPS} chips: {summary(accuracies)}")
linear = results["linear"]
nt.sample_chips(linear, None, n=CHIPS, seed=1)
print(f"linear {CHIPS} chips: {summary(chip_accuracies(linear))}")
# Without compensation the chips also carry the nominal circuit's systematic error.
nt.sample_chips(bskmq, None, n=CHIPS, seed=1, compensate=False)
first = bskmq[1]
print(f"bs-kmq {CHIPS} chips, uncompensated mapping: {summary(chip_accuracies(bskmq))}")
print(f"  layer 1 thresholds: designed {' '.join(f'{t:.3g}' for t in first.thresholds.tolist())}; "
      f"uncompensated chip mean {' '.join(f'{t:.3g}' for t in first.chip_thresholds.mean(0).tolist())}")
print(f"nladc {nladc.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads")
print(f"wall time: {time.perf_counter() - start:.1f} s")
