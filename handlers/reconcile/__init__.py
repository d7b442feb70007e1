"""The reconciliation of withdrawals with Feishu: the command and the scheduled report."""

PLACE = 4
MODULES = ("commands",)
