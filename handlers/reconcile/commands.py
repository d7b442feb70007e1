"""`/referral reconcile [<from> <to>]`: the reconciliation report of a window, as the reply.

Uncertain withdrawals are settled first, so that the report counts what they turned out to be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cards.text import Text
from handlers import parser
from handlers.asker import Answer, Asker
from handlers.reconcile.service import reconcile_report
from handlers.registry import command
from handlers.services import Services
from handlers.withdrawals import payouts


@dataclass(frozen=True)
class Reconcile:
    """A window of whole days in the configured zone, both included; None: last month."""

    start: date | None = None
    end: date | None = None


def parse_window(args: list[str], usage: str) -> Reconcile:
    if not args:
        return Reconcile()
    if len(args) != 2:
        raise parser.UsageError(
            Text("Give both days, from and to, or none.", "请同时提供起止日期，或都不提供。"), usage
        )
    try:
        start, end = (date.fromisoformat(arg) for arg in args)
    except ValueError:
        raise parser.UsageError(
            Text("Write days as YYYY-MM-DD.", "日期格式为 YYYY-MM-DD。"), usage
        ) from None
    if start > end:
        raise parser.UsageError(
            Text("The first day comes after the last.", "起始日期晚于结束日期。"), usage
        )
    return Reconcile(start, end)


@command("/referral reconcile [<from> <to>]", parse=parse_window)
def reconcile(services: Services, asker: Asker, command: Reconcile) -> Answer:
    """Check withdrawals against Feishu
    与飞书核对提取记录"""
    payouts.settle_all(services)
    card = reconcile_report(
        services.settings,
        services.withdrawals,
        services.gateway,
        command.start,
        command.end,
        services.accounts,
    )
    return Answer(card)
