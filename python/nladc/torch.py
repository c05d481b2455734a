"""nladc.torch: in-memory nonlinear ADCs (NL-ADC) in PyTorch networks.

In an analog in-memory accelerator a Conv2d/Linear layer is a crossbar whose column
currents are the layer's pre-activations (MAC values); the NL-ADC digitizes each one
against 2^bits - 1 thresholds and outputs the code's level. Because its lowest level
is the range start, the converter realizes the ReLU (or the clamp of ReLU6/Hardtanh)
itself: this module replaces the activation module that follows a Conv/Linear layer.

    import nladc.torch as nt
    model = nt.attach(model, calibration_batches, bits=3, method="bs-kmq")
    nt.sample_chips(model, None, n=5, seed=1)      # Monte Carlo chips of every ADC
    with nt.chip(model, 2):
        logits = model(x)                          # chip 2's thresholds

Units: thresholds, levels, lo and hi are in the activation's units (the values the
replaced activation module outputs, i.e. the layer's MAC units after any folded
BatchNorm). Codes are integers 0 .. 2^bits - 1.

The code of a value x is the number of thresholds strictly below x (a value exactly on a
threshold takes the lower code), computed in C++ by nladc.lookup: no Python loop and no
torch.bucketize. Only CPU float32/float64 tensors are accepted.

The file is named torch.py inside the nladc package; `import torch` below is an absolute
import and gets PyTorch. Never put the nladc package directory itself (python/nladc) on
sys.path, or this file would shadow PyTorch.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import uuid
import warnings
from collections import Counter, defaultdict
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import _core

__all__ = [
    "NLADC",
    "attach",
    "refit_levels",
    "sample_chips",
    "set_chip",
    "chip",
    "nladc_layers",
    "describe",
    "save_description",
    "DEFAULT_MAX_SAMPLES",
    "NETWORK_FORMAT",
    "NETWORK_VERSION",
]

#: Calibration values per layer above which attach/refit_levels design on a seeded
#: random subsample (exact k-means runs on the sorted data up to 262 144 samples and on a
#: refined histogram above; both are fast at this size).
DEFAULT_MAX_SAMPLES = 1_000_000

NETWORK_FORMAT = "nladc-network"
NETWORK_VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]

# Modules whose outputs are MAC values (crossbar columns), BatchNorms that fold into them
# in inference, and the activation modules an NL-ADC replaces (nn.ReLU6 is a Hardtanh).
_MAC_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_BN_TYPES = (nn.modules.batchnorm._BatchNorm,)
_ACT_TYPES = (nn.ReLU, nn.Hardtanh)
_BUFFERS = ("thresholds", "levels", "lo", "hi", "chip_thresholds")
_HARDTANH = re.compile(r"^hardtanh\(([^,()]+),([^,()]+)\)$")


# --------------------------------------------------------------------------------------
# The layer


def activation_label(module: nn.Module) -> str:
    """"relu", "relu6" or "hardtanh(a,b)" (a, b the clamp bounds) of an activation module."""
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.ReLU6):
        return "relu6"
    if isinstance(module, nn.Hardtanh):
        return f"hardtanh({float(module.min_val)!r},{float(module.max_val)!r})"
    raise TypeError(f"{type(module).__name__} is not an activation nladc.torch converts (ReLU, ReLU6, Hardtanh)")


def _float_activation(label: str, x: torch.Tensor) -> torch.Tensor:
    """The float activation an NLADC replaced, applied to x (used while it is bypassed)."""
    if label == "relu":
        return torch.relu(x)
    if label == "relu6":
        return F.hardtanh(x, 0.0, 6.0)
    match = _HARDTANH.match(label)
    if match:
        return F.hardtanh(x, float(match.group(1)), float(match.group(2)))
    raise ValueError(f'activation "{label}": expected "relu", "relu6" or "hardtanh(a,b)"')


class _LookupSTE(torch.autograd.Function):
    """levels[code(x)] forward (C++ lookup); straight-through estimator backward.

    Backward: dL/dx = dL/dy where lo <= x <= hi, 0 elsewhere, i.e. the derivative of
    clamp(x, lo, hi), the smooth function the staircase follows (Bengio et al. 2013,
    "clipped STE"). The staircase's own derivative is 0 almost everywhere, which would
    stop all learning.
    """

    @staticmethod
    def forward(ctx, x, thresholds, levels, lo, hi, label):  # type: ignore[override]
        values = x.detach().contiguous().numpy()
        out = _core.lookup(values, thresholds, levels, label=label)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return torch.from_numpy(out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        wide = x.detach().to(torch.float64)  # compare against the float64 range exactly
        outside = (wide < ctx.lo) | (wide > ctx.hi)
        return grad.masked_fill(outside, 0), None, None, None, None, None


def _as_levelset(levels: Any) -> "_core.LevelSet":
    if isinstance(levels, _core.LevelSet):
        return levels
    if isinstance(levels, (str, os.PathLike)):
        return _core.LevelSet.load(levels)
    raise TypeError(f"levels: expected an nladc.LevelSet or a level-set file path, got {type(levels).__name__}")


class NLADC(nn.Module):
    """An NL-ADC in place of an activation module: output = levels[code(x)].

    x is the MAC value (the pre-activation output of the Conv/Linear layer before it, after
    a folded BatchNorm), in activation units. code(x) = number of thresholds strictly below
    x, computed by the C++ lookup (nladc.lookup) on the tensor's memory; with a chip
    selected (`chip` = i, see sample_chips / chip()) the thresholds are that Monte Carlo
    chip's, row i of `chip_thresholds`; the output levels stay the designed ones (they
    are digital). Negative inputs give code 0, i.e. levels[0]: the ADC realizes the ReLU or
    clamp itself.

    Input: a CPU tensor of any shape, float32 or float64; the output has its shape and
    dtype (float32 outputs hold the levels rounded to float32). Other dtypes raise
    TypeError, other devices ValueError, a NaN ValueError naming the element.

    Backward: straight-through estimator, the gradient passes unchanged where
    lo <= x <= hi and is 0 outside (the derivative of clamp(x, lo, hi)).

    Buffers (state_dict, torch.save): thresholds [K] and levels [K + 1] (float64, K =
    2^bits - 1), lo and hi (0-d float64, the level range), chip_thresholds [n, K]
    (float64, [0, K] when no chips were sampled). Attributes: bits, method, variant,
    activation ("relu", "relu6", "hardtanh(a,b)": the module it replaced), layer_name,
    chip (None = nominal), bypass (True: apply the float activation instead; refit_levels
    uses it), calibration (how the levels were designed), chip_source (how chips were
    drawn). The buffers stay float64 on the CPU whatever model.float()/.half()/.to() do.
    """

    def __init__(self, levels: Any, activation: str = "relu", layer_name: str = "") -> None:
        """levels: an nladc.LevelSet or a level-set JSON path; activation: the label of the
        activation module replaced ("relu", "relu6", "hardtanh(a,b)")."""
        super().__init__()
        _float_activation(activation, torch.zeros(1))  # validates the label
        self.activation = activation
        self.layer_name = layer_name
        self.chip: Optional[int] = None
        self.bypass = False
        self.calibration: Dict[str, Any] = {}
        self.chip_source: Dict[str, Any] = {}
        for name in _BUFFERS:
            self.register_buffer(name, torch.zeros(0, dtype=torch.float64))
        self.set_levels(_as_levelset(levels))

    # ---- level set

    def set_levels(self, levelset: "_core.LevelSet") -> None:
        """Installs a level set (bits, method, variant, levels, thresholds, range) and clears
        any sampled chips."""
        self.bits = int(levelset.bits)
        self.method = str(levelset.method)
        self.variant = str(levelset.variant)
        self.thresholds = torch.from_numpy(np.array(levelset.thresholds, dtype=np.float64))
        self.levels = torch.from_numpy(np.array(levelset.levels, dtype=np.float64))
        self.lo = torch.tensor(float(levelset.lo), dtype=torch.float64)
        self.hi = torch.tensor(float(levelset.hi), dtype=torch.float64)
        self.clear_chips()

    def levelset(self) -> "_core.LevelSet":
        """The nominal level set as an nladc.LevelSet (for map_levels, score_levels, save)."""
        return _core.LevelSet(self.levels.numpy(), self.thresholds.numpy(), lo=float(self.lo), hi=float(self.hi),
                              method=self.method)

    def design(self, technology: Optional[PathLike] = None, **kwargs: Any) -> "_core.Design":
        """nladc.map_levels(self.levelset(), technology, **kwargs): the replica-column design
        sample_chips draws chips of."""
        return _core.map_levels(self.levelset(), technology, **kwargs)

    # ---- chips

    @property
    def chips(self) -> int:
        """Number of sampled chips (rows of chip_thresholds)."""
        return int(self.chip_thresholds.shape[0])

    def set_chips(self, thresholds: Any, source: Optional[Mapping[str, Any]] = None) -> None:
        """Stores per-chip thresholds [n, K] (activation units) and deselects any chip."""
        table = torch.as_tensor(np.array(thresholds, dtype=np.float64, copy=True))
        k = int(self.thresholds.numel())
        if table.dim() != 2 or table.shape[1] != k:
            raise ValueError(f"{self._label()}: chip thresholds of shape {tuple(table.shape)}: expected [n, {k}]")
        self.chip_thresholds = table
        self.chip_source = dict(source or {})
        self.chip = None

    def clear_chips(self) -> None:
        self.chip_thresholds = torch.zeros((0, int(self.thresholds.numel())), dtype=torch.float64)
        self.chip_source = {}
        self.chip = None

    def active_thresholds(self) -> np.ndarray:
        """The thresholds forward() compares against: the nominal ones, or the selected
        chip's, sorted (code = #{T_k < x} does not depend on their order)."""
        if self.chip is None:
            return self.thresholds.numpy()
        index = self._chip_index(self.chip)
        return np.sort(self.chip_thresholds[index].numpy())

    def _chip_index(self, index: Any) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{self._label()}: chip index {index!r}: expected an int or None")
        n = self.chips
        if n == 0:
            raise ValueError(f"{self._label()}: chip {index} selected but no chips were sampled "
                             "(nladc.torch.sample_chips)")
        if not -n <= int(index) < n:
            raise ValueError(f"{self._label()}: chip {index}: expected 0 to {n - 1} ({n} chips sampled)")
        return int(index) % n

    # ---- forward

    def _label(self) -> str:
        return self.layer_name or "NLADC"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{self._label()}: expected a torch.Tensor, got {type(x).__name__}")
        if x.device.type != "cpu":
            raise ValueError(f"{self._label()}: NLADC runs on CPU tensors, got one on {x.device} "
                             "(move the model and its inputs to the CPU)")
        if x.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{self._label()}: NLADC takes float32 or float64 tensors, got {x.dtype}")
        if self.bypass:
            return _float_activation(self.activation, x)
        return _LookupSTE.apply(x, self.active_thresholds(), self.levels.numpy(), float(self.lo), float(self.hi),
                                self._label())

    def extra_repr(self) -> str:
        method = self.method + (f"/{self.variant}" if self.variant else "")
        text = (f"{self.layer_name!r}, bits={self.bits}, method={method}, activation={self.activation}, "
                f"range=[{float(self.lo):.6g}, {float(self.hi):.6g}]")
        if self.chips:
            text += f", chips={self.chips}, chip={self.chip}"
        return text

    # ---- state: buffers keep float64 on the CPU; the attributes travel in the state_dict

    def _apply(self, fn, *args, **kwargs):  # type: ignore[override]
        kept = {name: self._buffers[name] for name in _BUFFERS}
        result = super()._apply(fn, *args, **kwargs)
        self._buffers.update(kept)
        return result

    def get_extra_state(self) -> Dict[str, Any]:
        return {
            "version": 1,
            "bits": self.bits,
            "method": self.method,
            "variant": self.variant,
            "activation": self.activation,
            "layer_name": self.layer_name,
            "chip": self.chip,
            "calibration": dict(self.calibration),
            "chip_source": dict(self.chip_source),
        }

    def set_extra_state(self, state: Dict[str, Any]) -> None:
        for key in ("bits", "method", "variant", "activation", "layer_name", "chip", "calibration", "chip_source"):
            if key in state:
                setattr(self, key, state[key])

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # The level count and the number of chips may differ from this instance's: take
        # the shapes of the incoming buffers (values are then copied by the base class).
        for name in _BUFFERS:
            incoming = state_dict.get(prefix + name)
            if isinstance(incoming, torch.Tensor) and incoming.shape != self._buffers[name].shape:
                self._buffers[name] = torch.zeros(incoming.shape, dtype=torch.float64)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        if self.chip is not None and not -self.chips <= self.chip < self.chips:
            self.chip = None


