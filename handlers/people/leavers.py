"""When an employee leaves (`contact.user.deleted_v3`): a referral account the records link to
them (by open_id, email or mobile) must not be missed. `REFERRAL_BOT_OFFBOARDING` says what
happens: `ask` posts a card to the notice chats with Withdraw, Disable and Keep (admins only);
`disable` disables the account and reports the balance left; `off` only audits. A leaver with
no known account: nothing is posted. The Keep button leaves the account as it is and says who
decided."""

from __future__ import annotations

import hashlib
import logging

from lark_oapi.api.contact.v3 import P2ContactUserDeletedV3

from bot.domain.accounts import Account
from bot.domain.people import EMAIL, OPEN_ID, email_key
from bot.feishu.openapi import OpenApiError
from cards.notice import leaver_card, leaver_disabled_card
from cards.text import Text, mention
from handlers import audit_trail
from handlers.asker import Answer, Asker
from handlers.audit_trail import Act, bilingual, failed
from handlers.errors import Attempts, GiveUp, RetryLater
from handlers.people import lookup
from handlers.presses import Value
from handlers.registry import button, event
from handlers.services import Services

log = logging.getLogger(__name__)


@event("contact.user.deleted_v3", P2ContactUserDeletedV3)
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
        found += [a for a in lookup.mobile_accounts(services, user.mobile) if a not in found]
    return found


def _account(services: Services, account_id: str) -> Account:
    """The account as the records hold it, fetched when they never saw its balance."""
    record = services.accounts.get(account_id)
    if record is not None and record.account is not None:
        return record.account
    account = services.gateway.get_assets(account_id)
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
    attempts = Attempts(f"posting the leaver card for {account_id}")
    for chat_id in services.settings.notice_chats:
        with attempts.each(f"chat {chat_id}"):
            key = f"{event_id}|{chat_id}|{account_id}".encode()
            uuid = "leaver-" + hashlib.sha256(key).hexdigest()[:40]
            services.messenger.send_card(chat_id, card, uuid=uuid)
    attempts.done()


def _audit(services: Services, account_id: str, act: Act, name: Text) -> None:
    """The leaver's entry for this account: who left, what the bot did about it."""
    mode = services.settings.offboarding
    detail = f"{name.en} left ({mode})" + (f": {act.detail}" if act.detail else "")
    facts = {**act.facts, "name": bilingual(name), "mode": mode}
    act = Act(act.outcome, detail, facts)
    audit_trail.record(
        services, act, actor=None, action="leaver", account_id=account_id, via="event"
    )


@button("keep", needs=("account_id",))
def keep(services: Services, asker: Asker, value: Value) -> Answer:
    """A leaver's account stays as it is; the card says who decided."""
    record = services.accounts.get(value.account_id)
    if record is None or record.account is None:
        return Answer(text=Text("This account is not known", "未知账户"), kind="error")
    kept = Text("Kept by {who}", "{who} 选择保留").format(who=Text.markup(mention(asker.open_id)))
    en = value.name or value.account_id
    card = leaver_card(Text(en, value.name_zh or en), record.account, decided=kept)
    return Answer(card, Text("Account kept as it is", "账户保持不变"))
