"""rules/partitions.py against botocore's own data, so the copy can never drift from it.

rules/ may not import botocore (import contracts), so it carries a copy of the partitions; this
test loads botocore's `partitions.json` and `endpoints.json` through botocore.loaders and fails
on any difference: a botocore upgrade that adds a Region or a partition lands here first.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.loaders import Loader

from rules import partitions as table
from rules.needs import REGIONS_OPENED_AFTER_2023_12_23


def _botocore_partitions() -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in Loader().load_data("partitions")["partitions"]}


def _real_regions(p: dict[str, Any]) -> frozenset[str]:
    # `aws-global`, `aws-cn-global`...: pseudo Regions of global endpoints, not Regions a VPC is in.
    return frozenset(r for r in p["regions"] if not r.endswith("global"))


def test_the_table_has_exactly_botocores_partitions() -> None:
    assert {p.id for p in table.PARTITIONS} == set(_botocore_partitions())


@pytest.mark.parametrize("partition", table.PARTITIONS, ids=lambda p: p.id)
def test_each_partition_matches_botocore(partition: table.Partition) -> None:
    theirs = _botocore_partitions()[partition.id]

    assert partition.dns_suffix == theirs["outputs"]["dnsSuffix"]
    assert partition.dualstack_dns_suffix == theirs["outputs"]["dualStackDnsSuffix"]
    assert partition.region_regex == theirs["regionRegex"]
    assert partition.regions == _real_regions(theirs)


def test_every_botocore_region_resolves_to_its_partition() -> None:
    for pid, p in _botocore_partitions().items():
        for region in _real_regions(p):
            assert table.partition_id(region) == pid, region


def test_endpoints_json_agrees_on_suffixes_and_regexes() -> None:
    # The older endpoints.json (the per-service hosts botocore still reads) names the same partitions.
    for p in Loader().load_data("endpoints")["partitions"]:
        ours = table.partition_of(next(iter(sorted(p["regions"]))))
        assert (ours.id, ours.dns_suffix, ours.region_regex) == (p["partition"], p["dnsSuffix"], p["regionRegex"])


def test_the_own_prefix_table_names_known_partitions_and_regions() -> None:
    known = {p.id for p in table.PARTITIONS} | {r for p in table.PARTITIONS for r in p.regions}
    assert set(table._OWN_PREFIX) <= known


def test_the_post_2023_regions_are_botocores_regions_by_their_names() -> None:
    described = {r: d["description"] for p in _botocore_partitions().values() for r, d in p["regions"].items()}
    for region, name in REGIONS_OPENED_AFTER_2023_12_23:
        assert described.get(region) == name, region


def test_botocores_partition_regexes_are_python_regexes_that_match_their_regions() -> None:
    for p in table.PARTITIONS:
        pattern = re.compile(p.region_regex)
        assert all(pattern.match(r) for r in p.regions), p.id


def test_the_templates_prefix_map_is_the_tables() -> None:
    from iam_eval import load_template

    mapping = load_template()["Mappings"]["EndpointServicePrefix"]
    assert {k: v["Own"] for k, v in mapping.items()} == {p.id: p.endpoint_prefix for p in table.PARTITIONS}


def test_the_template_grants_the_own_prefixed_name_of_every_service_that_takes_one() -> None:
    from iam_eval import load_template

    from rules.needs import NEED_RULES

    interface = {s for rule in NEED_RULES for s, t in rule.services if t == "Interface"}
    takes_own = {s for services in table._OWN_PREFIX.values() for s in services} & interface
    granted: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "ec2:VpceServiceName":
                    # This Region's names (`${Own}.${AWS::Region}.x`); the cross-Region ones (`${Own}.*.x`)
                    # are held to the cross-Region table by test_iam.py.
                    granted.update(n["Fn::Sub"][0].rsplit("}.", 1)[-1] for n in value
                                   if isinstance(n, dict) and isinstance(n.get("Fn::Sub"), list)
                                   and "${AWS::Region}" in n["Fn::Sub"][0])
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(load_template()["Resources"])
    assert granted == takes_own