def nladc_layers(model: nn.Module) -> List[Tuple[str, NLADC]]:
    """(qualified name, layer) of every NLADC in the model, in named_modules() order."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, NLADC)]


# --------------------------------------------------------------------------------------
# Tracing: which module produced each activation's input


def _batches(data: Iterable[Any]) -> Iterator[torch.Tensor]:
    for i, item in enumerate(data):
        if isinstance(item, torch.Tensor):
            yield item
        elif isinstance(item, (tuple, list)) and item and isinstance(item[0], torch.Tensor):
            yield item[0]
        else:
            raise TypeError(f"calibration data item {i}: expected a tensor or an (input, target) pair, "
                            f"got {type(item).__name__}")


class _Trace:
    """Forward hooks on every submodule that follow tensors by identity: a MAC module's
    output, that output through one BatchNorm, or anything else. For each activation module
    (ReLU/ReLU6/Hardtanh or NLADC): what fed it in the first forward pass, how often it ran
    per pass, and (if selected) its output values as float32. For each MAC module: its
    shapes and calls per pass."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.types = {name: type(module).__name__ for name, module in model.named_modules()}
        self.produced: Dict[int, Tuple[torch.Tensor, Tuple[Any, ...]]] = {}
        self.first = True
        self.forwards = 0
        self.act_calls: Counter = Counter()  # calls in the first forward pass
        self.mac_calls: Counter = Counter()
        self.sources: Dict[str, Tuple[Any, ...]] = {}
        self.mac_shapes: Dict[str, Tuple[List[int], List[int]]] = {}
        self.mac_outputs: Dict[str, int] = defaultdict(int)  # output elements in the first pass, all calls
        self.collect: Optional[set] = None  # names whose outputs are kept (None: every activation)
        self.values: Dict[str, List[np.ndarray]] = defaultdict(list)
        self.total: Counter = Counter()

    def _produce(self, output: Any, info: Tuple[Any, ...], overwrite: bool) -> None:
        if isinstance(output, torch.Tensor):
            held = self.produced.get(id(output))
            if overwrite or held is None or held[0] is not output:
                self.produced[id(output)] = (output, info)

    def _source(self, inputs: Tuple[Any, ...]) -> Tuple[Any, ...]:
        if not inputs or not isinstance(inputs[0], torch.Tensor):
            return ("none",)
        held = self.produced.get(id(inputs[0]))
        if held is None or held[0] is not inputs[0]:
            return ("none",)
        return held[1]

    def _hook(self, name: str, leaf: bool, module: nn.Module, inputs: Tuple[Any, ...], output: Any) -> None:
        if isinstance(module, _MAC_TYPES):
            if self.first:
                self.mac_calls[name] += 1
                if isinstance(inputs[0], torch.Tensor) and isinstance(output, torch.Tensor):
                    self.mac_shapes.setdefault(name, (list(inputs[0].shape), list(output.shape)))
                    self.mac_outputs[name] += output.numel()
            self._produce(output, ("mac", name, None), overwrite=True)
        elif isinstance(module, _BN_TYPES):
            source = self._source(inputs)
            if source[0] == "mac" and source[2] is None:
                self._produce(output, ("mac", source[1], name), overwrite=True)
            else:
                self._produce(output, ("other", name), overwrite=True)
        elif isinstance(module, _ACT_TYPES + (NLADC,)):
            if self.first:
                self.act_calls[name] += 1
                self.sources.setdefault(name, self._source(inputs))
            if isinstance(output, torch.Tensor) and (self.collect is None or name in self.collect):
                values = output.detach().to(torch.float32, copy=True).reshape(-1).numpy()
                self.values[name].append(values)
                self.total[name] += values.size
            self._produce(output, ("act", name), overwrite=True)
        else:
            self._produce(output, ("other", name), overwrite=leaf)

    def run(self, data: Iterable[torch.Tensor], after_first=None) -> None:
        handles = []
        for name, module in self.model.named_modules():
            if name:
                leaf = len(module._modules) == 0
                handles.append(module.register_forward_hook(
                    lambda m, i, o, name=name, leaf=leaf: self._hook(name, leaf, m, i, o)))
        training = self.model.training
        try:
            self.model.eval()
            with torch.no_grad():
                for batch in data:
                    self.produced.clear()
                    self.model(batch)
                    self.produced.clear()
                    self.forwards += 1
                    if self.first:
                        self.first = False
                        if after_first is not None:
                            after_first(self)
        finally:
            for handle in handles:
                handle.remove()
            self.model.train(training)
            self.produced.clear()

    def describe_source(self, name: str) -> str:
        source = self.sources.get(name, ("none",))
        if source[0] == "none":
            return ("its input is not the output of a module (computed in a forward(), e.g. a residual "
                    "addition or a functional call, or the model's input)")
        if source[0] == "act":
            return f"its input is the output of the activation '{source[1]}' ({self.types.get(source[1])})"
        if source[0] == "other":
            return f"its input is the output of '{source[1]}' ({self.types.get(source[1])}), not of a Conv/Linear"
        return ""


