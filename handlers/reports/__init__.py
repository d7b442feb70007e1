"""The records as they are: the audit's latest entries and exports into the chat."""

PLACE = 5
MODULES = ("commands",)
