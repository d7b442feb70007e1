"""`referral-bot import --referrals FROM TO`: the referrals among the applications updated in a
window, with their current stage, so a new deployment does not start blind. The applications
are listed (paged, in the background lane of the limiter), then each is learnt the way the
stage-change event learns it (`handlers.referrals.progress.learn`): its referral asked once and
remembered either way, its detail read for a referral, recorded as of Feishu's `modify_time`.
Nobody is told (these are past changes). Running it again changes nothing more."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.feishu.hire import HireGateway
from bot.feishu.openapi import OpenApiError
from bot.feishu.ratelimit import Priority
from bot.records.referrals import ReferralBook
from handlers.referrals.progress import learn


@dataclass
class Result:
    listed: int = 0
    referrals: int = 0  # recorded or brought up to date now
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        lines = [
            f"{self.listed} applications updated in the window; "
            f"{self.referrals} referrals recorded or brought up to date"
        ]
        lines += [f"could not read application {a}: {why}" for a, why in self.failed]
        return "\n".join(lines)


def window(start: date, end: date, zone: str) -> tuple[datetime, datetime]:
    """Both days whole, in the configured zone."""
    tz = ZoneInfo(zone)
    return (
        datetime.combine(start, time.min, tz),
        datetime.combine(end + timedelta(days=1), time.min, tz) - timedelta(milliseconds=1),
    )


def list_applications(hire: HireGateway, start: datetime, end: datetime) -> list[str]:
    ids: list[str] = []
    for page in hire.applications_updated(start, end):
        ids.extend(page.application_ids)
    return list(dict.fromkeys(ids))


def import_referrals(
    application_ids: list[str],
    hire: HireGateway,
    book: ReferralBook,
    *,
    on_done: Callable[[str], None] = lambda _: None,
) -> Result:
    result = Result(listed=len(application_ids))
    for application_id in application_ids:
        try:
            change = learn(hire, book, application_id, None, priority=Priority.BACKGROUND)
        except OpenApiError as exc:
            result.failed.append((application_id, f"{exc.code}: {exc.msg}"))
        else:
            result.referrals += change is not None
        on_done(application_id)
    return result
