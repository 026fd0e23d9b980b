"""One daemon thread that runs whatever a planner says is missing, until nothing is.

With :meth:`~saliency_widgets.widget._state.ExplorerState.next_job` as the planner, the thread
never runs a queue of stale requests: it computes what the *current* selection lacks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Worker:
    """One daemon thread that runs whatever a planner says is missing, until nothing is.

    Args:
        plan: Returns the next job (a callable) or ``None``; called on the worker thread.
        name: Thread name.
    """

    def __init__(self, plan: Callable[[], Callable[[], None] | None], name: str) -> None:
        self._plan = plan
        self._condition = threading.Condition()
        self._woken = False
        self._idle = True
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Tells the worker that the state changed (cheap; safe from any thread)."""
        with self._condition:
            self._woken = True
            self._condition.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until the worker has nothing left to do.

        Args:
            timeout: Seconds to wait at most (``None``: no limit).

        Returns:
            Whether the worker is idle (``False`` on timeout).

        Raises:
            RuntimeError: When called from the worker thread itself (it would never return).
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("wait() called from the widget's worker thread")
        with self._condition:
            return self._condition.wait_for(
                lambda: (self._idle and not self._woken) or self._closed, timeout
            )

    @property
    def busy(self) -> bool:
        """Whether a job is running or about to."""
        with self._condition:
            return self._woken or not self._idle

    def close(self) -> None:
        """Stops the thread after its current job."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _loop(self) -> None:
        while True:
            with self._condition:
                while not self._woken and not self._closed:
                    self._idle = True
                    self._condition.notify_all()
                    self._condition.wait()
                if self._closed:
                    self._idle = True
                    self._condition.notify_all()
                    return
                self._woken = False
                self._idle = False
            self._drain()

    def _drain(self) -> None:
        while not self._closed:
            try:
                job = self._plan()
                if job is None:
                    return
                job()
            except Exception:  # a bug, not a model error (jobs report those): keep serving
                logger.exception("saliency widget worker")
                return


__all__ = ["Worker"]
