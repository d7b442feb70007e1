"""Every table of the records, declared once for both engines (SQLAlchemy Core). Migrations
(bot/records/migrations/) bring a database to this schema; nothing creates a table at run time.

Moments are ISO 8601 text in UTC with milliseconds (`store.to_iso`), which sort as they read on
both engines; money is JSON text of [currency, "decimal"] pairs, never a float.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite's INTEGER is 64 bits, and an INTEGER PRIMARY KEY is the rowid; PostgreSQL's BIGINT.
Int = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Text = sa.Text


def _table(name: str, *columns: sa.Column, indexes: tuple = ()) -> sa.Table:
    table = sa.Table(name, metadata, *columns)
    for index_name, cols, unique in indexes:
        sa.Index(index_name, *(table.c[c] for c in cols), unique=unique)
    return table


def _id() -> sa.Column:
    return sa.Column("id", Int, primary_key=True, autoincrement=True)


# Known referral accounts and their last known state (see store.AccountBook).
accounts = _table(
    "accounts",
    sa.Column("account_id", Text, primary_key=True),
    sa.Column("contact", Text),
    sa.Column("registered_by", Text),
    sa.Column("registered_at", Text),
    sa.Column("status", Int),
    sa.Column("points", Int),
    sa.Column("cash", Text),
    sa.Column("referrer", Text),
    sa.Column("seen_at", Text),
    # The balance last told to the notice chats and the referrer (see AccountBook); NULL in a
    # row from before it was kept: its recorded balance stands for it.
    sa.Column("told_points", Int),
    sa.Column("told_cash", Text),
    # Counts the changes of what a card shows, so a card can tell it fell behind.
    sa.Column("version", Int),
    # The pseudonym of the owner `referral-bot forget` forgot (bot/ops/forget.py): what Feishu
    # reports of them again is not written back.
    sa.Column("forgotten_as", Text),
)

# The durable inbox (see inbox.py).
events = _table(
    "events",
    sa.Column("event_id", Text, primary_key=True),
    sa.Column("event_type", Text),
    sa.Column("message_id", Text),
    sa.Column("payload", Text),
    sa.Column("status", Text),
    sa.Column("attempts", Int),
    sa.Column("owner", Text),
    sa.Column("not_before", Text),
    sa.Column("reply", Text),
    sa.Column("error", Text),
    sa.Column("received_at", Text),
    sa.Column("updated_at", Text),
    # When work that must not run twice (a create) was begun; see Inbox.begin_once.
    sa.Column("once_started_at", Text),
    # How a message event is answered ("interim" or "reply"), decided once, and the message
    # that answers it; see Inbox.claim_answer.
    sa.Column("answer_via", Text),
    sa.Column("answer_message_id", Text),
    indexes=(
        # Feishu advises de-duplicating message events by message_id as well as event_id.
        ("idx_events_message_id", ["message_id"], True),
        ("idx_events_status", ["status"], False),
        ("idx_events_updated_at", ["updated_at"], False),
    ),
)

# Each live process beats here; a claim or lease whose owner stopped beating is free.
owners = _table(
    "owners",
    sa.Column("owner", Text, primary_key=True),
    sa.Column("host", Text),
    sa.Column("pid", Int),
    sa.Column("started_at", Text),
    sa.Column("beat_at", Text),
)

health_probe = _table(
    "health_probe",
    sa.Column("id", Int, primary_key=True, autoincrement=False),
    sa.Column("at", Text),
)

# Who has had the welcome (the usage card on first opening the chat with the bot).
welcomed = _table(
    "welcomed",
    sa.Column("open_id", Text, primary_key=True),
    sa.Column("event_id", Text),
    sa.Column("at", Text),
)

# Which sent messages show which account, so a change can update every such card.
account_cards = _table(
    "account_cards",
    sa.Column("message_id", Text, primary_key=True),
    sa.Column("account_id", Text),
    sa.Column("chat_id", Text),
    sa.Column("sent_at", Text),
    indexes=(
        ("idx_account_cards_account_id", ["account_id"], False),
        ("idx_account_cards_sent_at", ["sent_at"], False),
    ),
)

# Every contact the records learned for an account (see bot/domain/people.py), to find it by.
account_contacts = _table(
    "account_contacts",
    sa.Column("kind", Text, primary_key=True),
    sa.Column("value", Text, primary_key=True),
    sa.Column("account_id", Text, primary_key=True),
    indexes=(("idx_account_contacts_account_id", ["account_id"], False),),
)

audit = _table(
    "audit",
    _id(),
    sa.Column("at", Text),
    sa.Column("actor", Text),
    sa.Column("action", Text),
    sa.Column("account_id", Text),
    sa.Column("outcome", Text),
    sa.Column("detail", Text),
    sa.Column("via", Text),
    sa.Column("chat_id", Text),
    # What the entry's sentence tells, as JSON (amounts, request number, the owner's name at
    # the time); NULL in a row from before it was kept.
    sa.Column("facts", Text),
    indexes=(("idx_audit_at", ["at"], False),),
)

# Balance changes waiting to be told (see notices.py).
balance_changes = _table(
    "balance_changes",
    _id(),
    sa.Column("account_id", Text),
    sa.Column("points_delta", Int),
    sa.Column("cash_delta", Text),
    sa.Column("points", Int),
    sa.Column("cash", Text),
    sa.Column("modify_time", Text),
    sa.Column("window", Text),
    sa.Column("recorded_at", Text),
    sa.Column("told", Int),
    indexes=(("idx_balance_changes_told_window", ["told", "window"], False),),
)


def _runs(name: str, *columns: sa.Column) -> sa.Table:
    """A scheduled report's runs (see schedule_leases.py): one per fire time."""
    return _table(
        name,
        _id(),
        sa.Column("scheduled_for", Text),
        sa.Column("holder", Text),
        sa.Column("started_at", Text),
        *columns,
        sa.Column("chats_posted", Text),
        sa.Column("chats_failed", Text),
        # The run lease: one run per fire time. NULLs (a digest on demand) never clash.
        indexes=((f"idx_{name}_scheduled_for", ["scheduled_for"], True),),
    )


