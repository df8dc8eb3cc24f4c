"""Usage events queued in memory and sent in batches by a background thread.

A batch is resent until aifinops stores it (request ids make resending safe: an event already
stored is answered as a duplicate and counted once). A batch refused with 422 names its bad events
by index: those are dropped (and logged) and the rest is sent again. Other 4xx answers (a revoked
key, say) cannot succeed on retry: the batch is dropped and logged. The queue is bounded; past
`max_queue` the oldest events are dropped and counted in `dropped`.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time

from .client import ApiError, Client, Unreachable

log = logging.getLogger("aifinops_client")

MAX_BATCH = 1000


class UsageBatcher:
    def __init__(
        self,
        client: Client,
        *,
        max_batch: int = MAX_BATCH,
        flush_seconds: float | None = None,
        max_queue: int = 100_000,
        max_backoff: float = 30.0,
    ):
        if flush_seconds is None:
            flush_seconds = float(os.environ.get("AIFINOPS_FLUSH_SECONDS", "1.0"))
        self.client = client
        self.max_batch = max(1, min(max_batch, MAX_BATCH))
        self.flush_seconds = flush_seconds
        self.max_queue = max_queue
        self.max_backoff = max_backoff
        self.sent = 0  # events aifinops answered (stored or duplicate)
        self.rejected = 0  # events aifinops refused as invalid
        self.dropped = 0  # events lost to a full queue or a batch that cannot succeed
        self.failures = 0  # sends that did not reach aifinops (retried)
        self._queue: collections.deque[dict] = collections.deque()
        self._in_flight = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = None
        self._closed = False
        atexit.register(self.close, 5.0)

    def add(self, event: dict) -> None:
        """Queue one usage event (the endpoint's fields); it is sent within `flush_seconds`."""
        with self._cond:
            if self._closed:
                raise RuntimeError("This batcher is closed.")
            self._queue.append(event)
            while len(self._queue) > self.max_queue:
                self._queue.popleft()
                self.dropped += 1
            self._ensure_thread()
            if len(self._queue) >= self.max_batch:
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued now; True when the queue is empty and nothing is in flight."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._ensure_thread()
            self._flush_requested = True
            self._cond.notify_all()
            while self._queue or self._in_flight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining if remaining is not None else 1.0)
                self._flush_requested = True
                self._cond.notify_all()
            return True

    def close(self, timeout: float | None = 10.0) -> bool:
        """Send what is queued (waiting at most `timeout` seconds), then stop the thread; events
        still unsent then are counted in `dropped`. Registered at exit."""
        flushed = self.flush(timeout) if self._queue or self._in_flight else True
        with self._cond:
            self._closed = True
            if not flushed:
                self.dropped += len(self._queue)
                log.error("aifinops: %d usage events not sent at close", len(self._queue))
                self._queue.clear()
            self._cond.notify_all()
        return flushed

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    _flush_requested = False

    def _ensure_thread(self) -> None:
        # Started on first use, and again in a forked child (threads do not survive a fork).
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._in_flight = 0
        self._thread = threading.Thread(target=self._run, name="aifinops-usage", daemon=True)
        self._thread.start()

    def _take(self) -> list[dict] | None:
        with self._cond:
            deadline = None
            while True:
                if self._closed and not self._queue:
                    return None
                if not self._queue:
                    self._flush_requested = False
                    deadline = None
                    self._cond.wait(self.flush_seconds)
                    continue
                if len(self._queue) >= self.max_batch or self._flush_requested or self._closed:
                    break
                # Wait out the flush interval for more events, then send what there is.
                deadline = deadline or time.monotonic() + self.flush_seconds
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            self._in_flight = len(batch)
            return batch

    def _done(self, requeue: list[dict]) -> None:
        with self._cond:
            if self._closed:
                self.dropped += len(requeue)
            else:
                self._queue.extendleft(reversed(requeue))
            self._in_flight = 0
            self._cond.notify_all()

    def _run(self) -> None:
        backoff = 0.0
        while True:
            batch = self._take()
            if batch is None:
                return
            requeue: list[dict] = []
            try:
                self.client.report(batch)
                self.sent += len(batch)
                backoff = 0.0
            except Unreachable as exc:
                self.failures += 1
                requeue = batch
                backoff = min(max(backoff * 2, 0.25), self.max_backoff)
                log.warning("aifinops usage batch of %d not sent (%s); retrying", len(batch), exc)
            except ApiError as exc:
                bad = {d.get("index") for d in exc.details if isinstance(d.get("index"), int)}
                if exc.status == 422 and bad:
                    for detail in exc.details:
                        log.error("aifinops refused usage event %s: %s", detail.get("index"), detail)
                    self.rejected += len(bad & set(range(len(batch))))
                    requeue = [event for i, event in enumerate(batch) if i not in bad]
                else:
                    self.dropped += len(batch)
                    log.error("aifinops refused a usage batch of %d, dropped: %s", len(batch), exc)
            except Exception:  # never let the thread die: the events stay queued
                self.failures += 1
                requeue = batch
                backoff = min(max(backoff * 2, 0.25), self.max_backoff)
                log.exception("aifinops usage batch failed; retrying")
            self._done(requeue)
            if self._closed:
                continue
            if backoff:
                time.sleep(backoff)
