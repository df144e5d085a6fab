"""Text extraction in worker processes, with a hard time limit.

pypdf is pure Python: on the worker's event loop (or in its threads, under the GIL) a
multi-page resume would stall every other activity, and one core would cap throughput. A
small process pool uses the machine's cores and lets a hostile PDF that makes pypdf spin be
stopped for real: past the limit the pool is killed and replaced, and the job fails with
``EXTRACTION_TIMEOUT`` instead of holding a process forever.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from vitae.pdf_text import ErrorCode, ExtractedText, ExtractionError, ExtractionLimits, extract_text

# Allowance on top of the extractor's own between-pages time check.
_HARD_LIMIT_SLACK_SECONDS = 5.0


class ExtractionPool:
    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._pool = self._new_pool() if processes > 0 else None

    async def warm_up(self) -> None:
        """Start every process and import pypdf now, not on the first resume."""
        if self._pool is not None:
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(self._pool, _ready) for _ in range(self._processes)))

    def _new_pool(self) -> ProcessPoolExecutor:
        # forkserver: children do not inherit the worker's threads, sockets or event loop.
        return ProcessPoolExecutor(self._processes, mp_context=multiprocessing.get_context("forkserver"))

    async def extract(self, data: bytes, limits: ExtractionLimits) -> ExtractedText:
        if self._pool is None:
            return await asyncio.to_thread(extract_text, data, limits)
        pool = self._pool
        future = asyncio.get_running_loop().run_in_executor(pool, extract_text, data, limits)
        try:
            return await asyncio.wait_for(future, limits.max_seconds + _HARD_LIMIT_SLACK_SECONDS)
        except TimeoutError:
            self._replace(pool, kill=True)
            raise ExtractionError(ErrorCode.EXTRACTION_TIMEOUT, "text extraction exceeded its time limit") from None
        except BrokenProcessPool:
            # A child died (e.g. out of memory): replace the pool; the activity is retried.
            self._replace(pool, kill=False)
            raise

    def _replace(self, broken: ProcessPoolExecutor, *, kill: bool) -> None:
        if self._pool is broken:
            self._pool = self._new_pool()
        if kill:
            for process in list(getattr(broken, "_processes", {}).values()):
                process.kill()
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _ready() -> bool:
    # Runs in a pool process; unpickling this function imported vitae.pdf_text (and pypdf).
    return True
