"""Run an iterator on a background thread, a few items ahead of its consumer.

Decoding a video (PyAV) and similar producers release the GIL for most of their work, so a
producer thread overlaps them with the consumer's own work (detection, tracking) on another core.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def read_ahead(items: Iterable[T], depth: int = 8) -> Iterator[T]:
    """Yield ``items`` in order while a worker thread produces up to ``depth`` of them ahead.

    An exception raised by the producer is re-raised in the consumer at the point it happened.
    Leaving the loop early (``break``, an exception, closing the generator) stops the producer
    after at most one more item; nothing is left running.
    """
    ahead: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                _put(ahead, item, stop)
            _put(ahead, _DONE, stop)
        except BaseException as error:  # handed to the consumer, raised there
            _put(ahead, _Failure(error), stop)

    worker = threading.Thread(target=produce, name="swaplab-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = ahead.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(ahead: queue.Queue, item: object, stop: threading.Event) -> None:
    """Put ``item`` unless the consumer has stopped (checked every 0.1 s while the queue is full)."""
    while not stop.is_set():
        try:
            ahead.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
