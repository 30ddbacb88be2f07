"""SIGTERM stops a long-running command as Ctrl-C does (`dcagent agent`, `publish --serve`): a
service manager stops with SIGTERM, and a background CI job starts its children with SIGINT
ignored, so Ctrl-C alone would leave them running."""
from __future__ import annotations

import signal
import threading


def stop_on_sigterm(stop: threading.Event | None = None) -> None:
    """From now on SIGTERM sets `stop` (when given) and raises KeyboardInterrupt in the main thread."""
    def interrupt(signum, frame) -> None:  # noqa: ANN001, ARG001 - signal handler signature
        if stop is not None:
            stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
