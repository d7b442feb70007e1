"""Card JSON 2.0 builders: pure functions, data in, dict out.

Cards import only the domain types they render (`bot.accounts`, `bot.digest_model`) and each
other: no SDK, no Flask, no database, no handlers.
"""
