"""The digest's chart: the point total and the cash total per currency over the last scheduled
digests, as a card `chart` element holding a VChart line spec.

A chart spec has no `i18n_content` of its own (and JSON 2.0 no card-wide i18n), so its title,
axis titles and series names carry both languages side by side ("Points 积分"). The spec is
plain data only: Feishu refuses JavaScript functions in it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.digest_model import Totals
from cards.text import Text
from cards.when import as_utc

TITLE = Text("Totals over the last {n} digests", "近 {n} 份日报的合计")
POINTS = Text("Points", "积分")
CASH = Text("{currency} cash", "{currency} 现金")
DATE = Text("Date ({zone})", "日期（{zone}）")
TOTAL = Text("Total", "合计")
# What the chart may take of the card's 30 KB; the oldest digests go first beyond it.
MAX_CHART_BYTES = 8 * 1024
# The shortest date label that tells every digest of the chart apart.
DATE_FORMATS = ("%m-%d", "%Y-%m-%d", "%m-%d %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


def both(text: Text) -> str:
    """English and Chinese side by side, for the places a chart spec offers one string."""
    return f"{text.en} {text.zh}"


def date_labels(moments: Sequence[datetime], zone: str) -> list[str]:
    """Each moment as a local date in `zone`, with the year or time only when needed to tell
    two of them apart."""
    local = [as_utc(m).astimezone(ZoneInfo(zone)) for m in moments]
    for pattern in DATE_FORMATS:
        labels = [m.strftime(pattern) for m in local]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def _number(amount: Decimal) -> int | float:
    """A JSON number for an amount: whole amounts stay integers, the rest keep cents."""
    cents = amount.quantize(Decimal("0.01"))
    return int(cents) if cents == cents.to_integral_value() else float(cents)


def chart_values(history: Sequence[tuple[datetime, Totals]], zone: str) -> list[dict]:
    """The VChart rows: one per digest and measure (points, then each currency in order). A
    currency a digest lacks counts as nothing held then."""
    currencies = sorted({c.currency for _, t in history for c in t.cash})
    labels = date_labels([moment for moment, _ in history], zone)
    values: list[dict] = []
    for label, (_, t) in zip(labels, history, strict=True):
        values.append({"date": label, "value": t.points, "series": both(POINTS)})
        held = {c.currency: c.amount for c in t.cash}
        for currency in currencies:
            values.append(
                {
                    "date": label,
                    "value": _number(held.get(currency, Decimal(0))),
                    "series": both(CASH.format(currency=currency)),
                }
            )
    return values


def _spec(history: Sequence[tuple[datetime, Totals]], zone: str) -> dict:
    return {
        "type": "line",
        "title": {"visible": True, "text": both(TITLE.format(n=len(history)))},
        "data": {"values": chart_values(history, zone)},
        "xField": "date",
        "yField": "value",
        "seriesField": "series",
        "point": {"visible": True},
        "legends": {"visible": True, "orient": "bottom"},
        "axes": [
            {"orient": "bottom", "title": {"visible": True, "text": both(DATE.format(zone=zone))}},
            {"orient": "left", "title": {"visible": True, "text": both(TOTAL)}},
        ],
    }


def totals_chart(
    history: Sequence[tuple[datetime, Totals]], zone: str, *, max_bytes: int = MAX_CHART_BYTES
) -> dict | None:
    """The card `chart` element of these digests' totals (oldest first), or None with fewer
    than two: one point is no line. Digests are dropped oldest first to stay in `max_bytes`."""
    shown = list(history)
    if len(shown) < 2:
        return None
    while True:
        element = {
            "tag": "chart",
            "element_id": "totals_chart",
            "aspect_ratio": "16:9",
            "chart_spec": _spec(shown, zone),
        }
        # Counted ASCII-escaped, as the card's own size is.
        if len(json.dumps(element).encode()) <= max_bytes or len(shown) == 2:
            return element
        shown = shown[1:]
