"""The thread policy: its arithmetic on planted cores, ranks and environments, and what it does to a process.

Applying the policy changes process-wide state (torch's pools, the environment, kernel choices), so those
tests run in a fresh interpreter each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from attnmod.toolkit import threads
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.threads import ThreadPolicy, resolve_thread_policy


@pytest.fixture(autouse=True)
def no_request():
    threads.request_threads(None)
    yield
    threads.request_threads(None)


@pytest.mark.parametrize(
    ("cores", "ranks", "expected"),
    [(8, 1, 8), (8, 2, 4), (8, 3, 2), (2, 2, 1), (3, 2, 1), (1, 4, 1), (16, 16, 1)],
)
def test_default_divides_the_cores_among_the_local_ranks(cores, ranks, expected):
    policy = resolve_thread_policy(local_ranks=ranks, environ={}, cores=cores)
    assert policy == ThreadPolicy(threads=expected, source="default", cores=cores, local_ranks=ranks)


def test_local_ranks_come_from_local_world_size_when_not_given():
    assert resolve_thread_policy(environ={"LOCAL_WORLD_SIZE": "4"}, cores=8).threads == 2
    assert resolve_thread_policy(environ={"LOCAL_WORLD_SIZE": "junk"}, cores=8).threads == 8
    # A run's own process count (what an ablation passes) wins over the environment.
    assert resolve_thread_policy(local_ranks=2, environ={"LOCAL_WORLD_SIZE": "8"}, cores=8).threads == 4


def test_environment_variable_overrides_the_default_and_is_capped_at_the_cores():
    policy = resolve_thread_policy(local_ranks=2, environ={"ATTNMOD_THREADS": "3"}, cores=8)
    assert (policy.threads, policy.source, policy.capped) == (3, "ATTNMOD_THREADS", False)
    capped = resolve_thread_policy(environ={"ATTNMOD_THREADS": " 12 "}, cores=4)
    assert (capped.threads, capped.requested, capped.capped) == (4, 12, True)
    assert capped.to_json()["capped"] is True


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_a_bad_environment_value_is_a_clear_error(bad):
    with pytest.raises(AttnmodError, match=f"ATTNMOD_THREADS must be a whole number of at least 1, not '{bad}'"):
        resolve_thread_policy(environ={"ATTNMOD_THREADS": bad}, cores=4)


def test_the_option_beats_the_environment():
    environ = {"ATTNMOD_THREADS": "3", "OMP_NUM_THREADS": "2"}
    assert resolve_thread_policy(requested=1, environ=environ, cores=8).source == "--threads"
    threads.request_threads(2)
    policy = resolve_thread_policy(environ=environ, cores=8)
    assert (policy.threads, policy.source) == (2, "--threads")
    with pytest.raises(AttnmodError, match="at least 1"):
        threads.request_threads(0)


def test_users_omp_num_threads_is_honoured_but_not_the_one_the_policy_wrote():
    users = resolve_thread_policy(local_ranks=1, environ={"OMP_NUM_THREADS": "1"}, cores=8)
    assert (users.threads, users.source) == (1, "OMP_NUM_THREADS")
    assert resolve_thread_policy(environ={"OMP_NUM_THREADS": "2,1"}, cores=8).threads == 2
    # A DDP rank inherits the OMP_NUM_THREADS that rank 0's policy wrote: it recomputes the default instead.
    inherited = {"OMP_NUM_THREADS": "4", "ATTNMOD_THREADS_SET_OMP": "4"}
    assert resolve_thread_policy(local_ranks=4, environ=inherited, cores=8).source == "default"
    assert resolve_thread_policy(local_ranks=4, environ=inherited, cores=8).threads == 2


def test_available_cores_follow_the_affinity_not_the_machine(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 5, 7}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert threads.available_cores() == 3
    assert resolve_thread_policy(local_ranks=1, environ={}).threads == 3


def run_python(code: str, **environment: str) -> dict:
    # The fresh process sees none of the thread settings of the shell that runs the tests.
    unset = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MKL_CBWR", "ATTNMOD_THREADS", "ATTNMOD_THREADS_SET_OMP")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(environment)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


IN_A_FRESH_PROCESS = """
import json, os, torch
from attnmod.toolkit.threads import apply_thread_policy, ensure_thread_policy, request_threads, resolve_thread_policy
found = {"ensured": ensure_thread_policy(cpu_float32=True)}  # what load_model does first
request_threads(1)  # what --threads 1 does
found["requested"] = ensure_thread_policy()
request_threads(None)
found["applied"] = apply_thread_policy(resolve_thread_policy(local_ranks=2, cores=4))
# What Lightning does at the start of every DDP rank: it must leave the policy's count alone.
from lightning.fabric.utilities.distributed import _set_num_threads_if_needed
_set_num_threads_if_needed(num_processes=4)
found.update(torch=torch.get_num_threads(), omp=os.environ["OMP_NUM_THREADS"], onednn=torch.backends.mkldnn.enabled)

# A 1x1 convolution and a linear layer of the sizes where one and two threads differed with the default kernels
# (oneDNN convolution, MKL's default products).
generator = torch.Generator().manual_seed(0)
convolution, mixing = torch.nn.Conv2d(32, 64, 1), torch.nn.Linear(320, 1280)
image, tokens = torch.randn(2, 32, 8, 8, generator=generator), torch.randn(2, 4096, 320, generator=generator)
outputs = {}
for count in (1, 2):
    torch.set_num_threads(count)
    with torch.no_grad():
        outputs[count] = (convolution(image), mixing(tokens))
found["same"] = all(torch.equal(a, b) for a, b in zip(outputs[1], outputs[2]))
print(json.dumps(found))
"""
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@pytest.fixture(scope="module")
def fresh_process() -> dict:
    return run_python(IN_A_FRESH_PROCESS)


def test_the_first_application_sets_both_pools_to_the_default(fresh_process):
    ensured = fresh_process["ensured"]
    assert (ensured["source"], ensured["local_ranks"], ensured["cores"]) == ("default", 1, CORES)
    assert ensured["intra_op_threads"] == ensured["inter_op_threads"] == CORES


def test_a_later_request_changes_intra_op_threads_and_reports_the_fixed_inter_op_pool(fresh_process):
    requested = fresh_process["requested"]
    assert (requested["source"], requested["intra_op_threads"], requested["inter_op_threads"]) == (
        "--threads",
        1,
        CORES,
    )
    assert requested["inter_op_note"] == "fixed earlier in this process"


def test_the_policy_survives_lightnings_own_thread_setting(fresh_process):
    assert fresh_process["applied"]["intra_op_threads"] == 2 and fresh_process["applied"]["local_ranks"] == 2
    assert fresh_process["torch"] == 2 and fresh_process["omp"] == "2"


def test_cpu_float32_results_do_not_depend_on_the_thread_count(fresh_process):
    import torch

    kernels = fresh_process["requested"]["kernels"]  # kept from the first application
    assert fresh_process["onednn"] is False and kernels["mode"] == "thread-count independent"
    if torch.backends.mkl.is_available():
        assert kernels["mkl_strict"] is True
    assert fresh_process["same"] is True


def test_threads_option_on_every_model_command(run_cli):
    for command in ("info", "generate", "diagnose", "attribute", "ablate"):
        result = run_cli(command, "--help")
        assert "--threads" in result.stdout, command
