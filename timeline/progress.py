"""A progress bar for long management commands, written to stderr.

Small enough not to be worth a dependency: on a terminal it redraws one line (at most ten
times a second); in a log (CI, cron, `2> file`) it writes a plain line every few seconds
and one at the end, so logs stay readable.
"""

import time

from django.core.management.base import OutputWrapper


class Progress:
    """Usage: ``with Progress("messages", total=n, stream=self.stderr) as bar: bar.advance(k)``."""

    width = 30
    redraw_every = 0.1  # seconds, on a terminal
    log_every = 5.0  # seconds, when stderr is a file or pipe

    def __init__(self, label: str, *, total: int, stream, enabled: bool = True):
        self.label = label
        self.total = max(total, 0)
        self.stream = stream
        self.enabled = enabled
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = self.started
        self._drawn = -1
        self._tty = enabled and hasattr(stream, "isatty") and stream.isatty()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def advance(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw >= (self.redraw_every if self._tty else self.log_every):
            self._last_draw = now
            self._draw(final=False)

    def close(self) -> None:
        if self.enabled:
            self._draw(final=True)
            self.enabled = False

    def _draw(self, *, final: bool) -> None:
        if not self._tty and self._drawn == self.done:
            return
        self._drawn = self.done
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = int(fraction * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            text = f"{self.label:>9} [{bar}] {fraction:4.0%} {self.done:,}/{self.total:,}"
        else:
            text = f"{self.label:>9} {self.done:,}"
        text += f"  {elapsed:6.1f} s  {rate:,.0f}/s"
        if self._tty:
            self._write("\r" + text + ("\n" if final else ""))
        else:
            self._write(text + "\n")

    def _write(self, text: str) -> None:
        if isinstance(self.stream, OutputWrapper):
            # OutputWrapper appends a newline to every write unless told otherwise.
            self.stream.write(text, ending="")
        else:
            self.stream.write(text)
        self.stream.flush()
