"""What a stranger types stays text: every card builder, with hostile text in every field that
comes from outside (what someone typed, what Feishu returned), puts no live mention, link or
markup into its markdown, and shows the reader exactly what was typed.

The table below must name every card builder in `cards/`: a new builder without a hostile case
fails `test_every_card_builder_is_walked`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from card_checks import (
    HOSTILE,
    HOSTILE_ID,
    all_content,
    assert_inert,
    assert_valid_card,
    markdown_sources,
)

import cards
from bot.domain.accounts import Account, AccountRecord, AccountStatus, Cash, Referrer
from bot.domain.digest_model import Change, Totals
from bot.domain.referrals import Kind as ChangeKind
from bot.domain.referrals import Referral, Stage
from bot.domain.rewards import Amount, Reward
from bot.domain.rewards import State as RewardState
from bot.domain.withdrawals import Amounts, Kind, State, Withdrawal
from cards.account import account_card
from cards.account_list import account_list_card
from cards.audit import audit_card, export_card
from cards.digest import DigestView, digest_card
from cards.error import error_card, not_allowed_card, waiting_card
from cards.help import help_card
from cards.notice import (
    BalanceLine,
    balance_notice_card,
    leaver_card,
    leaver_disabled_card,
    referrer_card,
)
from cards.people import no_account_card, no_own_account_card
from cards.reconcile import MismatchLine, ReconcileView, reconcile_card, reconcile_failed_card
from cards.referrals import change_line, hired_card, progress_card, referrals_card
from cards.rewards import reward_card, rewards_card
from cards.text import Text, mention
from cards.whoami import whoami_card
from cards.withdrawal import withdrawal_card, withdrawals_card

NOW = datetime(2026, 11, 21, 9, 5, tzinfo=UTC)
ZONE = "UTC"
# A handler's plain words holding what was typed, made the careless way (no escaping).
RAW = Text(HOSTILE, HOSTILE)
CASH = (Cash(HOSTILE, Decimal("3")),)
REFERRER = Referrer(HOSTILE_ID, HOSTILE, HOSTILE, HOSTILE, HOSTILE)


def account(status: AccountStatus = AccountStatus.ENABLED, points: int = 5) -> Account:
    return Account(HOSTILE, status, points=points, cash=CASH, referrer=REFERRER)


def withdrawal(state: State) -> Withdrawal:
    return Withdrawal(
        id=7,
        account_id=HOSTILE,
        kind=Kind.ALL,
        state=state,
        amounts=Amounts(5, CASH),
        requested_by=HOSTILE_ID,
        requested_at=NOW,
        expires_at=NOW + timedelta(days=1),
        chat_id=HOSTILE,
        approved_by=HOSTILE_ID,
        order_id=HOSTILE,
        trans_time=NOW,
        withdrawn=Amounts(5, CASH),
        decided_by=HOSTILE_ID,
        error=HOSTILE,
    )


def digest() -> dict:
    before = account(AccountStatus.DISABLED, points=1)
    changes = [
        Change(after=account(), before=before, points_delta=4, cash_delta=CASH),
        Change(after=account()),  # a new account
    ]
    totals = Totals(points=5, cash=CASH, enabled=1)
    return digest_card(
        DigestView(
            taken_at=NOW,
            known=2,
            accounts=[account()],
            totals=totals,
            changes=changes,
            failures=[(HOSTILE, RAW)],
            undelivered=[(HOSTILE, RAW)],
            since=NOW - timedelta(days=1),
            zone=ZONE,
            names={HOSTILE: RAW},
            history=[(NOW - timedelta(days=1), totals), (NOW, totals)],
        )
    )


def found_nothing() -> dict:
    """The find card as the find command makes it: the typed text in its title and text."""
    return account_list_card(
        [],
        now=NOW,
        zone=ZONE,
        title=Text("Accounts matching “{text}”", "匹配“{text}”的账户").format(text=HOSTILE),
        empty=Text("No known account matches “{text}”.", "没有已知账户匹配“{text}”。").format(
            text=HOSTILE
        ),
    )


# Every builder, with each of its cards that can carry outside text; `shows` says whether the
# whole of HOSTILE appears for the reader (it does wherever the builder shows a field whole).
CASES: dict[str, list[tuple[str, Callable[[], dict], bool]]] = {
    "account_card": [
        ("card", lambda: account_card(account(), contact=HOSTILE, notice=RAW), True),
        ("disabled, read only", lambda: account_card(account(2), read_only=True), True),
    ],
    "account_list_card": [
        (
            "records",
            lambda: account_list_card(
                [AccountRecord(HOSTILE, contact=HOSTILE, account=account(), seen_at=NOW)] * 3,
                now=NOW,
                zone=ZONE,
                limit=2,
            ),
            True,
        ),
        ("nothing found", found_nothing, True),
    ],
    "audit_card": [
        (
            "entries",
            lambda: audit_card(
                [
                    {
                        "at": NOW.isoformat(),
                        "actor": actor,
                        "action": HOSTILE,
                        "account_id": HOSTILE,
                        "outcome": HOSTILE,
                        "detail": HOSTILE,
                    }
                    for actor in (HOSTILE_ID, "all", HOSTILE)
                ],
                zone=ZONE,
                account_id=HOSTILE,
            ),
            True,
        ),
    ],
    "export_card": [("receipt", lambda: export_card("audit", 3, HOSTILE), True)],
    "digest_card": [("digest", digest, True)],
    "error_card": [
        ("error", lambda: error_card(RAW, RAW, usage="/referral find <text>"), True),
    ],
    "whoami_card": [
        ("in a group", lambda: whoami_card(HOSTILE_ID, HOSTILE), True),
        ("one to one", lambda: whoami_card(HOSTILE, None), True),
    ],
    "waiting_card": [
        ("still trying", lambda: waiting_card(RAW, RAW), True),
        ("with its zone", lambda: waiting_card(RAW, RAW, zone=ZONE), True),
    ],
    "not_allowed_card": [("refusal", not_allowed_card, False)],
    "help_card": [
        (
            "help",
            lambda: help_card([("/referral find <text>", Text("find", "查找"))], Text("n", "注")),
            False,
        ),
    ],
    "balance_notice_card": [
        (
            "changes",
            lambda: balance_notice_card([BalanceLine(RAW, HOSTILE, 4, CASH, 5, CASH)]),
            True,
        ),
    ],
    "referrer_card": [("bonus grew", lambda: referrer_card(4, CASH, 5, CASH), True)],
    "leaver_card": [
        ("asking", lambda: leaver_card(RAW, account()), True),
        (
            "kept",
            lambda: leaver_card(
                RAW,
                account(),
                decided=Text("Kept by {who}", "{who} 选择保留").format(
                    who=Text.markup(mention(HOSTILE_ID))
                ),
            ),
            True,
        ),
    ],
    "leaver_disabled_card": [("disabled", lambda: leaver_disabled_card(RAW, account(2)), True)],
    "no_account_card": [
        (
            "nobody",
            lambda: no_account_card(
                HOSTILE, f"/referral register {HOSTILE}", {"action": "register"}
            ),
            True,
        ),
    ],
    "no_own_account_card": [("none of yours", no_own_account_card, False)],
    "reconcile_card": [
        (
            "mismatches",
            lambda: reconcile_card(
                ReconcileView(
                    date(2026, 10, 1),
                    date(2026, 10, 31),
                    ZONE,
                    1,
                    5,
                    [MismatchLine(HOSTILE, 5, 4, HOSTILE)],
                    names={HOSTILE: RAW},
                )
            ),
            True,
        ),
    ],
    "reconcile_failed_card": [
        (
            "failed",
            lambda: reconcile_failed_card(date(2026, 10, 1), date(2026, 10, 31), ZONE, RAW),
            True,
        ),
    ],
    "withdrawal_card": [
        (
            state.value,
            lambda state=state: withdrawal_card(
                withdrawal(state), zone=ZONE, referrer=REFERRER, notice=RAW
            ),
            True,
        )
        for state in State
    ],
    "withdrawals_card": [
        (
            "history",
            lambda: withdrawals_card(
                [withdrawal(s) for s in State],
                total=9,
                offset=1,
                zone=ZONE,
                account_id=HOSTILE,
                names={HOSTILE: RAW},
            ),
            True,
        ),
    ],
}
STAGE = Stage(HOSTILE, HOSTILE, HOSTILE, 4)


def referral(active: bool = True, stage_type: int = 4) -> Referral:
    return Referral(
        HOSTILE,
        HOSTILE,
        HOSTILE_ID,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        Stage(HOSTILE, HOSTILE, HOSTILE, stage_type),
        active,
        NOW,
    )


def reward(state: RewardState) -> Reward:
    return Reward(
        1,
        HOSTILE,
        HOSTILE_ID,
        Amount("CNY", Decimal("3000.00")),
        HOSTILE,
        state,
        HOSTILE_ID,
        NOW,
        NOW,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        HOSTILE,
        HOSTILE_ID,
        NOW,
        HOSTILE,
        HOSTILE,
        HOSTILE_ID,
        HOSTILE,
        5,
        '[["CNY", "3"]]',
    )


CASES.update(
    {
        "progress_card": [
            (
                "news",
                lambda: progress_card(
                    [change_line(kind, HOSTILE, HOSTILE, STAGE) for kind in ChangeKind]
                ),
                True,
            )
        ],
        "hired_card": [
            (
                "button",
                lambda: hired_card(
                    referral(stage_type=7),
                    account_id=HOSTILE,
                    account=account(),
                    zone=ZONE,
                    notice=RAW,
                ),
                True,
            ),
            (
                "form",
                lambda: hired_card(
                    referral(stage_type=7),
                    account_id=None,
                    account=None,
                    zone=ZONE,
                    form=Amount("points", Decimal(2000)),
                ),
                True,
            ),
        ],
        "referrals_card": [
            (
                "list",
                lambda: referrals_card(
                    [referral(), referral(False), referral(stage_type=7)], total=3, zone=ZONE
                ),
                True,
            )
        ],
        "reward_card": [
            (
                state.value,
                lambda state=state: reward_card(
                    reward(state), zone=ZONE, referral=referral(), balance=(5, CASH), notice=RAW
                ),
                True,
            )
            for state in RewardState
        ],
        "rewards_card": [
            (
                "history",
                lambda: rewards_card(
                    [reward(s) for s in RewardState],
                    total=7,
                    zone=ZONE,
                    referrals={HOSTILE: referral()},
                ),
                True,
            )
        ],
    }
)
# Builders of parts of cards rather than cards: walked through the card that holds them.
PARTS = {"totals_charts": "digest_card"}


def builders() -> set[str]:
    """The public functions of `cards/` that build a card (or a part of one)."""
    found = set()
    for module in pkgutil.iter_modules(cards.__path__):
        loaded = importlib.import_module(f"cards.{module.name}")
        for name, function in inspect.getmembers(loaded, inspect.isfunction):
            ours = function.__module__ == loaded.__name__
            if ours and name.endswith(("_card", "_chart", "_charts")) and not name.startswith("_"):
                found.add(name)
    return found


def test_every_card_builder_is_walked() -> None:
    assert builders() == set(CASES) | set(PARTS)


@pytest.mark.parametrize(
    "build,shows",
    [
        pytest.param(build, shows, id=f"{name}: {case}")
        for name, cases in CASES.items()
        for case, build, shows in cases
    ],
)
def test_hostile_text_stays_text(build: Callable[[], dict], shows: bool) -> None:
    card = build()
    assert_valid_card(card)
    assert_inert(card)
    if shows:
        for locale in ("en_us", "zh_cn"):
            assert HOSTILE in all_content(card, locale)


def test_the_check_sees_live_markup() -> None:
    """The walker is not blind: the same cards with the text unescaped fail it."""
    card = account_card(account(), contact=HOSTILE)
    sources = list(markdown_sources(card))
    assert sources and not any("<at id=all" in source for source in sources)
    card["body"]["elements"].append({"tag": "markdown", "content": HOSTILE})
    with pytest.raises(AssertionError, match="live"):
        assert_inert(card)
