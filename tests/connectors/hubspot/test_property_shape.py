"""An existing score property's shape (issue 5): an enumeration must offer every tier."""

from __future__ import annotations

from collections.abc import Callable

from core.connector import FieldSpec
from sandbox.server import RunningSandbox
from tests.connectors.hubspot.conftest import connector_for
from tests.sandbox.conftest import hubspot_client, set_faults

TIER = FieldSpec(
    name="partner_tier", label="Partner tier", kind="picklist",
    options=("Platinum", "Gold", "Silver", "Bronze"), config_key="writeback.fields.tier",
)  # fmt: skip


def test_an_enumeration_without_every_tier_is_named_with_the_missing_options(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    hubspot_client(running).crm.properties.core_api.create(
        "companies",
        {
            "name": "partner_tier", "label": "Partner tier", "type": "enumeration",
            "fieldType": "select", "groupName": "companyinformation",
            "options": [{"label": t, "value": t, "displayOrder": i}
                        for i, t in enumerate(("Gold", "Silver"))],
        },
    )  # fmt: skip

    item, scopes = connector_for(running).ensure_fields([TIER], create=True)
    assert scopes.name == "token scopes" and scopes.ok

    assert not item.ok
    assert item.detail == (
        "exists (enumeration), but has no option Platinum, Bronze: add them to the property's "
        "options, or map tier to a text property"
    )


def test_a_create_whose_answer_was_lost_is_found_not_reported_missing(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    # the create lands, its answer is lost, the retry is refused: the property exists
    running = fresh_sandbox()
    set_faults(running, "lost_response=every:2")
    specs = [
        TIER,
        FieldSpec(name="partner_score", label="Partner score", kind="number", scale=1,
                  config_key="writeback.fields.score"),
    ]  # fmt: skip
    *items, _scopes = connector_for(running, sleep=lambda _: None).ensure_fields(specs, create=True)
    set_faults(running, "")
    assert [(item.name, item.ok) for item in items] == [
        ("property companies.partner_tier", True),
        ("property companies.partner_score", True),
    ], [item.detail for item in items]
    names = {
        p.name for p in hubspot_client(running).crm.properties.core_api.get_all("companies").results
    }
    assert {"partner_tier", "partner_score"} <= names
