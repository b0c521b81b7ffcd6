"""Which AWS calls each workload feature makes through its endpoints (the need rows of `needs.py`).

Pure knowledge, used to judge endpoint policies: a policy on an endpoint must admit these calls
with the request context a real call has. `resource=None` marks an action with no resource (IAM
`Resource: "*"`), whose request carries no resource account or organization; `by_aws` marks a call
signed by an AWS-owned account rather than the workload (ECR's presigned layer URLs).
"""
from __future__ import annotations

from rules.records import record


@record
class Call:
    service: str  # endpoint short name the call goes through
    action: str
    resource: str | None  # ARN template over {partition}, {region}, {account}; None: no resource
    by_aws: bool = False  # signed by an AWS-owned account, for an AWS-owned resource
    # the resource is an AWS-owned account's (GuardDuty's agent repository), the caller the workload's
    aws_resource: bool = False


_REPO = "arn:{partition}:ecr:{region}:{account}:repository/app"
_LAYERS = "arn:{partition}:s3:::prod-{region}-starport-layer-bucket/sha256-layer"
_STREAM = "arn:{partition}:logs:{region}:{account}:log-group:/ecs/app:log-stream:ecs/app/1"
_GROUP = "arn:{partition}:logs:{region}:{account}:log-group:/ecs/app"

_PULL = (
    Call("ecr.dkr", "ecr:BatchCheckLayerAvailability", _REPO),
    Call("ecr.dkr", "ecr:BatchGetImage", _REPO),
    Call("ecr.dkr", "ecr:GetDownloadUrlForLayer", _REPO),
    Call("s3", "s3:GetObject", _LAYERS, by_aws=True),
)
_LOG_WRITE = (Call("logs", "logs:CreateLogStream", _STREAM), Call("logs", "logs:PutLogEvents", _STREAM))
_EXEC_CHANNELS = tuple(Call("ssmmessages", f"ssmmessages:{a}", None) for a in (
    "CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel"))

# GuardDuty's agent image, in GuardDuty's account ({guardduty_account}: rules/guardduty.py's table).
_AGENT_REPO = "arn:{partition}:ecr:{region}:{guardduty_account}:repository/aws-guardduty-agent-fargate"
_AGENT_PULL = (
    Call("ecr.api", "ecr:GetAuthorizationToken", None),
    Call("ecr.dkr", "ecr:BatchCheckLayerAvailability", _AGENT_REPO, aws_resource=True),
    Call("ecr.dkr", "ecr:BatchGetImage", _AGENT_REPO, aws_resource=True),
    Call("ecr.dkr", "ecr:GetDownloadUrlForLayer", _AGENT_REPO, aws_resource=True),
    Call("s3", "s3:GetObject", _LAYERS, by_aws=True),
)

