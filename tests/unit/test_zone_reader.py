"""Centralised endpoints (hub and spoke) and S3 through an interface endpoint: the planner's view,
and the zone reader over recorded answers.

moto has no Route 53 Profiles (`route53profiles` answers 404 "Not yet implemented", DESIGN.md §7),
so the reader is driven here by `botocore.stub.Stubber` with the shapes of the botocore model:
ListHostedZonesByVPC, ListProfileAssociations -> ListProfileResourceAssociations, ListHostedZones,
ListResourceRecordSets. No call leaves the process (the stubbed clients raise on any unplanned call).
"""
from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from test_agreement import HEALTHY, REGION, VPC, gateway, interface, vpc, workload

from rules import required_endpoints
from rules.records import replace
from vpce_remediator.facts import PrivateZone
from vpce_remediator.plan import WorkloadNeeds, plan_remediation
from vpce_remediator.snapshot import read_central_zones

HUB_ZONE, PROFILE_ZONE, OTHER_ZONE, FOREIGN_ZONE = "Z0HUBLOGS0000001", "Z0PROFILEECR0001", "Z0OTHER000000001", "Z0FOREIGN0000001"
PROFILE = "rp-0123456789abcdef"
ECR_ZONE = f"ecr.{REGION}.amazonaws.com"
LOGS_ZONE = f"logs.{REGION}.amazonaws.com"


def plan(snap: Any) -> Any:
    w = workload()
    return plan_remediation([WorkloadNeeds(w, required_endpoints(w))], snap)


def test_a_spoke_served_through_a_profile_zone_gets_nothing_created_and_says_what_serves_it() -> None:
    zones = (PrivateZone(PROFILE_ZONE, ECR_ZONE, frozenset({f"api.ecr.{REGION}.amazonaws.com",
                                                            f"*.dkr.ecr.{REGION}.amazonaws.com"}), PROFILE),
             PrivateZone(HUB_ZONE, LOGS_ZONE, frozenset({LOGS_ZONE})))

    p = plan(vpc(endpoints=(gateway(),), zones=zones))

    assert p.actions == () and p.findings == ()
    served = {s.service.removeprefix(f"com.amazonaws.{REGION}."): s for s in p.services}
    assert served["ecr.dkr"].status == "present" and f"through Route 53 Profile {PROFILE}" in served["ecr.dkr"].served_by
    assert served["logs"].status == "present" and "associated directly" in served["logs"].served_by
    assert served["s3"].endpoint_id == "vpce-000000a4"  # gateway endpoints stay per VPC


def test_the_account_specific_registry_name_serves_ecr_dkr_in_place_of_the_wildcard() -> None:
    account_host = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
    zones = (PrivateZone(PROFILE_ZONE, ECR_ZONE, frozenset({f"api.ecr.{REGION}.amazonaws.com", account_host})),
             PrivateZone(HUB_ZONE, LOGS_ZONE, frozenset({LOGS_ZONE})))

    assert plan(vpc(endpoints=(gateway(),), zones=zones)).findings == ()


def test_a_zone_without_the_record_is_a_finding_and_nothing_is_created() -> None:
    zones = (PrivateZone(PROFILE_ZONE, ECR_ZONE, frozenset({f"api.ecr.{REGION}.amazonaws.com"}), PROFILE),)

    p = plan(vpc(endpoints=(interface("logs"), gateway()), zones=zones))

    assert [a.kind for a in p.actions] == []
    [finding] = p.findings
    assert (finding.problem, finding.resource_type, finding.resource_id) == (
        "central-zone-record-missing", "AWS::Route53::HostedZone", PROFILE_ZONE)
    assert "wildcard" in finding.summary and f"*.dkr.ecr.{REGION}.amazonaws.com" in finding.summary
    assert finding.fix[0].startswith(f"aws route53 list-resource-record-sets --region {REGION} "
                                     f"--hosted-zone-id {PROFILE_ZONE}")


def test_before_the_zones_are_read_the_planner_asks_for_them_with_the_names_to_check() -> None:
    p = plan(replace(vpc(endpoints=(interface("logs"), gateway())), zones=None))

    assert p.needs_zones
    assert p.zone_hosts == {f"api.ecr.{REGION}.amazonaws.com", f"123456789012.dkr.ecr.{REGION}.amazonaws.com"}


def test_an_s3_interface_endpoint_for_all_resolvers_stands_in_for_the_gateway() -> None:
    s3 = interface("s3", id="vpce-000000a5")
    eps = tuple(e for e in HEALTHY if e.type == "Interface") + (s3,)

    p = plan(vpc(endpoints=eps))

    assert p.actions == () and p.findings == ()
    [state] = [s for s in p.services if s.service.endswith(".s3")]
    assert (state.status, state.endpoint_id) == ("present", "vpce-000000a5")
    assert any("Amazon S3 User Guide" in n and "ECR's guide" in n for n in p.notes)


def test_an_s3_interface_endpoint_only_for_inbound_resolvers_still_needs_the_gateway() -> None:
    s3 = interface("s3", id="vpce-000000a5", inbound_resolver_only=True)
    eps = tuple(e for e in HEALTHY if e.type == "Interface") + (s3,)

    assert [a.kind for a in plan(vpc(endpoints=eps)).actions] == ["create-gateway-endpoint"]


