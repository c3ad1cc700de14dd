"""Score fields and field-level security (issue 5) against the sandbox's Salesforce org.

A field made through the Tooling API is visible to no one until a permission set
assigned to the user grants it; ``ensure_fields(create=True)`` makes the fields and
grants them, once. Existing fields are checked for their shape (scale, length,
picklist values) and for the user's access. Setup is done as an admin would, with
the unmodified simple-salesforce client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.connector import CheckItem, FieldSpec
from sandbox.server import RunningSandbox
from tests.connectors.salesforce.conftest import make_connector
from tests.sandbox.conftest import control, salesforce_client, set_faults

USER = "0055g000000sAndbox"
SCORE = FieldSpec(
    name="Partner_Score__c", label="Partner score", kind="number", precision=4, scale=1,
    config_key="writeback.fields.score",
)  # fmt: skip
TIER = FieldSpec(
    name="Partner_Tier__c", label="Partner tier", kind="picklist",
    options=("Platinum", "Gold", "Silver", "Bronze"), config_key="writeback.fields.tier",
)  # fmt: skip
DRIVERS = FieldSpec(
    name="Partner_Score_Drivers__c", label="Drivers", kind="text", extra={"length": 255},
    config_key="writeback.fields.drivers",
)  # fmt: skip
SETUP_CALLS = ("/sobjects/<sobject>", "/composite/sobjects", "/tooling/sobjects/CustomField")


def by_name(items: list[CheckItem]) -> dict[str, CheckItem]:
    return {item.name: item for item in items}


def setup_writes(running: RunningSandbox) -> int:
    """Setup changes made so far: record creates, collection writes, new custom fields."""
    requests: dict[str, int] = control(running, "stats")["requests"]
    return sum(
        n
        for route, n in requests.items()
        if route.startswith(("salesforce POST", "salesforce PATCH")) and route.endswith(SETUP_CALLS)
    )


def grants(sf: Any, permission_set: str) -> dict[str, tuple[bool, bool]]:
    rows = sf.query(
        "SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
        f"WHERE Parent.Name = '{permission_set}'"
    )["records"]
    return {r["Field"]: (r["PermissionsRead"], r["PermissionsEdit"]) for r in rows}


def assigned(sf: Any, permission_set: str) -> bool:
    soql = (
        "SELECT COUNT() FROM PermissionSetAssignment "
        f"WHERE AssigneeId = '{USER}' AND PermissionSet.Name = '{permission_set}'"
    )
    return bool(sf.query(soql)["totalSize"])


def tooling_field(sf: Any, name: str, metadata: dict[str, Any]) -> None:
    sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": name, "Metadata": metadata}
    )


def test_create_grants_read_and_edit_through_a_permission_set_once(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    sf = salesforce_client(running)

    made = by_name(connector.ensure_fields([SCORE, TIER, DRIVERS], create=True))

    assert all(item.ok for item in made.values()), made
    assert "created (CustomField 00N" in made["field Account.Partner_Score__c"].detail
    assert made["permission set Partner_KPI_Writeback"].detail.startswith("created (0PS")
    assert made["field access Partner_KPI_Writeback"].detail == (
        "created read and edit on Account.Partner_Score__c, Account.Partner_Tier__c, "
        "Account.Partner_Score_Drivers__c"
    )
    assert (
        "assigned to sandbox@partner-kpi.local" in made["assignment Partner_KPI_Writeback"].detail
    )
    assert grants(sf, "Partner_KPI_Writeback") == {
        f"Account.{spec.name}": (True, True) for spec in (SCORE, TIER, DRIVERS)
    }
    assert assigned(sf, "Partner_KPI_Writeback")
    described = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert all(described[spec.name]["updateable"] for spec in (SCORE, TIER, DRIVERS))

    # a second run makes nothing: no field, no set, no row, no assignment
    before = setup_writes(running)
    again = make_connector(running).ensure_fields([SCORE, TIER, DRIVERS], create=True)
    assert all(item.ok and "created" not in item.detail for item in again), again
    assert setup_writes(running) == before
    planned = make_connector(running).ensure_fields([SCORE, TIER, DRIVERS], create=False)
    assert [item.detail for item in planned] == [
        "exists (double, scale 1)", "exists (picklist)", "exists (string, length 255)"
    ]  # fmt: skip


def test_plan_names_hidden_and_read_only_fields_and_create_grants_them(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    tooling_field(sf, "Account.Partner_Score__c", {"type": "Number", "precision": 4, "scale": 1})
    tooling_field(sf, "Account.Partner_Tier__c", {"type": "Picklist", "valueSet": {
        "valueSetDefinition": {"value": [{"fullName": t} for t in TIER.options]}}})  # fmt: skip
    # an admin's own permission set grants the tier read-only
    own = sf.PermissionSet.create({"Name": "Sales_Ops", "Label": "Sales Ops"})["id"]
    sf.FieldPermissions.create(
        {
            "ParentId": own,
            "SobjectType": "Account",
            "Field": "Account.Partner_Tier__c",
            "PermissionsRead": True,
        }
    )
    sf.PermissionSetAssignment.create({"AssigneeId": USER, "PermissionSetId": own})

    plan = by_name(make_connector(running).ensure_fields([SCORE, TIER], create=False))
    score, tier = plan["field Account.Partner_Score__c"], plan["field Account.Partner_Tier__c"]
    assert not score.ok and "hidden from this user" in score.detail
    assert "permission set Partner_KPI_Writeback" in score.detail
    assert not tier.ok and "may not edit it" in tier.detail
    assert setup_writes(running) == 5  # the admin's 2 fields and 3 records; the plan: none

    made = by_name(make_connector(running).ensure_fields([SCORE, TIER], create=True))
    assert all(item.ok for item in made.values()), made
    assert "now readable and editable" in made["field Account.Partner_Score__c"].detail
    assert "CustomField" not in made["field Account.Partner_Score__c"].detail  # not re-made
    assert grants(sf, "Partner_KPI_Writeback") == {
        "Account.Partner_Score__c": (True, True), "Account.Partner_Tier__c": (True, True)
    }  # fmt: skip

    # a row narrowed to read-only by hand is widened again by the next create
    row = sf.query(
        "SELECT Id FROM FieldPermissions WHERE Parent.Name = 'Partner_KPI_Writeback' "
        "AND Field = 'Account.Partner_Score__c'"
    )["records"][0]["Id"]
    sf.FieldPermissions.update(row, {"PermissionsEdit": False})
    assert not make_connector(running).ensure_fields([SCORE], create=False)[0].ok
    widened = by_name(make_connector(running).ensure_fields([SCORE], create=True))
    assert widened["field access Partner_KPI_Writeback"].detail == (
        "widened to read and edit on Account.Partner_Score__c"
    )
    assert widened["field Account.Partner_Score__c"].ok


def test_a_user_who_may_not_manage_permission_sets_is_told_what_to_ask_for(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    control(running, "salesforce/user",
            {"permissions": {"PermissionsManageProfilesPermissionsets": False}})  # fmt: skip

    made = make_connector(running).ensure_fields([SCORE], create=True)

    field, refused = made
    assert "created (CustomField" in field.detail and "hidden from this user" in field.detail
    assert not field.ok and not refused.ok
    assert refused.name == "permission set Partner_KPI_Writeback"
    assert refused.detail == (
        "sandbox@partner-kpi.local may not manage permission sets "
        "(INSUFFICIENT_ACCESS_OR_READONLY): ask a Salesforce admin to grant Edit on "
        "Account.Partner_Score__c to sandbox@partner-kpi.local (e.g. in a permission set "
        "Partner_KPI_Writeback assigned to it)"
    )

    # may manage but not assign: the set and its rows are made, the assignment is asked for
    control(running, "salesforce/user", {"permissions": {
        "PermissionsManageProfilesPermissionsets": True,
        "PermissionsAssignPermissionSets": False}})  # fmt: skip
    items = by_name(make_connector(running).ensure_fields([SCORE], create=True))
    assert items["field access Partner_KPI_Writeback"].ok
    assert items["assignment Partner_KPI_Writeback"].detail == (
        "sandbox@partner-kpi.local may not assign permission sets "
        "(INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY): ask a Salesforce admin to assign "
        "the permission set Partner_KPI_Writeback to sandbox@partner-kpi.local"
    )
    assert "hidden from this user" in items["field Account.Partner_Score__c"].detail


def test_an_existing_fields_shape_is_checked_against_the_config(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    tooling_field(sf, "Account.Partner_Score__c", {"type": "Number", "precision": 3, "scale": 0})
    values = [{"fullName": "Gold"}, {"fullName": "Silver"}, {"fullName": "Bronze",
                                                             "isActive": False}]  # fmt: skip
    tooling_field(sf, "Account.Partner_Tier__c", {"type": "Picklist", "valueSet": {
        "valueSetDefinition": {"value": values}}})  # fmt: skip
    tooling_field(sf, "Account.Partner_Score_Drivers__c", {"type": "Text", "length": 80})
    own_set = FieldSpec(**{**DRIVERS.__dict__, "access_grant": "Scores_Writer"})

    made = by_name(make_connector(running).ensure_fields([SCORE, TIER, own_set], create=True))

    assert made["field Account.Partner_Score__c"].detail == (
        "exists (double, scale 0), but scale 1 is configured: set writeback.fields.score.scale: "
        "0 or widen the field"
    )
    assert made["field Account.Partner_Tier__c"].detail == (
        "exists (picklist), but has no active value Platinum, Bronze: add them to the field's "
        "values, or map tier to a text field"
    )
    assert made["field Account.Partner_Score_Drivers__c"].detail == (
        "exists (string, length 80), but length 255 is configured: set "
        "writeback.fields.drivers.length: 80 or lengthen the field"
    )
    assert not any(made[f"field Account.{s.name}"].ok for s in (SCORE, TIER, own_set))
    # the configured permission set grants the hidden fields (none of them is changed)
    assert "permission set Scores_Writer" in made
    assert set(grants(sf, "Scores_Writer")) == {
        "Account.Partner_Score__c", "Account.Partner_Tier__c", "Account.Partner_Score_Drivers__c"
    }  # fmt: skip
    described = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert described["Partner_Score__c"]["scale"] == 0
    assert described["Partner_Score_Drivers__c"]["length"] == 80


def test_a_number_field_with_too_few_digits_before_the_point_is_named(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    """precision 3, scale 1 holds 99.9 at most: a score of 100.0 would be refused."""
    running = fresh_sandbox()
    sf = salesforce_client(running)
    tooling_field(sf, "Account.Partner_Score__c", {"type": "Number", "precision": 3, "scale": 1})
    made = by_name(make_connector(running).ensure_fields([SCORE], create=True))
    item = made["field Account.Partner_Score__c"]
    assert not item.ok
    assert item.detail == (
        "exists (double, scale 1, precision 3), but values need 3 digits before the point "
        "(writeback.fields.score.precision 4): widen the field or map score to another field"
    )


def test_creates_whose_answers_were_lost_are_found_not_reported_missing(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    # a create lands, its answer is lost, the retry is refused as a duplicate: made, not missing
    running = fresh_sandbox()
    for every in (2, 3, 4, 5):
        running.app.reset()
        set_faults(running, f"lost_response=every:{every}")
        made = by_name(make_connector(running).ensure_fields([SCORE, TIER], create=True))
        set_faults(running, "")
        assert all(item.ok for item in made.values()), (every, made)
        sf = salesforce_client(running)
        assert grants(sf, "Partner_KPI_Writeback") == {
            f"Account.{spec.name}": (True, True) for spec in (SCORE, TIER)
        }
        assert assigned(sf, "Partner_KPI_Writeback")
