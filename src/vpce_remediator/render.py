"""The readable summary the CLI prints: workload -> required endpoints and why -> state; findings."""
from __future__ import annotations

from typing import Any

from vpce_remediator.fixplan import ordered_fix

_MARK = {"present": "ok", "created": "CREATED", "updated": "UPDATED", "missing": "MISSING", "incomplete": "FIX",
         "not-enforced": "n/a (NAT)", "unavailable": "UNAVAILABLE"}


def summary(result: dict[str, Any], brief: bool = False) -> str:
    """Render the JSON contract for a person at a terminal.

    The findings' fix commands are printed once, as one ordered list, each finding pointing to its
    commands by number. `brief` lists the commands of the first finding of each kind only (the demo's view).
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
    fix = fix_list(result, brief)
    numbers = {cmd: i for i, cmd in enumerate(fix, start=1)}
    for f in result.get("findings", []):
        refs = sorted({numbers[cmd] for cmd in f["fix"] if cmd in numbers})
        see = f" -> fix {', '.join(map(str, refs))}" if refs else ""
        lines.append(f"  FINDING {f['problem']} on {f['resource_id']}: {f['summary']}{see}")
    if fix:
        lines.append("  fix, in order (paste as is: prerequisites first, each command once):")
        width = len(str(len(fix))) + 2
        for number, cmd in enumerate(fix, start=1):
            lines.append(f"    {'[' + str(number) + ']':>{width}} $ {cmd}")
    for note in result.get("notes", []):
        lines.append(f"  note: {note}")
    calls = result.get("api_calls", {})
    if calls:
        lines.append(f"  AWS API calls: {calls.get('total', 0)}")
    return "\n".join(lines)


def fix_list(result: dict[str, Any], brief: bool = False) -> list[str]:
    """The findings' fix commands as one list to paste (fixplan.ordered_fix); `brief`: only those
    of the first finding of each kind."""
    fixes: list[list[str]] = []
    kinds: set[str] = set()
    for f in result.get("findings", []):
        if brief and f["problem"] in kinds:
            continue
        kinds.add(f["problem"])
        fixes.append(f["fix"])
    return list(ordered_fix(fixes))


def render_evaluations(result: dict[str, Any]) -> str:
    """The Config rule's evaluations, one line each."""
    lines = [f"AWS Config evaluations ({result['put_evaluations_calls']} PutEvaluations call(s)):"]
    for e in result["evaluations"]:
        lines.append(f"  {e['compliance']:<15} {e['resource_type']} {e['resource_id']}: {e['annotation']}")
    return "\n".join(lines)
