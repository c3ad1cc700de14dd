"""The tier guard: a run that would move too many partners to another tier at once is refused.

A sudden mass change of tiers is more often bad data (a broken filter, a
half-synced store, a changed weight) than news, and tiers drive commission and
programme benefits. Only a change from one tier to another counts: a first
run that fills empty tier fields changes nobody's tier.
"""

from __future__ import annotations

from dataclasses import dataclass

from writeback.plan import WritePlan


@dataclass(frozen=True)
class GuardVerdict:
    """How many partners would change tier, out of how many, against the limit."""

    changed: int
    total: int
    max_share: float
    #: the tier output is not written, so the guard has nothing to watch
    watched: bool = True

    @property
    def share(self) -> float:
        return self.changed / self.total if self.total else 0.0

    @property
    def ok(self) -> bool:
        return not self.watched or self.share <= self.max_share

    def describe(self, *, forced: bool = False) -> str:
        """One line for people; ``forced``: the run wrote past a refusal (``--force``)."""
        if not self.watched:
            return "tier guard: the tier is not written; nothing to guard"
        figures = (
            f"{self.changed} of {self.total} partners ({self.share:.0%}) would change tier; "
            f"the limit is {self.max_share:.0%} (writeback.max_tier_change_share)"
        )
        if self.ok:
            return f"tier guard: {figures}"
        if forced:
            return f"tier guard: {figures}; written anyway (--force)"
        return (
            f"tier guard: refused: {figures}. Check the data behind the run (partner filter, "
            "scoring weights and thresholds, a partial sync); run again with --force to write "
            "it anyway, or raise the limit"
        )


def check_tier_changes(plan: WritePlan, max_share: float) -> GuardVerdict:
    """The guard's verdict on a plan: tier changes among the partners the CRM holds."""
    tier = plan.fields.by_output("tier")
    if tier is None:
        return GuardVerdict(0, plan.considered, max_share, watched=False)
    changed = 0
    for record in plan.records:
        change = record.change_of("tier")
        if change is not None and change.old is not None and change.changed:
            changed += 1
    return GuardVerdict(changed, plan.considered, max_share)
