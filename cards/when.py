"""When something happened: relative to now, and as a local time in the configured zone.

A time is written "2026-11-21 17:00", local to the configured zone, without the zone: a card
that shows times names the zone once, in its footer (`zone_footer`), not after every time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cards.text import Text, markdown


def as_utc(moment: datetime) -> datetime:
    """Aware datetimes converted to UTC; naive ones are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def stamp(moment: datetime, zone: str) -> str:
    """The local time in the IANA zone `zone`: "2026-11-21 17:00"; the card names the zone
    once (`zone_footer`)."""
    local = as_utc(moment).astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M")


def zone_note(zone: str) -> Text:
    """ "Times in Asia/Shanghai": the zone by its IANA name, not an abbreviation ("CST" is
    China's and America's)."""
    return Text("Times in {zone}", "时间均为 {zone} 时区").format(zone=zone)


def zone_footer(zone: str) -> dict:
    """The small print at the foot of a card that shows times: the one place it names the
    zone."""
    return markdown(zone_note(zone), size="notation")


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
    """ "seen 5 min ago · 2026-11-21 17:00" (local to `zone`)."""
    relative = ago(moment, now)
    when = stamp(moment, zone)
    return Text(f"seen {relative.md_en} · {when}", f"{relative.md_zh}查询 · {when}")
