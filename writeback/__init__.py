"""Writeback of scores into CRM fields (issue 5): field spec, plan, apply, journal."""
