"""A local Feishu Open Platform emulator (HTTP) for tests and the sandbox.

It stands for Feishu: it imports nothing from the bot.
"""

from .emulator import Emulator
from .events import DeliveryResult
from .state import Call, Employee, Message

__all__ = ["Call", "DeliveryResult", "Emulator", "Employee", "Message"]
