"""`referral-bot doctor`: check a deployment, one line per check, each "ok" or what to fix.

Every probe is free of side effects: the permission probes ask for things that do not exist
(account `0`, chat `0`), so Feishu answers "not found" when the scope is granted and 99991672
when it is not, and nothing is created, changed or posted. The chat checks only read the
listed chats' information, which Feishu gives only to a member of the chat. The database is
opened as `serve` opens it (created with its schema when new), so a set-up doctor passes starts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from Crypto.Cipher import AES
from Crypto.Util.Padding import pad
from lark_oapi.api.auth.v3 import (
    InternalTenantAccessTokenRequest,
    InternalTenantAccessTokenRequestBody,
)
from lark_oapi.api.im.v1 import GetChatRequest
from lark_oapi.core.enum import AccessTokenType, HttpMethod
from lark_oapi.core.model import BaseRequest

from bot.config import Settings
from bot.domain.people import Person
from bot.feishu.contacts import INVALID_USER_ID, OUTSIDE_CONTACT_RANGE, Contacts
from bot.feishu.messenger import Messenger
from bot.feishu.openapi import (
    TOKEN_CODES,
    OpenApi,
    OpenApiError,
    RetryPolicy,
    TokenCache,
    build_client,
)
from bot.feishu.referral import ReferralGateway
from bot.records.store import DatabaseUnavailable, open_database

SCOPE_MISSING = 99991672
BOT_ACTIVATED = 2  # bot/v3/info's activate_status: enabled in the tenant
# Quick rather than patient: one retry, short waits, short timeouts.
DOCTOR_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)
TIMEOUT = 5.0
ADD_SCOPE = "add it in Permissions & Scopes, then publish a version"
# Feishu gives up on a url_verification challenge that is not answered within about 1 s.
CHALLENGE_SECONDS = 1.0
APPLY_LINK = re.compile(r"https://\S+/auth\?\S+")
# The long-connection endpoint's answers the SDK retries (busy), as its const.py lists them.
WS_RETRY_CODES = (1, 1000040343)
DUMMY_ID = "0"  # no account, chat or message has this id
CHAT_SCOPE = "im:chat:readonly"  # to read a chat (im:chat does too)
NOT_IN_CHAT = 232011  # get chat information: the bot is not in the chat
CHAT_ID_INVALID = 232006  # get chat information: no chat has this id
CHAT_SETTINGS = {"digest": "REFERRAL_BOT_DIGEST_CHATS", "notices": "REFERRAL_BOT_NOTICE_CHATS"}


@dataclass(frozen=True)
class Check:
    """One line of the report. `warning`: worth a look, but it does not fail the run."""

    name: str
    ok: bool
    detail: str
    warning: bool = False


def line(check: Check) -> str:
    label = "FAIL" if not check.ok else "warn" if check.warning else "ok"
    return f"{label:<6}{check.name}: {check.detail}"


def run_doctor(
    settings: Settings, *, on_check: Callable[[Check], None] | None = None
) -> list[Check]:
    """All checks, in order; `on_check` sees each as soon as it is made."""
    checks: list[Check] = []

    def add(*new: Check) -> None:
        for check in new:
            checks.append(check)
            if on_check is not None:
                on_check(check)

    add(check_settings(settings))
    add(check_database(settings))
    cache = TokenCache()
    api = OpenApi(build_client(settings, cache, timeout=TIMEOUT), cache, retry=DOCTOR_RETRY)
    with _quiet_probes():
        credentials = check_credentials(api, settings)
        add(credentials)
        admins: dict[str, Person | OpenApiError] = {}
        if credentials.ok:  # without a token every call below fails the same way
            add(check_bot(api))
            admins = look_up(api, settings.admins)
            add(*check_permissions(api, admins))
            add(*check_hire_scopes(api))
        add(*check_chats(settings, api if credentials.ok else None))
        if credentials.ok:
            add(*check_admins(admins))
        if credentials.ok or settings.transport == "webhook":  # the long connection needs them
            add(*check_transport(settings))
    return checks


@contextmanager
def _quiet_probes() -> Iterator[None]:
    """The Open API client warns of every failed call; here failures are the expected answers
    of the probes, and the report says what they mean."""
    logger = logging.getLogger("bot.feishu.openapi")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# --- 1. settings ---------------------------------------------------------------------------


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


# --- 2. credentials and 3. the bot ---------------------------------------------------------


def check_credentials(api: OpenApi, settings: Settings) -> Check:
    body = (
        InternalTenantAccessTokenRequestBody.builder()
        .app_id(settings.app_id)
        .app_secret(settings.app_secret)
        .build()
    )
    request = InternalTenantAccessTokenRequest.builder().request_body(body).build()
    tenant_token = api.client.auth.v3.tenant_access_token
    try:
        api.call("tenant_token", lambda: tenant_token.internal(request), idempotent=True)
    except OpenApiError as err:
        skipped = "; the checks that call Feishu were skipped"
        if err.code is None:
            return Check(
                "credentials",
                False,
                f"no answer from {settings.domain} ({err.msg}): check LARK_DOMAIN and the network"
                + skipped,
            )
        if 10000 <= err.code < 11000:  # 10003 bad app_id, 10014 bad secret, ...
            return Check(
                "credentials",
                False,
                f"LARK_APP_ID / LARK_APP_SECRET are wrong (code {err.code}: {err.msg}): "
                "copy both from Credentials & Basic Info" + skipped,
            )
        return Check("credentials", False, _refusal(err) + skipped)
    return Check("credentials", True, "tenant token obtained")


def check_bot(api: OpenApi) -> Check:
    request = (
        BaseRequest.builder()
        .http_method(HttpMethod.GET)
        .uri("/open-apis/bot/v3/info")
        .token_types({AccessTokenType.TENANT})
        .build()
    )
    try:
        response = api.call("bot_info", lambda: api.client.request(request), idempotent=True)
    except OpenApiError as err:
        return Check(
            "bot",
            False,
            f"{_refusal(err)}: add the Bot capability (Features → Bot), then publish a version",
        )
    bot = json.loads(response.raw.content or b"{}").get("bot") or {}
    name = bot.get("app_name") or "(no name)"
    status = bot.get("activate_status")
    if status is not None and status != BOT_ACTIVATED:
        return Check(
            "bot",
            False,
            f"{name} is not enabled in the tenant (activate_status {status}): publish a version "
            "and have the tenant admin approve it",
        )
    return Check("bot", True, f"{name} (open_id {bot.get('open_id', '?')})")


# --- 4. permissions ------------------------------------------------------------------------


def look_up(api: OpenApi, open_ids: frozenset[str]) -> dict[str, Person | OpenApiError]:
    """Each admin as the contact API answers: the person, or the error."""
    contacts = Contacts(api)
    found: dict[str, Person | OpenApiError] = {}
    for open_id in sorted(open_ids):
        try:
            found[open_id] = contacts.person(open_id)
        except OpenApiError as err:
            found[open_id] = err
    return found


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
    """The scopes of referral progress and rewards (issue 20), each probed with what cannot
    exist: application `0`, and an import without a referrer (refused for its body once the
    scope is granted, so nothing is imported)."""
    from bot.feishu.hire import HireGateway

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
        return Check(name, False, f"missing ({operation} answers {error.code}): {_add(error)}")
    if error.code is None or error.transient or error.code in TOKEN_CODES:
        return Check(name, False, f"could not tell: {_refusal(error)}")
    return Check(name, True, f"granted ({operation} answers {error.code}, not 99991672)")


def _add(error: OpenApiError) -> str:
    """The fix, with the console link Feishu puts in its 99991672 message."""
    link = APPLY_LINK.search(error.msg)
    return f"{ADD_SCOPE} ({link.group(0)})" if link else ADD_SCOPE


def _contact_scopes(admins: dict[str, Person | OpenApiError]) -> list[Check]:
    base = "permission contact:contact.base:readonly"
    if not admins:
        return [Check(base, True, "not checked: no admins to look up", warning=True)]
    errors = [e for e in admins.values() if isinstance(e, OpenApiError)]
    if any(e.code == SCOPE_MISSING for e in errors):
        refused = next(e for e in errors if e.code == SCOPE_MISSING)
        return [
            Check(base, False, f"missing (looking up an admin answers 99991672): {_add(refused)}")
        ]
    people = [p for p in admins.values() if isinstance(p, Person)]
    if not people and all(e.code is None or e.transient for e in errors):
        return [Check(base, False, f"could not tell: {_refusal(errors[0])}")]
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


# --- 5. chats and 6. admins ----------------------------------------------------------------


def check_chats(settings: Settings, api: OpenApi | None = None) -> list[Check]:
    """Each digest and notice chat has the bot in it (get chat information answers only to a
    member). Without `api` (no tenant token) nothing is asked."""
    roles: dict[str, list[str]] = {}
    for chat_id in settings.digest_chats:
        roles.setdefault(chat_id, []).append("digest")
    for chat_id in settings.notice_chats:
        roles.setdefault(chat_id, []).append("notices")
    if not roles:
        return [Check("chats", True, "none listed, nothing to check")]
    checks: list[Check] = []
    for chat_id, kinds in roles.items():
        name = f"chat {chat_id} ({' and '.join(kinds)})"
        if api is None:
            checks.append(Check(name, True, "not checked: no tenant token", warning=True))
            continue
        try:
            found = _chat_name(api, chat_id)
        except OpenApiError as err:
            if err.code == SCOPE_MISSING:
                # Every chat answers the same: one line naming the scope instead.
                return [
                    Check(
                        f"permission {CHAT_SCOPE}",
                        False,
                        f"missing (getting chat {chat_id} answers {err.code}), so whether the "
                        f"bot is in its {len(roles)} chat(s) cannot be checked: {_add(err)}",
                    )
                ]
            checks.append(Check(name, False, _unusable_chat(chat_id, kinds, err)))
            continue
        checks.append(Check(name, True, found or "(no name)"))
    return checks


def _unusable_chat(chat_id: str, kinds: list[str], err: OpenApiError) -> str:
    """Why nothing can be posted to a listed chat, and what to fix. A chat that cannot be
    checked fails too: the digest or notices would go nowhere, and no one would hear of it."""
    if err.code == NOT_IN_CHAT:
        return f"the bot is not in chat {chat_id}: add the bot to the group (group settings → Bots)"
    settings = " and ".join(CHAT_SETTINGS[kind] for kind in kinds)
    if err.code == CHAT_ID_INVALID:
        return (
            f"there is no chat {chat_id} (code {err.code}), so nothing can be posted to it: "
            f"fix {settings}"
        )
    return f"could not check that chat {chat_id} can be posted to: {_refusal(err)}"


def _chat_name(api: OpenApi, chat_id: str) -> str:
    request = GetChatRequest.builder().chat_id(chat_id).build()
    response = api.call("chat_get", lambda: api.client.im.v1.chat.get(request), idempotent=True)
    return (response.data.name if response.data else None) or ""


def check_admins(admins: dict[str, Person | OpenApiError]) -> list[Check]:
    checks = []
    for open_id, found in admins.items():
        name = f"admin {open_id}"
        if isinstance(found, Person):
            checks.append(Check(name, True, found.name or "found"))
        elif found.code == INVALID_USER_ID:
            checks.append(
                Check(
                    name,
                    False,
                    "not a person in this tenant (41012): fix REFERRAL_BOT_ADMINS "
                    "(open_ids differ per app: take them from this app's events or API)",
                )
            )
        elif found.code == OUTSIDE_CONTACT_RANGE:
            checks.append(
                Check(
                    name,
                    False,
                    "outside the app's contact range (41050): add them to the range of "
                    "contact data in Permissions & Scopes, then publish a version",
                )
            )
        elif found.code == SCOPE_MISSING:
            checks.append(
                Check(name, True, "not checked: needs the contact scope above", warning=True)
            )
        else:
            checks.append(Check(name, False, f"could not look up: {_refusal(found)}"))
    return checks


# --- 7. how Feishu reaches the bot ---------------------------------------------------------


def check_transport(settings: Settings) -> list[Check]:
    if settings.transport == "long_connection":
        return [check_long_connection(settings)]
    if not settings.public_url:
        return [
            Check(
                "request URLs",
                True,
                "REFERRAL_BOT_PUBLIC_URL is not set, so whether Feishu reaches /webhook/event "
                "and /webhook/card is not checked",
                warning=True,
            )
        ]
    return [
        check_request_url(settings, "/webhook/event", "Event configuration"),
        check_request_url(settings, "/webhook/card", "Callback configuration"),
    ]


def check_request_url(settings: Settings, path: str, console_page: str) -> Check:
    """POST a url_verification challenge as Feishu does when the URL is saved."""
    url = settings.public_url + path
    name = f"request URL {path}"
    where = f"the request URL in Events & Callbacks → {console_page}"
    challenge = secrets.token_hex(12)
    payload = {
        "challenge": challenge,
        "token": settings.verification_token,
        "type": "url_verification",
    }
    body, headers = _as_feishu_sends(payload, settings.encrypt_key)
    started = time.monotonic()
    try:
        response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        return Check(
            name,
            False,
            f"cannot reach {url} ({type(exc).__name__}): start the bot there and make the URL "
            f"public, then set it as {where}",
        )
    elapsed = time.monotonic() - started
    try:
        answer = response.json()
    except ValueError:
        answer = None
    echoed = isinstance(answer, dict) and answer.get("challenge") == challenge
    if response.status_code == 200 and echoed and elapsed > CHALLENGE_SECONDS:
        return Check(
            name,
            True,
            f"{url} answers the challenge, but in {elapsed:.1f} s (Feishu waits about "
            f"{CHALLENGE_SECONDS:.0f} s)",
            warning=True,
        )
    if response.status_code == 200 and echoed:
        return Check(name, True, f"{url} answers Feishu's challenge; set it as {where}")
    if response.status_code == 404:
        fix = "no bot at this path: check REFERRAL_BOT_PUBLIC_URL and the proxy in front"
    elif 400 <= response.status_code < 500:
        fix = (
            "the bot there refused a challenge signed with these settings: it runs with another "
            "LARK_ENCRYPT_KEY or LARK_VERIFICATION_TOKEN"
        )
    else:
        fix = "not the answer Feishu needs (the challenge echoed): is the bot what runs there?"
    return Check(name, False, f"{url} answered HTTP {response.status_code}: {fix}")


def check_long_connection(settings: Settings) -> Check:
    """The first step of the SDK's WebSocket client: ask Feishu where to connect."""
    url = f"{settings.domain}/callback/ws/endpoint"
    name = "long connection"
    fix = (
        "in Events & Callbacks choose to receive events and callbacks through the persistent "
        "connection, then publish a version"
    )
    try:
        response = requests.post(
            url, json={"AppID": settings.app_id, "AppSecret": settings.app_secret}, timeout=TIMEOUT
        )
        answer = response.json()
    except requests.RequestException as exc:
        return Check(name, False, f"cannot reach {url} ({type(exc).__name__})")
    except ValueError:
        return Check(name, False, f"{url} answered HTTP {response.status_code}, not JSON")
    code = answer.get("code") if isinstance(answer, dict) else None
    data = answer.get("data") if isinstance(answer, dict) else None
    if code == 0 and isinstance(data, dict) and data.get("URL"):
        host = urlsplit(str(data["URL"])).netloc
        return Check(name, True, f"Feishu offers a connection (to {host})")
    msg = answer.get("msg", "") if isinstance(answer, dict) else ""
    if code in WS_RETRY_CODES:
        return Check(name, False, f"Feishu is busy (code {code} {msg}): run the doctor again")
    return Check(
        name,
        False,
        f"{url} answered HTTP {response.status_code}, code {code} {msg}".rstrip() + f": {fix}",
    )


def _as_feishu_sends(payload: dict, encrypt_key: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a push, encrypted and signed as Feishu documents it."""
    plaintext = json.dumps(payload).encode("utf-8")
    if not encrypt_key:  # REFERRAL_BOT_ALLOW_UNSIGNED=1: Feishu sends it plain
        return plaintext, {"Content-Type": "application/json; charset=utf-8"}
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    iv = secrets.token_bytes(AES.block_size)
    sealed = iv + AES.new(key, AES.MODE_CBC, iv).encrypt(pad(plaintext, AES.block_size))
    body = json.dumps({"encrypt": base64.b64encode(sealed).decode("ascii")}).encode("utf-8")
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    signed = (timestamp + nonce + encrypt_key).encode("utf-8") + body
    return body, {
        "Content-Type": "application/json; charset=utf-8",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": hashlib.sha256(signed).hexdigest(),
    }


def _refusal(err: OpenApiError) -> str:
    if err.code is None:
        return err.msg
    log_id = f", log_id {err.log_id}" if err.log_id else ""
    return f"code {err.code}: {err.msg}{log_id}"