def _check_bits(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} = {value!r}: expected an int from 1 to 16")
    if not 1 <= int(value) <= 16:
        raise ValueError(f"{what} = {value}: expected 1 to 16")
    return int(value)


def _check_method(method: str, variant: str) -> None:
    # Fails fast (before any calibration pass) on an unknown method or variant, with the
    # core's message, by designing 1 bit on four samples.
    _core.design_levels(np.array([0.0, 1.0, 2.0, 3.0]), bits=1, method=method, variant=variant)


def _check_max_samples(max_samples: Any) -> int:
    if isinstance(max_samples, bool) or not isinstance(max_samples, (int, np.integer)) or max_samples < 1:
        raise ValueError(f"max_samples = {max_samples!r}: expected an int >= 1")
    return int(max_samples)


def _design(name: str, chunks: List[np.ndarray], bits: int, method: str, variant: str, max_samples: int,
            seed: int, dump: Optional[PathLike], batches: int) -> Tuple["_core.LevelSet", Dict[str, Any]]:
    """The level set of one layer from its collected float32 activations."""
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    total = int(samples.size)
    if total == 0:
        raise ValueError(f"{name}: no calibration values were collected")
    subsampled = total > max_samples
    if subsampled:
        # A seeded subsample without replacement, in the data's order.
        index = np.sort(np.random.default_rng(seed).choice(total, size=max_samples, replace=False))
        samples = samples[index]
    if dump is not None:
        os.makedirs(dump, exist_ok=True)
        np.save(os.path.join(os.fspath(dump), f"{name}.npy"), samples)
    levelset = _core.design_levels(samples, bits=bits, method=method, variant=variant, seed=seed, label=name)
    metrics = levelset.metrics or {}
    record = {
        "values": total,
        "samples": int(samples.size),
        "subsampled": subsampled,
        "max_samples": max_samples,
        "seed": int(seed),
        "batches": batches,
        "subsample": "np.sort(np.random.default_rng(seed).choice(values, samples, replace=False))" if subsampled
        else "",
        "mse": float(metrics.get("mse", math.nan)),
        "sqnr_db": float(metrics.get("sqnr_db", math.nan)),
    }
    return levelset, record


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


