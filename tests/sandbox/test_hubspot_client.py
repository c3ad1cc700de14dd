"""The unmodified hubspot-api-client against the sandbox over HTTPS, API by API.

The client is built with ``client_side_validation=True`` (off by default), so every
response must deserialize into the client's models with their required fields
present and their enums respected: a shape the client cannot read fails here.
Expected figures come from the dataset's README (35 partners, 85 customers,
8,800 deals) and HubSpot's documented limits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.companies import (
    ApiException as CompaniesApiException,
)
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
    SimplePublicObjectBatchInput,
)
from hubspot.crm.deals import ApiException as DealsApiException
from hubspot.crm.deals import Filter, FilterGroup, PublicObjectSearchRequest
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate

from sandbox.server import RunningSandbox
from tests.sandbox.test_hubspot_portal import write_seed


def strict_client(running: RunningSandbox) -> HubSpot:
    """hubspot-api-client pointed at the sandbox, validating every model it builds."""
    return HubSpot(
        access_token=running.credentials.hubspot_access_token,
        host=running.url,
        ssl_ca_cert=str(running.ca_bundle),
        client_side_validation=True,
    )


@pytest.fixture(scope="module")
def hs(sandbox: RunningSandbox) -> Any:
    """A client of the session's shared sandbox: tests using it must not write."""
    return strict_client(sandbox)


def search(hs: Any, **request: Any) -> Any:
    return hs.crm.deals.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(**request)
    )


def test_company_pages_walk_every_company_once(hs: Any) -> None:
    seen: list[str] = []
    types: list[str] = []
    after = None
    while True:
        page = hs.crm.companies.basic_api.get_page(
            limit=40, after=after, properties=["name", "type"]
        )
        seen += [c.id for c in page.results]
        types += [c.properties["type"] for c in page.results]
        assert all(c.created_at and c.updated_at and c.archived is False for c in page.results)
        if page.paging is None:
            break
        assert page.paging.next.link.startswith("https://127.0.0.1:")
        after = page.paging.next.after
    assert len(seen) == len(set(seen)) == 120
    assert (types.count("PARTNER"), types.count("OTHER")) == (35, 85)
    assert len(hs.crm.companies.get_all()) == 120  # the client's own pager, 100 a page


def test_deal_with_history_and_associations(hs: Any) -> None:
    first = hs.crm.deals.basic_api.get_page(limit=1).results[0]
    deal = hs.crm.deals.basic_api.get_by_id(
        first.id,
        properties=["dealstage", "amount"],
        properties_with_history=["dealstage"],
        associations=["companies"],
    )
    history = deal.properties_with_history["dealstage"]
    assert history[0].value == deal.properties["dealstage"]
    assert [h.timestamp for h in history] == sorted((h.timestamp for h in history), reverse=True)
    assert all(h.source_type == "CRM_UI" for h in history)
    assert {a.type for a in deal.associations["companies"].results} >= {"deal_to_company"}
    with pytest.raises(DealsApiException) as excinfo:
        hs.crm.deals.basic_api.get_by_id("1")
    assert excinfo.value.status == 404
    assert '"category":"OBJECT_NOT_FOUND"' in excinfo.value.body


def test_client_pager_with_history_stays_within_limits(hs: Any) -> None:
    deals = hs.crm.deals.get_all(properties_with_history=["dealstage"], limit=120)
    assert len(deals) == 120 and all(d.properties_with_history["dealstage"] for d in deals)
    with pytest.raises(DealsApiException) as excinfo:
        hs.crm.deals.basic_api.get_page(limit=100, properties_with_history=["dealstage"])
    assert excinfo.value.status == 400