# ---------------------------------------------------------------- the reader, over Stubber


@pytest.fixture
def stubbed() -> Any:
    session = boto3.session.Session(aws_access_key_id="stub", aws_secret_access_key="stub", region_name=REGION)
    route53, profiles = session.client("route53"), session.client("route53profiles")
    with Stubber(route53) as r53, Stubber(profiles) as rp:
        yield route53, profiles, r53, rp
        r53.assert_no_pending_responses()
        rp.assert_no_pending_responses()


def _by_vpc(r53: Stubber, *zones: tuple[str, str]) -> None:
    r53.add_response("list_hosted_zones_by_vpc", {
        "HostedZoneSummaries": [{"HostedZoneId": z, "Name": n + ".", "Owner": {"OwningAccount": "111122223333"}}
                                for z, n in zones], "MaxItems": "100"}, {"VPCId": VPC, "VPCRegion": REGION})


def _profile(rp: Stubber, *zone_ids: str) -> None:
    rp.add_response("list_profile_associations", {"ProfileAssociations": [
        {"Id": "rpassoc-01", "ProfileId": PROFILE, "ResourceId": VPC, "Status": "COMPLETE"}]}, {"ResourceId": VPC})
    rp.add_response("list_profile_resource_associations", {"ProfileResourceAssociations": [
        {"Id": f"rpr-{i}", "ProfileId": PROFILE, "ResourceArn": f"arn:aws:route53:::hostedzone/{z}",
         "Status": "COMPLETE"} for i, z in enumerate(zone_ids)] + [
        {"Id": "rpr-fw", "ProfileId": PROFILE, "Status": "COMPLETE",
         "ResourceArn": f"arn:aws:route53resolver:{REGION}:111122223333:firewall-rule-group/rslvr-frg-1"}]},
        {"ProfileId": PROFILE})


def _records(r53: Stubber, zone: str, *names: str) -> None:
    r53.add_response("list_resource_record_sets", {"ResourceRecordSets": [
        {"Name": n.replace("*", "\\052") + ".", "Type": "A",
         "AliasTarget": {"HostedZoneId": "Z7HUB", "DNSName": "vpce-1.example.", "EvaluateTargetHealth": False}}
        for n in names] + [{"Name": zone + ".", "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "x"}]}],
        "IsTruncated": False, "MaxItems": "300"}, {"HostedZoneId": {ECR_ZONE: PROFILE_ZONE, LOGS_ZONE: HUB_ZONE}[zone]})


def test_the_reader_sees_profile_zones_and_reads_records_only_of_zones_covering_a_wanted_name(stubbed: Any) -> None:
    route53, profiles, r53, rp = stubbed
    _by_vpc(r53, (HUB_ZONE, LOGS_ZONE), (OTHER_ZONE, "corp.internal"))
    _profile(rp, PROFILE_ZONE, FOREIGN_ZONE)
    r53.add_response("list_hosted_zones", {"HostedZones": [
        {"Id": f"/hostedzone/{PROFILE_ZONE}", "Name": ECR_ZONE + ".", "CallerReference": "hub-ecr"}],
        "Marker": "", "IsTruncated": False, "MaxItems": "100"}, {})
    _records(r53, LOGS_ZONE, LOGS_ZONE)
    _records(r53, ECR_ZONE, f"api.ecr.{REGION}.amazonaws.com", f"*.dkr.ecr.{REGION}.amazonaws.com")

    zones, readable = read_central_zones(route53, profiles, VPC, REGION, {
        LOGS_ZONE, f"api.ecr.{REGION}.amazonaws.com", f"*.dkr.ecr.{REGION}.amazonaws.com"})

    assert readable
    by_id = {z.id: z for z in zones}
    assert by_id[PROFILE_ZONE] == PrivateZone(PROFILE_ZONE, ECR_ZONE, frozenset(
        {f"api.ecr.{REGION}.amazonaws.com", f"*.dkr.ecr.{REGION}.amazonaws.com"}), PROFILE)
    assert by_id[HUB_ZONE].records == {LOGS_ZONE} and by_id[HUB_ZONE].profile == ""
    assert by_id[OTHER_ZONE].records is None  # covers no wanted name: its records are not read
    assert by_id[FOREIGN_ZONE].name == "" and by_id[FOREIGN_ZONE].profile == PROFILE  # another account's zone


def test_a_refused_profile_read_is_not_readable_not_a_crash(stubbed: Any) -> None:
    route53, profiles, r53, rp = stubbed
    _by_vpc(r53, (HUB_ZONE, LOGS_ZONE))
    rp.add_client_error("list_profile_associations", "AccessDeniedException", "not authorized", 403)
    r53.add_client_error("list_resource_record_sets", "AccessDenied", "not authorized", 403)

    zones, readable = read_central_zones(route53, profiles, VPC, REGION, {LOGS_ZONE})

    assert not readable
    assert zones == (PrivateZone(HUB_ZONE, LOGS_ZONE),)  # records not readable: None, so not accused


def test_throttling_is_not_swallowed(stubbed: Any) -> None:
    route53, profiles, r53, rp = stubbed
    r53.add_client_error("list_hosted_zones_by_vpc", "Throttling", "slow down", 400)

    with pytest.raises(Exception, match="Throttling"):
        read_central_zones(route53, profiles, VPC, REGION, {LOGS_ZONE})
