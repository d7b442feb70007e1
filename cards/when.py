"""When something happened: relative to now, and as a local time in the configured zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cards.text import Text


def as_utc(moment: datetime) -> datetime:
    """Aware datetimes converted to UTC; naive ones are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def stamp(moment: datetime, zone: str) -> str:
    """The local time in the IANA zone `zone` and the zone's name: "2026-11-21 17:00
    (Asia/Shanghai)". Names, not abbreviations: "CST" is China's and America's."""
    local = as_utc(moment).astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M") + f" ({zone})"


def ago(moment: datetime, now: datetime) -> Text:
    """ "5 min ago" / "5 分钟前"; future moments (clock skew) count as just now."""
    seconds = int((as_utc(now) - as_utc(moment)).total_seconds())
    if seconds < 60:
        return Text("just now", "刚刚")
    minutes = seconds // 60
    if minutes < 60:
        return Text(f"{minutes} min ago", f"{minutes} 分钟前")
    hours = minutes // 60
    if hours < 24:
        return Text(f"{hours} h ago", f"{hours} 小时前")
    days = hours // 24
    return Text(f"{days} d ago", f"{days} 天前")


def seen(moment: datetime, now: datetime, *, zone: str) -> Text:
    """ "seen 5 min ago · 2026-11-21 17:00 (Asia/Shanghai)"."""
    relative = ago(moment, now)
    when = stamp(moment, zone)
    return Text(f"seen {relative.md_en} · {when}", f"{relative.md_zh}查询 · {when}")
