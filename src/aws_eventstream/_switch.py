"""The install()/uninstall()/installed() logic the integrations (botocore, smithy) share."""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator


class Switch:
    """A process-wide patch that ``install()`` turns on until ``uninstall()``, and
    ``installed()`` blocks turn on while any of them runs (in any thread).

    ``patch`` and ``restore`` are called with :attr:`lock` held, and must be idempotent.
    """

    def __init__(self, patch: Callable[[], None], restore: Callable[[], None]) -> None:
        # Reentrant: patch and restore, and code of the integration's own, take it too.
        self.lock = threading.RLock()
        self._patch = patch
        self._restore = restore
        self._explicit = False  # install() called, uninstall() not since
        self._blocks = 0  # installed() blocks running

    def install(self) -> None:
        with self.lock:
            self._explicit = True
            self._patch()

    def uninstall(self) -> None:
        with self.lock:
            self._explicit = False
            self._restore()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        with self.lock:
            self._blocks += 1
            self._patch()
        try:
            yield
        finally:
            with self.lock:
                self._blocks -= 1
                if not self._blocks and not self._explicit:
                    self._restore()
