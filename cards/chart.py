"""The digest's charts: the point total and each currency's cash total over the last scheduled
digests, one small card `chart` element (a VChart line spec) per unit.

One chart per unit, because on one shared axis the larger totals flatten the smaller: thousands
of points made a USD total of 120 a flat line at 0. Each chart scales to its own unit.

No words inside the charts. In card JSON 2.0 a reader's language is chosen per component, by
`i18n_content` and its kin; the card-wide `i18n_elements` is gone ("卡片 JSON 2.0 结构不支持为
卡片全局配置多语言", https://open.feishu.cn/document/uAjLw4CM/ukzMukzMukzM/feishu-cards/configure-multi-language-content),
and the chart component has no per-language property (tag, element_id, margin, aspect_ratio,
color_theme, chart_spec, preview, height:
https://open.feishu.cn/document/feishu-cards/card-json-v2-components/content-components/chart).
So a spec holds only dates as numbers and amounts, with no title, legend or axis title, and the
words (what the charts cover, which unit each is) are markdown elements beside them in the
reader's language. The spec is plain data only: Feishu refuses JavaScript functions in it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.digest_model import Totals
from cards.text import Text, join, markdown
from cards.when import as_utc

# The dates are local to the zone the digest card's footer names once (`cards.when`).
SCHEDULED_TITLE = Text("Totals of the last {n} scheduled digests", "近 {n} 份定时摘要的合计")
ON_DEMAND_TITLE = Text(
    "Totals of the last {n} scheduled digests and now", "近 {n} 份定时摘要及此刻的合计"
)
POINTS = Text("Points", "积分")
CASH = Text("{currency} cash", "{currency} 现金")
NOT_CHARTED = Text(
    "Not charted (five charts a card): {currencies}", "未绘制（每张卡片五个图表）：{currencies}"
)
# Feishu: "单张卡片建议最多放置五个图表组件" (the chart component's page above). Points take one.
MAX_CHARTS = 5
# The chart's shape: a small one per unit, stacked.
ASPECT_RATIO = "2:1"
# What the charts may take of the card's 30 KB; the oldest digests go first beyond it.
MAX_CHART_BYTES = 8 * 1024
# The shortest date label that tells every digest of the chart apart.
DATE_FORMATS = (
    "%m-%d",
    "%Y-%m-%d",
    "%m-%d %H:%M",
    "%Y-%m-%d %H:%M",
    "%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
)


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


def currencies(history: Sequence[tuple[datetime, Totals]]) -> list[str]:
    """Every currency any of these digests held, in alphabetical order."""
    return sorted({c.currency for _, t in history for c in t.cash})


def unit_values(
    history: Sequence[tuple[datetime, Totals]], zone: str, currency: str | None
) -> list[dict]:
    """One unit's VChart rows, a digest each: points when `currency` is None, else that
    currency's cash (a digest without it held none then)."""
    labels = date_labels([moment for moment, _ in history], zone)
    values: list[dict] = []
    for label, (_, t) in zip(labels, history, strict=True):
        if currency is None:
            value: int | float = t.points
        else:
            held = {c.currency: c.amount for c in t.cash}
            value = _number(held.get(currency, Decimal(0)))
        values.append({"date": label, "value": value})
    return values


def _chart(element_id: str, values: list[dict]) -> dict:
    return {
        "tag": "chart",
        "element_id": element_id,
        "aspect_ratio": ASPECT_RATIO,
        "chart_spec": {
            "type": "line",
            "data": {"values": values},
            "xField": "date",
            "yField": "value",
            "point": {"visible": True},
            # One line a chart, named by the label above it: a legend would only repeat it.
            "legends": {"visible": False},
        },
    }


def _label(text: Text) -> dict:
    return markdown(Text(f"**{text.md_en}**", f"**{text.md_zh}**"))


def _elements(
    history: Sequence[tuple[datetime, Totals]], zone: str, *, scheduled: bool
) -> list[dict]:
    held = currencies(history)
    charted, left_out = held[: MAX_CHARTS - 1], held[MAX_CHARTS - 1 :]
    # On demand, the last point is this digest's "now", not a scheduled digest.
    title = SCHEDULED_TITLE if scheduled else ON_DEMAND_TITLE
    count = len(history) if scheduled else len(history) - 1
    intro = [title.format(n=count)]
    if left_out:
        intro.append(NOT_CHARTED.format(currencies=", ".join(left_out)))
    elements = [markdown(join(intro), size="notation")]
    elements += [_label(POINTS), _chart("chart_points", unit_values(history, zone, None))]
    for i, currency in enumerate(charted):
        elements += [
            _label(CASH.format(currency=currency)),
            _chart(f"chart_cash_{i}", unit_values(history, zone, currency)),
        ]
    return elements


def totals_charts(
    history: Sequence[tuple[datetime, Totals]],
    zone: str,
    *,
    scheduled: bool = True,
    max_bytes: int = MAX_CHART_BYTES,
) -> list[dict]:
    """The card elements charting these digests' totals (oldest first; the last is the card's
    own digest, `scheduled` or on demand): a line saying what they cover, then a labelled chart
    per unit. Nothing with fewer than two digests: one point is no line. Digests are dropped
    oldest first to stay in `max_bytes`."""
    shown = list(history)
    if len(shown) < 2:
        return []
    while True:
        elements = _elements(shown, zone, scheduled=scheduled)
        # Counted ASCII-escaped, as the card's own size is.
        if len(json.dumps(elements).encode()) <= max_bytes or len(shown) == 2:
            return elements
        shown = shown[1:]
