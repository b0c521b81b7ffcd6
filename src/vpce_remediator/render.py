"""The readable summary the CLI prints: workload -> required endpoints and why -> state; findings."""
from __future__ import annotations

from collections.abc import Sequence

from vpce_remediator.config_rule import RuleRun
from vpce_remediator.engine import Outcome
from vpce_remediator.fixplan import ordered_fix
from vpce_remediator.plan import Finding

_MARK = {"present": "ok", "created": "CREATED", "updated": "UPDATED", "missing": "MISSING", "incomplete": "FIX",
         "not-enforced": "n/a (NAT)", "unavailable": "UNAVAILABLE", "pending": "PENDING",
         "not-visible": "OWNER'S"}


def summary(outcome: Outcome, brief: bool = False) -> str:
    """An event's outcome for a person at a terminal (what `--json` prints as the contract).

    The findings' fix commands are printed once, as one ordered list, each finding pointing to its
    commands by number. `brief` lists the commands of the first finding of each kind only (the demo's view).
    """
    lines: list[str] = []
    t = outcome.trigger
    head = f"{t.name} {t.event_id}".strip() if t is not None else "event"
    lines.append(f"{head}: {outcome.status.upper()}" + (f" ({outcome.mode} mode)" if outcome.mode else ""))
    if outcome.reason:
        lines.append(f"  ignored: {outcome.reason}")
    for w in outcome.workloads:
        lines.append(f"  {w.kind} {w.name} [{w.launch_type}] subnets {', '.join(w.subnet_ids)}")
    required = outcome.required
    if required:
        lines.append("  required endpoints:")
        for r in required:
            ep = f" {r.endpoint_id}" if r.endpoint_id else ""
            ep += f" served by {r.served_by}" if r.served_by and not r.endpoint_id else ""
            lines.append(f"    {_MARK.get(r.status, r.status):<11} {r.service} ({r.type}){ep}")
            for why in r.reasons[:3]:
                lines.append(f"                  because {why}")
            if len(r.reasons) > 3:
                lines.append(f"                  and {len(r.reasons) - 3} more")
    done = [a for a in outcome.results if a.status != "planned"]
    if done:
        lines.append("  actions:")
        for a in done:
            what = a.action.service or "security group"
            err = f" ({a.error})" if a.error else ""
            lines.append(f"    {a.status:<8} {a.action.kind} {what} {a.resource_id or ''}{err}".rstrip())
    fix = fix_list(outcome.findings, brief)
    numbers = {cmd: i for i, cmd in enumerate(fix, start=1)}
    for f in outcome.findings:
        refs = sorted({numbers[cmd] for cmd in f.fix if cmd in numbers})
        see = f" -> fix {', '.join(map(str, refs))}" if refs else ""
        lines.append(f"  FINDING {f.problem} on {f.resource_id}: {f.summary}{see}")
    if fix:
        lines.append("  fix, in order (paste as is: prerequisites first, each command once):")
        width = len(str(len(fix))) + 2
        for number, cmd in enumerate(fix, start=1):
            lines.append(f"    {'[' + str(number) + ']':>{width}} $ {cmd}")
    for note in outcome.notes:
        lines.append(f"  note: {note}")
    lines.append(f"  AWS API calls: {sum(outcome.api_calls.values())}")
    return "\n".join(lines)


def fix_list(findings: Sequence[Finding], brief: bool = False) -> list[str]:
    """The findings' fix commands as one list to paste (fixplan.ordered_fix); `brief`: only those
    of the first finding of each kind."""
    fixes: list[tuple[str, ...]] = []
    kinds: set[str] = set()
    for f in findings:
        if brief and f.problem in kinds:
            continue
        kinds.add(f.problem)
        fixes.append(f.fix)
    return list(ordered_fix(fixes))


def render_evaluations(run: RuleRun) -> str:
    """The Config rule's evaluations, one line each."""
    lines = [f"AWS Config evaluations ({run.put_calls} PutEvaluations call(s)):"]
    for e in run.evaluations:
        lines.append(f"  {e.compliance:<15} {e.resource_type} {e.resource_id}: {e.annotation}")
    lines += [f"note: {n}" for n in run.notes]
    return "\n".join(lines)
