"""The readable summary the CLI prints: workload -> required endpoints and why -> state; findings."""
from __future__ import annotations

from typing import Any

_MARK = {"present": "ok", "created": "CREATED", "updated": "UPDATED", "missing": "MISSING", "incomplete": "FIX",
         "not-enforced": "n/a (NAT)", "unavailable": "UNAVAILABLE", "pending": "PENDING"}


def summary(result: dict[str, Any], brief: bool = False) -> str:
    """Render the JSON contract for a person at a terminal.

    `brief` prints the fix commands of the first finding of each kind only (the demo's view).
    """
    lines: list[str] = []
    event = result.get("event") or {}
    head = f"{event.get('name', 'event')} {event.get('id', '')}".strip()
    lines.append(f"{head}: {result['status'].upper()}" + (f" ({result['mode']} mode)" if result.get("mode") else ""))
    if result.get("reason"):
        lines.append(f"  ignored: {result['reason']}")
    for w in result.get("workloads", []):
        lines.append(f"  {w['kind']} {w['name']} [{w['launch_type']}] subnets {', '.join(w['subnets'])}")
    if result.get("required"):
        lines.append("  required endpoints:")
        for r in result["required"]:
            ep = f" {r['endpoint_id']}" if r.get("endpoint_id") else ""
            lines.append(f"    {_MARK.get(r['status'], r['status']):<11} {r['service']} ({r['type']}){ep}")
            for why in r["reasons"][:3]:
                lines.append(f"                  because {why}")
            if len(r["reasons"]) > 3:
                lines.append(f"                  and {len(r['reasons']) - 3} more")
    done = [a for a in result.get("actions", []) if a["status"] != "planned"]
    if done:
        lines.append("  actions:")
        for a in done:
            what = a["service"] or "security group"
            err = f" ({a['error']})" if a.get("error") else ""
            lines.append(f"    {a['status']:<8} {a['action']} {what} {a['resource_id'] or ''}{err}".rstrip())
    shown: set[str] = set()
    for f in result.get("findings", []):
        lines.append(f"  FINDING {f['problem']} on {f['resource_id']}: {f['summary']}")
        if brief and f["problem"] in shown:
            continue
        shown.add(f["problem"])
        for cmd in f["fix"]:
            lines.append(f"    $ {cmd}")
    for note in result.get("notes", []):
        lines.append(f"  note: {note}")
    calls = result.get("api_calls", {})
    if calls:
        lines.append(f"  AWS API calls: {calls.get('total', 0)}")
    return "\n".join(lines)


def render_evaluations(result: dict[str, Any]) -> str:
    """The Config rule's evaluations, one line each."""
    lines = [f"AWS Config evaluations ({result['put_evaluations_calls']} PutEvaluations call(s)):"]
    for e in result["evaluations"]:
        lines.append(f"  {e['compliance']:<15} {e['resource_type']} {e['resource_id']}: {e['annotation']}")
    return "\n".join(lines)
