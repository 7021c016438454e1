"""The worker's printed output, kept bounded."""

from __future__ import annotations

import os
import threading


class OutputSink:
    """Reads the worker's stdout/stderr pipe to the end, keeping only the first bytes: a
    submission printing a million lines can neither fill our disk nor block on a full pipe."""

    def __init__(self, fd: int, keep: int):
        self.fd, self.keep = fd, keep
        self.data = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            room = self.keep - len(self.data)
            self.data += chunk[:max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)
        os.close(self.fd)
