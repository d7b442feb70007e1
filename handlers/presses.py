"""A card button press as the handlers see it: read from the callback, checked, and answered.

`read_press` turns `card.action.trigger` into who pressed (`Asker`) and what the button carries
(`Value`); `refuse_invalid` answers a button whose value is not one the bot made (unknown
action, missing or malformed account, request, search or contact) before anything is done;
`response` turns an `Answer` into the SDK's answer model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lark_oapi.event.callback.model.p2_card_action_trigger import (
    CallBackCard,
    CallBackToast,
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from cards.text import Text
from handlers.asker import BUTTON, Answer, Asker
from handlers.parser import ACCOUNT_ID, APPLICATION_ID
from handlers.registry import ButtonEntry


@dataclass(frozen=True)
class Value:
    """What a pressed button carries, as the bot made it (and as a forger might not have)."""

    action: str
    account_id: str | None = None
    # Where the account list starts: a paging button (Next, First page) carries it and turns
    # the list card's page in place; the digest's Show all carries none and posts the list.
    offset: int | None = None
    text: str | None = None  # what a search's paging buttons look for
    contact: str | None = None  # whom a Register button registers: an email or "+code number"
    withdrawal: int | None = None  # the request an Approve or Cancel button decides
    name: str | None = None  # the leaver a Keep button keeps the account of
    name_zh: str | None = None
    reward: int | None = None  # the reward request an Approve or Cancel button decides
    application_id: str | None = None  # the hired referral a Reward button or form is for
    form: dict[str, str] | None = None  # a form's submitted values (`action.form_value`)


WORKING = Text("Working on it: the card will update shortly", "处理中，卡片稍后更新")
SOMETHING_WRONG = Text("Something went wrong", "出错了，请重试")
PAGE_TURNED = Text("Page turned", "已翻页")
UNKNOWN_BUTTON = Text("This button is not known", "未知按钮")

# What each field a button entry `needs` (or `may_have`) must be, and the answer when it is not.
FIELDS: dict[str, tuple[Callable[[Value], bool], Text]] = {
    "account_id": (
        lambda v: bool(ACCOUNT_ID.match(v.account_id or "")),
        Text("This button carries no valid account", "按钮缺少有效账户"),
    ),
    "withdrawal": (
        lambda v: v.withdrawal is not None,
        Text("This button carries no request", "按钮缺少申请"),
    ),
    "reward": (
        lambda v: v.reward is not None,
        Text("This button carries no request", "按钮缺少申请"),
    ),
    "application_id": (
        lambda v: bool(APPLICATION_ID.match(v.application_id or "")),
        Text("This button carries no referral", "按钮缺少内推信息"),
    ),
    "text": (
        lambda v: bool((v.text or "").strip()),
        Text("This button carries no search", "按钮缺少查找内容"),
    ),
}


def refuse_invalid(entry: ButtonEntry | None, value: Value) -> Text | None:
    """Why a button's value is not one the bot made (unknown action, missing or malformed
    fields); None when it is sound. Checked before anything else is done."""
    if entry is None:
        return UNKNOWN_BUTTON
    for name in entry.needs:
        sound, problem = FIELDS[name]
        if not sound(value):
            return problem
    for name in entry.may_have:
        sound, problem = FIELDS[name]
        if getattr(value, name) and not sound(value):
            return problem
    return entry.check(value) if entry.check is not None else None


def read_press(data: P2CardActionTrigger) -> tuple[Asker, Value]:
    """Who pressed, where, and what the button carries."""
    event = data.event
    value = (event.action.value if event and event.action else None) or {}
    context = event.context if event else None
    account_id = value.get("account_id")
    try:
        offset = max(0, int(value["offset"])) if "offset" in value else None
    except (TypeError, ValueError):
        offset = 0
    asker = Asker(
        open_id=event.operator.open_id if event and event.operator else None,
        chat_id=context.open_chat_id if context else None,
        message_id=context.open_message_id if context else None,
        event_id=data.header.event_id if data.header else "",
        via=BUTTON,
        token=event.token if event else None,
    )
    return asker, Value(
        action=str(value.get("action", "")),
        offset=offset,
        text=str(value["text"])[:200] if value.get("text") else None,
        contact=str(value["contact"])[:254] if value.get("contact") else None,
        withdrawal=_int(value.get("withdrawal")),
        name=str(value["name"])[:100] if value.get("name") else None,
        name_zh=str(value["name_zh"])[:100] if value.get("name_zh") else None,
        reward=_int(value.get("reward")),
        application_id=str(value["application_id"])[:64] if value.get("application_id") else None,
        form=_form(event.action.form_value if event and event.action else None),
        account_id=str(account_id) if account_id is not None else None,
    )


def _form(values: object) -> dict[str, str] | None:
    """A form's values, each cut to a sane length; None when there is no form."""
    if not isinstance(values, dict):
        return None
    return {str(k)[:40]: str(v)[:400] for k, v in list(values.items())[:20]}


def _int(value: object) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def response(answer: Answer) -> P2CardActionTriggerResponse:
    """The callback's answer: the toast, and the card replacing the pressed one when given."""
    response = P2CardActionTriggerResponse()
    toast = CallBackToast()
    text = answer.text or SOMETHING_WRONG
    toast.type = answer.kind
    toast.content = text.en
    toast.i18n = text.i18n()
    response.toast = toast
    if answer.card is not None:
        card = CallBackCard()
        card.type = "raw"
        card.data = answer.card
        response.card = card
    return response
