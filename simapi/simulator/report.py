"""The numbers `manage.py simulate` prints after a replay: throughput, latency
percentiles overall and by command, and errors by kind with the first examples."""

import math
from collections import Counter
from dataclasses import dataclass, field

from .client import MAX_ERROR_EXAMPLES, ClientResult
from .scenario import COMMANDS


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Summary:
    requests: int
    seconds: float
    errors: Counter
    examples: list[str]
    p50: float
    p95: float
    p99: float
    max: float
    slow: int
    slow_threshold: float
    by_command: dict[str, tuple[int, float, float]] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        ms = 1000
        lines = [
            f"requests: {self.requests} in {self.seconds:.1f} s, {self.throughput:.1f} req/s",
            f"latency: p50 {self.p50 * ms:.1f} ms, p95 {self.p95 * ms:.1f} ms, "
            f"p99 {self.p99 * ms:.1f} ms, max {self.max * ms:.1f} ms",
            f"slower than {self.slow_threshold:g} s: {self.slow}",
        ]
        lines += [
            f"  {command}: {count} requests, p50 {p50 * ms:.1f} ms, p99 {p99 * ms:.1f} ms"
            for command, (count, p50, p99) in self.by_command.items()
        ]
        lines += [
            f"errors: {self.error_count}",
        ]
        lines += [f"  {kind}: {count}" for kind, count in sorted(self.errors.items())]
        if self.examples:
            lines.append("first errors:")
            lines += [f"  {example}" for example in self.examples]
        return lines


def summarise(results: list[ClientResult], seconds: float, *, slow_threshold: float) -> Summary:
    latencies = sorted(latency for result in results for latency in result.latencies)
    errors: Counter = Counter()
    examples: list[str] = []
    per_command: dict[str, list[float]] = {command: [] for command in COMMANDS}
    for result in results:
        errors.update(result.errors)
        examples += result.examples
        for command, latency in zip(result.commands, result.latencies, strict=True):
            per_command[command].append(latency)
    by_command = {}
    for command, values in per_command.items():
        if values:
            values.sort()
            by_command[command] = (len(values), percentile(values, 0.5), percentile(values, 0.99))
    return Summary(
        requests=len(latencies),
        seconds=seconds,
        errors=errors,
        examples=examples[:MAX_ERROR_EXAMPLES],
        p50=percentile(latencies, 0.50),
        p95=percentile(latencies, 0.95),
        p99=percentile(latencies, 0.99),
        max=latencies[-1] if latencies else 0.0,
        slow=sum(1 for latency in latencies if latency > slow_threshold),
        slow_threshold=slow_threshold,
        by_command=by_command,
    )
