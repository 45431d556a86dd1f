"""Writing results as whole lines, so Ctrl-C never leaves half a JSON object or CSV row behind.

A SIGINT that arrives inside ``held()`` (writing a line and counting it) waits until the block
ends and is then raised as KeyboardInterrupt; one that arrives anywhere else (decoding, inference)
is raised at once, so the run stops promptly. The caller catches it, calls ``drain`` and exits:
everything printed so far is whole lines, and the caller's counts match them.
"""

from __future__ import annotations

import signal
import threading
from typing import TextIO


class LineWriter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        # Lines go to the binary layer in a loop: with PYTHONUNBUFFERED (common in containers) it is
        # a raw file, whose write may stop part-way when a signal arrives; the text layer would
        # drop the rest of the line.
        self._binary = getattr(stream, "buffer", None)
        self._encoding = getattr(stream, "encoding", None) or "utf-8"
        self._errors = getattr(stream, "errors", None) or "strict"
        if self._binary is not None:
            stream.flush()  # whatever the text layer holds goes out first
        self._depth = 0  # nesting of held() blocks
        self._pending = False
        self._previous = None
        self._held = _Held(self)

    def __enter__(self) -> "LineWriter":
        # signal handlers can only be set from the main thread; leave an ignored SIGINT ignored
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _on_sigint(self, signum, frame) -> None:
        if self._depth:
            self._pending = True
            return
        raise KeyboardInterrupt

    def held(self) -> "_Held":
        """A block that Ctrl-C does not cut short: the interrupt is raised when it ends."""
        return self._held

    def write(self, line: str) -> None:
        """Write ``line`` and a newline, whole."""
        with self.held():
            if self._binary is None:
                self.stream.write(line + "\n")
                return
            data = memoryview((line + "\n").encode(self._encoding, self._errors))
            while data:
                data = data[self._binary.write(data) :]

    def flush(self) -> None:
        with self.held():
            self._flush()

    def _flush(self) -> None:
        (self._binary or self.stream).flush()

    def drain(self) -> None:
        """After an interrupt: flush what is buffered (whole lines). Ctrl-C is no longer held here,
        so pressing it again stops even a flush stuck on a reader that went away."""
        self.__exit__()
        self._pending = False
        self._flush()


class _Held:
    """What ``LineWriter.held()`` returns: one object per writer, entered for every line (a
    generator-based context manager would build a generator and a wrapper per line). The state,
    the nesting depth and a pending interrupt, is the writer's, so blocks nest."""

    __slots__ = ("_writer",)

    def __init__(self, writer: LineWriter) -> None:
        self._writer = writer

    def __enter__(self) -> None:
        self._writer._depth += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        w = self._writer
        w._depth -= 1
        # an exception from the block goes on as it is; the held interrupt stays pending (drain clears it)
        if exc_type is None and w._pending and not w._depth:
            w._pending = False
            raise KeyboardInterrupt
