"""How Feishu reaches the bot: the request URLs answer Feishu's challenge (webhook), or Feishu
offers a long connection (long_connection)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import urlsplit

import requests
from Crypto.Cipher import AES
from Crypto.Util.Padding import pad

from bot.config import Settings
from bot.ops.doctor.report import TIMEOUT, Check

# Feishu gives up on a url_verification challenge that is not answered within about 1 s.
CHALLENGE_SECONDS = 1.0
# The long-connection endpoint's answers the SDK retries (busy), as its const.py lists them.
WS_RETRY_CODES = (1, 1000040343)


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
