"""Hub and spoke (AWS's "Centralized access to VPC private endpoints"): a spoke whose services a
hub's interface endpoints serve through private hosted zones, associated with the spoke directly
or carried by a Route 53 Profile. Nothing is created there, each service is present and says what
serves it, and doctor agrees.

moto (5.2.5) has no Route 53 Profiles (DESIGN.md §7: `route53profiles` answers 404 "Not yet
implemented"), so the Profile is a `botocore.stub.Stubber` on the `route53profiles` client; the
zone it carries, its records and everything else are moto's.
"""
from __future__ import annotations

from typing import Any

from account import REGION, container, create_service, register_task_definition
from botocore.stub import Stubber

from vpce_remediator.aws import Clients
from vpce_remediator.demo import hub_and_spoke, net_overrides
from vpce_remediator.doctor import Target, diagnose
from vpce_remediator.engine import Settings, evaluate_event
from vpce_remediator.samples import load_event

PROFILE = "rp-0123456789abcdef"


def spoke_service(aws: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    hub, spoke = hub_and_spoke(aws, ec2)
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "shop", [container("shop", f"123456789012.dkr.ecr.{REGION}.amazonaws.com/shop:5")])
    arn = create_service(ecs, "prod", "shop", td, spoke, "FARGATE")
    event = load_event("ecs-CreateService", {**net_overrides(spoke), "detail.requestParameters.serviceName": "shop",
                                             "detail.responseElements.service.serviceArn": arn})
    return hub, spoke, event


def move_zones_into_a_profile(aws: Any, spoke: dict[str, Any]) -> list[str]:
    """The spoke loses its direct associations: the zones reach it only through the Profile."""
    route53 = aws.client("route53", region_name=REGION)
    ids = [z["Id"].rsplit("/", 1)[-1] for z in route53.list_hosted_zones()["HostedZones"]]
    for zid in ids:
        route53.disassociate_vpc_from_hosted_zone(HostedZoneId=zid, VPC={"VPCRegion": REGION, "VPCId": spoke["vpc"]})
    return ids


def stub_profile(clients: Clients, vpc_id: str, zone_ids: list[str]) -> Stubber:
    stub = Stubber(clients.route53profiles)
    stub.add_response("list_profile_associations", {"ProfileAssociations": [
        {"Id": "rpassoc-01", "ProfileId": PROFILE, "ResourceId": vpc_id, "Status": "COMPLETE"}]},
        {"ResourceId": vpc_id})
    stub.add_response("list_profile_resource_associations", {"ProfileResourceAssociations": [
        {"Id": f"rpr-{i}", "ProfileId": PROFILE, "ResourceArn": f"arn:aws:route53:::hostedzone/{z}",
         "Status": "COMPLETE"} for i, z in enumerate(zone_ids)]}, {"ProfileId": PROFILE})
    stub.activate()
    return stub


def served(outcome: Any) -> dict[str, tuple[str, str]]:
    return {r.service.rsplit(".", 1)[-1] if "ecr" not in r.service else r.service.split(f"{REGION}.", 1)[1]:
            (r.status, r.served_by) for r in outcome.required}


def test_a_spoke_served_through_zones_associated_directly_gets_nothing_created(aws: Any) -> None:
    _, spoke, event = spoke_service(aws)
    clients = Clients(region=REGION)

    outcome = evaluate_event(event, clients, Settings(mode="remediate"))

    assert outcome.status == "compliant" and clients.write_calls() == []
    state = served(outcome)
    assert {k: v[0] for k, v in state.items()} == {"ecr.api": "present", "ecr.dkr": "present", "logs": "present",
                                                   "s3": "present"}
    assert "associated directly" in state["ecr.dkr"][1] and state["s3"][1] == ""  # gateway endpoints stay per VPC
    d = diagnose(Clients(region=REGION), Target(cluster="prod", service="shop"))
    assert d.ok and not [c for c in d.checks if c.level == "fail"]


def test_a_spoke_served_through_a_route53_profile_gets_nothing_created_and_doctor_agrees(aws: Any) -> None:
    _, spoke, event = spoke_service(aws)
    zone_ids = move_zones_into_a_profile(aws, spoke)
    clients = Clients(region=REGION)
    stub = stub_profile(clients, spoke["vpc"], zone_ids)

    outcome = evaluate_event(event, clients, Settings(mode="remediate"))

    stub.assert_no_pending_responses()
    assert outcome.status == "compliant" and clients.write_calls() == []
    state = served(outcome)
    assert all(state[s][0] == "present" and f"through Route 53 Profile {PROFILE}" in state[s][1]
               for s in ("ecr.api", "ecr.dkr", "logs"))
    # Zone records are read for the zones that cover a service that would otherwise be created.
    assert clients.calls["route53.ListResourceRecordSets"] == 2
    doctor_clients = Clients(region=REGION)
    stub_profile(doctor_clients, spoke["vpc"], zone_ids)
    d = diagnose(doctor_clients, Target(cluster="prod", service="shop"))
    assert d.ok and all(PROFILE in c.detail for c in d.checks if c.hop == "endpoint" and c.service != "s3"
                        and c.service != "*")


def test_a_profile_zone_without_the_dkr_wildcard_is_a_finding_for_both_doors(aws: Any) -> None:
    _, spoke, event = spoke_service(aws)
    zone_ids = move_zones_into_a_profile(aws, spoke)
    route53 = aws.client("route53", region_name=REGION)
    ecr_zone = next(z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].startswith("ecr."))
    wildcard = next(r for r in route53.list_resource_record_sets(HostedZoneId=ecr_zone["Id"])["ResourceRecordSets"]
                    if "dkr" in r["Name"])
    route53.change_resource_record_sets(HostedZoneId=ecr_zone["Id"], ChangeBatch={"Changes": [
        {"Action": "DELETE", "ResourceRecordSet": wildcard}]})
    clients = Clients(region=REGION)
    stub_profile(clients, spoke["vpc"], zone_ids)

    outcome = evaluate_event(event, clients, Settings(mode="remediate"))

    assert clients.write_calls() == []  # an endpoint with private DNS would conflict with the zone
    assert [f.problem for f in outcome.findings] == ["central-zone-record-missing"]
    doctor_clients = Clients(region=REGION)
    stub_profile(doctor_clients, spoke["vpc"], zone_ids)
    d = diagnose(doctor_clients, Target(cluster="prod", service="shop"))
    assert {(c.service, c.hop, c.problem) for c in d.checks if c.level == "fail"} == {
        ("ecr.dkr", "dns", "central-zone-record-missing")}
