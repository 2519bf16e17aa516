"""A fatal signal leaves a trace: the engine writes through memory maps, and a write to a
full disk or a read of a file truncated under it kills the process (SIGBUS) without an
exception. With Python's `faulthandler` on, the process's stderr (the server's log) then says
which signal struck and where."""

from __future__ import annotations

import contextlib
import faulthandler
import io


def trace_fatal_signals() -> None:
    """Turn `faulthandler` on, writing to stderr; nothing when stderr is not a file (a test's
    captured output) or it is on already."""
    if faulthandler.is_enabled():
        return
    with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
        faulthandler.enable()
