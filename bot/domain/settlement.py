"""Settling an uncertain withdrawal: whether Feishu paid it out, told by a balance read or by
Feishu's reconciliation. Pure.

A withdrawal is *uncertain* when the bot gave up on its withdraw call (hours of failures, or
repeated errors) or Feishu's answer lacked `trans_time`: Feishu may have paid it out and never
said so. What the bot knows: the order id, recorded before any call, and the amounts approved,
which were the account's whole balance of the withdrawn kinds when Approve was pressed
(approving re-reads the balance and asks again on any difference), and withdraw always takes
the whole balance of those kinds.

**A balance read** of the withdrawn kinds, compared with the amounts approved:

- *unchanged*: the approved money is still in the account, so Feishu did not pay it out (or
  paid and was refilled with exactly as much, which the call below reveals). The bot asks
  withdraw again **with the same order id**: a repeat is answered with the original withdrawal,
  a first call pays out the balance, which is exactly what was approved. Either way Feishu's
  answer is the receipt.
- *empty*: the approved money has left the account, by this order or in Feishu's console. The
  same call with the same order id is safe (a first call has nothing to take) and tells which:
  the original withdrawal's amounts (paid by the bot), or nothing (closed: the bot paid nothing).
- anything else (bonuses added since, part paid out in the console): asking again could pay out
  amounts nobody approved, so the bot does not. Reconciliation decides, and where it cannot,
  the balance itself: *dropped* (every approved amount is below what was approved: the approved
  money has left the account, so it counts as paid), *grew* (every approved amount is still
  there, and more: not paid), *mixed*: still uncertain.

A disabled account is not asked again (the docs do not say whether Feishu checks a repeated
order id before the account's status), and a refusal of the order id asked again proves
nothing: both are left to reconciliation and the balance alone, where *unchanged* counts as not
paid and *empty* as paid.

**Reconciliation** (points only, as Feishu documents it) of the account over the window in
which the order could have been carried out (approval to giving up, with a margin for clocks):
Feishu reports the points it recorded as withdrawn there when they differ from what the bot
sends (its own withdrawals in the window, this one left out). Exactly the approved points more:
paid. Nothing more: not paid. Any other difference (someone paid out in the console meanwhile):
it cannot tell.

Whatever is concluded, the order id is never replaced: a withdrawal settled as not paid is
failed, and paying the account out again takes a new request and a new approval. Because
withdraw always takes the whole balance, a wrong inference cannot pay anything out twice; at
worst the bot's records miss (or claim) a payout that reconciliation then shows as a mismatch.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.withdrawals import Amounts

# Feishu's clock and ours may differ; the reconciliation window is widened by this each side.
CLOCK_MARGIN = timedelta(minutes=5)


class Verdict(StrEnum):
    PAID = "paid"
    NOT_PAID = "not paid"
    UNKNOWN = "unknown"


class Balance(StrEnum):
    """What a balance read of the withdrawn kinds says, against the amounts approved."""

    UNCHANGED = "unchanged"
    EMPTY = "empty"
    DROPPED = "dropped"
    GREW = "grew"
    MIXED = "mixed"

    @property
    def may_ask_again(self) -> bool:
        """Whether withdraw may be called again with the order id: it can then pay out only
        what was approved, or nothing."""
        return self in (Balance.UNCHANGED, Balance.EMPTY)

    @property
    def verdict(self) -> Verdict:
        """What the balance alone says, when asking again is not safe and reconciliation
        cannot tell."""
        if self in (Balance.EMPTY, Balance.DROPPED):  # the approved money has left
            return Verdict.PAID
        if self in (Balance.UNCHANGED, Balance.GREW):  # it is all still there
            return Verdict.NOT_PAID
        return Verdict.UNKNOWN


def read_balance(approved: Amounts, now: Amounts) -> Balance:
    if now == approved:
        return Balance.UNCHANGED
    if now.empty:
        return Balance.EMPTY
    # Each part that was approved (points, each currency), then and now.
    had = {c.currency: c.amount for c in now.cash}
    parts = [(now.points, approved.points)] if approved.points else []
    parts += [(had.get(c.currency, 0), c.amount) for c in approved.cash if c.amount]
    if all(now_part < then for now_part, then in parts):
        return Balance.DROPPED
    if all(now_part >= then for now_part, then in parts):
        return Balance.GREW
    return Balance.MIXED


def reconciliation_window(
    approved_at: datetime, uncertain_at: datetime
) -> tuple[datetime, datetime]:
    """When Feishu could have recorded the order: from the approval to the giving up."""
    return approved_at - CLOCK_MARGIN, uncertain_at + CLOCK_MARGIN


def reconciliation_verdict(
    approved_points: int, feishu_points: int | None, bot_points: int
) -> Verdict:
    """`bot_points`: what the bot sent for the account (its other withdrawals in the window);
    `feishu_points`: what Feishu reported recorded, None when it reported no mismatch (so it
    recorded exactly `bot_points`)."""
    if approved_points <= 0:  # reconciliation compares points only
        return Verdict.UNKNOWN
    recorded = bot_points if feishu_points is None else feishu_points
    extra = recorded - bot_points
    if extra == approved_points:
        return Verdict.PAID
    if extra == 0:
        return Verdict.NOT_PAID
    return Verdict.UNKNOWN
