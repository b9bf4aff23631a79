"""Two helper threads for a pipeline of batches: the next batch is read while this one is
decided, and the previous one is written meanwhile.

Polars, Arrow and file writes release the GIL, so on a machine with two cores or more the three
stages overlap instead of adding up. Order is kept (one reader, one writer, bounded queues: a
few batches in memory at most), and an error in a helper is raised again in the caller, where
the scrub's clean-up (deleting temporary outputs) runs.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_END = object()
_POLL = 0.1  # seconds between checks of the stop flag while a queue is full


class Prefetch(Generic[T]):
    """The items of ``source``, produced up to ``depth`` ahead in a thread. :meth:`close` stops
    it."""

    def __init__(self, source: Iterator[T], name: str = "permis-read", depth: int = 1) -> None:
        self._queue: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), name=name, daemon=True)
        self._thread.start()

    def _run(self, source: Iterator[T]) -> None:
        try:
            for item in source:
                if not self._put((True, item)):
                    break
            else:
                self._put((True, _END))
        except BaseException as error:  # handed to the consumer, raised there
            self._put((False, error))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    def _put(self, item: tuple[bool, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Prefetch[T]:
        return self

    def __next__(self) -> T:
        ok, item = self._queue.get()
        if not ok:
            self._thread.join()
            raise item
        if item is _END:
            self._thread.join()
            raise StopIteration
        return item  # type: ignore[no-any-return]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class Background:
    """Calls run one after the other in a thread, in the order given. An error stops the
    thread; it is raised by the next :meth:`submit` or by :meth:`finish`."""

    def __init__(self, name: str = "permis-write") -> None:
        self._queue: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.Queue(
            maxsize=1
        )
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            task = self._queue.get()
            if task is None or self._stop.is_set():
                return
            try:
                task[0](*task[1])
            except BaseException as error:  # raised again in the caller
                self._error = error
                return

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, call: Callable[..., Any], *args: Any) -> None:
        while True:
            self._raise()
            if not self._thread.is_alive():
                raise RuntimeError("the background thread has stopped")
            try:
                self._queue.put((call, args), timeout=_POLL)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Waits for every call submitted; raises the error of one that failed."""
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=_POLL)
                break
            except queue.Full:
                continue
        self._thread.join()
        self._raise()

    def cancel(self) -> None:
        """Drops the calls not started, waits for the one running; errors are dropped."""
        self._stop.set()
        with_room = True
        while with_room:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                with_room = False
        if self._thread.is_alive():
            self._queue.put(None)
        self._thread.join()
        self._error = None
