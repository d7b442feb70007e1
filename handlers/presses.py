"""A card button press as the handlers see it: read from the callback, checked, and answered.

`read_press` turns `card.action.trigger` into a `Press`; `refuse_invalid` answers a button whose
value is not one the bot made (unknown action, missing or malformed account, request, search or
contact) before anything is done; `response` turns an `Outcome` into the SDK's answer model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lark_oapi.event.callback.model.p2_card_action_trigger import (
    CallBackCard,
    CallBackToast,
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from cards.text import Text
from handlers.audit_trail import Act
from handlers.parser import (
    ACCOUNT_ID,
    PREFIX,
    NotACommand,
    RegisterByEmail,
    RegisterByMobile,
    UsageError,
    parse,
)


@dataclass(frozen=True)
class Press:
    """One button press, as read from the callback."""

    event_id: str
    action: str
    account_id: str | None
    open_id: str | None
    message_id: str | None
    chat_id: str | None
    token: str | None
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
    form: dict | None = None  # a form's submitted values (`action.form_value`)


@dataclass(frozen=True)
class Outcome:
    toast: Text
    kind: str  # info | success | error | warning
    card: dict | None = None
    act: Act | None = None  # what was decided, when more than "done" (see handlers.audit_trail)


WORKING = Text("Working on it: the card will update shortly", "处理中，卡片稍后更新")
SOMETHING_WRONG = Text("Something went wrong", "出错了，请重试")

ACCOUNT_ACTIONS = {"enable", "disable", "refresh", "show"}
MONEY_ACTIONS = {"withdraw", "approve", "cancel"}
REWARD_ACTIONS = frozenset({"reward_form", "reward_submit", "reward_approve", "reward_cancel"})
ACTIONS = (
    ACCOUNT_ACTIONS
    | MONEY_ACTIONS
    | REWARD_ACTIONS
    | {"list", "find", "register", "withdrawals", "keep"}
)
APPLICATION_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def refuse_invalid(press: Press) -> Outcome | None:
    """An error answer for a button whose value the bot did not make; None when it is sound."""
    if press.action not in ACTIONS:
        return Outcome(Text("This button is not known", "未知按钮"), "error")
    no_account = Outcome(Text("This button carries no valid account", "按钮缺少有效账户"), "error")
    if press.action in ACCOUNT_ACTIONS | {"withdraw", "keep"} and not ACCOUNT_ID.match(
        press.account_id or ""
    ):
        return no_account
    if (
        press.action == "withdrawals"
        and press.account_id
        and not ACCOUNT_ID.match(press.account_id)
    ):
        return no_account
    if press.action in ("approve", "cancel") and press.withdrawal is None:
        return Outcome(Text("This button carries no request", "按钮缺少申请"), "error")
    if press.action in ("reward_approve", "reward_cancel") and press.reward is None:
        return Outcome(Text("This button carries no request", "按钮缺少申请"), "error")
    if press.action in ("reward_form", "reward_submit") and not APPLICATION_ID.match(
        press.application_id or ""
    ):
        return Outcome(Text("This button carries no referral", "按钮缺少内推信息"), "error")
    if press.action == "find" and not (press.text or "").strip():
        return Outcome(Text("This button carries no search", "按钮缺少查找内容"), "error")
    if press.action == "register" and registration(press.contact) is None:
        return Outcome(
            Text("This button carries no valid contact", "按钮缺少有效联系方式"), "error"
        )
    return None


def read_press(data: P2CardActionTrigger) -> Press:
    event = data.event
    value = (event.action.value if event and event.action else None) or {}
    context = event.context if event else None
    account_id = value.get("account_id")
    try:
        offset = max(0, int(value["offset"])) if "offset" in value else None
    except (TypeError, ValueError):
        offset = 0
    return Press(
        event_id=data.header.event_id if data.header else "",
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
        open_id=event.operator.open_id if event and event.operator else None,
        message_id=context.open_message_id if context else None,
        chat_id=context.open_chat_id if context else None,
        token=event.token if event else None,
    )


def _form(values: object) -> dict | None:
    """A form's values, each cut to a sane length; None when there is no form."""
    if not isinstance(values, dict):
        return None
    return {str(k)[:40]: str(v)[:400] for k, v in list(values.items())[:20]}


def _int(value: object) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def registration(contact: str | None) -> RegisterByEmail | RegisterByMobile | None:
    """A Register button's contact as the register command reads it; None when it is none."""
    try:
        command = parse(f"{PREFIX} register {contact or ''}")
    except (UsageError, NotACommand):
        return None
    return command if isinstance(command, RegisterByEmail | RegisterByMobile) else None


def response(outcome: Outcome) -> P2CardActionTriggerResponse:
    response = P2CardActionTriggerResponse()
    toast = CallBackToast()
    toast.type = outcome.kind
    toast.content = outcome.toast.en
    toast.i18n = outcome.toast.i18n()
    response.toast = toast
    if outcome.card is not None:
        card = CallBackCard()
        card.type = "raw"
        card.data = outcome.card
        response.card = card
    return response
