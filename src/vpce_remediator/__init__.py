"""vpce-remediator engine: parse, resolve, snapshot, plan, act, report."""
