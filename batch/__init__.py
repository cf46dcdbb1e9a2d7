"""``asyncfc-agent batch``: many tasks at once on Ray (an optional extra)."""
