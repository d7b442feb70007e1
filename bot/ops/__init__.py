"""What the person who runs the bot does from the shell, beside `referral-bot serve`: `doctor`
(is the deployment right? a package: its run, its report, one module per kind of check), the
exports (`exports`, written as CSV or as a workbook by `workbook`, every cell through `cells`,
people named by `export_names`), `importer` (bringing in existing accounts), `backup` (a
consistent copy of the SQLite file) and `forget` (erasing a person). `bot/cli.py` parses the
command line and calls them.
"""
