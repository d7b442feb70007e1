"""What the bot does with what reaches it: commands, card buttons, Feishu's events, and its own
follow-up jobs.

The front door, at the top:
- `registry`: the one table of everything the bot reacts to (commands, buttons, events, jobs),
  each entry with its function and policy; the help, the welcome, the menu keys and the push
  subscriptions are derived from it.
- `guard`: the one chain every command and button passes through (who may act → once-only →
  run → Open API errors mapped → audit), and the one rule for inbox work.
- `asker` (who asked, and the `Answer`), `errors` (RetryLater, GiveUp, Stopping, the Open API
  failure rule), `messages` (a chat message or a menu item asks for a command), `buttons` (a
  press answered inside 3 s), `presses` (a button's value read and checked), `dispatch` (the
  inbox's entry), `waiting` (the interim answer while Feishu fails), `askings` (where an
  answer goes), `parser` (the words commands share), `access`, `answers`, `audit_trail`,
  `scheduled_reports`, `services`.

The features, one folder each, holding their commands, buttons, events, jobs and services side
by side: `accounts/`, `people/`, `withdrawals/`, `reconcile/`, `reports/`, `digest/`, `help/`,
`notices/`. A feature registers its entries when `registry.loaded()` imports it (its
`__init__` names its `PLACE` in the help and its `MODULES`).

Handlers get parsed events and the services they need (`services.Services`); they may import
`bot.feishu`, `bot.records`, `bot.domain`, `bot.config` and `bot.metrics` (the settings and
counters they are given) and `cards`, and know no Flask or HTTP. They never import the process
(`bot.app`, `bot.worker`, `bot.scheduler`, `bot.cli`) or the operator's commands (`bot.ops`),
open a database or build an Open API client: what they need arrives in `Services`.
"""
