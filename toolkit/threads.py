"""How many CPU threads torch uses, decided in one place for every command and every process of a run.

Why: on a small or shared machine, more OpenMP threads than free cores is the slowest setting there is (two
threads on busy cores ran several times slower than one), and Lightning gives each DDP process
``cores // processes`` threads on its own, so the same run gave other numbers with one or two processes.

The policy, first match wins:

1. ``--threads N`` on a model command (:func:`request_threads`), or ``requested=`` in Python;
2. the ``ATTNMOD_THREADS`` environment variable;
3. ``OMP_NUM_THREADS`` when the user set it (not when this module set it for child processes);
4. the default: the cores this process may run on (its CPU affinity, which containers and ``taskset``
   narrow, not the machine's count) divided among the processes of the run on this machine (an ablation
   run's process count, else ``LOCAL_WORLD_SIZE``), at least 1.

The result is capped at the cores available. torch's intra-op and inter-op pools are set to the same count;
the inter-op pool can be sized only once per process, before any parallel work, so it is set on the first
application and later ones record what it is. ``OMP_NUM_THREADS`` is written into the environment so that
Lightning leaves the count alone and processes started from here (DDP ranks) agree.

Results that do not depend on the thread count: on the CPU, torch's oneDNN convolutions and MKL's default
matrix products add in an order that depends on how work is split among threads (measured: a 1x1 convolution
of the tiny UNet differed by 2e-7 between one and two threads, enough to move pixels by a level after a few
steps). :func:`use_thread_count_independent_kernels` switches MKL to its strict reproducible mode (results
identical for any thread count) and float32 convolutions to torch's own kernels, so an image is the same
whether a run had one process of two threads or two of one. It is on by default for models running on the CPU
in float32 (measured cost on the tiny model: within noise); ``ATTNMOD_CPU_KERNELS=fast`` turns it off.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
from collections.abc import Mapping

from .errors import AttnmodError

THREADS_VARIABLE = "ATTNMOD_THREADS"
KERNELS_VARIABLE = "ATTNMOD_CPU_KERNELS"
# Set beside OMP_NUM_THREADS when this module wrote it, so that a child process does not take the parent's
# policy for the user's choice (it recomputes the same default from the same run).
_OWN_MARK = "ATTNMOD_THREADS_SET_OMP"
# mkl_service.h: MKL_CBWR_ALL (query everything), MKL_CBWR_AUTO, MKL_CBWR_STRICT (same results for any number of
# threads), success code.
_MKL_CBWR_ALL = -1
_MKL_CBWR_AUTO = 2
_MKL_CBWR_STRICT = 0x10000
_MKL_CBWR_SUCCESS = 0

_requested: int | None = None
_applied: dict | None = None


@dataclasses.dataclass(frozen=True)
class ThreadPolicy:
    """The thread count one process should use, and why."""

    threads: int  # torch intra-op threads; the inter-op pool gets the same count
    source: str  # "--threads", "ATTNMOD_THREADS", "OMP_NUM_THREADS" or "default"
    cores: int  # cores available to this process (its affinity)
    local_ranks: int  # processes of the run on this machine that share those cores
    requested: int | None = None  # what the source asked for, before the cap at ``cores``

    @property
    def capped(self) -> bool:
        return self.requested is not None and self.requested > self.threads

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "capped": self.capped}


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity where the platform has one, else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)


def local_ranks_from_environment(environ: Mapping[str, str] | None = None) -> int:
    """Processes of this run on this machine, from ``LOCAL_WORLD_SIZE`` (torchrun, TorchElastic); else 1."""
    environ = os.environ if environ is None else environ
    value = _positive_int(environ.get("LOCAL_WORLD_SIZE"))
    return value or 1


def request_threads(count: int | None) -> None:
    """Record ``--threads N`` for this process (``None`` clears it); the policy is applied with the model."""
    global _requested
    if count is not None and count < 1:
        raise AttnmodError(f"--threads must be at least 1, not {count}")
    _requested = count


def resolve_thread_policy(
    requested: int | None = None,
    local_ranks: int | None = None,
    environ: Mapping[str, str] | None = None,
    cores: int | None = None,
) -> ThreadPolicy:
    """Apply the rules in the module docstring; ``environ`` and ``cores`` default to this process's own."""
    environ = os.environ if environ is None else environ
    cores = available_cores() if cores is None else max(1, int(cores))
    ranks = local_ranks if local_ranks is not None else local_ranks_from_environment(environ)
    ranks = max(1, int(ranks))
    requested = requested if requested is not None else _requested
    if requested is not None:
        if requested < 1:
            raise AttnmodError(f"--threads must be at least 1, not {requested}")
        return ThreadPolicy(min(requested, cores), "--threads", cores, ranks, requested)
    text = environ.get(THREADS_VARIABLE)
    if text is not None and text.strip():
        value = _positive_int(text)
        if value is None:
            raise AttnmodError(f"{THREADS_VARIABLE} must be a whole number of at least 1, not {text!r}")
        return ThreadPolicy(min(value, cores), THREADS_VARIABLE, cores, ranks, value)
    omp = environ.get("OMP_NUM_THREADS")
    if omp is not None and environ.get(_OWN_MARK) != omp:
        value = _positive_int(omp.split(",")[0])  # OpenMP allows a list per nesting level: the first is ours
        if value is not None:
            return ThreadPolicy(min(value, cores), "OMP_NUM_THREADS", cores, ranks, value)
    return ThreadPolicy(max(1, cores // ranks), "default", cores, ranks)


def apply_thread_policy(policy: ThreadPolicy, *, cpu_float32: bool | None = None) -> dict:
    """Set torch's intra- and inter-op threads and the environment; return what is now in effect.

    ``cpu_float32``: the model runs on the CPU in float32, so kernels whose result depends on the thread count
    are replaced (see :func:`use_thread_count_independent_kernels`); ``None`` keeps the last choice.
    """
    global _applied
    import torch

    torch.set_num_threads(policy.threads)
    interop_note = None
    try:
        torch.set_num_interop_threads(policy.threads)
    except RuntimeError:
        # Sized already (by an earlier application or by parallel work); it cannot change in this process.
        interop_note = "fixed earlier in this process"
    if policy.source == "OMP_NUM_THREADS":
        os.environ.pop(_OWN_MARK, None)
    else:
        os.environ["OMP_NUM_THREADS"] = str(policy.threads)
        os.environ[_OWN_MARK] = str(policy.threads)
    kernels = (_applied or {}).get("kernels")
    if cpu_float32 is not None:
        kernels = use_thread_count_independent_kernels() if cpu_float32 else _kernel_state("not needed")
    _applied = {
        **policy.to_json(),
        "intra_op_threads": torch.get_num_threads(),
        "inter_op_threads": torch.get_num_interop_threads(),
        **({"inter_op_note": interop_note} if interop_note else {}),
        "kernels": kernels or _kernel_state("not set"),
    }
    return dict(_applied)


def ensure_thread_policy(*, cpu_float32: bool | None = None) -> dict:
    """Apply the policy unless what it gives is already in effect; return what is in effect.

    The process count of an earlier application (an ablation run's) is kept; a first application takes it from
    the environment.
    """
    local_ranks = None if _applied is None else _applied["local_ranks"]
    policy = resolve_thread_policy(local_ranks=local_ranks)
    # Compared key by key: some values are dicts, which a set difference of items cannot hash.
    if _applied is None or any(_applied.get(key) != value for key, value in policy.to_json().items()):
        return apply_thread_policy(policy, cpu_float32=cpu_float32)
    if cpu_float32 and _applied["kernels"]["mode"] != "thread-count independent":
        _applied["kernels"] = use_thread_count_independent_kernels()
    return dict(_applied)


def thread_record() -> dict | None:
    """What :func:`apply_thread_policy` last put in effect in this process (for run.json and diagnosis.json)."""
    return None if _applied is None else dict(_applied)


def use_thread_count_independent_kernels() -> dict:
    """Make CPU float32 results independent of the thread count, unless ``ATTNMOD_CPU_KERNELS=fast``.

    MKL's strict reproducible mode can only be switched on before MKL's first matrix product in the process;
    the environment variable covers processes started later, and the mode actually in effect is read back
    from MKL (``None`` where torch's MKL cannot be asked).
    """
    import torch

    if os.environ.get(KERNELS_VARIABLE, "").strip().lower() == "fast":
        return _kernel_state("fast (ATTNMOD_CPU_KERNELS=fast)")
    os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
    library = _torch_cpu_library()
    if library is not None:
        try:
            if not library.mkl_serv_cbwr_get(_MKL_CBWR_ALL) & _MKL_CBWR_STRICT:
                library.mkl_serv_cbwr_set(_MKL_CBWR_AUTO | _MKL_CBWR_STRICT)
        except AttributeError:
            pass
    # oneDNN picks its convolution blocking by thread count; torch's own kernels then use MKL's products.
    torch.backends.mkldnn.enabled = False
    return _kernel_state("thread-count independent")


def _kernel_state(mode: str) -> dict:
    import torch

    return {"mode": mode, "mkl_strict": _mkl_strict(), "onednn": bool(torch.backends.mkldnn.enabled)}


def _mkl_strict() -> bool | None:
    library = _torch_cpu_library()
    if library is None:
        return None
    try:
        return bool(library.mkl_serv_cbwr_get(_MKL_CBWR_ALL) & _MKL_CBWR_STRICT)
    except AttributeError:
        return None


def _torch_cpu_library():
    """torch's CPU library, which links MKL statically on x86 builds; None where it is not there."""
    import torch

    if not torch.backends.mkl.is_available():
        return None
    folder = os.path.join(os.path.dirname(torch.__file__), "lib")
    for name in ("libtorch_cpu.so", "libtorch_cpu.dylib", "torch_cpu.dll"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            try:
                return ctypes.CDLL(path)
            except OSError:
                return None
    return None


def _positive_int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        return None
    return value if value >= 1 else None