def test_search_filters_sorts_and_pages(hs: Any) -> None:
    pipeline = hs.crm.pipelines.pipelines_api.get_all(object_type="deals").results[0]
    won = next(s.id for s in pipeline.stages if s.metadata["probability"] == "1.0")
    request = {
        "filter_groups": [
            FilterGroup(
                filters=[
                    Filter(property_name="dealstage", operator="EQ", value=won),
                    Filter(property_name="amount", operator="GTE", value="5000"),
                ]
            )
        ],
        "sorts": ['{"propertyName": "amount", "direction": "DESCENDING"}'],
        "properties": ["amount", "dealstage"],
        "limit": 200,
    }
    first = search(hs, **request)
    assert first.total > 200 and len(first.results) == 200
    amounts = [float(d.properties["amount"]) for d in first.results]
    assert amounts == sorted(amounts, reverse=True) and min(amounts) >= 5000
    assert {d.properties["dealstage"] for d in first.results} == {won}
    second = search(hs, **request, after=first.paging.next.after)
    assert not {d.id for d in first.results} & {d.id for d in second.results}
    with pytest.raises(DealsApiException) as excinfo:
        search(hs, limit=201)
    assert excinfo.value.status == 400


def test_pipelines(hs: Any) -> None:
    pipelines = hs.crm.pipelines.pipelines_api.get_all(object_type="deals").results
    assert [p.label for p in pipelines] == ["Partner deals"]
    pipeline = hs.crm.pipelines.pipelines_api.get_by_id(
        object_type="deals", pipeline_id=pipelines[0].id
    )
    metadata = {
        s.label: (s.metadata["isClosed"], s.metadata["probability"]) for s in pipeline.stages
    }
    assert metadata == {
        "Prospecting": ("false", "0.1"),
        "Engaging": ("false", "0.5"),
        "Won": ("true", "1.0"),
        "Lost": ("true", "0.0"),
    }
    stages = hs.crm.pipelines.pipeline_stages_api.get_all(
        object_type="deals", pipeline_id=pipeline.id
    )
    assert [s.id for s in stages.results] == [s.id for s in pipeline.stages]


def test_associations_v4(hs: Any) -> None:
    deals = hs.crm.deals.basic_api.get_page(limit=5).results
    request = BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[PublicFetchAssociationsBatchRequest(id=d.id) for d in deals]
    )
    answer = hs.crm.associations.v4.batch_api.get_page("deals", "companies", request)
    assert answer.status == "COMPLETE" and len(answer.results) == 5
    labels = {
        t.label for result in answer.results for to in result.to for t in to.association_types
    }
    assert labels == {"Primary", "Reseller", None}
    missing = BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[
            PublicFetchAssociationsBatchRequest(id=deals[0].id),
            PublicFetchAssociationsBatchRequest(id="1"),
        ]
    )
    partial = hs.crm.associations.v4.batch_api.get_page("deals", "companies", missing)
    assert len(partial.results) == 1 and partial.num_errors == 1
    assert partial.errors[0].context == {"fromObjectId": ["1"]}
    definitions = hs.crm.associations.v4.schema.definitions_api.get_all("deals", "companies")
    reseller = [d for d in definitions.results if d.label == "Reseller"]
    assert len(reseller) == 1 and reseller[0].category == "USER_DEFINED"


def test_properties_and_groups_read(hs: Any) -> None:
    properties = {
        p.name: p for p in hs.crm.properties.core_api.get_all(object_type="deals").results
    }
    assert properties["amount"].type == "number" and properties["closedate"].type == "datetime"
    assert (
        properties["dealstage"].type == "enumeration" and len(properties["dealstage"].options) == 4
    )
    assert properties["hs_is_closed"].modification_metadata.read_only_value is True
    lead_source = hs.crm.properties.core_api.get_by_name(
        object_type="deals", property_name="lead_source"
    )
    assert {o.value for o in lead_source.options} >= {"Web", "Paid Search", "Partner Referral"}
    groups = hs.crm.properties.groups_api.get_all(object_type="companies").results
    assert "companyinformation" in {g.name for g in groups}


