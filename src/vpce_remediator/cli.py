"""`vpce-remediator`: the same engine as the Lambda, from a terminal.

    vpce-remediator invoke EVENT_FILE [--mode report|remediate|opt-in] [--region R] [--profile P]
                           [--endpoint-url URL] [--json] [--enforce-on-nat-routed-subnets]
    vpce-remediator demo

Exit codes: 0 processed (whatever the compliance), 1 AWS error, 2 bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from vpce_remediator.errors import BadInput


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vpce-remediator", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inv = sub.add_parser("invoke", help="run the engine on one EventBridge event file")
    inv.add_argument("event_file", help="EventBridge 'AWS API Call via CloudTrail' event, or an AWS Config "
                                        "rule invocation (JSON); - for stdin")
    inv.add_argument("--mode", default="report", choices=("report", "remediate", "opt-in"))
    inv.add_argument("--region")
    inv.add_argument("--profile")
    inv.add_argument("--endpoint-url", help="send every AWS call here (a moto_server, say)")
    inv.add_argument("--json", action="store_true", help="print the JSON contract instead of a summary")
    inv.add_argument("--enforce-on-nat-routed-subnets", action="store_true")
    demo = sub.add_parser("demo", help="the whole story on an in-process moto account (no AWS needed)")
    demo.add_argument("--json", action="store_true", help="print each result as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from vpce_remediator.demo import run_demo

        return run_demo(as_json=args.json)
    return _invoke(args)


def _invoke(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from vpce_remediator.aws import Clients
    from vpce_remediator.config_rule import evaluate_config_event, is_config_event
    from vpce_remediator.engine import Settings, evaluate_event
    from vpce_remediator.render import render_evaluations, summary

    try:
        text = sys.stdin.read() if args.event_file == "-" else Path(args.event_file).read_text()
    except OSError as e:
        return _fail(2, f"cannot read {args.event_file}: {e.strerror}", args.json)
    try:
        event = json.loads(text)
    except ValueError as e:
        return _fail(2, f"{args.event_file} is not JSON: {e}", args.json)
    region = args.region or (event.get("region") if isinstance(event, dict) else None)
    try:
        clients = Clients(region=region if isinstance(region, str) else None, profile=args.profile,
                          endpoint_url=args.endpoint_url)
        settings = Settings(mode=args.mode, enforce_on_nat_routed=args.enforce_on_nat_routed_subnets)
        if is_config_event(event):
            # A Config rule invocation: evaluations (sent with PutEvaluations; a resultToken of
            # TESTMODE sends them in test mode) instead of the event contract.
            run = evaluate_config_event(event, clients, settings)
            print(json.dumps(run.to_dict(), indent=2) if args.json else render_evaluations(run.to_dict()))
            return 0
        outcome = evaluate_event(event, clients, settings)
    except BadInput as e:
        return _fail(2, f"bad event: {e}", args.json)
    except ClientError as e:
        err = e.response.get("Error", {})
        return _fail(1, f"AWS error {err.get('Code', '?')}: {err.get('Message', e)}", args.json,
                     code=str(err.get("Code", "")))
    except BotoCoreError as e:
        return _fail(1, f"AWS error: {e}", args.json)
    result = outcome.to_dict()
    print(json.dumps(result, indent=2) if args.json else summary(result))
    return 0


def _fail(exit_code: int, message: str, as_json: bool, **extra: str) -> int:
    if as_json:
        print(json.dumps({"status": "error", "error": message, **extra}))
    print(f"vpce-remediator: {message}", file=sys.stderr)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
