"""Puts this process under the AWS latency and throttle model (tools/aws_model.py) when the bench
asks for it (`VPCE_BENCH_AWS_MODEL` set); otherwise does nothing. On PYTHONPATH of the bench's
child processes only: our scan's and Cloud Custodian's alike."""
import importlib.util
import os
import sys

if os.environ.get("VPCE_BENCH_AWS_MODEL"):
    _path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "aws_model.py")
    _spec = importlib.util.spec_from_file_location("aws_model", _path)
    if _spec is not None and _spec.loader is not None:
        _module = importlib.util.module_from_spec(_spec)
        sys.modules["aws_model"] = _module
        _spec.loader.exec_module(_module)
        _module.install_from_env()
