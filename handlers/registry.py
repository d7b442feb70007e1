"""The one registry of everything the bot reacts to: commands, buttons, events and the bot's own
follow-up jobs. Each entry names its function and its policy; everything that lists them is
derived from here: the command language (`parse`), the help and welcome cards, the bot menu's
keys, the push subscriptions, the inbox's routing and the button answers.

A feature folder (`handlers/accounts/`, …) registers its entries with the decorators below when
it is imported; `loaded()` imports every feature folder once, in the order of their `PLACE`
(which is also the order of the help card). Adding a command with a button and a menu item is
a matter of one feature folder: the command's usage makes it a menu item when it runs without
arguments.

Modelled on Bolt's `App._register_listener` and python-telegram-bot's `Application.add_handler`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cards.text import Text

# Who may act (see handlers/access.py): anyone who can message the bot, or only HR admins.
ANYONE, ADMINS = "anyone", "admins"


class Once(Enum):
    """What the guard does with a command whose earlier run began and was cut off (the process
    killed between the Open API call and keeping its answer)."""

    NO = "no"  # reads, or writes that are harmless twice: simply run again
    STRICT = "strict"  # may have taken effect and cannot be checked (create): not run again
    CHECKED = "checked"  # run again, told so (`Asker.resumed`), to check before changing


@dataclass(frozen=True)
class Policy:
    may: str = ADMINS
    once: Once = Once.NO
    audited: bool = True


Parse = Callable[[list[str], str], Any]


@dataclass(frozen=True)
class CommandEntry:
    """`/referral <name> …`: `parse` turns the words after the name into the function's
    argument (or raises `parser.UsageError`); `run(services, asker, command) -> Answer`."""

    name: str
    usage: str
    summary: Text
    parse: Parse
    run: Callable
    policy: Policy

    @property
    def everyone(self) -> bool:
        return self.policy.may == ANYONE

    def runs_bare(self) -> bool:
        """Whether it runs without arguments (it takes none, or only optional ones): then a bot
        menu item may run it."""
        from handlers.parser import UsageError  # the parser's own error; no import cycle

        try:
            self.parse([], self.usage)
        except UsageError:
            return False
        return True


@dataclass(frozen=True)
class ButtonEntry:
    """A card button whose value carries `{"action": action, …}`. `needs`: the value's fields
    that must be present and sound (see handlers/presses.py), `may_have`: optional fields that
    must be sound when present; `check`: the entry's own check of the value (an error text, or
    None). `run(services, asker, value) -> Answer`; `shows(services, value)`: the card a
    redelivered press is answered with, from the records (default: the account's)."""

    action: str
    run: Callable
    policy: Policy
    needs: tuple[str, ...] = ()
    may_have: tuple[str, ...] = ()
    check: Callable | None = None
    shows: Callable | None = None


@dataclass(frozen=True)
class WorkEntry:
    """Inbox work: a Feishu event (`model`: the SDK's model it is decoded into) or the bot's own
    follow-up job (`model` None: a JSON payload). `run(services, event_id, data)`;
    `on_failure(services, payload, reason)`: what giving the work up means, when more than
    telling whoever asked."""

    kind: str
    run: Callable
    model: type | None = None
    on_failure: Callable | None = None


@dataclass
class Registry:
    commands: dict[str, CommandEntry] = field(default_factory=dict)
    buttons: dict[str, ButtonEntry] = field(default_factory=dict)
    work: dict[str, WorkEntry] = field(default_factory=dict)

    # --- registering --------------------------------------------------------------------
    def command(
        self, usage: str, *, parse: Parse, may: str = ADMINS, once: Once = Once.NO
    ) -> Callable:
        """`/referral <name> …` (the usage line names it), answered by the decorated function,
        whose docstring begins with the help's summary: a line in English, a line in Chinese
        (as errbot's help reads a command's docstring)."""

        def register(run: Callable) -> Callable:
            name = usage.split()[1]
            _new(self.commands, name, "command")
            summary = summary_of(run)
            self.commands[name] = CommandEntry(name, usage, summary, parse, run, Policy(may, once))
            return run

        return register

    def button(
        self,
        action: str,
        *,
        needs: tuple[str, ...] = (),
        may_have: tuple[str, ...] = (),
        check: Callable | None = None,
        shows: Callable | None = None,
    ) -> Callable:
        """A button's press: admins only, always recorded (pending, then done) and audited."""

        def register(run: Callable) -> Callable:
            _new(self.buttons, action, "button")
            policy = Policy(ADMINS, Once.CHECKED)
            self.buttons[action] = ButtonEntry(action, run, policy, needs, may_have, check, shows)
            return run

        return register

    def event(self, event_type: str, model: type, *, on_failure: Callable | None = None):
        """A Feishu event the app subscribes to, worked off the inbox."""

        def register(run: Callable) -> Callable:
            _new(self.work, event_type, "event")
            self.work[event_type] = WorkEntry(event_type, run, model, on_failure)
            return run

        return register

    def job(self, job_type: str, *, on_failure: Callable | None = None):
        """The bot's own follow-up work (`bot.*`), queued in the inbox with a JSON payload."""

        def register(run: Callable) -> Callable:
            _new(self.work, job_type, "job")
            self.work[job_type] = WorkEntry(job_type, run, None, on_failure)
            return run

        return register

    # --- derived views ------------------------------------------------------------------
    def menu_keys(self) -> tuple[str, ...]:
        """The bot menu's event keys: the commands that run without arguments."""
        return tuple(name for name, entry in self.commands.items() if entry.runs_bare())

    def subscriptions(self) -> dict[str, type]:
        """The Feishu events the app handles, with the SDK model of each."""
        return {kind: w.model for kind, w in self.work.items() if w.model is not None}

    def general_usage(self) -> str:
        return "/referral <" + " | ".join(self.commands) + "> …"


def summary_of(run: Callable) -> Text:
    """The help's summary of a command: its docstring's first two lines, English then Chinese."""
    lines = (inspect.getdoc(run) or "").splitlines()
    if len(lines) < 2 or not lines[0].strip() or not lines[1].strip():
        raise ValueError(
            f"{run.__qualname__} needs a docstring: its summary in English, then Chinese"
        )
    return Text(lines[0].strip(), lines[1].strip())


def _new(table: dict, key: str, what: str) -> None:
    if key in table:
        raise ValueError(f"the {what} {key!r} is registered twice")


REGISTRY = Registry()
command = REGISTRY.command
button = REGISTRY.button
event = REGISTRY.event
job = REGISTRY.job

# The front door's own modules: the message and menu events, the interim answer, the truth
# told after a failure.
FRONT_DOOR = ("handlers.messages", "handlers.waiting", "handlers.dispatch")
_loading = threading.Lock()
_loaded = False


def loaded() -> Registry:
    """The registry with every feature folder imported (once), in the order of their `PLACE`."""
    global _loaded
    if _loaded:
        return REGISTRY
    with _loading:
        if not _loaded:
            import handlers

            features = [
                importlib.import_module(f"handlers.{info.name}")
                for info in pkgutil.iter_modules(handlers.__path__)
                if info.ispkg
            ]
            for feature in sorted(features, key=lambda module: module.PLACE):
                for module in feature.MODULES:
                    importlib.import_module(f"{feature.__name__}.{module}")
            for module in FRONT_DOOR:
                importlib.import_module(module)
            # Whatever imported a feature first, the help lists the features in their order.
            place = {feature.__name__: feature.PLACE for feature in features}
            commands = sorted(
                REGISTRY.commands.values(),
                key=lambda entry: place[entry.run.__module__.rpartition(".")[0]],
            )
            REGISTRY.commands = {entry.name: entry for entry in commands}
            _loaded = True
    return REGISTRY
