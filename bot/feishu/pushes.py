"""Feishu's pushes (events and card callbacks): verified and decoded by the SDK, answered here.

The SDK's `EventDispatcherHandler` decrypts, checks the verification token and the signature,
answers `url_verification` and turns the body into its event models. It falls short in how it
fails: every failure becomes HTTP 500 with the exception text, and a 500 makes Feishu retry a
request that will never pass. So each failure is mapped to a short 4xx answer here, and the
handlers we register only hand the typed event on (to the inbox), never work inline.

The SDK checks the signature but not its timestamp, so a signed push captured once could be
sent again whenever the inbox had forgotten its `event_id`. `stale` refuses a timestamp outside
`PUSH_MAX_AGE` / `PUSH_MAX_AHEAD`; the inbox keeps event ids far longer than `PUSH_MAX_AGE`, so a
replay is either too old or a known id. Long-connection frames carry no such header: they come
over a connection the bot opened with its own credentials.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

import lark_oapi as lark
from lark_oapi.core.exception import EventException
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from bot.config import Settings

log = logging.getLogger(__name__)


class _QuietRefusals(logging.Filter):
    """The SDK's dispatcher logs every refused push (a bad signature, a stranger's junk) as an
    ERROR with a full traceback; we answer those with a 4xx and log one WARNING line, so its
    record is dropped. Anything else the SDK logs passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("handle event failed")


_QUIET = _QuietRefusals()

MAX_BODY_BYTES = 1024 * 1024
TIMESTAMP_HEADER = "X-Lark-Request-Timestamp"
SIGNATURE_HEADERS = (TIMESTAMP_HEADER, "X-Lark-Request-Nonce", "X-Lark-Signature")
# Not tighter: Feishu retries a push for up to ~7 hours, and its documents do not say whether a
# retry carries a fresh timestamp. Ahead allows for clock skew between Feishu and us.
PUSH_MAX_AGE = 24 * 3600
PUSH_MAX_AHEAD = 5 * 60


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


@dataclass(frozen=True)
class PushedEvent:
    """A verified event, ready for the inbox: `payload` is the SDK model serialized."""

    event_id: str
    event_type: str
    payload: str
    message_id: str | None = None


AcceptEvent = Callable[[PushedEvent], bool]
AnswerCardAction = Callable[[P2CardActionTrigger], P2CardActionTriggerResponse]


@dataclass
class _Outcome:
    """What our handler met while the dispatcher ran it (the dispatcher hides exceptions)."""

    error: BaseException | None = None


_outcome: ContextVar[_Outcome] = ContextVar("callback_outcome")


class UnknownPush(Exception):
    """A push of a type we do not subscribe to: acknowledged, not acted on."""


