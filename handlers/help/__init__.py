"""Help: the usage card (as each person may use it), and the welcome on first contact."""

PLACE = 7
MODULES = ("commands",)
