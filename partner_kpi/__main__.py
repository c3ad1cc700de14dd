"""`python -m partner_kpi` runs the CLI."""

from partner_kpi.cli import main

main()