# --------------------------------------------------------------------------------------
# attach / refit


def attach(model: nn.Module, calibration_data: Iterable[Any], bits: Union[int, Mapping[str, int]] = 4,
           method: str = "bs-kmq", variant: str = "", max_samples: int = DEFAULT_MAX_SAMPLES, seed: int = 1,
           dump: Optional[PathLike] = None) -> nn.Module:
    """Replaces every convertible activation module by an NLADC designed on calibration data.

    calibration_data: an iterable of input tensors, or of (input, target) pairs (a
    DataLoader); every batch is run through the model in eval mode under torch.no_grad.

    Converted: an nn.ReLU, nn.ReLU6 or nn.Hardtanh module whose input is the output of an
    nn.Conv1d/2d/3d or nn.Linear module, directly or through one BatchNorm (which folds
    into the MAC weights and bias in inference; the NL-ADC digitizes the BatchNorm's
    output). Its levels are designed with nladc.design_levels on the activation module's
    OUTPUT values (what the NL-ADC must reproduce), rounded to float32, over every
    calibration batch; if a layer has more than max_samples values, on
    np.sort(np.random.default_rng(seed).choice(n, max_samples, replace=False)) of them
    (recorded in layer.calibration). The range is the samples' [min, max]. seed is also
    the design seed (kmeans/lloyd++), as `nladc levels --seed`.

    Listed, not converted (model.nladc_skipped, a list of (name, reason) pairs, and one
    warning): activation modules fed by anything else (a residual addition, a pooling
    layer, a functional call, a second BatchNorm), activation modules called more than
    once per forward pass (one module object used at several places) or not at all,
    layers left out of a bits dict, and Conv/Linear modules whose output feeds no
    converted activation (e.g. the classifier: it stays a float output). Existing NLADC
    layers are kept.

    bits: one width for every layer, or {activation module name: bits} (names from
    named_modules(), e.g. "features.2"); names must be convertible layers.
    dump: a directory; each layer's exact design samples are written as DIR/<name>.npy
    (float32), so `nladc levels --input DIR/<name>.npy --bits B --method M` gives the same
    levels. Returns the model, modified in place (training mode restored).
    """
    max_samples = _check_max_samples(max_samples)
    if isinstance(bits, Mapping):
        bits_of = {str(k): _check_bits(v, f"bits[{k!r}]") for k, v in bits.items()}
    else:
        width = _check_bits(bits, "bits")
        bits_of = None
    _check_method(method, variant)

    decisions: Dict[str, Optional[str]] = {}  # activation name -> None (convert) or reason

    def decide(trace: _Trace) -> None:
        for name, module in model.named_modules():
            if not isinstance(module, _ACT_TYPES):
                continue
            if not name:
                decisions[name] = "the model itself is the activation"
            elif trace.act_calls[name] == 0:
                decisions[name] = "not called in the calibration forward pass"
            elif trace.act_calls[name] > 1:
                decisions[name] = (f"called {trace.act_calls[name]} times per forward pass (one module object used "
                                   "at several places); give each use its own module")
            elif trace.sources.get(name, ("none",))[0] != "mac":
                decisions[name] = trace.describe_source(name)
            elif bits_of is not None and name not in bits_of:
                decisions[name] = "not in the bits dict"
            else:
                decisions[name] = None
        if bits_of is not None:
            wrong = [k for k in bits_of if decisions.get(k, "not an activation module") is not None]
            if wrong:
                reasons = "; ".join(f"{k}: {decisions.get(k) or 'not a ReLU/ReLU6/Hardtanh module of the model'}"
                                    for k in wrong)
                raise ValueError(f"bits names layers that cannot be converted: {reasons}")
        trace.collect = {name for name, reason in decisions.items() if reason is None}
        for name in list(trace.values):
            if name not in trace.collect:
                del trace.values[name]
                del trace.total[name]

    trace = _Trace(model)
    trace.run(_batches(calibration_data), after_first=decide)
    if trace.forwards == 0:
        raise ValueError("calibration_data: no batches")

    convert = [name for name, reason in decisions.items() if reason is None]
    for name in convert:
        module = model.get_submodule(name)
        layer_bits = bits_of[name] if bits_of is not None else width
        levelset, record = _design(name, trace.values.pop(name, []), layer_bits, method, variant, max_samples, seed,
                                   dump, trace.forwards)
        layer = NLADC(levelset, activation=activation_label(module), layer_name=name)
        layer.calibration = record
        _set_submodule(model, name, layer)

    skipped = [(name, reason) for name, reason in decisions.items() if reason is not None]
    covered = set()
    for name, source in trace.sources.items():
        if source[0] == "mac" and (name in convert or isinstance(model.get_submodule(name), NLADC)):
            covered.add(source[1])
    for name, module in model.named_modules():
        if isinstance(module, _MAC_TYPES) and name not in covered:
            feeders = [act for act, source in trace.sources.items() if source[0] == "mac" and source[1] == name]
            if trace.mac_calls[name] == 0:
                reason = "not called in the calibration forward pass"
            elif feeders:
                reason = (f"output feeds the activation {', '.join(repr(f) for f in feeders)}, which is not "
                          "converted (see its entry); stays float")
            else:
                reason = ("output feeds no ReLU/ReLU6/Hardtanh module (directly or through one BatchNorm); "
                          "stays a float output (e.g. the classifier)")
            skipped.append((name, f"{type(module).__name__}: {reason}"))
    model.nladc_skipped = skipped
    if skipped:
        warnings.warn(f"nladc.torch.attach: converted {len(convert)} layer(s); not converted: " +
                      "; ".join(f"{name or '<model>'} ({reason})" for name, reason in skipped) +
                      " (model.nladc_skipped)", stacklevel=2)
    return model


