"""When an employee leaves (`contact.user.deleted_v3`): a referral account the records link to
them (by open_id, email or mobile) must not be missed. `REFERRAL_BOT_OFFBOARDING` says what
happens: `ask` posts a card to the notice chats with Withdraw, Disable and Keep (admins only);
`disable` disables the account and reports the balance left; `off` only audits. A leaver with
no known account: nothing is posted."""

from __future__ import annotations

import hashlib
import logging

from lark_oapi.api.contact.v3 import P2ContactUserDeletedV3

from bot.domain.accounts import Account
from bot.domain.people import EMAIL, OPEN_ID, email_key
from bot.feishu.openapi import OpenApiError
from bot.worker import GiveUp, RetryLater
from cards.notice import leaver_card, leaver_disabled_card
from cards.text import Text
from handlers import audit_trail, people
from handlers.audit_trail import Act, bilingual, failed
from handlers.services import Services

log = logging.getLogger(__name__)


def handle_user_deleted(services: Services, event_id: str, data: P2ContactUserDeletedV3) -> None:
    event = data.event
    user = event.object if event else None
    old = event.old_object if event else None
    open_id = (user.open_id if user else None) or (old.open_id if old else None)
    if not open_id:
        raise GiveUp("leaver event without a person")
    zh = (user.name or user.en_name if user else None) or open_id
    name = Text(user.en_name or zh if user else zh, zh)  # each reader's language
    for account_id in _accounts_of(services, open_id, user):
        account = _account(services, account_id)
        mode = services.settings.offboarding
        if mode == "off":
            _audit(services, account_id, Act("off"), name)
        elif mode == "disable":
            _disable(services, event_id, name, account)
        else:
            _ask(services, event_id, name, account)


def _accounts_of(services: Services, open_id: str, user) -> list[str]:
    accounts = services.accounts
    found = list(accounts.find_by(OPEN_ID, open_id))
    emails = [user.email, user.enterprise_email] if user else []
    for email in filter(None, emails):
        found += [a for a in accounts.find_by(EMAIL, email_key(email)) if a not in found]
    if user and user.mobile:
        found += [a for a in people.mobile_accounts(services, user.mobile) if a not in found]
    return found


def _account(services: Services, account_id: str) -> Account:
    """The account as the records hold it, fetched when they never saw its balance."""
    record = services.accounts.get(account_id)
    if record is not None and record.account is not None:
        return record.account
    try:
        account = services.gateway.get_assets(account_id)
    except OpenApiError as exc:
        if exc.transient:
            raise RetryLater(f"could not fetch {account_id}: {exc}") from None
        raise GiveUp(f"leaver's account {account_id}: {exc}") from None
    services.accounts.remember(account)
    return account


def _ask(services: Services, event_id: str, name: Text, account: Account) -> None:
    card = leaver_card(name, account)
    _post(services, event_id, account.account_id, card)
    _audit(services, account.account_id, Act("asked"), name)


def _disable(services: Services, event_id: str, name: Text, account: Account) -> None:
    if account.enabled:
        try:
            account = services.gateway.deactivate(account.account_id)
        except OpenApiError as exc:
            if exc.transient:
                raise RetryLater(f"could not disable {account.account_id}: {exc}") from None
            _audit(services, account.account_id, failed(exc), name)
            return
        services.accounts.remember(account)
        account = services.accounts.get(account.account_id).account or account
    _post(services, event_id, account.account_id, leaver_disabled_card(name, account))
    _audit(services, account.account_id, Act("disabled"), name)


def _post(services: Services, event_id: str, account_id: str, card: dict) -> None:
    trouble: OpenApiError | None = None
    for chat_id in services.settings.notice_chats:
        try:
            key = f"{event_id}|{chat_id}|{account_id}".encode()
            uuid = "leaver-" + hashlib.sha256(key).hexdigest()[:40]
            services.messenger.send_card(chat_id, card, uuid=uuid)
        except OpenApiError as exc:
            if exc.transient:
                trouble = exc
            else:
                log.warning("leaver card not posted to %s: %s", chat_id, exc)
    if trouble is not None:
        raise RetryLater(f"leaver card for {account_id}: {trouble}")


def _audit(services: Services, account_id: str, act: Act, name: Text) -> None:
    """The leaver's entry for this account: who left, what the bot did about it."""
    mode = services.settings.offboarding
    detail = f"{name.en} left ({mode})" + (f": {act.detail}" if act.detail else "")
    facts = {**act.facts, "name": bilingual(name), "mode": mode}
    act = Act(act.outcome, detail, facts)
    audit_trail.record(
        services, act, actor=None, action="leaver", account_id=account_id, via="event"
    )
