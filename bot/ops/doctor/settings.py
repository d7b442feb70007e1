"""The doctor's first checks, made without Feishu: the settings, and the database."""

from __future__ import annotations

from bot.config import Settings
from bot.ops.doctor.report import Check
from bot.records.store import DatabaseUnavailable, open_database


def check_settings(settings: Settings) -> Check:
    problems: list[str] = []
    notes: list[str] = []
    if not settings.admins:
        problems.append(
            "REFERRAL_BOT_ADMINS is empty, so nobody can act: list the HR admins' open_ids"
        )
    strangers = sorted(settings.withdraw_approvers - settings.admins)
    if strangers:
        problems.append(
            f"REFERRAL_BOT_WITHDRAW_APPROVERS {', '.join(strangers)} not in REFERRAL_BOT_ADMINS "
            "(only admins may approve)"
        )
    if len(settings.admins) == 1 and not settings.withdraw_self_approve:
        notes.append(
            "one admin and REFERRAL_BOT_WITHDRAW_SELF_APPROVE=0: no withdrawal can be approved"
        )
    if settings.offboarding == "ask" and not settings.notice_chats:
        notes.append("REFERRAL_BOT_OFFBOARDING=ask but no notice chats: leaver prompts go nowhere")
    if problems:
        return Check("settings", False, "; ".join(problems))
    digest = (
        f"digest to {len(settings.digest_chats)} chat(s) at '{settings.digest_cron}' "
        f"{settings.digest_tz}"
        if settings.digest_chats
        else "digest off (REFERRAL_BOT_DIGEST_CHATS empty)"
    )
    notices = (
        f"notices to {len(settings.notice_chats)} chat(s)"
        if settings.notice_chats
        else "notices off (REFERRAL_BOT_NOTICE_CHATS empty)"
    )
    summary = (
        f"app {settings.app_id} at {settings.domain}; {len(settings.admins)} admin(s); "
        f"{digest}; {notices}; transport {settings.transport}"
    )
    if notes:
        return Check("settings", True, f"{summary}; but {'; '.join(notes)}", warning=True)
    return Check("settings", True, summary)


def check_database(settings: Settings) -> Check:
    """Open the database as `serve` does (the same function): a set-up that passes here does
    not stop `serve` at its first line."""
    try:
        database = open_database(settings.db_path)
    except DatabaseUnavailable as exc:
        return Check("database", False, f"{exc}: fix REFERRAL_BOT_DB, or the folder's owner")
    database.close()
    return Check("database", True, f"{settings.db_path} opens and takes writes")
