"""Money out: withdrawal requests and their approval by a second admin (`requests`), the
payout and settling of uncertain ones (`payouts`), their cards and audit (`trail`), and the
commands and buttons that reach them (`commands`)."""

PLACE = 3
MODULES = ("commands", "requests", "payouts", "trail")
