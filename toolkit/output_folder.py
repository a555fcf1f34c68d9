"""Output folders: checked before any expensive work, and one run at a time per run folder.

``prepare_output_folder`` creates the folder a command will write to and proves that it can write there (a file
is created and removed), so a read-only or mistyped ``--out`` fails in a second with one line, not after the model
loads or the images are generated.

``RunLock`` is an advisory lock (``fcntl.flock``) on ``FOLDER/.attnmod.lock``, taken by the one process that
coordinates a run (global rank 0) before it does anything else. A second run into the same folder meets the lock
and stops with the holder's pid, host and start time. The kernel drops a ``flock`` when its process ends, however it
ends, so a lock left by a killed run never blocks a resume; the file a killed run leaves is harmless, and a run that
ends normally removes it.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import platform
import stat
import sys
from pathlib import Path

from .errors import AttnmodError

LOCK_FILE = ".attnmod.lock"


def describe_os_error(error: OSError) -> str:
    """``Permission denied``, ``No space left on device``, ...: the reason of an OSError in words."""
    if error.strerror:
        return error.strerror
    if error.errno is not None:
        return os.strerror(error.errno)
    return str(error) or type(error).__name__


def prepare_output_folder(path: str | Path, option: str = "--out") -> Path:
    """Create ``path`` (and its parents) if needed and check that files can be written in it.

    Raises :class:`AttnmodError` with one line when ``path`` is an existing file, cannot be created, or is not
    writable (read-only file system, permissions, full disk).
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise AttnmodError(f"{option} {str(folder)!r} is a file, not a folder: choose a folder path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:  # a parent is a file
        raise AttnmodError(f"cannot create {option} {str(folder)!r}: a part of the path is a file") from error
    except OSError as error:
        raise AttnmodError(f"cannot create {option} {str(folder)!r} ({describe_os_error(error)})") from error
    probe = folder / f".attnmod-write-test-{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise AttnmodError(f"cannot write into {option} {str(folder)!r} ({describe_os_error(error)})") from error
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return folder


def check_output_folder(path: str | Path, option: str = "--out") -> Path:
    """Check, without creating anything, that ``path`` can be the output folder: an existing folder that files can
    be written into (a file is created and removed inside it), or a path whose nearest existing parent is a folder
    this process may create entries in. Raises :class:`AttnmodError` with one line otherwise."""
    folder = Path(path)
    if folder.exists():
        return prepare_output_folder(folder, option)
    ancestor = folder.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise AttnmodError(f"cannot create {option} {str(folder)!r}: {str(ancestor)!r} is a file")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        reason = os.strerror(errno.EACCES)
        raise AttnmodError(f"cannot create {option} {str(folder)!r} ({reason}: {str(ancestor)!r} is not writable)")
    return folder


# ---- what kind of output a folder holds ----

GENERATION_KIND = "generation"
DIAGNOSIS_KIND = "diagnosis"
RUN_KIND = "ablation run"
TRAINING_KIND = "shapes-model training run"
#: The files and folders that mark each command's output folder, in the order they are looked for.
KIND_MARKERS = (
    (RUN_KIND, ("run.json", "results.jsonl", "items/")),
    (DIAGNOSIS_KIND, ("diagnosis.json",)),
    (TRAINING_KIND, ("settings.json", "vae-loss.jsonl", "vae/", "unet/", "training.json")),
    (GENERATION_KIND, ("config.json", "image.png", "attention.json")),
)
#: Which command writes each kind (for the message).
KIND_COMMANDS = {
    RUN_KIND: "attnmod ablate",
    DIAGNOSIS_KIND: "attnmod diagnose",
    TRAINING_KIND: "attnmod world train",
    GENERATION_KIND: "attnmod generate",
}


def folder_kind(path: str | Path) -> tuple[str, str] | None:
    """``(kind, marker)``: which command's output ``path`` holds, judged by the first marker file found (see
    :data:`KIND_MARKERS`), or None for a folder that does not exist, is empty or holds none of them."""
    folder = Path(path)
    if not folder.is_dir():
        return None
    for kind, markers in KIND_MARKERS:
        for marker in markers:
            target = folder / marker.rstrip("/")
            if target.is_dir() if marker.endswith("/") else target.is_file():
                return kind, marker
    return None


def check_folder_kind(path: str | Path, expected: str, option: str = "--out") -> None:
    """Refuse, with one line saying what is there, a folder holding another command's output: a diagnosis
    written over a run (whose report would then be the diagnosis report), a run into a generation folder."""
    found = folder_kind(path)
    if found is None or found[0] == expected:
        return
    kind, marker = found
    raise AttnmodError(
        f"{option} {str(path)!r} holds the output of `{KIND_COMMANDS[kind]}` ({marker}), not of "
        f"`{KIND_COMMANDS[expected]}`: choose another {option}"
    )


def remove_if_empty(path: str | Path) -> None:
    """Remove the folder ``path`` if nothing is in it (a command that failed before writing anything leaves no
    empty folder behind)."""
    with contextlib.suppress(OSError):
        Path(path).rmdir()


def is_global_rank_zero() -> bool:
    """Whether this process coordinates a (possibly multi-process) run, judged from the launch environment.

    Lightning's ``ddp`` launcher re-runs the command for the other local ranks with ``LOCAL_RANK`` set;
    multi-node runs set ``NODE_RANK``; torchrun sets ``RANK``; SLURM sets ``SLURM_PROCID``. Global rank 0 is the
    process for which each one that is set is 0.
    """
    for name in ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID"):
        value = os.environ.get(name)
        if value not in (None, "", "0"):
            return False
    return True


class RunLock:
    """``with RunLock(folder):`` holds the folder's advisory lock, or raises :class:`AttnmodError` naming the holder.

    The lock file records ``{"pid", "host", "started", "command"}`` of the holder, which is what a second run
    reports. Only POSIX systems have ``fcntl``; elsewhere the lock is a no-op (documented, not silent: ``held``
    stays False).
    """

    def __init__(self, folder: str | Path, what: str = "run") -> None:
        self.path = Path(folder) / LOCK_FILE
        self.what = what
        self.held = False
        self._handle = None

    def _holder(self) -> str:
        try:
            holder = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return "another process (its details are not written yet)"
        if not isinstance(holder, dict):
            return "another process"
        host = holder.get("host")
        where = f" on {host}" if host and host != platform.node() else ""
        return f"process {holder.get('pid', '?')}{where}, started {holder.get('started', '?')}"

    def acquire(self) -> RunLock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks
            return self
        while True:
            handle = self._open()
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                handle.close()
                if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise AttnmodError(
                        f"another {self.what} is writing to {str(self.path.parent)!r} ({self._holder()}): wait for "
                        "it to finish, stop it, or choose another --out"
                    ) from error
                raise AttnmodError(f"cannot lock {str(self.path)!r} ({describe_os_error(error)})") from error
            # The holder removes the file when it finishes: a lock won on a file that is no longer at the path
            # guards nothing, so try again on the new file.
            try:
                same = os.lstat(self.path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            handle.close()
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        holder = {"pid": os.getpid(), "host": platform.node(), "started": started, "command": list(sys.argv)}
        # Only now, holding the lock on a regular file with no other name (checked in _open), is it rewritten.
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder, ensure_ascii=False) + "\n")
        handle.flush()
        self._handle = handle
        self.held = True
        return self

    def _open(self):
        """The lock file, opened without following a link and without truncating it: a symbolic link or a hard
        link planted at its name is refused, so the holder's details are never written into another file."""
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            descriptor = os.open(self.path, flags, 0o666)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise AttnmodError(
                    f"the lock file {str(self.path)!r} is a symbolic link: remove it (attnmod never writes through "
                    "a link)"
                ) from error
            raise AttnmodError(
                f"cannot create the lock file {str(self.path)!r} ({describe_os_error(error)})"
            ) from error
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1:
            os.close(descriptor)
            what = "not a regular file" if not stat.S_ISREG(status.st_mode) else "a hard link to another file"
            raise AttnmodError(f"the lock file {str(self.path)!r} is {what}: remove it")
        return os.fdopen(descriptor, "r+", encoding="utf-8")

    def release(self) -> None:
        if self._handle is None:
            return
        import fcntl

        try:
            # Removed while still locked (see acquire), so a finished run leaves no lock file behind.
            with contextlib.suppress(OSError):
                self.path.unlink()
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        finally:
            self._handle.close()
            self._handle = None
            self.held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


@contextlib.contextmanager
def command_output(path: str | Path, kind: str, what: str):
    """``with command_output(out, GENERATION_KIND, "`attnmod generate`"):`` the output folder of a one-shot command:
    refused when it holds another command's output, created and checked writable, locked while the command runs,
    and removed again if the command fails and the folder did not exist before (no empty or half-written folder
    is left for a later command to misread)."""
    folder = Path(path)
    created = not folder.exists()
    check_folder_kind(folder, kind)
    prepare_output_folder(folder)
    try:
        with RunLock(folder, what):
            yield folder
    except BaseException:
        if created:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        raise
