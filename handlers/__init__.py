"""What the bot does with an event: commands, card buttons, balance events, the digest.

Handlers get parsed events and the services they need (`services.Services`); they may import
`bot.feishu`, `bot.records`, the domain types of `bot/` and `cards`, and know no Flask or HTTP.
"""
