"""The HubSpot endpoints the adapter calls, each through the wire, answering plain values.

One method per endpoint: it builds the request, sends it with ``HubSpotWire.call``
(retries, quota, errors) and hands the JSON to ``mapping``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import urllib3

from connectors.hubspot.mapping import (
    AssociationPage,
    BatchError,
    HsRecord,
    LabelDef,
    PipelineInfo,
    PropertyInfo,
    association_pages_of,
    batch_errors_of,
    items_of,
    label_defs_of,
    next_after,
    pipelines_of,
    property_info_of,
    records_of,
)
from connectors.hubspot.paging import SearchPage
from connectors.hubspot.queries import COMPANIES, DEALS, OWN_APIS
from connectors.hubspot.wire import TOKEN_INFO_PATH, HubSpotWire


class HubSpotClient(HubSpotWire):
    """The endpoints a sync, a writeback and ``check`` call, answering plain values."""

    # --- endpoints ------------------------------------------------------------------------------

    def list_page(
        self,
        object_type: str,
        after: str | None,
        *,
        limit: int,
        properties: Sequence[str],
        properties_with_history: Sequence[str] = (),
        archived: bool = False,
    ) -> tuple[list[HsRecord], str | None]:
        """One page of a list (GET /crm/v3/objects/{type}), in id order, and the next cursor."""
        kwargs: dict[str, Any] = {
            "limit": limit,
            "properties": list(properties),
            "archived": archived,
        }
        if after is not None:
            kwargs["after"] = after
        if properties_with_history:
            kwargs["properties_with_history"] = list(properties_with_history)
        state = "archived " if archived else ""
        path, args = _api(object_type, "basic_api")
        body = self.ask(
            f"list {state}{object_type}", path, "get_page_with_http_info", *args, **kwargs
        )
        return records_of(body), next_after(body)

    def search(self, object_type: str, request: dict[str, Any]) -> SearchPage[HsRecord]:
        """One search page (POST /crm/v3/objects/{type}/search)."""
        path, args = _api(object_type, "search_api")
        body = self.ask(
            f"search {object_type}",
            path,
            "do_search_with_http_info",
            *args,
            public_object_search_request=request,
        )
        return SearchPage(records_of(body), int(body.get("total") or 0))

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str],
        properties_with_history: Sequence[str] = (),
    ) -> tuple[list[HsRecord], list[BatchError]]:
        """Records by id (POST …/batch/read); ids that do not exist come back as errors."""
        request: dict[str, Any] = {
            "inputs": [{"id": record_id} for record_id in ids],
            "properties": list(properties),
        }
        if properties_with_history:
            request["propertiesWithHistory"] = list(properties_with_history)
        path, args = _api(object_type, "batch_api")
        body = self.ask(
            f"batch read {len(ids)} {object_type}",
            path,
            "read_with_http_info",
            *args,
            batch_read_input_simple_public_object_id=request,
        )
        return records_of(body), batch_errors_of(body)

    def batch_update(
        self, object_type: str, inputs: Sequence[tuple[str, Mapping[str, str]]]
    ) -> tuple[list[str], list[BatchError]]:
        """Update records (POST …/batch/update): the ids written, and a 207's errors."""
        request = {"inputs": [{"id": rid, "properties": dict(props)} for rid, props in inputs]}
        body = self.ask(
            f"batch update {len(inputs)} {object_type}",
            f"{object_type}.batch_api",
            "update_with_http_info",
            batch_input_simple_public_object_batch_input=request,
            repeatable=False,  # a lost answer may hide a landed write: AnswerLost
        )
        written = [str(item.get("id")) for item in items_of(body.get("results"))]
        return written, batch_errors_of(body)

    def associated_companies(
        self, deal_inputs: Sequence[tuple[str, str | None]]
    ) -> tuple[list[AssociationPage], list[BatchError]]:
        """v4 batch read of deal→company associations for (deal id, after) inputs."""
        return self.associated(DEALS, COMPANIES, deal_inputs)

    def associated(
        self, from_type: str, to_type: str, inputs: Sequence[tuple[str, str | None]]
    ) -> tuple[list[AssociationPage], list[BatchError]]:
        """v4 batch read of from→to associations for (from id, after) inputs."""
        request = {
            "inputs": [
                {"id": from_id, **({"after": after} if after else {})} for from_id, after in inputs
            ]
        }
        body = self.ask(
            f"read the {to_type} of {len(inputs)} {from_type}",
            "associations.v4.batch_api",
            "get_page_with_http_info",
            from_type,
            to_type,
            batch_input_public_fetch_associations_batch_request=request,
        )
        return association_pages_of(body), batch_errors_of(body)

    def association_labels(self, from_type: str, to_type: str) -> list[LabelDef]:
        """The association types (labels) from one object type to another."""
        body = self.ask(
            f"read the {from_type}→{to_type} association labels",
            "associations.v4.schema.definitions_api",
            "get_all_with_http_info",
            from_type,
            to_type,
        )
        return label_defs_of(body)

    def pipelines(self, object_type: str) -> list[PipelineInfo]:
        """Every pipeline of an object type, with its stages and their metadata."""
        body = self.ask(
            f"read the {object_type} pipelines",
            "pipelines.pipelines_api",
            "get_all_with_http_info",
            object_type,
        )
        return pipelines_of(body)

    def properties(self, object_type: str) -> list[PropertyInfo]:
        """Every property definition of an object type."""
        body = self.ask(
            f"read the {object_type} properties",
            "properties.core_api",
            "get_all_with_http_info",
            object_type,
        )
        return [property_info_of(item) for item in items_of(body.get("results"))]

    def property_groups(self, object_type: str) -> list[str]:
        """The names of an object type's property groups."""
        body = self.ask(
            f"read the {object_type} property groups",
            "properties.groups_api",
            "get_all_with_http_info",
            object_type,
        )
        return [str(item.get("name")) for item in items_of(body.get("results"))]

    def create_property_group(self, object_type: str, name: str, label: str) -> None:
        """Create a property group."""
        self.ask(
            f"create the {object_type} property group {name}",
            "properties.groups_api",
            "create_with_http_info",
            object_type,
            {"name": name, "label": label},
        )

    def token_scopes(self) -> frozenset[str] | None:
        """The scopes HubSpot granted the private app's token, or None when it will not say.

        POST /oauth/v2/private-apps/get/access-token-info takes the token in the
        body; the generated client has no method for it, so it goes through the
        client's own connection pool (same CA bundle, timeout and retry policy).
        """
        if self._scopes is not None:  # a run asks more than once (check, then the fields)
            return self._scopes
        pool = self._apis.get("companies.basic_api").api_client.rest_client.pool_manager
        url = self.settings.base_url.rstrip("/") + TOKEN_INFO_PATH
        body, status = self.call(
            "read the token's scopes",
            lambda: pool.request(
                "POST",
                url,
                body=json.dumps({"tokenKey": self._token}),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                preload_content=False,
                timeout=urllib3.Timeout(connect=self.timeout[0], read=self.timeout[1]),
            ),
        )
        scopes = body.get("scopes")
        if status != 200 or not isinstance(scopes, list):
            return None
        self._scopes = frozenset(str(scope) for scope in scopes)
        return self._scopes

    def create_property(self, object_type: str, request: Mapping[str, Any]) -> PropertyInfo:
        """Create a property; its definition as HubSpot answers it."""
        body = self.ask(
            f"create the {object_type} property {request.get('name')}",
            "properties.core_api",
            "create_with_http_info",
            object_type,
            dict(request),
        )
        return property_info_of(body)


def _api(object_type: str, api: str) -> tuple[str, tuple[str, ...]]:
    """The generated API of an object type and the arguments it takes first: companies and
    deals have their own packages; every other object goes through the generic objects
    API, which takes the object type as its first argument."""
    if object_type in OWN_APIS:
        return f"{object_type}.{api}", ()
    return f"objects.{api}", (object_type,)