# need rule id -> the calls that feature makes (a contract test keeps it in step with NEED_RULES).
FEATURE_CALLS: dict[str, tuple[Call, ...]] = {
    "ecr-image": (Call("ecr.api", "ecr:GetAuthorizationToken", None), *_PULL),
    "ecr-image-fargate-legacy": _PULL,
    "guardduty-runtime-agent": _AGENT_PULL,
    "ecs-container-instances": (
        Call("ecs", "ecs:DiscoverPollEndpoint", None),
        Call("ecs", "ecs:RegisterContainerInstance", "arn:{partition}:ecs:{region}:{account}:cluster/prod"),
        Call("ecs-agent", "ecs:Poll", "arn:{partition}:ecs:{region}:{account}:container-instance/prod/1"),
        Call("ecs-telemetry", "ecs:StartTelemetrySession",
             "arn:{partition}:ecs:{region}:{account}:container-instance/prod/1"),
    ),
    "service-connect": (
        Call("ecs-agent", "ecs:Poll", "arn:{partition}:ecs:{region}:{account}:container-instance/prod/1"),),
    "awslogs": (Call("logs", "logs:CreateLogGroup", _GROUP), *_LOG_WRITE),
    "firelens-cloudwatch": _LOG_WRITE,
    "firelens-firehose": (
        Call("kinesis-firehose", "firehose:PutRecordBatch",
             "arn:{partition}:firehose:{region}:{account}:deliverystream/logs"),),
    "firelens-kinesis": (
        Call("kinesis-streams", "kinesis:PutRecords", "arn:{partition}:kinesis:{region}:{account}:stream/logs"),),
    "firelens-s3-output": (Call("s3", "s3:PutObject", "arn:{partition}:s3:::app-logs/fluent-bit/1.log"),),
    "s3-files": (Call("s3", "s3:GetObject", "arn:{partition}:s3:::app-config/app.env"),
                 Call("s3", "s3:GetBucketLocation", "arn:{partition}:s3:::app-config")),
    "secretsmanager-secret": (
        Call("secretsmanager", "secretsmanager:GetSecretValue",
             "arn:{partition}:secretsmanager:{region}:{account}:secret:db-AbCdEf"),),
    "ssm-parameter": (
        Call("ssm", "ssm:GetParameters", "arn:{partition}:ssm:{region}:{account}:parameter/app/db"),),
    "ecs-exec": _EXEC_CHANNELS,
    "ecs-exec-kms": tuple(
        Call("kms", f"kms:{a}", "arn:{partition}:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        for a in ("Decrypt", "GenerateDataKey")),
    "ecs-exec-s3-logging": (
        Call("s3", "s3:PutObject", "arn:{partition}:s3:::exec-logs/session.log"),
        Call("s3", "s3:GetEncryptionConfiguration", "arn:{partition}:s3:::exec-logs")),
    "ecs-exec-cloudwatch-logging": (Call("logs", "logs:DescribeLogGroups", None), *_LOG_WRITE),
    "xray": tuple(Call("xray", f"xray:{a}", None) for a in (
        "PutTraceSegments", "PutTelemetryRecords", "GetSamplingRules", "GetSamplingTargets")),
    # The role may be another account's: then it is outside an account-scoped endpoint policy's
    # perimeter, as AWS's data-perimeter STS endpoint policy keeps it (organization scope admits it).
    "firelens-role-arn": (Call("sts", "sts:AssumeRole", "arn:{partition}:iam::{account}:role/log-delivery"),),
    "log-secret-secretsmanager": (
        Call("secretsmanager", "secretsmanager:GetSecretValue",
             "arn:{partition}:secretsmanager:{region}:{account}:secret:splunk-token-AbCdEf"),),
    "log-secret-ssm": (
        Call("ssm", "ssm:GetParameters", "arn:{partition}:ssm:{region}:{account}:parameter/logs/token"),),
    "gmsa-credspec-ssm": (
        Call("ssm", "ssm:GetParameters", "arn:{partition}:ssm:{region}:{account}:parameter/gmsa/credspec"),),
    "gmsa-credspec-s3": (Call("s3", "s3:GetObject", "arn:{partition}:s3:::gmsa-credspecs/webapp.json"),),
    "gmsa-domainless-secret": (
        Call("secretsmanager", "secretsmanager:GetSecretValue",
             "arn:{partition}:secretsmanager:{region}:{account}:secret:gmsa-user-AbCdEf"),),
    # awsemf creates its log group and streams, then puts the EMF events.
    "adot-emf": (Call("logs", "logs:CreateLogGroup", _GROUP), *_LOG_WRITE),
    "adot-amp": (Call("aps-workspaces", "aps:RemoteWrite",
                      "arn:{partition}:aps:{region}:{account}:workspace/ws-a1b2c3d4"),),
    # PutMetricData takes no resource (Service Authorization Reference: CloudWatch).
    "cloudwatch-agent": (Call("monitoring", "cloudwatch:PutMetricData", None), *_LOG_WRITE),
}

# What an endpoint another party made is checked for: calls every feature on that service makes,
# whatever resource it names (the planner does not know the exact ARN, so any resource is assumed).
CHECKED_ON_FOREIGN_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "ecr.api": ("ecr:GetAuthorizationToken",),
    "ecr.dkr": ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
    "logs": ("logs:CreateLogStream", "logs:PutLogEvents"),
    "secretsmanager": ("secretsmanager:GetSecretValue",),
    "ssm": ("ssm:GetParameters",),
}