def test_writes_through_the_client(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    hs = strict_client(running)
    group = hs.crm.properties.groups_api.create(
        object_type="companies",
        property_group_create=PropertyGroupCreate(name="partner_kpi", label="Partner KPI"),
    )
    assert group.name == "partner_kpi"
    created = hs.crm.properties.core_api.create(
        object_type="companies",
        property_create=PropertyCreate(
            name="partner_tier",
            label="Partner tier",
            type="enumeration",
            field_type="select",
            group_name="partner_kpi",
            options=[
                OptionInput(label="Gold", value="gold", display_order=0, hidden=False),
                OptionInput(label="Silver", value="silver", display_order=1, hidden=False),
            ],
        ),
    )
    assert created.name == "partner_tier" and [o.value for o in created.options] == [
        "gold",
        "silver",
    ]
    got = hs.crm.properties.core_api.get_by_name(
        object_type="companies", property_name="partner_tier"
    )
    assert got.group_name == "partner_kpi"
    with pytest.raises(PropertiesApiException) as excinfo:
        hs.crm.properties.core_api.create(
            object_type="companies",
            property_create=PropertyCreate(
                name="partner_tier",
                label="Again",
                type="string",
                field_type="text",
                group_name="partner_kpi",
            ),
        )
    assert excinfo.value.status == 409

    partners = [
        c
        for c in hs.crm.companies.get_all(properties=["type"])
        if c.properties["type"] == "PARTNER"
    ]
    good = hs.crm.companies.batch_api.update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=p.id, properties={"partner_tier": "gold"})
                for p in partners[:10]
            ]
        )
    )
    assert isinstance(good, BatchResponseSimplePublicObject) and len(good.results) == 10

    # a 207 is a success to the client: it returns the errors, it does not raise
    mixed = hs.crm.companies.batch_api.update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(
                    id=partners[10].id, properties={"partner_tier": "silver"}
                ),
                SimplePublicObjectBatchInput(
                    id=partners[11].id, properties={"partner_tier": "bronze"}
                ),
                SimplePublicObjectBatchInput(
                    id=partners[12].id, properties={"annualrevenue": "huge"}
                ),
            ]
        )
    )
    assert isinstance(mixed, BatchResponseSimplePublicObjectWithErrors)
    assert [r.id for r in mixed.results] == [partners[10].id] and mixed.num_errors == 2
    codes = {e.context["ids"][0]: e.errors[0].code for e in mixed.errors}
    assert codes == {partners[11].id: "INVALID_OPTION", partners[12].id: "INVALID_FLOAT"}
    assert {e.category for e in mixed.errors} == {"VALIDATION_ERROR"}

    found = hs.crm.companies.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[
                        Filter(
                            property_name="partner_tier", operator="IN", values=["gold", "silver"]
                        )
                    ]
                )
            ],
            properties=["partner_tier"],
            limit=100,
        )
    )
    assert found.total == 11
    updated = hs.crm.companies.basic_api.get_by_id(partners[0].id, properties=["partner_tier"])
    assert updated.properties["partner_tier"] == "gold"
    assert updated.updated_at > partners[0].updated_at

    with pytest.raises(CompaniesApiException) as excinfo:
        hs.crm.companies.batch_api.update(
            batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
                inputs=[SimplePublicObjectBatchInput(id=str(n), properties={}) for n in range(101)]
            )
        )
    assert excinfo.value.status == 400

    deal = hs.crm.deals.basic_api.get_page(limit=1).results[0]
    hs.crm.deals.basic_api.archive(deal.id)
    archived = hs.crm.deals.basic_api.get_page(archived=True)
    assert [d.id for d in archived.results] == [deal.id] and archived.results[0].archived is True


def test_search_boundary_through_the_client(
    fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    running = fresh_sandbox(write_seed(tmp_path / "seed", 10_000))  # own: 10,000 deals
    hs = strict_client(running)
    ids: list[str] = []
    after = None
    while True:
        page = search(hs, limit=200, after=after)
        ids += [d.id for d in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(ids) == len(set(ids)) == page.total == 10_000
    with pytest.raises(DealsApiException) as excinfo:
        search(hs, limit=200, after="10000")
    assert excinfo.value.status == 400
