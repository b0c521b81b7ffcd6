"""Prices shown next to a fix. One dated table; the figures are us-east-1 list prices.

Source: Amazon VPC pricing (PrivateLink) and NAT gateway pricing pages, read 2026 (DESIGN.md §6).
"""
from __future__ import annotations

PRICES_AS_OF = "2026-11"
HOURS_PER_MONTH = 730

INTERFACE_ENDPOINT_PER_AZ_HOUR = 0.01
INTERFACE_ENDPOINT_PER_GB = 0.01
NAT_GATEWAY_PER_HOUR = 0.045
NAT_GATEWAY_PER_GB = 0.045


def endpoints_monthly(interface_endpoint_azs: int) -> float:
    """Hourly charge of interface endpoints for a month, counted per endpoint per AZ."""
    return round(interface_endpoint_azs * INTERFACE_ENDPOINT_PER_AZ_HOUR * HOURS_PER_MONTH, 2)


def nat_monthly(azs: int) -> float:
    return round(azs * NAT_GATEWAY_PER_HOUR * HOURS_PER_MONTH, 2)


def cost_comparison(interface_endpoint_azs: int, azs: int) -> str:
    """One sentence comparing endpoints with one NAT gateway per AZ, before data charges."""
    return (
        f"{interface_endpoint_azs} interface endpoint-AZs cost ${endpoints_monthly(interface_endpoint_azs):.2f}"
        f"/month + ${INTERFACE_ENDPOINT_PER_GB}/GB (S3 gateway free) vs NAT gateways in {azs} AZ(s) "
        f"${nat_monthly(azs):.2f}/month + ${NAT_GATEWAY_PER_GB}/GB (us-east-1 prices, {PRICES_AS_OF})"
    )


def endpoint_vs_nat(azs: int) -> str:
    """The monthly cost of one interface endpoint in `azs` AZs, against NAT gateways there."""
    return (f"${endpoints_monthly(azs):.2f}/month in {azs} AZ(s) + ${INTERFACE_ENDPOINT_PER_GB}/GB; "
            f"NAT gateways there: ${nat_monthly(azs):.2f}/month + ${NAT_GATEWAY_PER_GB}/GB "
            f"(us-east-1, {PRICES_AS_OF})")
