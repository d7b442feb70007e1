"""Whether the app holds each scope the bot needs, asked with probes that change nothing: they
name an id that does not exist, and Feishu looks at the id only once the scope is granted."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.people import Person
from bot.feishu.hire import HireGateway
from bot.feishu.messenger import Messenger
from bot.feishu.openapi import TOKEN_CODES, OpenApi, OpenApiError
from bot.feishu.referral import ReferralGateway
from bot.ops.doctor.report import ADD_SCOPE, SCOPE_MISSING, Check, refusal, scope_fix

DUMMY_ID = "0"  # no account, chat or message has this id


def check_permissions(api: OpenApi, admins: dict[str, Person | OpenApiError]) -> list[Check]:
    gateway = ReferralGateway(api)
    read = _attempt(lambda: gateway.get_assets(DUMMY_ID))
    checks = [
        _scope_check("hire:referral_account:readonly", "get_account_assets of account 0", read)
    ]
    if read is None:
        # Account 0 exists after all: probing with it would deactivate it.
        checks.append(
            Check(
                "permission hire:referral_account",
                True,
                f"not checked: account {DUMMY_ID} exists, and the probe would deactivate it",
                warning=True,
            )
        )
    else:
        write = _attempt(lambda: gateway.deactivate(DUMMY_ID))
        checks.append(_scope_check("hire:referral_account", "deactivate of account 0", write))
    # A send to a chat id that cannot exist, with an empty card: refused for the id when the
    # scope is granted, so nothing is posted either way.
    messenger = Messenger(api)
    send = _attempt(lambda: messenger.send_card(DUMMY_ID, {}))
    checks.append(_scope_check("im:message, im:message:send_as_bot", "a message to chat 0", send))
    checks.extend(_contact_scopes(admins))
    checks.append(
        Check(
            "permission hire:employee.email:readonly, hire:employee.mobile:readonly",
            True,
            "not checked: Feishu shows them only in a real account's referrer; a card without "
            f"the referrer's email or mobile means one is missing ({ADD_SCOPE})",
            warning=True,
        )
    )
    return checks


def check_hire_scopes(api: OpenApi) -> list[Check]:
    """The scopes of referral progress and rewards, each probed with what cannot exist:
    application `0`, and an import without a referrer (refused for its body once the scope is
    granted, so nothing is imported)."""
    hire = HireGateway(api)
    referral = _attempt(lambda: hire.referral_of(DUMMY_ID))
    detail = _attempt(lambda: hire.application(DUMMY_ID))
    reward = _attempt(hire.probe_reward_scope)
    return [
        _scope_check("hire:referral:readonly", "get_by_application of application 0", referral),
        _scope_check("hire:application:readonly", "get_detail of application 0", detail),
        _scope_check("hire:external_referral_reward", "an import without a referrer", reward),
    ]


def _attempt(call: Callable[[], object]) -> OpenApiError | None:
    try:
        call()
    except OpenApiError as err:
        return err
    return None


def _scope_check(scope: str, operation: str, error: OpenApiError | None) -> Check:
    """What a probe's answer says of the scope: the probe names an id that does not exist,
    and Feishu looks at the id only once the scope is granted."""
    name = f"permission {scope}"
    if error is None:
        return Check(name, True, f"granted ({operation} answered)")
    if error.code == SCOPE_MISSING:
        return Check(name, False, f"missing ({operation} answers {error.code}): {scope_fix(error)}")
    if error.code is None or error.transient or error.code in TOKEN_CODES:
        return Check(name, False, f"could not tell: {refusal(error)}")
    return Check(name, True, f"granted ({operation} answers {error.code}, not 99991672)")


def _contact_scopes(admins: dict[str, Person | OpenApiError]) -> list[Check]:
    base = "permission contact:contact.base:readonly"
    if not admins:
        return [Check(base, True, "not checked: no admins to look up", warning=True)]
    errors = [e for e in admins.values() if isinstance(e, OpenApiError)]
    if any(e.code == SCOPE_MISSING for e in errors):
        refused = next(e for e in errors if e.code == SCOPE_MISSING)
        return [
            Check(
                base,
                False,
                f"missing (looking up an admin answers 99991672): {scope_fix(refused)}",
            )
        ]
    people = [p for p in admins.values() if isinstance(p, Person)]
    if not people and all(e.code is None or e.transient for e in errors):
        return [Check(base, False, f"could not tell: {refusal(errors[0])}")]
    checks = [Check(base, True, "granted (admins can be looked up)")]
    fields = (
        ("contact:user.base:readonly", "name", lambda p: p.name),
        ("contact:user.email:readonly", "email", lambda p: p.email),
        ("contact:user.phone:readonly", "mobile", lambda p: p.mobile),
    )
    for scope, field, value in fields:
        name = f"permission {scope}"
        if not people:
            checks.append(
                Check(name, True, "not checked: no admin could be looked up", warning=True)
            )
        elif any(value(p) for p in people):
            checks.append(Check(name, True, f"granted (an admin's {field} is shown)"))
        else:
            # Feishu leaves a field out silently when its scope is missing.
            checks.append(
                Check(
                    name,
                    False,
                    f"no admin's {field} is shown, so the scope is missing "
                    f"(or no admin has one): {ADD_SCOPE}",
                )
            )
    return checks
