"""Build a seeded random-weight module once, in its final dtype and device, with the weights an eager build gives.

An eager build of a large model (``torch.manual_seed(s)`` then ``Model(config)``) allocates every weight in
float32, fills it from the random generator, and often fills it again: transformers' CLIP models draw torch's
default initialisation and then their own (three draws per weight in all, measured), and a half-precision model
is then a second copy. Here the module is constructed with its parameters on the meta device (no memory, no
random numbers), every in-place write to a parameter is recorded in order, and the record is replayed once on
real memory:

* writes that a later write overwrites completely are not computed; when they drew random numbers, the
  generator is only advanced by as many numbers as they drew (torch's float32 ``uniform_`` draws one 32-bit
  number per element, ``normal_`` of 16 or more elements one per element plus 16 when the count is not a
  multiple of 16; both are checked against torch at first use, and any other write is run on a scratch tensor);
* the writes that remain are computed in float32 on the CPU, one parameter at a time, then converted to the
  final dtype and moved to the final device, so the peak holds the final weights plus one float32 parameter.

The result is bit-identical to the eager build followed by ``.to(device, dtype)`` (tested on a reduced
configuration). What cannot be replayed (random numbers drawn into anything but a parameter, a parameter created
with values, a write reading another parameter) raises :class:`DeferredInitError`, and the caller builds eagerly.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable

import torch
from torch.overrides import TorchFunctionMode

# Tensor methods and torch.nn.init functions (both reach the recorder under their own names) that set every
# element without reading it.
FULL_WRITES = {
    *("uniform_", "normal_", "random_", "bernoulli_", "exponential_", "geometric_", "log_normal_", "cauchy_"),
    *("zero_", "fill_", "copy_", "constant_", "ones_", "zeros_", "eye_", "dirac_", "trunc_normal_", "orthogonal_"),
    *("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "sparse_"),
}
# Writes that draw no random numbers: skipping them needs no advance of the generator.
NO_DRAWS = {
    *("zero_", "fill_", "copy_", "constant_", "ones_", "zeros_", "eye_", "dirac_", "__setitem__"),
    *("mul_", "add_", "sub_", "div_", "clamp_", "clamp_min_", "clamp_max_", "erfinv_", "neg_", "abs_", "sqrt_"),
}
UNIFORM_DRAWS = {"uniform_", "kaiming_uniform_", "xavier_uniform_", "trunc_normal_"}  # one uniform_ call
NORMAL_DRAWS = {"normal_", "kaiming_normal_", "xavier_normal_"}  # one normal_ call
NOT_WRITES = {"requires_grad_", "share_memory_", "retain_grad", "pin_memory", "record_stream"}
_ADVANCE_CHUNK = 1 << 24  # numbers drawn per step when only advancing the generator
_advance_checked: bool | None = None


class DeferredInitError(RuntimeError):
    """The module's construction did something that cannot be replayed; build it eagerly instead."""


@dataclasses.dataclass
class _Write:
    key: int  # the parameter storage written
    size: tuple
    stride: tuple
    offset: int
    dtype: torch.dtype
    function: Callable
    name: str
    args: tuple
    kwargs: dict
    full: bool  # covers the whole storage and does not read it


