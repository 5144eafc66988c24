import threading

import pytest

from swaplab.core.readahead import read_ahead


def test_items_come_in_order_from_another_thread() -> None:
    threads = set()

    def numbers():
        for k in range(50):
            threads.add(threading.current_thread().name)
            yield k

    assert list(read_ahead(numbers(), depth=3)) == list(range(50))
    assert threads == {"swaplab-read-ahead"}


def test_a_producer_error_reaches_the_consumer_after_the_items_before_it() -> None:
    def failing():
        yield 1
        yield 2
        raise ValueError("bad frame")

    seen = []
    with pytest.raises(ValueError, match="bad frame"):
        for item in read_ahead(failing()):
            seen.append(item)
    assert seen == [1, 2]


def test_breaking_early_stops_the_producer() -> None:
    produced = []

    def endless():
        k = 0
        while True:
            produced.append(k)
            yield k
            k += 1

    for item in read_ahead(endless(), depth=2):
        if item == 5:
            break
    assert not any(t.name == "swaplab-read-ahead" for t in threading.enumerate())
    assert len(produced) <= 5 + 1 + 2 + 1  # at most the queue and one item in hand beyond the consumer
