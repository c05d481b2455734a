"""Tests of nladc.torch (python/nladc/torch.py): NL-ADC layers in PyTorch networks.

Run: PYTHONPATH=build/python /usr/bin/python3 -m pytest -q python/tests/test_torch.py
(NLADC_CLI names the nladc executable the level sets are compared with; default
/work/main/build/nladc, or <NLADC_SOURCE>/build/nladc).
"""

import json
import math
import os
import subprocess
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

import nladc
import nladc.torch as nt

torch.set_num_threads(2)


def cli() -> str:
    if "NLADC_CLI" in os.environ:
        return os.environ["NLADC_CLI"]
    source = os.environ.get("NLADC_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
    return os.path.join(source, "build", "nladc")


# --------------------------------------------------------------------------------------
# fixtures


def small_net(seed: int = 0) -> nn.Sequential:
    """Conv-ReLU-Conv-BN-ReLU6-Flatten-Linear-ReLU-Linear on 1x8x8 inputs, random weights
    and BatchNorm statistics (names "0" .. "8": the activations are "1", "4", "7")."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(),
        nn.Conv2d(4, 6, 3), nn.BatchNorm2d(6), nn.ReLU6(),
        nn.Flatten(), nn.Linear(6 * 4 * 4, 16), nn.ReLU(),
        nn.Linear(16, 3))
    bn = net[3]
    with torch.no_grad():
        bn.running_mean.uniform_(-0.3, 0.3)
        bn.running_var.uniform_(0.2, 0.6)
        bn.weight.uniform_(1.0, 3.0)
        bn.bias.uniform_(-0.2, 0.5)
    return net


def batches(seed: int = 1, n: int = 4, size: int = 16, targets: bool = False):
    generator = torch.Generator().manual_seed(seed)
    data = [torch.randn(size, 1, 8, 8, generator=generator) for _ in range(n)]
    if targets:
        return [(x, torch.randint(0, 3, (size,), generator=generator)) for x in data]
    return data


def attached(bits=3, method="bs-kmq", seed=0, **kwargs):
    """small_net with NL-ADCs designed on batches(), in eval mode (forward passes in
    training mode would update the BatchNorm's running statistics)."""
    net = small_net(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nt.attach(net, batches(), bits=bits, method=method, **kwargs).eval()


def activation_outputs(net: nn.Module, data, names):
    """The float32 output values of the named modules over data (independent of nladc.torch)."""
    values = {name: [] for name in names}
    handles = [net.get_submodule(name).register_forward_hook(
        lambda m, i, o, name=name: values[name].append(o.detach().float().reshape(-1).numpy().copy()))
        for name in names]
    net.eval()
    with torch.no_grad():
        for x in data:
            net(x)
    for handle in handles:
        handle.remove()
    return {name: np.concatenate(v) for name, v in values.items()}


# --------------------------------------------------------------------------------------
# attach reproduces the CLI


@pytest.mark.parametrize("method", ["bs-kmq", "kmeans"])
def test_attach_matches_cli_layer_by_layer(tmp_path, method):
    """Every converted layer's levels are exactly what `nladc levels` designs on the
    activations dumped to .npy; per-layer bits; the dump is the documented subsample of
    the activation outputs; the layer outputs levels[code] of its input."""
    bits = {"1": 3, "4": 4, "7": 2}
    reference = small_net()
    full = activation_outputs(reference, batches(targets=False), ["1", "4", "7"])
    net = small_net()
    dump = tmp_path / "acts"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nt.attach(net, batches(targets=True), bits=bits, method=method, max_samples=5000, seed=3, dump=dump)
    assert len(caught) == 1 and "8" in str(caught[0].message)
    assert [name for name, _ in nt.nladc_layers(net)] == ["1", "4", "7"]
    assert [type(net[i]).__name__ for i in range(9)].count("NLADC") == 3
    assert net[1].activation == "relu" and net[4].activation == "relu6" and net[7].activation == "relu"

    for name, b in bits.items():
        layer = net.get_submodule(name)
        samples = np.load(dump / f"{name}.npy")
        assert samples.dtype == np.float32
        values = full[name]
        if values.size > 5000:  # the recorded, seeded subsample
            index = np.sort(np.random.default_rng(3).choice(values.size, 5000, replace=False))
            values = values[index]
            assert layer.calibration["subsampled"] and layer.calibration["values"] == full[name].size
        assert np.array_equal(samples, values)
        out = tmp_path / f"{name}.json"
        cmd = [cli(), "levels", "--input", str(dump / f"{name}.npy"), "--bits", str(b), "--method", method,
               "--seed", "3", "--out", str(out)]
        subprocess.run(cmd, check=True, capture_output=True)
        ref = nladc.LevelSet.load(str(out))
        assert layer.bits == ref.bits == b
        assert layer.method == ref.method == method and layer.variant == ref.variant
        assert np.array_equal(layer.levels.numpy(), ref.levels)
        assert np.array_equal(layer.thresholds.numpy(), ref.thresholds)
        assert float(layer.lo) == ref.lo and float(layer.hi) == ref.hi
        assert layer.chip_thresholds.shape == (0, 2 ** b - 1)

    # Each NLADC outputs levels[code(its input)]: hook its input, quantize with the LevelSet.
    seen = {}
    handles = [layer.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, (i[0], o)))
               for name, layer in nt.nladc_layers(net)]
    with torch.no_grad():
        net(batches(seed=9, n=1)[0])
    for handle in handles:
        handle.remove()
    for name, (x, y) in seen.items():
        layer = net.get_submodule(name)
        assert np.array_equal(y.numpy(), layer.levelset().quantize(x.numpy()))
        assert y.dtype == torch.float32


def test_skipped_layers_are_listed():
    """Activations after an addition, a pooling layer or a functional call, a module object
    used twice, and Conv/Linear outputs that feed no activation are listed with a reason
    and one warning; the convertible layer is converted."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(2, 2, 3, padding=1)
            self.relu1 = nn.ReLU()                       # convertible
            self.conv2 = nn.Conv2d(2, 2, 3, padding=1)
            self.relu_add = nn.ReLU()                    # after a residual addition
            self.pool = nn.MaxPool2d(2)
            self.relu_pool = nn.ReLU()                   # after pooling
            self.conv3 = nn.Conv2d(2, 2, 1)
            self.conv4 = nn.Conv2d(2, 2, 1)
            self.shared = nn.ReLU()                      # one object, used twice
            self.fc = nn.Linear(8, 3)                    # the classifier: no activation

        def forward(self, x):
            y = self.relu1(self.conv1(x))
            y = self.relu_add(self.conv2(y) + x)
            y = self.relu_pool(self.pool(y))
            y = self.shared(self.conv3(y)) + self.shared(self.conv4(y))
            return self.fc(y.flatten(1))

    torch.manual_seed(0)
    net = Net()
    data = [torch.randn(4, 2, 4, 4) for _ in range(2)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nt.attach(net, data, bits=2)
    assert len(caught) == 1
    assert isinstance(net.relu1, nt.NLADC)
    skipped = dict(net.nladc_skipped)
    assert set(skipped) == {"relu_add", "relu_pool", "shared", "conv2", "conv3", "conv4", "fc"}
    assert "addition" in skipped["relu_add"]
    assert "'pool' (MaxPool2d)" in skipped["relu_pool"]
    assert "called 2 times" in skipped["shared"]
    assert "feeds no ReLU" in skipped["conv2"] and "classifier" in skipped["fc"]
    assert "'shared'" in skipped["conv3"]
    for name in skipped:
        assert name in str(caught[0].message)
    for name in ("relu_add", "relu_pool", "shared"):
        assert isinstance(net.get_submodule(name), nn.ReLU)
    # A bits dict naming an unconvertible layer is an error, with the reason.
    with pytest.raises(ValueError, match="shared: called 2 times"):
        nt.attach(Net(), data, bits={"relu1": 2, "shared": 3})


# --------------------------------------------------------------------------------------
# forward and the straight-through estimator


def toy_layer(dtype=torch.float64):
    levels = nladc.LevelSet(np.array([0.0, 0.5, 1.25, 3.0]), np.array([0.2, 0.9, 2.0]), lo=0.0, hi=3.0,
                            method="custom")
    return nt.NLADC(levels, activation="relu", layer_name="toy"), levels


def test_forward_is_levels_of_code():
    layer, levels = toy_layer()
    x = torch.tensor([-5.0, 0.0, 0.2, 0.2000001, 0.9, 1.0, 2.0, 2.5, 3.0, 10.0], dtype=torch.float64)
    y = layer(x)
    # A value exactly on a threshold takes the lower code; negatives give levels[0].
    assert y.tolist() == [0.0, 0.0, 0.0, 0.5, 0.5, 1.25, 1.25, 3.0, 3.0, 3.0]
    assert np.array_equal(y.numpy(), levels.quantize(x.numpy()))
    assert np.array_equal(y.numpy(), nladc.lookup(x.numpy(), levels.thresholds, levels.levels))
    for shape in [(1,), (2, 3, 4, 5), ()]:
        torch.manual_seed(1)
        for dtype in (torch.float32, torch.float64):
            x = (torch.randn(shape, dtype=torch.float64) * 2).to(dtype)
            y = layer(x)
            assert y.shape == x.shape and y.dtype == dtype
            assert np.array_equal(y.numpy(), levels.quantize(x.numpy()))
    # Non-contiguous input.
    x = torch.randn(6, 4, dtype=torch.float64).t()
    assert np.array_equal(layer(x).numpy(), levels.quantize(x.contiguous().numpy()))


def test_ste_gradient():
    """The backward pass is a straight-through estimator: dL/dx = dL/dy where
    lo <= x <= hi and 0 outside, i.e. the derivative of clamp(x, lo, hi).

    The staircase's numeric derivative is 0 almost everywhere (and infinite at the
    thresholds), so a finite-difference check of the layer itself is meaningless. Instead
    torch.autograd.gradcheck compares the layer's analytic backward with the numeric
    Jacobian of the surrogate clamp(x, lo, hi): the function
    f(x) = y + (clamp(x, lo, hi) - y).detach() has clamp's value (so gradcheck's finite
    differences see clamp) and the layer's gradient (so its analytic Jacobian is the
    STE's). Points stay away from lo, hi (where clamp has a kink) by more than eps.
    """
    layer, levels = toy_layer()
    torch.manual_seed(2)
    x = torch.rand(40, dtype=torch.float64) * 5 - 1  # [-1, 4]: inside and outside [0, 3]
    x = x[((x - 0).abs() > 1e-3) & ((x - 3).abs() > 1e-3)].detach().requires_grad_(True)
    lo, hi = float(layer.lo), float(layer.hi)

    def surrogate(v):
        y = layer(v)
        return y + (torch.clamp(v, lo, hi) - y).detach()

    assert torch.autograd.gradcheck(surrogate, (x,), eps=1e-6, atol=1e-9)

    # Directly: the upstream gradient passes inside [lo, hi], 0 outside; boundaries included.
    x = torch.tensor([-1.0, 0.0, 0.1, 1.0, 2.9, 3.0, 3.5], dtype=torch.float64, requires_grad=True)
    upstream = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], dtype=torch.float64)
    layer(x).backward(upstream)
    assert x.grad.tolist() == [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]
    # float32 too
    x32 = x.detach().float().requires_grad_(True)
    layer(x32).backward(upstream.float())
    assert x32.grad.dtype == torch.float32 and x32.grad.tolist() == [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]


def test_gradients_reach_earlier_layers():
    net = attached(bits=3)
    net.train()
    x = batches(seed=4, n=1)[0]
    loss = net(x).pow(2).sum()
    loss.backward()
    for index in (0, 2, 6):
        grad = net[index].weight.grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


# --------------------------------------------------------------------------------------
# bad inputs


def test_bad_inputs_raise_with_message(tmp_path):
    layer, _ = toy_layer()
    with pytest.raises(ValueError, match=r"toy: element 1: is NaN"):
        layer(torch.tensor([0.5, math.nan, 1.0]))
    with pytest.raises(TypeError, match="float32 or float64"):
        layer(torch.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="float16"):
        layer(torch.tensor([1.0], dtype=torch.float16))
    with pytest.raises(ValueError, match="CPU"):
        layer(torch.empty(3, device="meta"))
    with pytest.raises(ValueError, match="bits = 0: expected 1 to 16"):
        nt.attach(small_net(), batches(), bits=0)
    with pytest.raises(ValueError, match="bits = 0"):
        nladc.design_levels(np.arange(10.0), bits=0)
    with pytest.raises(ValueError, match="17"):
        nt.attach(small_net(), batches(), bits={"1": 17})
    with pytest.raises(ValueError, match="nosuch"):
        nt.attach(small_net(), batches(), method="nosuch")
    missing = tmp_path / "missing.json"
    with pytest.raises(FileNotFoundError, match="missing.json"):
        nladc.LevelSet.load(str(missing))
    with pytest.raises(FileNotFoundError, match="missing.json"):
        nt.NLADC(str(missing))
    with pytest.raises(ValueError, match="no chips were sampled"):
        layer.chip = 0
        layer(torch.zeros(2))
    layer.chip = None
    with pytest.raises(ValueError, match="no batches"):
        nt.attach(small_net(), [])
    with pytest.raises(TypeError, match="calibration data item 0"):
        nt.attach(small_net(), [np.zeros((1, 1, 8, 8))])
    # A NaN in the calibration activations names the layer.
    net = small_net()
    with torch.no_grad():
        net[2].bias[0] = math.nan
    with pytest.raises(ValueError, match=r"^4: element \d+: is NaN"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nt.attach(net, batches())


# --------------------------------------------------------------------------------------
# persistence


def test_round_trip_torch_save_and_state_dict(tmp_path):
    net = attached(bits=3)
    nt.sample_chips(net, None, n=3, seed=7)
    x = batches(seed=5, n=1)[0]
    with torch.no_grad():
        nominal = net(x)
        with nt.chip(net, 1):
            chip1 = net(x)
    assert not torch.equal(nominal, chip1)

    path = tmp_path / "model.pt"
    torch.save(net, path)
    loaded = torch.load(path)
    with torch.no_grad():
        assert torch.equal(loaded(x), nominal)
        with nt.chip(loaded, 1):
            assert torch.equal(loaded(x), chip1)
    assert loaded.nladc_skipped == net.nladc_skipped

    # state_dict into a freshly attached copy designed on other data, at other widths,
    # without chips: buffers (their shapes too) and attributes come from the state_dict.
    torch.save(net.state_dict(), tmp_path / "state.pt")
    fresh = small_net(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nt.attach(fresh, batches(seed=11), bits=2, method="linear")
    assert fresh[1].bits == 2 and fresh[1].chips == 0
    fresh.load_state_dict(torch.load(tmp_path / "state.pt"))
    fresh.eval()
    for (name, a), (_, b) in zip(nt.nladc_layers(net), nt.nladc_layers(fresh)):
        assert (a.bits, a.method, a.variant, a.activation, a.layer_name) == (b.bits, b.method, b.variant,
                                                                           b.activation, b.layer_name)
        for buffer in ("thresholds", "levels", "lo", "hi", "chip_thresholds"):
            assert torch.equal(getattr(a, buffer), getattr(b, buffer)), (name, buffer)
    with torch.no_grad():
        assert torch.equal(fresh(x), nominal)
        with nt.chip(fresh, 1):
            assert torch.equal(fresh(x), chip1)


def test_float64_model_and_dtype_moves():
    net = small_net().double()
    data = [x.double() for x in batches()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nt.attach(net, data, bits=3)
    y = net(data[0])
    assert y.dtype == torch.float64
    thresholds = net[1].thresholds.clone()
    net.float()  # buffers keep float64: thresholds are not rounded
    assert net[1].thresholds.dtype == torch.float64 and torch.equal(net[1].thresholds, thresholds)
    assert net(data[0].float()).dtype == torch.float32


# --------------------------------------------------------------------------------------
# Monte Carlo chips


def test_sample_chips(tmp_path):
    net = attached(bits={"1": 3, "4": 2, "7": 3}, dump=tmp_path / "acts")
    nt.sample_chips(net, None, n=4, seed=5)
    first = {name: layer.chip_thresholds.clone() for name, layer in nt.nladc_layers(net)}
    for name, layer in nt.nladc_layers(net):
        assert layer.chip_thresholds.shape == (4, 2 ** layer.bits - 1)
        assert layer.chip_thresholds.dtype == torch.float64
        rows = layer.chip_thresholds
        assert not torch.equal(rows[0], rows[1])  # chips differ
    for index, (name, layer) in enumerate(nt.nladc_layers(net)):
        assert layer.chip_source["seed"] == 5 + index and layer.chip_source["n"] == 4
    # Chip i's thresholds are nladc.sample_chips(design, n, seed + layer index)[i] of the
    # layer's design, the design made independently from the dumped samples.
    for index, (name, layer) in enumerate(nt.nladc_layers(net)):
        samples = np.load(tmp_path / "acts" / f"{name}.npy")
        design = nladc.map_levels(nladc.design_levels(samples, bits=layer.bits, method="bs-kmq"), compensate=True)
        expected = nladc.sample_chips(design, n=4, seed=5 + index)
        assert np.array_equal(layer.chip_thresholds.numpy(), expected)
        assert layer.chip_source["design_hash"] == layer.design(compensate=True).hash
    # Deterministic for a seed; another seed gives other chips.
    nt.sample_chips(net, None, n=4, seed=5)
    for name, layer in nt.nladc_layers(net):
        assert torch.equal(layer.chip_thresholds, first[name])
    nt.sample_chips(net, None, n=4, seed=6)
    assert any(not torch.equal(layer.chip_thresholds, first[name]) for name, layer in nt.nladc_layers(net))

    # The chip context changes outputs and restores the nominal selection.
    x = batches(seed=6, n=1)[0]
    with torch.no_grad():
        nominal = net(x)
        outputs = []
        for i in range(4):
            with nt.chip(net, i):
                assert all(layer.chip == i for _, layer in nt.nladc_layers(net))
                outputs.append(net(x))
        assert all(layer.chip is None for _, layer in nt.nladc_layers(net))
        assert torch.equal(net(x), nominal)
    assert any(not torch.equal(o, nominal) for o in outputs)
    assert not torch.equal(outputs[0], outputs[1])
    previous = nt.set_chip(net, 2)
    assert set(previous.values()) == {None} and net[1].chip == 2
    nt.set_chip(net, None)
    with pytest.raises(ValueError, match="expected 0 to 3"):
        nt.set_chip(net, 4)

    # compensate (and rows) reach map_levels.
    nt.sample_chips(net, None, n=2, seed=5, compensate=False)
    layer = net[4]
    expected = nladc.sample_chips(nladc.map_levels(layer.levelset()), n=2, seed=5 + 1)
    assert np.array_equal(layer.chip_thresholds.numpy(), expected) and not layer.chip_source["compensate"]

    # A study JSON is recognised by its format and passed to sample_chips.
    study = tmp_path / "study.json"
    study.write_text(json.dumps({"format": "nladc-study", "version": 2, "variation": {"v_read_sigma_rel": 0.05}}))
    nt.sample_chips(net, study, n=2, seed=3)
    layer = net[1]
    expected = nladc.sample_chips(nladc.map_levels(layer.levelset(), compensate=True), str(study), n=2, seed=3)
    assert np.array_equal(layer.chip_thresholds.numpy(), expected)
    assert layer.chip_source["study"] == str(study) and layer.chip_source["technology"] is None

    # refit_levels clears the chips with a warning and redesigns on the current weights:
    # the same levels as attaching the modified float network afresh.
    with torch.no_grad():
        net[0].weight.mul_(1.5)
    with pytest.warns(UserWarning, match="cleared the sampled chips"):
        nt.refit_levels(net, batches(seed=12))
    reference = small_net().eval()
    with torch.no_grad():
        reference[0].weight.mul_(1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nt.attach(reference, batches(seed=12), bits={"1": 3, "4": 2, "7": 3})
    for (name, a), (_, b) in zip(nt.nladc_layers(net), nt.nladc_layers(reference)):
        assert a.chips == 0 and a.chip is None
        assert torch.equal(a.levels, b.levels) and torch.equal(a.thresholds, b.thresholds), name
        assert not a.bypass


# --------------------------------------------------------------------------------------
# describe


def test_describe(tmp_path):
    net = attached(bits={"1": 3, "4": 4, "7": 2})
    d = nt.describe(net, (2, 1, 8, 8))
    json.dumps(d)  # serializable
    assert d["format"] == "nladc-network" and d["version"] == 1
    layers = {entry["name"]: entry for entry in d["layers"]}
    assert list(layers) == ["0", "2", "6", "8"]
    conv = layers["2"]
    assert conv["type"] == "Conv2d" and conv["input_shape"] == [4, 6, 6] and conv["output_shape"] == [6, 4, 4]
    assert conv["kernel"] == [3, 3] and conv["in_channels"] == 4 and conv["out_channels"] == 6
    assert conv["macs_per_inference"] == 4 * 4 * 6 * 4 * 3 * 3  # out_h*out_w*out_c*in_c*k*k
    assert conv["batchnorm"] == "3"
    assert conv["adc"]["name"] == "4" and conv["adc"]["bits"] == 4 and conv["adc"]["method"] == "bs-kmq"
    assert conv["adc"]["activation"] == "relu6" and conv["adc"]["conversions_per_inference"] == 96
    assert layers["0"]["macs_per_inference"] == 6 * 6 * 4 * 1 * 3 * 3 and layers["0"]["adc"]["bits"] == 3
    assert layers["6"]["macs_per_inference"] == 96 * 16 and layers["6"]["in_features"] == 96
    assert layers["6"]["adc"]["bits"] == 2 and layers["6"]["batchnorm"] is None
    assert layers["8"]["adc"] is None and layers["8"]["macs_per_inference"] == 16 * 3
    totals = d["totals"]
    assert totals["macs_per_inference"] == sum(e["macs_per_inference"] for e in d["layers"])
    assert totals["adc_layers"] == 3 and totals["mac_layers"] == 4
    assert totals["adc_conversions_per_inference"] == 144 + 96 + 16

    path = tmp_path / "network.json"
    saved = nt.save_description(net, (2, 1, 8, 8), path)
    assert json.loads(path.read_text()) == saved == d
    assert os.listdir(tmp_path) == ["network.json"]  # no temporary left behind
    # Without NL-ADCs every adc is null.
    plain = nt.describe(small_net(), [1, 1, 8, 8])
    assert all(entry["adc"] is None for entry in plain["layers"])
    assert plain["totals"]["macs_per_inference"] == totals["macs_per_inference"]
