"""Moved to tests/bot/ops/test_import.py. Kept only so that
tests/handlers/notices/test_notices_told_once.py (the lead's) still finds its two helpers here;
remove once that file imports them from tests.bot.ops.test_import. It holds no tests."""

from tests.bot.ops.test_import import add_accounts, settings_env

__all__ = ["add_accounts", "settings_env"]
