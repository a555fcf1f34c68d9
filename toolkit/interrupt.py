"""Stopping a long command at a boundary: SIGINT (Ctrl-C) and SIGTERM (``timeout``, job schedulers) ask it to stop.

``with StopOnSignal() as stop:`` replaces the handlers of both signals for the block: the first signal only records
itself (``stop.signal``) and says on stderr that the command stops after the current item or step; the loop
checks ``stop.requested`` at its boundaries, leaves its files consistent and raises :class:`Interrupted`. A second
signal stops at once (``KeyboardInterrupt``), as an impatient user expects. The command line exits with
``128 + signal``: 130 for SIGINT, 143 for SIGTERM.

Signal handlers can only be installed from the main thread; elsewhere the block runs with the handlers it found.
"""

from __future__ import annotations

import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):  # noqa: N818 - the name says what happened, as KeyboardInterrupt does
    """A command stopped at a boundary because it was asked to; ``exit_code`` is ``128 + signal``."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopOnSignal:
    """Records the first SIGINT/SIGTERM instead of dying; see the module docstring."""

    def __init__(self, what: str = "the current item") -> None:
        self.what = what
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def signal_name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""

    def _handle(self, signum, frame) -> None:
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum
        print(
            f"{signal.Signals(signum).name}: stopping after {self.what} (send it again to stop at once)",
            file=sys.stderr,
            flush=True,
        )

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