def _posts(name: str) -> sa.Table:
    """A scheduled report's per-chat post leases (see schedule_leases.py)."""
    return _table(
        name,
        sa.Column("scheduled_for", Text, primary_key=True),
        sa.Column("chat_id", Text, primary_key=True),
        sa.Column("run_id", Int),
        sa.Column("holder", Text),
        sa.Column("status", Text),  # posting | posted | failed
        sa.Column("message_id", Text),
        sa.Column("error", Text),
        sa.Column("updated_at", Text),
    )


digest_runs = _runs(
    "digest_runs",
    # Nothing reads heartbeat_at any more; it is stamped still, so rows stay as they were.
    sa.Column("heartbeat_at", Text),
    sa.Column("finished_at", Text),
    sa.Column("kind", Text),
    sa.Column("taken_at", Text),
    sa.Column("accounts", Int),
    sa.Column("fetched", Int),
    sa.Column("failed", Int),
    sa.Column("failures", Text),
)
digest_posts = _posts("digest_posts")
digest_snapshots = _table(
    "digest_snapshots",
    sa.Column("run_id", Int, primary_key=True, autoincrement=False),
    sa.Column("account_id", Text, primary_key=True),
    sa.Column("status", Int),
    sa.Column("points", Int),
    sa.Column("cash", Text),
    sa.Column("taken_at", Text),
    indexes=(("idx_digest_snapshots_account_id_run_id", ["account_id", "run_id"], False),),
)

reconcile_runs = _runs(
    "reconcile_runs",
    sa.Column("finished_at", Text),
    sa.Column("first_day", Text),
    sa.Column("last_day", Text),
    sa.Column("accounts", Int),
    sa.Column("points", Int),
    sa.Column("mismatches", Int),
    sa.Column("error", Text),
)
reconcile_posts = _posts("reconcile_posts")

# Withdrawal requests (see withdrawals.py).
withdrawals = _table(
    "withdrawals",
    _id(),
    sa.Column("account_id", Text),
    sa.Column("kind", Text),
    sa.Column("state", Text),
    sa.Column("points", Int),
    sa.Column("cash", Text),
    sa.Column("requested_by", Text),
    sa.Column("requested_at", Text),
    sa.Column("expires_at", Text),
    sa.Column("chat_id", Text),
    sa.Column("message_id", Text),
    sa.Column("approved_by", Text),
    sa.Column("approved_at", Text),
    sa.Column("order_id", Text),
    sa.Column("trans_time", Text),
    sa.Column("withdrawn_points", Int),
    sa.Column("withdrawn_cash", Text),
    sa.Column("decided_by", Text),
    sa.Column("error", Text),
    sa.Column("reasked", Int),
    sa.Column("updated_at", Text),
    sa.Column("uncertain_at", Text),
    sa.Column("settled_by", Text),
    indexes=(
        ("idx_withdrawals_order_id", ["order_id"], True),
        ("idx_withdrawals_account_id", ["account_id"], False),
    ),
)

