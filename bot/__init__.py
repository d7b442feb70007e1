"""The process, and the one place that knows every part.

Here: settings (`config`), the app factory (`app`), the CLI (`cli`), the WSGI server and its
thin Flask edge (`server`, `web`), the inbox workers (`worker`), the schedule (`scheduler`), the
housekeeper, metrics and the container's health check. Beneath it, by concern: `domain/` (the
types every layer shares, importing nothing else of ours), `feishu/` (what speaks Feishu's
protocol), `records/` (what persists), `ops/` (the operator's commands beside `serve`: doctor,
exports, import, backup, forget), `emulator/` (Feishu's stand-in, which imports nothing of the
bot) and `sandbox/`. Only `app` and `cli` assemble everything.
"""
