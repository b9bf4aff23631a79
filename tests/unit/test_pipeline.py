"""The scrub's helper threads: order kept, errors raised in the caller, stops on request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from permis.services.pipeline import Background, Prefetch


def test_prefetch_gives_every_item_in_order() -> None:
    assert list(Prefetch(iter(range(50)), depth=3)) == list(range(50))


def test_prefetch_raises_the_error_of_its_source_in_the_caller() -> None:
    def source() -> Iterator[int]:
        yield 1
        raise ValueError("broken")

    items = Prefetch(source())
    assert next(items) == 1
    with pytest.raises(ValueError, match="broken"):
        next(items)


def test_prefetch_close_stops_the_source() -> None:
    closed: list[bool] = []

    def source() -> Iterator[int]:
        try:
            yield from range(10**9)
        finally:
            closed.append(True)

    items = Prefetch(source())
    assert next(items) == 0
    items.close()
    assert closed == [True]


def test_background_runs_calls_in_order_and_finish_waits() -> None:
    done: list[int] = []
    work = Background()
    for i in range(20):
        work.submit(done.append, i)
    work.finish()
    assert done == list(range(20))


def test_background_error_is_raised_by_finish_or_the_next_submit() -> None:
    def fail() -> None:
        raise OSError("disk full")

    work = Background()
    work.submit(fail)
    with pytest.raises(OSError, match="disk full"):
        for _ in range(1000):  # raised by a submit once the call has run, else by finish
            work.submit(lambda: None)
        work.finish()


def test_background_cancel_drops_what_did_not_start() -> None:
    done: list[int] = []
    work = Background()
    work.submit(done.append, 1)
    work.cancel()
    assert done in ([], [1])
    with pytest.raises(RuntimeError, match="stopped"):
        work.submit(done.append, 2)
