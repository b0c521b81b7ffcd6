"""Pure knowledge of what ECS workloads need from their VPC. No AWS SDK here, by design."""
from rules.needs import (
    GATEWAY,
    INTERFACE,
    EndpointNeed,
    Requirements,
    WorkloadProblem,
    placed_requirements,
    required_endpoints,
)
from rules.workload import ContainerSpec, ExecConfig, LogConfig, Workload

__all__ = [
    "GATEWAY", "INTERFACE", "ContainerSpec", "EndpointNeed", "ExecConfig", "LogConfig",
    "Requirements", "Workload", "WorkloadProblem", "placed_requirements",
    "required_endpoints",
]
