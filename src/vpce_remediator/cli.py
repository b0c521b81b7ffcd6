"""`vpce-remediator`: the same engine as the Lambda, from a terminal.

    vpce-remediator invoke EVENT_FILE [--mode report|remediate|opt-in] [--region R] [--profile P]
                           [--endpoint-url URL] [--json] [--enforce-on-nat-routed-subnets]
                           [--max-endpoints-per-vpc N]
                           [--state-table TABLE]
                           [--endpoint-policy auto|organization|account|aws-default]
                           [--cross-region-endpoints]
    vpce-remediator demo
    vpce-remediator doctor (--cluster C --service S | --task-definition FAMILY[:REV] --subnets S1,S2
                           --security-groups SG1[,SG2] [--launch-type FARGATE|EC2]) [--region R]
                           [--profile P] [--endpoint-url URL] [--json]
    vpce-remediator scan [--vpc VPC_ID ...] [--mode report|remediate] [--region R] [--profile P]
                         [--endpoint-url URL] [--json] [--enforce-on-nat-routed-subnets]
                         [--max-endpoints-per-vpc N] [--cross-region-endpoints] [--pace]
                         [--state-table TABLE]
                         [--org [--ou OU_ID,...] | --accounts ID,...] [--regions R,...]
                         [--role-name NAME] [--external-id ID] [--max-workers N]
    vpce-remediator adopt --vpc VPC_ID --state-table TABLE [--endpoint VPCE_ID ...] [--yes]
                          [--region R] [--profile P] [--endpoint-url URL] [--json]

Without --state-table (the stack's LockTableName output) the CLI owns no existing endpoint: it
creates missing ones and reports every change to an existing one, with the fix. `adopt` records
endpoints tagged by an earlier version as the tool's, once an operator confirms each.
                         [--endpoint-policy auto|organization|account|aws-default]

Exit codes: 0 processed (whatever the compliance), 1 AWS error, 2 bad input; doctor: 0 every hop
passes, 3 a hop fails; a fleet scan (--org, --accounts, --regions): 1 when an account-Region could
not be scanned (its role unreachable, or an AWS error), after the whole table.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vpce_remediator.errors import BadInput

# The fleet's default role name (accounts.py would import botocore; --help stays instant).
DEFAULT_ROLE_NAME = "vpce-remediator-member"
FLEET_DEFAULT_WORKERS, FLEET_MAX_WORKERS = 32, 64  # fleet.DEFAULT_MAX_WORKERS and MAX_WORKERS, for --help
FLEET_FLAGS = ("org", "ou", "accounts", "regions", "role_name", "external_id", "max_workers")

if TYPE_CHECKING:  # the CLI imports the engine when a command runs, so --help stays instant
    from vpce_remediator.aws import Clients
    from vpce_remediator.lock import VpcLock


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vpce-remediator", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inv = sub.add_parser("invoke", help="run the engine on one EventBridge event or AWS Config rule invocation "
                                        "file (a Config one in its own Region unless --region says otherwise)")
    inv.add_argument("event_file", help="EventBridge 'AWS API Call via CloudTrail' event, or an AWS Config "
                                        "rule invocation (JSON); - for stdin")
    inv.add_argument("--mode", default="report", choices=("report", "remediate", "opt-in"))
    inv.add_argument("--region")
    inv.add_argument("--profile")
    inv.add_argument("--endpoint-url", help="send every AWS call here (a moto_server, say)")
    inv.add_argument("--json", action="store_true", help="print the JSON contract instead of a summary")
    inv.add_argument("--enforce-on-nat-routed-subnets", action="store_true")
    inv.add_argument("--cross-region-endpoints", action="store_true",
                     help="also create cross-Region endpoints (ServiceRegion) for images, keys and streams of "
                          "another Region (the stack's CrossRegionEndpoints)")
    inv.add_argument("--max-endpoints-per-vpc", type=int, default=20, metavar="N",
                     help="interface endpoints the tool keeps in one VPC at most (default 20)")
    demo = sub.add_parser("demo", help="the whole story on an in-process moto account (no AWS needed)")
    demo.add_argument("--json", action="store_true", help="print each result as JSON")

    doc = sub.add_parser("doctor", help="check every network hop one workload needs, from the API alone")
    doc.add_argument("--cluster", help="the service's cluster (name or ARN)")
    doc.add_argument("--service", help="an ECS service: its task definition, subnets and groups come from ECS")
    doc.add_argument("--task-definition", metavar="FAMILY[:REV]", help="a task definition, with --subnets and "
                                                                        "--security-groups it would run with")
    doc.add_argument("--subnets", metavar="S1,S2", help="comma-separated subnet ids (with --task-definition)")
    doc.add_argument("--security-groups", metavar="SG1,SG2", help="comma-separated security group ids")
    doc.add_argument("--launch-type", choices=("FARGATE", "EC2"), help="default: the task definition's")
    scan = sub.add_parser("scan", help="evaluate every ECS service and running standalone task in the region")
    scan.add_argument("--vpc", action="extend", nargs="+", metavar="VPC_ID", help="only these VPCs")
    scan.add_argument("--mode", default="report", choices=("report", "remediate"))
    scan.add_argument("--enforce-on-nat-routed-subnets", action="store_true")
    scan.add_argument("--cross-region-endpoints", action="store_true",
                      help="also create cross-Region endpoints (the stack's CrossRegionEndpoints)")
    scan.add_argument("--max-endpoints-per-vpc", type=int, default=20, metavar="N",
                      help="interface endpoints the tool keeps in one VPC at most (default 20)")
    scan.add_argument("--pace", action="store_true",
                      help="keep every call to AWS's default throttle buckets with --endpoint-url too (always "
                           "so against AWS itself; an emulator modelling AWS's throttles, say)")
    fleet = scan.add_argument_group(
        "a fleet", "scan many accounts and Regions at once (any of these flags): one table, one --json "
                   "document; each member account through its member role, your own with your credentials; "
                   "--state-table is the central stack's (in your account); exit 1 when an account-Region "
                   "could not be scanned")
    fleet.add_argument("--org", action="store_true",
                       help="every ACTIVE account of the organization (run from the management account or a "
                            "delegated administrator: organizations:ListAccounts)")
    fleet.add_argument("--ou", action="append", metavar="OU_ID,...",
                       help="with --org (implied): only the accounts of these OUs (or root r-...) and of every OU "
                            "nested under them, as a StackSet's OU targets (ListAccountsForParent, "
                            "ListOrganizationalUnitsForParent)")
    fleet.add_argument("--accounts", action="append", metavar="ID,...", help="these 12-digit account ids")
    fleet.add_argument("--regions", action="append", metavar="R,...",
                       help="scan each account in these Regions (default: --region, or your configured one); "
                            "the member StackSet's Regions are the natural choice")
    fleet.add_argument("--role-name", metavar="NAME",
                       help=f"the member role to assume in each account (default {DEFAULT_ROLE_NAME})")
    fleet.add_argument("--external-id", metavar="ID", help="the ExternalId the member roles' trust policy requires")
    fleet.add_argument("--max-workers", metavar="N",
                       help=f"account-Regions scanned at once, 1 to {FLEET_MAX_WORKERS} (default "
                            f"{FLEET_DEFAULT_WORKERS}: each has its own throttle buckets; past that, threads add "
                            "memory, ~2.5 MB each, more than speed)")
    adopt = sub.add_parser("adopt", help="record endpoints tagged managed-by=vpce-remediator (by an earlier "
                                         "version) as the tool's own, once you confirm each")
    adopt.add_argument("--vpc", required=True, metavar="VPC_ID")
    adopt.add_argument("--endpoint", action="extend", nargs="+", metavar="VPCE_ID",
                       help="only these of the candidates")
    adopt.add_argument("--yes", action="store_true", help="adopt every listed candidate without asking")
    for p in (inv, scan, adopt):
        p.add_argument("--state-table", metavar="TABLE", required=p is adopt,
                       help="the stack's state table (output LockTableName): what the tool recorded "
                            "as its own is maintained, as the Lambda does")
    for p in (inv, scan):
        p.add_argument("--endpoint-policy", default="auto",
                       choices=("auto", "organization", "account", "aws-default"),
                       help="policy on the endpoints it creates: the organization's or the account's "
                            "principals and resources (auto: organization when in one), or none")
    for p in (doc, scan, adopt):
        p.add_argument("--region")
        p.add_argument("--profile")
        p.add_argument("--endpoint-url", help="send every AWS call here (a moto_server, say)")
        p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from vpce_remediator.demo import run_demo

        return run_demo(as_json=args.json)
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "scan":
        return _scan(args)
    if args.command == "adopt":
        return _adopt(args)
    return _invoke(args)


def _invoke(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from vpce_remediator.aws import Clients
    from vpce_remediator.config_event import is_config_event
    from vpce_remediator.config_rule import evaluate_config_event
    from vpce_remediator.engine import Settings, evaluate_event
    from vpce_remediator.render import fix_list, render_evaluations, summary

    try:
        text = sys.stdin.read() if args.event_file == "-" else Path(args.event_file).read_text()
    except OSError as e:
        return _fail(2, f"cannot read {args.event_file}: {e.strerror}", args.json)
    try:
        event = json.loads(text)
    except ValueError as e:
        return _fail(2, f"{args.event_file} is not JSON: {e}", args.json)
    config_event = is_config_event(event)
    region, source = _event_region(args.region, event, config_event)
    try:
        clients = Clients(region=region, profile=args.profile,
                          endpoint_url=args.endpoint_url, pace=args.endpoint_url is None)
        settings = Settings(mode=args.mode, enforce_on_nat_routed=args.enforce_on_nat_routed_subnets,
                            max_endpoints_per_vpc=args.max_endpoints_per_vpc,
                            endpoint_policy=args.endpoint_policy,
                            cross_region_endpoints=args.cross_region_endpoints)
        if config_event:
            # A Config rule invocation: evaluations (sent with PutEvaluations; a resultToken of
            # TESTMODE sends them in test mode) instead of the event contract. Its Region is the
            # rule's: evaluating another Region's resources would answer NOT_APPLICABLE silently.
            print(f"vpce-remediator: evaluating in Region {shlex.quote(str(clients.region))} ({source}"
                  f"{'' if args.region else '; --region overrides it'})", file=sys.stderr)
            run = evaluate_config_event(event, clients, settings)
            print(json.dumps(run.to_dict(), indent=2) if args.json else render_evaluations(run))
            return 0
        outcome = evaluate_event(event, clients, settings, _lock(clients, args.state_table))
    except BadInput as e:
        return _fail(2, f"bad event: {e}", args.json)
    except (ClientError, BotoCoreError) as e:
        return _aws_fail(e, args.json)
    result = outcome.to_dict()
    result["fix"] = fix_list(outcome.findings)  # the findings' commands as one list to paste, in order
    print(json.dumps(result, indent=2) if args.json else summary(outcome))
    return 0


def _event_region(given: str | None, event: object, config_event: bool) -> tuple[str | None, str]:
    """The Region to evaluate in, and why: --region, else what the event says (a Config invocation
    in its rule's ARN or its item, an EventBridge event in `region`), else the configured one."""
    from vpce_remediator.config_event import event_region

    if given:
        return given, "--region"
    if config_event:
        said = event_region(event)
        return (said[0], f"from the event's {said[1]}") if said else (None, "the event names none: your configured one")
    region = event.get("region") if isinstance(event, dict) else None
    return (region if isinstance(region, str) else None), "the event's"


def _doctor(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from vpce_remediator.aws import Clients
    from vpce_remediator.doctor import Target, diagnose, marks_for, render

    target = Target(cluster=args.cluster, service=args.service, task_definition=args.task_definition,
                    subnets=_ids(args.subnets), security_groups=_ids(args.security_groups),
                    launch_type=args.launch_type)
    try:
        target.validate()  # before any AWS call
        clients = Clients(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)
        diagnosis = diagnose(clients, target)
    except BadInput as e:
        return _fail(2, str(e), args.json)
    except (ClientError, BotoCoreError) as e:
        return _aws_fail(e, args.json)
    print(json.dumps(diagnosis.to_dict(), indent=2) if args.json else render(diagnosis, marks_for(sys.stdout)))
    return 0 if diagnosis.ok else 3


def _scan(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from vpce_remediator.aws import Clients
    from vpce_remediator.engine import Settings
    from vpce_remediator.scan import TerminalProgress, render, scan_estate

    if any(getattr(args, flag) not in (None, False) for flag in FLEET_FLAGS):  # given, even empty
        return _fleet_scan(args)
    vpcs = {v for arg in args.vpc or () for v in _ids(arg)} or None
    bad = sorted(v for v in vpcs or () if not v.startswith("vpc-"))
    if bad:
        return _fail(2, f"{', '.join(bad)}: expected VPC ids (vpc-...)", args.json)
    progress = TerminalProgress()
    try:
        clients = Clients(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url,
                          pace=args.endpoint_url is None or args.pace)
        settings = Settings(mode=args.mode, enforce_on_nat_routed=args.enforce_on_nat_routed_subnets,
                            max_endpoints_per_vpc=args.max_endpoints_per_vpc,
                            endpoint_policy=args.endpoint_policy,
                            cross_region_endpoints=args.cross_region_endpoints)
        result = scan_estate(clients, settings, vpcs, progress, _lock(clients, args.state_table))
    except (ClientError, BotoCoreError) as e:
        return _aws_fail(e, args.json)
    finally:
        progress.close()
    print(json.dumps(result.to_dict(), indent=2) if args.json else render(result))
    return 0


def _fleet_scan(args: argparse.Namespace) -> int:
    """`scan` over accounts x Regions. Every flag is checked before the first AWS call."""
    from botocore.exceptions import BotoCoreError, ClientError

    from vpce_remediator import fleet
    from vpce_remediator.accounts import MemberAccounts, MemberRole
    from vpce_remediator.aws import Clients
    from vpce_remediator.engine import Settings
    from vpce_remediator.scan import TerminalProgress

    org = args.org or bool(args.ou)
    try:
        if args.vpc:
            raise BadInput("--vpc scans one account's VPCs: not with --org, --accounts or --regions")
        if org and args.accounts:
            raise BadInput("--org (or --ou) and --accounts: give one of them")
        if args.accounts is None and not org and (args.role_name is not None or args.external_id is not None):
            raise BadInput("--role-name and --external-id need --org or --accounts (the member role is assumed "
                           "in other accounts)")
        accounts = fleet.account_ids(_many(args.accounts)) if args.accounts else ()
        parents = fleet.parent_ids(_many(args.ou))
        role = MemberRole(fleet.role_name(args.role_name or DEFAULT_ROLE_NAME),
                          fleet.external_id(args.external_id) if args.external_id is not None else None)
        workers = fleet.worker_count(args.max_workers) if args.max_workers is not None else fleet.DEFAULT_MAX_WORKERS
        asked = _many(args.regions)
        if args.regions and not asked:
            raise BadInput("--regions: no Region given")
        clients = Clients(region=args.region or None, profile=args.profile, endpoint_url=args.endpoint_url,
                          pace=args.endpoint_url is None or args.pace)
        if not clients.region:
            if not asked:
                raise BadInput("no Region: give --region or --regions (or configure one)")
            clients = Clients(region=asked[0], profile=args.profile, endpoint_url=args.endpoint_url,
                              pace=args.endpoint_url is None or args.pace)
        regions = fleet.region_names(asked or (clients.region,), clients.region)
    except BadInput as e:
        return _fail(2, str(e), args.json)
    except BotoCoreError as e:  # a profile that does not exist, say
        return _aws_fail(e, args.json)
    progress = TerminalProgress()
    try:
        settings = Settings(mode=args.mode, enforce_on_nat_routed=args.enforce_on_nat_routed_subnets,
                            max_endpoints_per_vpc=args.max_endpoints_per_vpc,
                            endpoint_policy=args.endpoint_policy,
                            cross_region_endpoints=args.cross_region_endpoints)
        # Without --org or --accounts (--regions alone): your own account, in each Region.
        result = fleet.scan_fleet(clients, MemberAccounts(clients, role), settings, regions, accounts, org,
                                  parents, progress, _lock(clients, args.state_table), workers)
    except BadInput as e:
        return _fail(2, str(e), args.json)
    except ClientError as e:
        # Only the caller's own calls get here (identity, organization): each pair's error is its row.
        from vpce_remediator.aws import error_code, error_message

        return _fail(1, f"AWS error {error_code(e) or '?'} on {e.operation_name}: {error_message(e) or e}",
                     args.json, code=error_code(e))
    except BotoCoreError as e:
        return _aws_fail(e, args.json)
    finally:
        progress.close()
    print(json.dumps(result.to_dict(), indent=2) if args.json else fleet.render(result))
    missed = result.not_scanned
    if missed:
        kinds = ", ".join(f"{sum(e.status == s for e in missed)} {s}" for s in (fleet.UNREACHABLE, fleet.FAILED)
                          if any(e.status == s for e in missed))
        print(f"vpce-remediator: {len(missed)} of {len(result.entries)} account-Region(s) not scanned ({kinds})",
              file=sys.stderr)
        return 1
    return 0


def _many(values: Sequence[str] | None) -> tuple[str, ...]:
    """Comma-separated values of a flag given any number of times."""
    return tuple(v for value in values or () for v in _ids(value))


def _lock(clients: Clients, table: str | None) -> VpcLock | None:
    from vpce_remediator.lock import VpcLock

    return VpcLock(clients.dynamodb, table) if table else None


def _adopt(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from vpce_remediator.aws import Clients
    from vpce_remediator.lock import VpcLock
    from vpce_remediator.trust import adopt, adoption_candidates

    if not args.vpc.startswith("vpc-"):
        return _fail(2, f"{args.vpc}: expected a VPC id (vpc-...)", args.json)
    try:
        clients = Clients(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)
        lock = VpcLock(clients.dynamodb, args.state_table)
        candidates = adoption_candidates(clients.ec2, lock, args.vpc)
        wanted = set(args.endpoint or ())
        unknown = sorted(wanted - {c["endpoint_id"] for c in candidates})
        if unknown:
            return _fail(2, f"{', '.join(unknown)}: not a live endpoint of {args.vpc} tagged managed-by="
                            "vpce-remediator and not yet recorded", args.json)
        listed = [c for c in candidates if not wanted or c["endpoint_id"] in wanted]
        chosen = listed if args.yes else [c for c in listed if _confirm(c, args.json)]
        adopt(lock, args.vpc, [c["endpoint_id"] for c in chosen])
    except (ClientError, BotoCoreError) as e:
        return _aws_fail(e, args.json)
    adopted = [c["endpoint_id"] for c in chosen]
    if args.json:
        print(json.dumps({"vpc_id": args.vpc, "candidates": listed, "adopted": adopted}, indent=2))
    else:
        for c in listed:
            mark = "adopted" if c["endpoint_id"] in adopted else "left foreign"
            print(f"{c['endpoint_id']}  {c['service']}  {c['name']}  {mark}")
        if not listed:
            print(f"{args.vpc}: no tagged endpoint outside the tool's records")
        elif len(adopted) < len(listed) and not sys.stdin.isatty() and not args.yes:
            print("not a terminal: nothing adopted without --yes", file=sys.stderr)
    return 0


def _confirm(candidate: dict[str, object], as_json: bool) -> bool:
    """Ask on the terminal; without one, nothing is adopted unless --yes says so."""
    if as_json or not sys.stdin.isatty():
        return False
    answer = input(f"adopt {candidate['endpoint_id']} ({candidate['service']}, "
                   f"{candidate['name'] or 'unnamed'}) as the tool's own? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _aws_fail(e: Exception, as_json: bool) -> int:
    from botocore.exceptions import ClientError

    from vpce_remediator.aws import error_code, error_message

    if isinstance(e, ClientError):
        return _fail(1, f"AWS error {error_code(e) or '?'}: {error_message(e) or e}", as_json, code=error_code(e))
    return _fail(1, f"AWS error: {e}", as_json)


def _fail(exit_code: int, message: str, as_json: bool, **extra: str) -> int:
    if as_json:
        print(json.dumps({"status": "error", "error": message, **extra}))
    print(f"vpce-remediator: {message}", file=sys.stderr)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
