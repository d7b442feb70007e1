"""Keeping every card that shows an account true: after a change by command or button, the
older cards of that account are patched from the records.

The patching is queued in the inbox (`bot.refresh_cards`) rather than done on the spot, so it
shares the inbox's durability and retries: a card whose patch failed while Feishu was down is
patched once Feishu is back, and a restart loses none. Cards are rendered when the patch is
sent, from the records as they are then, so a patch queued earlier never shows an older state.

Three races are closed by the account's `version` (it grows with each change a card shows):
- a card is noted only once it was sent, and a change made between its rendering and its
  note patches no card it does not know: `noted` patches it when its version fell behind;
- two patches of one card may land in either order: after each, the version is read again
  and, if it moved on while the patch was under way, the card is patched again;
- a button's answer carries its card to Feishu: patches wait `SETTLE` so none lands first.
"""

from __future__ import annotations

from datetime import timedelta

from cards.account import account_card
from cards.text import Text
from handlers.errors import Attempts
from handlers.registry import job
from handlers.services import Services

REFRESH = "bot.refresh_cards"
# How long a card button's answer may take to reach Feishu: a patch sent sooner could be
# overwritten by an answer carrying an older state.
SETTLE = timedelta(seconds=0.5)
# Patches of one card in a row while its account keeps changing; the next change patches it.
CATCH_UP = 3


def render(services: Services, account_id: str, notice: Text | None = None) -> dict | None:
    """The account's card as the records hold it now; None when it was never fetched."""
    shown = current(services, account_id, notice)
    return shown[0] if shown else None


def current(
    services: Services, account_id: str, notice: Text | None = None
) -> tuple[dict, int] | None:
    """The account's card as the records hold it now, and the version it shows."""
    record = services.accounts.get(account_id)
    if record is None or record.account is None:
        return None
    return account_card(record.account, contact=record.contact, notice=notice), record.version


def version(services: Services, account_id: str) -> int | None:
    record = services.accounts.get(account_id)
    return record.version if record else None


def noted(
    services: Services,
    message_id: str,
    account_id: str,
    chat_id: str | None,
    shown: int | None,
) -> None:
    """Note a card just sent that shows the account as of version `shown`; if the account
    changed since the card was rendered, no refresh knew of the card: patch it now."""
    services.accounts.note_card(message_id, account_id, chat_id)
    if shown is not None and version(services, account_id) != shown:
        refresh_later(services, account_id, only=(message_id,))


def refresh_later(
    services: Services,
    account_id: str,
    *,
    skip: tuple[str, ...] = (),
    only: tuple[str, ...] = (),
    notice: Text | None = None,
) -> None:
    """Queue the patching of the account's cards (`only` these, or all but `skip`), `SETTLE`
    from now."""
    if not only and not [m for m in services.accounts.cards_showing(account_id) if m not in skip]:
        return
    payload = {"account_id": account_id, "skip": list(skip), "only": list(only)}
    if notice is not None:
        payload["notice"] = [notice.en, notice.zh]
    services.inbox.enqueue(REFRESH, payload, delay=SETTLE)


@job(REFRESH)
def refresh(services: Services, event_id: str, payload: dict) -> None:
    """Work off one `bot.refresh_cards`: patch each card; Feishu's trouble retries them all
    (a patch is idempotent), a card Feishu refuses for good (too old, deleted) is skipped."""
    account_id = payload["account_id"]
    notice = Text(*payload["notice"]) if payload.get("notice") else None
    if services.accounts.get(account_id) is None:
        return
    targets = payload.get("only") or [
        m for m in services.accounts.cards_showing(account_id) if m not in payload.get("skip", [])
    ]
    attempts = Attempts(f"updating every card of {account_id}")
    for message_id in targets:
        with attempts.each(f"card {message_id}"):
            patch_current(services, account_id, message_id, notice)
    attempts.done()


def patch_current(
    services: Services, account_id: str, message_id: str, notice: Text | None = None
) -> None:
    """Patch the card with the account as the records hold it, again if they changed while
    the patch was under way (a patch rendered earlier may have landed after it)."""
    for _ in range(CATCH_UP):
        shown = current(services, account_id, notice)
        if shown is None:
            return
        card, sent = shown
        services.messenger.update_card(message_id, card)
        if version(services, account_id) == sent:
            return
