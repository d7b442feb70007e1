"""A local Feishu Open Platform emulator (real HTTP) for tests and the sandbox.

It stands for Feishu, so it imports nothing from the bot.

`Emulator` (emulator.py: the server's life, the app's ids, the long connection, reset) takes the
rest of its API from one mixin per concern: the tenant (tenant_facade.py), the record of what
the bot did (traffic_facade.py), the knobs (knob_facade.py), the events Feishu pushes
(event_facade.py) and recruiting (hire_facade.py).

    from bot.emulator import Emulator, Employee, events
    with Emulator(app_id="cli_x", app_secret="s3cret") as emu:   # port 0 = a free port
        emu.add_employee(Employee(open_id="ou_1", email="hire@open.com"))
        account_id = emu.create_account("ou_1")
        client = lark.Client.builder().app_id("cli_x").app_secret("s3cret").domain(emu.url).build()
        ...
        emu.calls_for("get_account_assets"); emu.messages; emu.latest_card(message_id)
        emu.recall(message_id)  # a chat admin recalls a bot message: updating it answers 230011

Operations: tenant_token, app_token; hire referral accounts (create, enable, deactivate,
get_account_assets, withdraw, reconciliation); IM (message_create, message_reply,
message_patch, card_update, bot_info); contacts (contact_user_get, contact_batch_get_id).

Referral accounts: create_account, account / accounts, add_bonus, set_status. Money: withdraw
(1002555 for a disabled account, 1002553 unknown; a repeated external_order_id answers the
original withdrawal, checked before the status) and reconciliation (points only; only
mismatches among the trade_details sent; total_withdraw_reward_info absent when Hire recorded no
withdrawal in the window), both 100/min. withdrawals(account_id=None) / withdrawal(order_id):
what Hire recorded, with trans_time (ms string), points, cash, source ("api" | "console") and
requests (withdraw calls answered with it, repeats included); record_withdrawal(account_id,
points, cash, trans_time_ms, order_id): a withdrawal made in Feishu's console (balance untouched).

Directory: add_employee, employee, resign_employee, p2p_chat_id (a person's one-to-one chat with
the bot, where messages sent by open_id / union_id / user_id / email land), messages_in(chat_id).

Knobs: set_latency (in_flight counts the requests of an operation not answered yet),
fail_next(operation, n, kind) (kinds "5xx", "ratelimit", "server_error_code", "5xx_after":
carried out, then answered 500, "no_trans_time": carried out, answered without data.trans_time),
fail_until_stopped(operation, kind) / stop_failing (operation "hire": every referral-account
operation; "*": all), expire_tokens, rate_limits / enforce_rate_limits,
outage(seconds, kind="refuse" | "5xx") / end_outage / in_outage (Feishu down for a while),
grant_scopes / revoke_scopes / granted_scopes (default `scopes.DEFAULT_SCOPES`: without an API's
scope its calls answer 99991672; without a field scope the field is silently left out),
set_contact_range(open_ids | None) / contact_range (others: 41050, unknown to batch_get_id).
reset() forgets everything and restores the defaults.

Referral progress and rewards (hire_facade.py; hire_apps.py, hire_apps_api.py, rewards.py):
add_job_process / job_processes / stage_id(type), add_job, add_talent, add_application,
add_referral, add_referred_application, application(s), move_application (returns the
hire.application.stage_changed_v1 event), end_application (no event),
set_referral_absent_answer; operations referral_get_by_application, application_get_detail,
application_list, job_process_list, external_reward_create, external_reward_delete;
set_reward_effect("none" | "credit_confirmed"), external_rewards / external_reward,
add_hire_reward; take_events / set_event_sink (events an API call makes Feishu send).

Long connection (WebSocket) mode, as `lark.ws.Client(app_id, app_secret, domain=emu.url)` uses
it: `POST /callback/ws/endpoint` (no token; wrong AppID/AppSecret: code 1000040351, fatal to
the SDK) hands out `ws://127.0.0.1:<port>/ws?device_id=..&service_id=..` and the ClientConfig
(`ws_client_config`, live: pongs carry changes); the socket speaks pbbp2 frames (pong to ping,
events and card callbacks as `type=event` data frames, split under 1 MiB). `ws_connections`;
`ws_push(event, timeout=10)` -> the decoded ack ({"code": 200} or {"code": 200, "data": {...}}),
pushed again to a random connection every `ws_ack_timeout` (Emulator(ws_ack_timeout=3.0)) until
acked, TimeoutError after `timeout`; a card.action.trigger answer's card is applied to the
message (latest_card); `ws_log` (message_id, event_type, acked, answer, attempts). Knobs:
ws_drop_all (abrupt close), ws_go_silent(seconds) (no pong, no delivery, connection open),
ws_refuse_new(seconds) (endpoint code 1, handshakes HTTP 503), at most `ws_max_connections`
(50) per app (more: handshake HTTP 514, handshake-autherrcode 1000040350, fatal to the SDK).

Feishu -> bot: `events` (message_event with user_mention / bot_mention, card_action,
assets_update_event, p2p_chat_entered_event, bot_menu_event, user_deleted_event,
url_verification, encrypt, signed_headers, deliver) and the emulator's own builders, which use
the directory, the scopes and the app's ids: message_event (noted, so replies land in its chat),
user_mention, bot_mention, card_action, assets_update_event, p2p_chat_entered_event,
bot_menu_event, user_deleted_event (the person also resigns).
"""

from . import events, scopes
from .emulator import Emulator
from .events import DeliveryResult
from .state import Call, Employee, Message
from .traffic_facade import CardTokens

__all__ = [
    "CardTokens",
    "Call",
    "DeliveryResult",
    "Emulator",
    "Employee",
    "Message",
    "events",
    "scopes",
]