def refit_levels(model: nn.Module, data: Iterable[Any], max_samples: int = DEFAULT_MAX_SAMPLES, seed: int = 1,
                 dump: Optional[PathLike] = None) -> nn.Module:
    """Redesigns every NLADC's levels on `data` with the current weights.

    The NLADCs are bypassed to their original float activation while `data` (tensors or
    (input, target) pairs) runs through the model in eval mode, so each layer's design
    samples are the float activations its converter will see (not already-quantized
    values); then each layer gets a new level set with its own bits, method and variant,
    designed as attach() does (max_samples, seed, dump alike). Sampled chips belong to the
    old levels and are cleared, with a warning (sample_chips again). Returns the model.
    """
    max_samples = _check_max_samples(max_samples)
    layers = nladc_layers(model)
    if not layers:
        raise ValueError("refit_levels: the model has no NLADC layers (nladc.torch.attach first)")
    trace = _Trace(model)
    trace.collect = {name for name, _ in layers}
    try:
        for _, layer in layers:
            layer.bypass = True
        trace.run(_batches(data))
    finally:
        for _, layer in layers:
            layer.bypass = False
    if trace.forwards == 0:
        raise ValueError("refit_levels: data has no batches")
    cleared = []
    for name, layer in layers:
        levelset, record = _design(name, trace.values.pop(name, []), layer.bits, layer.method, layer.variant,
                                   max_samples, seed, dump, trace.forwards)
        if layer.chips:
            cleared.append(name)
        layer.set_levels(levelset)
        layer.calibration = record
    if cleared:
        warnings.warn(f"nladc.torch.refit_levels: cleared the sampled chips of {', '.join(cleared)} "
                      "(they belong to the old levels; call sample_chips again)", stacklevel=2)
    return model


