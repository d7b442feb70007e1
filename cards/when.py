"""When an account was last seen, relative to now and as an absolute UTC time."""

from __future__ import annotations

from datetime import UTC, datetime

from cards.text import Text


def as_utc(moment: datetime) -> datetime:
    """Aware datetimes converted to UTC; naive ones are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


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


def seen(moment: datetime, now: datetime) -> Text:
    """ "seen 5 min ago · 2026-11-21 09:00 UTC"."""
    relative = ago(moment, now)
    stamp = as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")
    return Text(f"seen {relative.en} · {stamp}", f"{relative.zh}查询 · {stamp}")
