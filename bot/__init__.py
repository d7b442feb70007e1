"""The process, and the one place that knows every part.

Here: settings (`config`), the app factory (`app`), the CLI, the WSGI server and its thin Flask
edge (`server`, `web`), the inbox workers (`worker`), the schedule (`scheduler`), and the domain
types every layer shares (`accounts`, `digest_model`). Beneath it, by concern: `feishu/` (what
speaks Feishu's protocol), `records/` (what persists), `emulator/` (Feishu's stand-in, which
imports nothing of the bot) and `sandbox/`. Only `app` and `cli` assemble everything; the
domain types import nothing of ours.
"""