# --------------------------------------------------------------------------------------
# Monte Carlo chips

# The top-level keys of a technology JSON (src/documents/technology_file.cpp).
_TECHNOLOGY_KEYS = {"format", "version", "name", "device", "array", "sense", "comparator", "counter", "spice"}


def _technology_or_study(path: Optional[PathLike]) -> Tuple[Optional[str], Optional[str]]:
    """(technology, study) from one path: a study JSON has "format": "nladc-study" (or, with
    no "format", keys a technology file does not have)."""
    if path is None:
        return None, None
    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        try:
            document = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {e.lineno}: not JSON ({e.msg})") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object (a technology or an nladc-study)")
    kind = document.get("format")
    if kind == "nladc-study" or (kind is None and not set(document) <= _TECHNOLOGY_KEYS):
        return None, path
    return path, None


def sample_chips(model: nn.Module, technology_or_study: Optional[PathLike] = None, n: int = 5, seed: int = 1, *,
                 compensate: bool = True, rows: Optional[int] = None, trimmed: bool = False,
                 threads: int = 0) -> nn.Module:
    """Draws n Monte Carlo chips of every NLADC layer and stores their thresholds.

    For each layer: design = nladc.map_levels(layer.levelset(), technology) (the default
    technology when technology_or_study is None or a study), then
    layer.chip_thresholds = nladc.sample_chips(design, study, n, seed) — float64 [n, K] in
    activation units, the same Philox streams as `nladc mc`. technology_or_study: a
    technology JSON, or a study JSON ("format": "nladc-study"; its design key is
    replaced by the layer's design). Layer l (0, 1, ... in nladc_layers order) draws
    with seed + l: every ADC is another circuit, so their variations are independent, and
    layer l's chips equal nladc.sample_chips(its design, study, n, seed + l). compensate, rows: passed to map_levels. compensate (default True, as the
    flow maps) pre-distorts the replica steps for the nominal circuit's IR drop, offsets
    and integrators, so the chips scatter around the designed thresholds; with False they
    also inherit the nominal circuit's systematic threshold error (about -1 LSB here), and
    map_levels notes when compensation cannot reach the targets: layer.design(compensate=True).notes. trimmed: the thresholds after the
    study's trim. The chip selection is reset to nominal; select one with set_chip /
    chip(). Returns the model.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n = {n!r}: expected an int >= 1")
    layers = nladc_layers(model)
    if not layers:
        raise ValueError("sample_chips: the model has no NLADC layers (nladc.torch.attach first)")
    technology, study = _technology_or_study(technology_or_study)
    for index, (name, layer) in enumerate(layers):
        design = layer.design(technology, rows=rows, compensate=compensate)
        layer_seed = int(seed) + index
        table = _core.sample_chips(design, study, n=int(n), seed=layer_seed, trimmed=trimmed, threads=threads)
        layer.set_chips(table, {"technology": technology, "study": study, "n": int(n), "seed": layer_seed,
                                "model_seed": int(seed),
                                "compensate": bool(compensate), "rows": rows, "trimmed": bool(trimmed),
                                "design_hash": design.hash})
    return model


def set_chip(model: nn.Module, index: Optional[int]) -> Dict[str, Optional[int]]:
    """Selects Monte Carlo chip `index` (0 .. n-1) in every NLADC layer, or the nominal
    thresholds with None; returns the previous selection {layer name: chip}."""
    layers = nladc_layers(model)
    if not layers:
        raise ValueError("set_chip: the model has no NLADC layers")
    if index is not None:
        for _, layer in layers:
            layer._chip_index(index)  # validates before anything changes
    previous = {name: layer.chip for name, layer in layers}
    for _, layer in layers:
        layer.chip = None if index is None else int(index)
    return previous


@contextlib.contextmanager
def chip(model: nn.Module, index: Optional[int]) -> Iterator[nn.Module]:
    """`with chip(model, i): ...` evaluates on Monte Carlo chip i; the previous selection
    is restored on exit."""
    previous = set_chip(model, index)
    try:
        yield model
    finally:
        for name, layer in nladc_layers(model):
            if name in previous:
                layer.chip = previous[name]


# --------------------------------------------------------------------------------------
# describe


def _pairs(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_pairs(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def describe(model: nn.Module, input_shape: Sequence[int]) -> Dict[str, Any]:
    """The network as a system-level model reads it (JSON-serializable).

    One forward pass of zeros of input_shape (the batch included: (N, C, H, W) or (N, F);
    per-inference counts are divided by N) in eval mode. Per Conv/Linear module, in
    execution order: name, type, input_shape and output_shape (without the batch
    dimension), kernel/stride/padding/dilation/groups and in/out_channels (Conv) or
    in/out_features (Linear), weights (count), bias, calls per inference,
    macs_per_inference (multiply-accumulates: a Conv2d's out_h*out_w*out_c*(in_c/groups)*
    k_h*k_w, a Linear's in*out per input vector), outputs_per_inference, the folded
    batchnorm (name or null) and adc: the NL-ADC after it ({name, bits, method, variant,
    activation, lo, hi, conversions_per_inference}) or null. Plus totals, and
    format "nladc-network", version 1.
    """
    shape = [int(s) for s in input_shape]
    if not shape or shape[0] < 1:
        raise ValueError(f"input_shape = {tuple(input_shape)}: expected (N, ...) with N >= 1 (the batch)")
    batch = shape[0]
    parameter = next(model.parameters(), None)
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
    trace = _Trace(model)
    trace.collect = set()
    trace.run([torch.zeros(shape, dtype=dtype)])
    adc_of: Dict[str, Tuple[str, Optional[str]]] = {}
    for name, source in trace.sources.items():
        if source[0] == "mac" and isinstance(model.get_submodule(name), NLADC):
            adc_of.setdefault(source[1], (name, source[2]))
    layers = []
    totals = {"mac_layers": 0, "macs_per_inference": 0, "weights": 0, "adc_layers": 0,
              "adc_conversions_per_inference": 0}
    for name, module in model.named_modules():
        if not isinstance(module, _MAC_TYPES) or name not in trace.mac_shapes:
            continue
        in_shape, out_shape = trace.mac_shapes[name]
        outputs = trace.mac_outputs[name] // batch
        entry: Dict[str, Any] = {"name": name, "type": type(module).__name__,
                                 "input_shape": in_shape[1:], "output_shape": out_shape[1:]}
        if isinstance(module, nn.Linear):
            macs = outputs * module.in_features
            entry.update({"in_features": module.in_features, "out_features": module.out_features, "kernel": None})
        else:
            per_output = (module.in_channels // module.groups) * int(np.prod(module.kernel_size))
            macs = outputs * per_output
            entry.update({"in_channels": module.in_channels, "out_channels": module.out_channels,
                          "kernel": _pairs(module.kernel_size), "stride": _pairs(module.stride),
                          "padding": _pairs(module.padding), "dilation": _pairs(module.dilation),
                          "groups": module.groups})
        weights = int(module.weight.numel())
        entry.update({"weights": weights, "bias": module.bias is not None, "calls": trace.mac_calls[name],
                      "macs_per_inference": int(macs), "outputs_per_inference": int(outputs)})
        adc = adc_of.get(name)
        entry["batchnorm"] = adc[1] if adc else None
        if adc:
            layer = model.get_submodule(adc[0])
            entry["adc"] = {"name": adc[0], "bits": layer.bits, "method": layer.method, "variant": layer.variant,
                            "activation": layer.activation, "lo": float(layer.lo), "hi": float(layer.hi),
                            "conversions_per_inference": int(outputs)}
            totals["adc_layers"] += 1
            totals["adc_conversions_per_inference"] += int(outputs)
        else:
            entry["adc"] = None
        totals["mac_layers"] += 1
        totals["macs_per_inference"] += int(macs)
        totals["weights"] += weights
        layers.append(entry)
    return {"format": NETWORK_FORMAT, "version": NETWORK_VERSION, "nladc_version": _core.__version__,
            "model": type(model).__name__, "input_shape": shape, "batch": batch, "layers": layers,
            "totals": totals}


def save_description(model: nn.Module, input_shape: Sequence[int], path: PathLike) -> Dict[str, Any]:
    """Writes describe(model, input_shape) as JSON to path atomically (a temporary file in
    the same directory, then os.replace); returns the description."""
    description = describe(model, input_shape)
    path = os.fspath(path)
    # A new, unique name beside the target (created with "x", so the umask applies as for
    # any file the user writes), renamed over the target when complete.
    temporary = f"{path}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        with open(temporary, "x", encoding="utf-8") as f:
            json.dump(description, f, indent=2)
            f.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return description
