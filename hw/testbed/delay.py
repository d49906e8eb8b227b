"""One-way latency in the sender, for kernels without the `netem` qdisc.

`DelayLine(delay_s).submit(send, *args)` returns at once; a background thread calls
`send(*args)` `delay_s` after the submission, in submission order (the delay is the
same for every message, so FIFO order is due order). The compute thread never waits:
like a propagation delay, the latencies of messages sent back to back overlap, and the
link's bandwidth (tbf in the kernel) still serialises the bytes after release.

Adopting it in a transport, e.g. gloo in `hw.runtime.executor`:
    work = line.submit(dist.isend, wire, dst, tag=tag)   # a Future of the gloo Work
    ...; work.result(timeout).wait(timeout)
Create the line before the compute thread drops to SCHED_IDLE (threads inherit the
policy). Its thread needs the GIL to release a message: a compute thread in pure Python
holds it up to `sys.getswitchinterval()` (5 ms by default; torch kernels release it), so
a worker should set `sys.setswitchinterval(2e-4)`: measured here with a spinning Python
thread, releases were then 0.1 ms late (median; 0.4 ms max) instead of 5 ms (15 ms).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class DelayLine:
    """Run each submitted call `delay_s` after it was submitted, on one background thread."""

    def __init__(self, delay_s: float, name: str = "delay-line") -> None:
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {delay_s}")
        self.delay_s = delay_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._release, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Schedule `fn(*args, **kwargs)`; the Future holds its result or exception."""
        future: Future[T] = Future()
        self._queue.put((time.monotonic() + self.delay_s, future, fn, args, kwargs))
        return future

    def _release(self) -> None:
        while (item := self._queue.get()) is not None:
            due, future, fn, args, kwargs = item
            if (pause := due - time.monotonic()) > 0:
                time.sleep(pause)
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except Exception as err:  # handed to whoever waits on the future
                    future.set_exception(err)

    def close(self) -> None:
        """Release what is queued (each at its due time), then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def __enter__(self) -> DelayLine:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