class PushHandlers:
    """The typed handling both transports share: the SDK decodes a push into its model, and
    our handlers hand an event to the inbox or a card press to the card answerer.

    The webhook runs it behind the SDK's verification (`run`); the long connection, whose pushes
    are plain JSON on an authenticated connection, calls `take` directly.
    """

    def __init__(
        self,
        accept_event: AcceptEvent,
        answer_card_action: AnswerCardAction,
        encrypt_key: str = "",
        verification_token: str = "",
        *,
        events: Iterable[str],
    ) -> None:
        """`events`: the event types the bot subscribes to (the handlers' registry), each
        decoded by the SDK's own model for it."""
        self._accept_event = accept_event
        self._answer_card_action = answer_card_action
        if _QUIET not in lark.logger.filters:
            lark.logger.addFilter(_QUIET)
        builder = lark.EventDispatcherHandler.builder(encrypt_key, verification_token)
        for event_type in events:
            # The SDK's typed registration: "im.message.receive_v1" →
            # register_p2_im_message_receive_v1, which decodes into P2ImMessageReceiveV1.
            register = getattr(builder, "register_p2_" + event_type.replace(".", "_"))
            register(self._take)
        builder.register_p2_card_action_trigger(self._on_card_action)
        self._dispatcher = builder.build()

    def run(self, request: lark.RawRequest) -> tuple[lark.RawResponse, BaseException | None]:
        """Verify, decode and take one webhook request: the SDK's answer, and our own failure
        (the dispatcher hides the exceptions of the handlers it runs)."""
        outcome = _Outcome()
        token = _outcome.set(outcome)
        try:
            response = self._dispatcher.do(request)
        finally:
            _outcome.reset(token)
        return response, outcome.error

    def take(self, plaintext: bytes) -> P2CardActionTriggerResponse | None:
        """Decode and take one push that needs no verification: the card answer for a callback,
        None for an event once the inbox has it. Raises `UnknownPush` for a type we do not
        handle, and whatever failed on our side (the database, the card answerer)."""
        outcome = _Outcome()
        token = _outcome.set(outcome)
        try:
            # The SDK's own long-connection client decodes with this same (private) method.
            result = self._dispatcher._do_without_validation(plaintext)
        except EventException as exc:
            if "processor not found" in str(exc):
                raise UnknownPush(str(exc)) from None
            raise
        finally:
            _outcome.reset(token)
        if outcome.error is not None:
            raise outcome.error
        return result

    def _take(self, data) -> None:
        """Hand an event to the inbox; a message is kept by its message id too."""
        outcome = _outcome.get()
        message = getattr(data.event, "message", None)
        message_id = getattr(message, "message_id", None)
        try:
            event = PushedEvent(
                event_id=data.header.event_id,
                event_type=data.header.event_type,
                payload=serialize(data),
                message_id=message_id,
            )
            # A redelivered event is acknowledged like a new one; the inbox keeps it once.
            self._accept_event(event)
        except Exception as exc:  # the dispatcher would answer 500 with the text; we answer it
            outcome.error = exc

    def _on_card_action(self, data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        outcome = _outcome.get()
        try:
            return self._answer_card_action(data)
        except Exception as exc:
            outcome.error = exc
            return P2CardActionTriggerResponse()


class CallbackReceiver:
    """The webhook's side: verify one HTTP push and map every failure to a short answer."""

    def __init__(
        self,
        settings: Settings,
        accept_event: AcceptEvent,
        answer_card_action: AnswerCardAction,
        clock: Callable[[], float] = time.time,
        *,
        events: Iterable[str],
    ) -> None:
        if not settings.encrypt_key and not settings.allow_unsigned:
            raise ValueError("unsigned pushes need allow_unsigned: set LARK_ENCRYPT_KEY")
        self._settings = settings
        self._clock = clock
        # One verifier per accepted (encrypt key, verification token): the current pair first,
        # then, while a secret is being changed, the pairs with the previous one. A push passes
        # when one of them verifies it; verifying has no effect until one does.
        keys = _accepted(settings.encrypt_key, settings.encrypt_key_previous)
        tokens = _accepted(settings.verification_token, settings.verification_token_previous)
        self._handlers = [
            PushHandlers(accept_event, answer_card_action, key, token, events=events)
            for key in keys
            for token in tokens
        ]

    def receive(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Verify one push and take it in; the answer is what Feishu gets back."""
        if len(body) > MAX_BODY_BYTES:
            return Answer(413, {"error": "request body too large"})
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return Answer(400, {"error": "request body is not valid JSON"})
        if not isinstance(parsed, dict):
            return Answer(400, {"error": "request body must be a JSON object"})
        # Before the SDK runs anything: a replayed push must not reach the inbox.
        problem = stale(headers.get(TIMESTAMP_HEADER), self._clock())
        if problem:
            log.warning("refused a push: %s", problem)
            return Answer(401, {"error": problem})

        request = lark.RawRequest()
        request.uri = "/webhook"
        request.body = body
        request.headers = {
            name: headers.get(name) for name in SIGNATURE_HEADERS if headers.get(name)
        }
        request.headers["X-Request-Id"] = headers.get("X-Request-Id", "")

        response, error = self._verify(request)
        if error is not None:
            # Our side failed (the database): Feishu delivers again, nothing is lost.
            log.error("could not take in a verified push: %s", error)
            return Answer(500, {"error": "internal error, please retry"})
        if response.status_code == 200:
            return Answer(200, _json(response.content))
        answer = self._refusal(_json(response.content).get("msg", ""), request.headers)
        if answer.status != 200:
            log.warning("refused a push: %s", answer.body["error"])
        return answer

    def _verify(self, request: lark.RawRequest) -> tuple[lark.RawResponse, BaseException | None]:
        """The first verifier's answer that is not a refusal of the credentials; else the
        current pair's refusal."""
        first: tuple[lark.RawResponse, BaseException | None] | None = None
        for handlers in self._handlers:
            response, error = handlers.run(request)
            verified = response.status_code == 200 or _json(response.content).get(
                "msg", ""
            ).startswith("processor not found")
            if error is not None or verified:
                return response, error
            first = first or (response, error)
        assert first is not None
        return first

    def _refusal(self, reason: str, headers: Mapping[str, str]) -> Answer:
        if reason.startswith("processor not found"):
            # Verified, but an event type we do not subscribe to: acknowledge so it is not retried.
            return Answer(200, {"msg": "ignored"})
        if self._settings.encrypt_key and not all(headers.get(h) for h in SIGNATURE_HEADERS):
            return Answer(401, {"error": "missing signature"})
        if "signature" in reason:
            return Answer(401, {"error": "invalid signature"})
        if "verification_token" in reason or "encrypt_key" in reason or "credentials" in reason:
            return Answer(401, {"error": "invalid verification token"})
        return Answer(400, {"error": "request could not be decrypted or decoded"})


def stale(timestamp: str | None, now: float) -> str | None:
    """Why a push's `X-Lark-Request-Timestamp` (Unix seconds) is refused, or None when it is
    fresh enough. A push without one is left to the signature check, which needs it on every
    signed event or callback."""
    if not timestamp:
        return None
    try:
        sent = int(timestamp)
    except ValueError:
        return "request timestamp is not a number"
    if sent < now - PUSH_MAX_AGE:
        return "request timestamp too old"
    if sent > now + PUSH_MAX_AHEAD:
        return "request timestamp in the future"
    return None


def _accepted(current: str, previous: str) -> list[str]:
    return [current] + ([previous] if previous and previous != current else [])


def serialize(model: object) -> str:
    """An SDK model as JSON that `lark.JSON.unmarshal` reads back.

    `lark.JSON.marshal` deep-copies every nested model to drop its None fields, which made it
    half the cost of taking in an event; this walks the same fields without the copies.
    """
    return json.dumps(model, default=_fields, ensure_ascii=False)


def _fields(obj: object) -> dict:
    return {k: v for k, v in vars(obj).items() if v is not None}


def _json(content: bytes | None) -> dict:
    try:
        value = json.loads(content or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
