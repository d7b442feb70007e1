"""The one way a card names a referral account: the person's name, with the ID beside it.

The name is the referrer's as Feishu Hire reports it (get_account_assets): the Chinese name for
a reader in Chinese and the English name for one in English, each falling back to the other;
without a name, the email or mobile the account is known by; without either, the ID alone. The
ID is inline code, so a reader copies it with one tap: "**Chen Jing** · `6918172827781580040`".
"""

from __future__ import annotations

from bot.domain.accounts import AccountRecord, Referrer
from cards.text import Text, code, words

BOLD = Text("**{name}**", "**{name}**")


def referrer_name(referrer: Referrer | None) -> Text | None:
    """The referrer's name in each reader's language (the other language when one is missing);
    None when Feishu gave no name."""
    if referrer is None:
        return None
    en = referrer.name_en or referrer.name_zh
    zh = referrer.name_zh or referrer.name_en
    if not en or not zh or not (en.strip() and zh.strip()):
        return None
    return Text.data(en, zh)


def account_name(referrer: Referrer | None, contact: str | None = None) -> Text | None:
    """What to call an account's holder: the referrer's name, else the contact; None if
    neither is known."""
    name = referrer_name(referrer)
    if name is None and contact and contact.strip():
        return Text.same(contact)
    return name


def record_name(record: AccountRecord | None) -> Text | None:
    """`account_name` of what the records hold for an account."""
    if record is None:
        return None
    referrer = record.account.referrer if record.account is not None else None
    return account_name(referrer, record.contact)


def named(account_id: str, name: Text | None) -> Text:
    """ "**Chen Jing** · `6918…`", or the ID alone when there is no name. `name` is plain
    words (a handler's text is shown as text, never read as markdown)."""
    copyable = Text.markup(code(account_id))
    if name is None:
        return copyable
    return BOLD.format(name=words(name)) + Text.markup(" · ") + copyable


def who(account_id: str, referrer: Referrer | None = None, contact: str | None = None) -> Text:
    """An account as every card names it: its holder's name (or contact) and its ID."""
    return named(account_id, account_name(referrer, contact))
