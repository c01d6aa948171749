"""Worker processes for the CPU-bound work a stage splits up (digest files to parse, the
snapshot's titles to index), sized to the cores this process may use.

Workers are started by `spawn`, not `fork`: the parent already runs polars' threads, and a
forked copy of a process with threads can deadlock. A worker ends with the process that
started it, even one killed by SIGKILL (pool workers would otherwise wait for work
forever). A script that calls the pipeline must keep its top-level code under
`if __name__ == "__main__":`, as multiprocessing asks: each worker imports it.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

Item = TypeVar("Item")
Started = TypeVar("Started")


def available_cores() -> int:
    """The cores this process may run on (its affinity mask, which a container or
    `taskset` narrows), not the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity masks on this platform
        return os.cpu_count() or 1


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of `workers` spawned processes, shut down (work not begun cancelled) on exit."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_exit_with_parent)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _exit_with_parent() -> None:
    """In a worker: end it as soon as the process that started it has gone."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_when_ready, args=(parent.sentinel,), daemon=True).start()


def _exit_when_ready(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def started_ahead(
    items: Iterable[Item], start: Callable[[Item], Started], ahead: int
) -> Iterator[tuple[Started, Item]]:
    """Each item with what `start` began for it (a future), in order, while at most
    `ahead` later items are begun: work runs ahead of the caller, bounded in memory."""
    waiting: deque[tuple[Started, Item]] = deque()
    for item in items:
        waiting.append((start(item), item))
        if len(waiting) > ahead:
            yield waiting.popleft()
    while waiting:
        yield waiting.popleft()