def _storage_key(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage()._cdata


class _WriteRecorder(TorchFunctionMode):
    """Records every in-place write to a meta tensor, in call order, and lets it run (a no-op on meta)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[_Write] = []

    def __torch_function__(self, function, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(function, "__name__", "")
        # Tensor methods get the tensor first; torch.nn.init functions hand it over as ``tensor=``.
        in_keywords = not args and "tensor" in kwargs
        target = kwargs.get("tensor") if in_keywords else (args[0] if args else None)
        if isinstance(target, torch.Tensor) and target.is_meta and _is_write(name):
            rest = (*args[1:], *(v for k, v in kwargs.items() if not (in_keywords and k == "tensor")))
            if any(isinstance(a, torch.Tensor) for a in rest):
                raise DeferredInitError(f"{name} writes a parameter from another tensor")
            if kwargs.get("generator") is not None:
                raise DeferredInitError(f"{name} draws from its own generator")
            covers = target.numel() * target.element_size() == target.untyped_storage().nbytes()
            self.writes.append(
                _Write(
                    key=_storage_key(target),
                    size=tuple(target.size()),
                    stride=tuple(target.stride()),
                    offset=target.storage_offset(),
                    dtype=target.dtype,
                    function=function,
                    name=name,
                    args=tuple(args[1:]),
                    kwargs={k: v for k, v in kwargs.items() if not (in_keywords and k == "tensor")},
                    full=covers and name in FULL_WRITES and target.is_contiguous(),
                )
            )
        return function(*args, **kwargs)


def _is_write(name: str) -> bool:
    if name in NOT_WRITES:
        return False
    if name == "__setitem__" or (name.startswith("__i") and name.endswith("__")):
        return True
    return name.endswith("_") and not name.startswith("_")


@contextlib.contextmanager
def _parameters_on_meta():
    """Parameters registered meanwhile go to the meta device; buffers (position ids and the like) stay real.

    Scoped to the build: nn.Module.register_parameter is restored on exit.
    """
    original = torch.nn.Module.register_parameter

    def register_parameter(module, name, parameter):
        if parameter is not None and not parameter.is_meta:
            parameter = torch.nn.Parameter(
                torch.empty_like(parameter, device="meta"), requires_grad=parameter.requires_grad
            )
        return original(module, name, parameter)

    torch.nn.Module.register_parameter = register_parameter
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = original


def build_deferred(
    factory: Callable[[], torch.nn.Module],
    seed: int,
    dtype: torch.dtype | None = None,
    device: torch.device | str = "cpu",
) -> torch.nn.Module:
    """``torch.manual_seed(seed); factory().to(device, dtype)`` with one copy of the weights at the peak.

    Leaves the global generator where the eager build would have left it.
    """
    torch.manual_seed(seed)
    before = torch.get_rng_state()
    recorder = _WriteRecorder()
    with _parameters_on_meta(), recorder:
        module = factory()
    if not torch.equal(before, torch.get_rng_state()):
        raise DeferredInitError("construction drew random numbers outside the parameters")
    _materialise(module, recorder.writes, dtype, torch.device(device))
    if dtype is not None:
        module.to(dtype=dtype)  # floating buffers; parameters are already in dtype
    return module


def _materialise(module, writes: list[_Write], dtype, device) -> None:
    owners: dict[int, list[tuple[torch.nn.Module, str]]] = {}
    parameters: dict[int, torch.nn.Parameter] = {}
    for submodule in module.modules():
        for name, parameter in submodule._parameters.items():
            if parameter is not None and parameter.is_meta:
                key = _storage_key(parameter)
                owners.setdefault(key, []).append((submodule, name))
                parameters[key] = parameter
    last_full, last_write = {}, {}
    for index, write in enumerate(writes):
        if write.key in parameters:
            last_write[write.key] = index
            if write.full:
                last_full[write.key] = index
    missing = [owners[key][0][1] for key in parameters if key not in last_full]
    if missing:
        raise DeferredInitError(f"parameters never written in full: {', '.join(missing[:5])}")

    torch.manual_seed(torch.initial_seed())  # the state right after the caller's manual_seed
    working: dict[int, torch.Tensor] = {}
    for index, write in enumerate(writes):
        applies = write.key in parameters and index >= last_full[write.key]
        if not applies:
            if write.name not in NO_DRAWS and not write.name.startswith("__i"):
                _advance(write)
            continue
        parameter = parameters[write.key]
        if write.key not in working:
            elements = parameter.untyped_storage().nbytes() // parameter.element_size()
            working[write.key] = torch.empty(elements, dtype=parameter.dtype)
        view = working[write.key].as_strided(write.size, write.stride, write.offset)
        with torch.no_grad():
            write.function(view, *write.args, **write.kwargs)
        if index == last_write[write.key]:
            flat = working.pop(write.key).to(device=device, dtype=dtype or parameter.dtype)
            value = torch.nn.Parameter(
                flat.as_strided(parameter.size(), parameter.stride(), parameter.storage_offset()),
                requires_grad=parameter.requires_grad,
            )
            for owner, name in owners[write.key]:
                owner._parameters[name] = value


def _advance(write: _Write) -> None:
    """Move the global generator on by what ``write`` would draw, computing as little as possible."""
    count = _draws(write)
    if count is None:
        scratch = torch.empty(write.size, dtype=write.dtype)
        with torch.no_grad():
            write.function(scratch, *write.args, **write.kwargs)
        return
    scratch = torch.empty(min(count, _ADVANCE_CHUNK), dtype=torch.uint8)
    while count > 0:
        step = min(count, _ADVANCE_CHUNK)
        scratch[:step].random_()  # one 32-bit number per element
        count -= step


def _draws(write: _Write) -> int | None:
    """32-bit numbers ``write`` draws, where that is known and was checked against torch; else None."""
    if write.dtype != torch.float32 or not _advance_rules_hold():
        return None
    elements = 1
    for extent in write.size:
        elements *= extent
    if write.name in UNIFORM_DRAWS:
        return elements
    if write.name in NORMAL_DRAWS and elements >= 16:
        return elements + (16 if elements % 16 else 0)
    return None


def _advance_rules_hold() -> bool:
    """Check the draw counts above against this torch build once (they are how its CPU kernels draw)."""
    global _advance_checked
    if _advance_checked is None:
        saved = torch.get_rng_state()
        try:
            holds = True
            for elements in (16, 17, 100, 1003):
                for name, draws in (("uniform_", elements), ("normal_", elements + (16 if elements % 16 else 0))):
                    torch.manual_seed(1)
                    getattr(torch.empty(elements), name)()
                    expected = torch.get_rng_state()
                    torch.manual_seed(1)
                    torch.empty(draws, dtype=torch.uint8).random_()
                    holds = holds and torch.equal(expected, torch.get_rng_state())
            _advance_checked = holds
        finally:
            torch.set_rng_state(saved)
    return _advance_checked
