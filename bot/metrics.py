"""What `GET /metrics` serves, in Prometheus text format (`prometheus_client`).

One `Metrics` per bot, with its own registry (tests run several bots in one process, and a
process-wide registry would mix them). The app factory makes it and hands it to the Open API
client and to the handlers; what is cheaper to read at scrape time than to count as it happens
(the inbox's depth, the long connection's state) is read then, through `watch`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_received = Counter(
            "referral_bot_events_received", "Verified pushes from Feishu", ["type"], registry=r
        )
        self.events_acknowledged = Counter(
            "referral_bot_events_acknowledged",
            "Pushes stored in the inbox and acknowledged",
            ["type"],
            registry=r,
        )
        self.events_deduplicated = Counter(
            "referral_bot_events_deduplicated",
            "Pushes Feishu delivered again, acknowledged and not acted on",
            ["type"],
            registry=r,
        )
        self.commands = Counter(
            "referral_bot_commands", "Chat commands by outcome", ["command", "outcome"], registry=r
        )
        self.presses = Counter(
            "referral_bot_button_presses",
            "Card button presses by outcome",
            ["action", "outcome"],
            registry=r,
        )
        self.openapi_calls = Counter(
            "referral_bot_openapi_calls",
            "Open API calls by operation and outcome (ok, or the error code)",
            ["operation", "outcome"],
            registry=r,
        )
        self.openapi_latency = Histogram(
            "referral_bot_openapi_latency_seconds",
            "Open API request latency, each attempt",
            ["operation"],
            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.ratelimit_waits = Counter(
            "referral_bot_ratelimit_waits",
            "Calls that waited for a client-side rate-limit slot",
            ["operation"],
            registry=r,
        )
        self.ratelimit_wait_seconds = Counter(
            "referral_bot_ratelimit_wait_seconds",
            "Seconds spent waiting for client-side rate-limit slots",
            ["operation"],
            registry=r,
        )

    def watch(self, name: str, doc: str, read: Callable[[], dict[str, float]], label: str) -> None:
        """A gauge read at scrape time: `read()` gives a value per label value."""
        self.registry.register(_Gauge(name, doc, read, label))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Gauge(Collector):
    def __init__(
        self, name: str, doc: str, read: Callable[[], dict[str, float]], label: str
    ) -> None:
        self._name, self._doc, self._read, self._label = name, doc, read, label

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self._name, self._doc, labels=[self._label])
        try:
            values = self._read()
        except Exception:  # a sick database: /healthz says so; the scrape still answers
            values = {}
        for key, value in values.items():
            family.add_metric([key], value)
        yield family
