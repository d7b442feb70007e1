"""One audit entry per act: what a command, a press or a job decided, and its writing.

A handler does not write the audit itself when a runner (the command runner, the button
runner) stands above it: it returns an `Act` with its answer, and the runner writes the one
entry for the act, with the runner's action name, actor and chat. Work with no runner above it
(an expiry, a payout, a leaver) writes its entry with `record`. So an act is never logged
twice, and never by two places that could disagree.

An entry is stamped with the time its act began, and the audit is read in that order: an
approval waits for its payout, whose entry is written first but comes after it.

`outcome` and `detail` stay machine codes (the CSV keeps them); `facts` hold what the entry's
sentence tells (see `cards/audit_sentences.py`): `why` (a reason code), `reason` (a reason in
both languages), `request`, `points` and `cash`, `order`, and so on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.feishu.openapi import OpenApiError
from cards.text import Text
from handlers.answers import explain
from handlers.services import Services


@dataclass(frozen=True)
class Act:
    """What an act decided, for its audit entry. `account_id`: the account it concerned, when
    the runner cannot know it (a withdrawal request's)."""

    outcome: str = "ok"
    detail: str | None = None
    facts: Mapping[str, object] = field(default_factory=dict)
    account_id: str | None = None

    @property
    def failed(self) -> bool:
        """Feishu answered with an error (see `failed`)."""
        return self.outcome.startswith("error ")


OK = Act()


def refused(why: str, detail: str | None = None, **facts: object) -> Act:
    """Refused for the reason `why` (a code the sentences know, e.g. `not_admin`)."""
    return Act("refused", detail or why, {"why": why, **facts})


NOT_ADMIN = refused("not_admin", "not an admin")


def failed(error: OpenApiError, **facts: object) -> Act:
    """Feishu answered with an error; the reason in plain words in both languages."""
    return Act(f"error {error.code}", error.msg, {"reason": bilingual(explain(error)), **facts})


def bilingual(text: Text) -> dict[str, str]:
    """A text as the facts keep it."""
    return {"en": text.en, "zh": text.zh}


def record(
    services: Services,
    act: Act,
    *,
    actor: str | None,
    action: str,
    account_id: str | None = None,
    via: str = "command",
    chat_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """Write the act's one entry; `at`: when the act began (now when not given)."""
    services.audit.record(
        actor=actor,
        action=action,
        account_id=act.account_id or account_id,
        outcome=act.outcome,
        detail=act.detail,
        via=via,
        chat_id=chat_id,
        facts=act.facts,
        at=at,
    )
