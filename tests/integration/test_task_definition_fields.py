"""Task-definition fields that ask for endpoints (issue 14 points 1 and 5), end to end under moto:
a task definition registered as a user writes it, the engine run on its RunTask event, and what the
user then reads: which endpoint services are required and why, which endpoints exist afterwards,
and what the findings tell them to paste.

moto's gap (DESIGN.md §7): DescribeServices answers no `serviceConnectConfiguration`, so the Service
Connect proxy's `logConfiguration` is checked on `discovery.service_workload` with the service as
DescribeServices describes it, with the task definition read from moto.
"""
from __future__ import annotations

from typing import Any

from account import (
    ECR,
    PREFIX,
    REGION,
    by_service,
    endpoints,
    private_vpc,
    register_task_definition,
    run,
    run_task_event,
)

from vpce_remediator.aws import Clients
from vpce_remediator.discovery import TaskDefinitions, service_workload

ACCOUNT = "123456789012"
TOKEN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:splunk-token-AbCdEf"
CREDSPEC = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/gmsa/webapp-credspec"
ROLE = "arn:aws:iam::444455556666:role/central-log-delivery"


def _app(name: str, log: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": f"{ECR}/{name}:1", "memory": 256, "cpu": 128, "essential": True,
            "logConfiguration": log, **extra}


def _estate(aws: Any, containers: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.60.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    return net, run_task_event(net, register_task_definition(ecs, "web", containers))


def _required(result: dict[str, Any]) -> dict[str, list[str]]:
    return {r["service"].removeprefix(PREFIX): r["reasons"] for r in result["required"]}


def test_secret_options_credential_specs_fluentd_and_sidecars_get_their_endpoints(aws: Any) -> None:
    net, event = _estate(aws, [
        _app("web", {"logDriver": "splunk", "options": {"splunk-url": "https://splunk.example.com:8088"},
                     "secretOptions": [{"name": "splunk-token", "valueFrom": TOKEN}]},
             credentialSpecs=[f"credentialspec:{CREDSPEC}"]),
        {**_app("log_router", {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/router"}}),
         "firelensConfiguration": {"type": "fluentd"}},
        _app("worker", {"logDriver": "awsfirelens", "options": {
            "@type": "kinesis_firehose", "region": REGION, "delivery_stream_name": "web-logs", "role_arn": ROLE}}),
        _app("aws-otel-collector", {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/otel"}},
             command=["--config=/etc/ecs/ecs-amp.yaml"]),
        {**_app("cloudwatch-agent", {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/cwagent"}}),
         "secrets": [{"name": "CW_CONFIG_CONTENT", "valueFrom": "cwagent-config"}]},
    ])

    r = run(event, "remediate")

    required = _required(r.result)
    assert set(required) == {"ecr.api", "ecr.dkr", "s3", "logs", "secretsmanager", "ssm", "kinesis-firehose",
                             "sts", "xray", "aps-workspaces", "monitoring"}
    assert required["secretsmanager"] == [f"container web: logConfiguration.secretOptions splunk-token from {TOKEN}"]
    assert f"container web: credentialSpecs (gMSA) CredSpec in SSM parameter {CREDSPEC}" in required["ssm"]
    assert required["kinesis-firehose"] == ["container worker: FireLens output kinesis_firehose"]
    assert len(required["sts"]) == 1 and ROLE in required["sts"][0]
    assert "ecs-amp.yaml" in required["aps-workspaces"][0]
    assert required["monitoring"][0].startswith("container cloudwatch-agent: CloudWatch agent sidecar")
    held = by_service(endpoints(aws, net["vpc"]))
    for short in ("sts", "monitoring", "aps-workspaces", "kinesis-firehose", "secretsmanager", "ssm"):
        (endpoint,) = held[short]
        assert endpoint["VpcEndpointType"] == "Interface" and endpoint["PrivateDnsEnabled"] is True
        assert {"Key": "managed-by", "Value": "vpce-remediator"} in endpoint["Tags"]

    again = run(event, "remediate")

    assert again.result["status"] == "compliant" and again.writes == []


def test_firelens_outputs_of_another_region_are_findings_with_their_fixes(aws: Any) -> None:
    _, event = _estate(aws, [
        _app("web", {"logDriver": "awsfirelens", "options": {
            "Name": "kinesis_streams", "region": "eu-west-1", "stream": "web-logs"}}),
        _app("audit", {"logDriver": "awsfirelens", "options": {
            "@type": "s3", "s3_region": "eu-west-1", "s3_bucket": "audit-logs-eu"}}),
    ])

    r = run(event, "report")

    findings = {f["problem"]: f for f in r.result["findings"]}
    kinesis = findings["cross-region-kinesis-stream"]
    assert "not served across Regions" in kinesis["summary"]
    assert kinesis["fix"] == [
        "aws kinesis describe-stream-summary --region eu-west-1 --stream-name web-logs",
        f"aws kinesis create-stream --region {REGION} --stream-name web-logs --stream-mode-details StreamMode=ON_DEMAND",
    ]
    s3 = findings["cross-region-s3-output"]
    create, locate = s3["fix"]
    assert "--service-name com.amazonaws.eu-west-1.s3 --service-region eu-west-1" in create
    assert "--dns-options PrivateDnsOnlyForInboundResolverEndpoint=false" in create
    assert locate == "aws s3api get-bucket-location --region eu-west-1 --bucket audit-logs-eu"
    assert "kinesis-streams" not in _required(r.result) and "s3" in _required(r.result)  # s3: the ECR layers


def test_the_service_connect_proxys_log_configuration_and_its_secret_options_are_read(aws: Any) -> None:
    ecs = aws.client("ecs", region_name=REGION)
    td = register_task_definition(ecs, "orders", [_app("orders", {"logDriver": "awslogs", "options": {
        "awslogs-group": "/ecs/orders"}})])
    described = {  # a DescribeServices item, as ECS answers it (moto leaves Service Connect out)
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/orders", "serviceName": "orders",
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod", "taskDefinition": td,
        "launchType": "FARGATE", "status": "ACTIVE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"], "securityGroups": []}},
        "deployments": [{"status": "PRIMARY", "serviceConnectConfiguration": {
            "enabled": True, "namespace": "prod",
            "logConfiguration": {"logDriver": "awslogs",
                                 "options": {"awslogs-group": "/ecs/orders-proxy", "awslogs-region": REGION},
                                 "secretOptions": [{"name": "token", "valueFrom": TOKEN}]}}}],
    }
    clients = Clients(region=REGION)

    w = service_workload(described, REGION, ACCOUNT, clients, TaskDefinitions(clients.ecs))

    assert w is not None and w.service_connect
    assert w.service_connect_log is not None
    assert w.service_connect_log.option("awslogs-group") == "/ecs/orders-proxy"
    assert w.service_connect_log.secret_options == (("token", TOKEN),)
