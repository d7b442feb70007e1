"""A referral as the bot follows it: the application a referrer put forward, where it stands, and
what the referrer is told of it. Pure.

Feishu's stage-change event carries only stage ids and a time (`update_time`, ms); the stage's
name and type come from the application's detail. Stage types are Feishu's enum: 1 screening,
2 evaluation, 3 written test, 4 interview, 5 offer, 6 awaiting onboarding, 7 onboarded (hired),
8 other, 255 system default. An application ends without an event (active_status 2): the bot
learns it at the next read of the detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

HIRED = 7  # 已入职: the stage type Feishu marks as hired
JOINING = 6  # 待入职: offer accepted, joining soon


@dataclass(frozen=True)
class Stage:
    id: str
    zh_name: str
    en_name: str
    type: int

    @property
    def hired(self) -> bool:
        return self.type == HIRED


@dataclass(frozen=True)
class ReferralOf:
    """get_by_application's answer: who referred the application."""

    referral_id: str
    application_id: str
    referrer_open_id: str
    referrer_name_zh: str | None = None
    referrer_name_en: str | None = None


@dataclass(frozen=True)
class Application:
    """get_detail's answer, as far as the bot needs it."""

    application_id: str
    job_id: str | None
    job_name: str | None
    talent_id: str | None
    talent_name: str | None
    stage: Stage
    active: bool
    updated_ms: int | None = None  # when Feishu last changed it (`modify_time`)


@dataclass(frozen=True)
class Referral:
    """What the records know of one referred application."""

    application_id: str
    referral_id: str
    referrer_open_id: str
    referrer_name_zh: str | None
    referrer_name_en: str | None
    job_id: str | None
    job_name: str | None
    talent_id: str | None
    talent_name: str | None
    stage: Stage
    active: bool
    since: datetime  # when it reached this stage (the change's update_time)
    referred_at: datetime | None = None

    @property
    def hired(self) -> bool:
        return self.stage.hired


class Updates(StrEnum):
    """REFERRAL_BOT_REFERRAL_UPDATES: what a referrer is told."""

    STAGES = "stages"  # every stage change, and the end
    OUTCOMES = "outcomes"  # hired, or ended
    OFF = "off"


class Kind(StrEnum):
    """What one change means to the referrer."""

    STAGE = "stage"
    HIRED = "hired"
    ENDED = "ended"


def kind_of(stage: Stage, active: bool) -> Kind:
    if not active:
        return Kind.ENDED
    return Kind.HIRED if stage.hired else Kind.STAGE


def worth_telling(updates: Updates, kind: Kind) -> bool:
    if updates is Updates.OFF:
        return False
    return updates is Updates.STAGES or kind is not Kind.STAGE