# Referrals the bot follows (see referrals.py): each application asked about, each referral with
# its current stage, its stage history, and what each referrer is still to be told.
referral_checks = _table(
    "referral_checks",
    sa.Column("application_id", Text, primary_key=True),
    sa.Column("referral_id", Text),  # NULL: not a referral
    sa.Column("referrer_open_id", Text),
    sa.Column("referrer_name_zh", Text),
    sa.Column("referrer_name_en", Text),
    sa.Column("checked_at", Text),
)
referrals = _table(
    "referrals",
    sa.Column("application_id", Text, primary_key=True),
    sa.Column("referral_id", Text),
    sa.Column("referrer_open_id", Text),
    sa.Column("referrer_name_zh", Text),
    sa.Column("referrer_name_en", Text),
    sa.Column("job_id", Text),
    sa.Column("job_name", Text),
    sa.Column("talent_id", Text),
    sa.Column("talent_name", Text),
    sa.Column("stage_id", Text),
    sa.Column("stage_zh", Text),
    sa.Column("stage_en", Text),
    sa.Column("stage_type", Int),
    sa.Column("active", Int),
    sa.Column("since", Text),
    sa.Column("update_ms", Int),
    sa.Column("recorded_at", Text),
    indexes=(("idx_referrals_referrer_open_id", ["referrer_open_id"], False),),
)
referral_stages = _table(
    "referral_stages",
    _id(),
    sa.Column("application_id", Text),
    sa.Column("stage_id", Text),
    sa.Column("stage_zh", Text),
    sa.Column("stage_en", Text),
    sa.Column("stage_type", Int),
    sa.Column("active", Int),
    sa.Column("at", Text),
    sa.Column("update_ms", Int),
    sa.Column("recorded_at", Text),
    indexes=(("idx_referral_stages_application_id", ["application_id"], False),),
)
referral_tellings = _table(
    "referral_tellings",
    _id(),
    sa.Column("referrer_open_id", Text),
    sa.Column("application_id", Text),
    sa.Column("kind", Text),
    sa.Column("stage_row", Int),
    sa.Column("batch", Text),
    sa.Column("told", Int),
    sa.Column("recorded_at", Text),
    indexes=(("idx_referral_tellings_referrer_open_id_told", ["referrer_open_id", "told"], False),),
)

# Reward requests (see rewards.py).
rewards = _table(
    "rewards",
    _id(),
    sa.Column("account_id", Text),
    sa.Column("referrer_open_id", Text),
    sa.Column("unit", Text),
    sa.Column("amount", Text),
    sa.Column("reason", Text),
    sa.Column("state", Text),
    sa.Column("application_id", Text),
    sa.Column("job_id", Text),
    sa.Column("requested_by", Text),
    sa.Column("requested_at", Text),
    sa.Column("expires_at", Text),
    sa.Column("chat_id", Text),
    sa.Column("message_id", Text),
    sa.Column("approved_by", Text),
    sa.Column("approved_at", Text),
    sa.Column("external_id", Text),
    sa.Column("reward_id", Text),
    sa.Column("decided_by", Text),
    sa.Column("error", Text),
    sa.Column("balance_points", Int),
    sa.Column("balance_cash", Text),
    sa.Column("rule_type", Int),
    sa.Column("asked_in", Text),  # the event (message or press) that asked: once per asking
    sa.Column("updated_at", Text),
    indexes=(
        ("idx_rewards_external_id", ["external_id"], True),
        ("idx_rewards_application_id", ["application_id"], False),
        ("idx_rewards_asked_in", ["asked_in"], True),
    ),
)

# Tables whose rows keep the order they were written in (engines.insertion_order): SQLite's
# rowid, on PostgreSQL an identity column `seq` the baseline adds.
ORDERED = ("accounts", "events", "referrals")
