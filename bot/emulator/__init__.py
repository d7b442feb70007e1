"""A local Feishu Open Platform emulator (real HTTP) for tests and the sandbox.

It stands for Feishu, so it imports nothing from the bot.

    from bot.emulator import Emulator, Employee, events
    with Emulator(app_id="cli_x", app_secret="s3cret") as emu:   # port 0 = a free port
        emu.add_employee(Employee(open_id="ou_1", email="hire@open.com"))
        account_id = emu.create_account("ou_1")
        client = lark.Client.builder().app_id("cli_x").app_secret("s3cret").domain(emu.url).build()
        ...
        emu.calls_for("get_account_assets"); emu.messages; emu.latest_card(message_id)

Knobs: set_latency, fail_next, expire_tokens, rate_limits / enforce_rate_limits,
outage(seconds, kind="refuse" | "5xx") / end_outage / in_outage (Feishu down for a while).
Feishu -> bot: `events` (message_event, card_action, assets_update_event, url_verification,
encrypt, signed_headers, deliver) and the emulator's card_action / assets_update_event.
"""

from . import events
from .emulator import CardTokens, Emulator
from .events import DeliveryResult
from .state import Call, Employee, Message

__all__ = ["CardTokens", "Call", "DeliveryResult", "Emulator", "Employee", "Message", "events"]
