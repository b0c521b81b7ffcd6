# Two commands set everything up on a fresh clone: `make demo` and `make test`. Each installs what it
# needs and no more: `make demo` the package with the `demo` extra (moto, for the embedded account),
# `make test` the `dev` extra (the demo's, plus pytest, mypy, ruff, cfn-lint...) and the AWS CLI.
# tools/venvs.py makes every virtualenv, with uv (requirements-uv.txt) when it can, else with pip.
# SAM (.venv-sam), checkov (.venv-tools), the AWS CLI (.venv-awscli, for the paste test) and Cloud
# Custodian (.venv-custodian, for `make bench`) live in their own virtualenvs: each pins its own boto3
# or botocore.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed-dev
MKVENV := $(PYTHON) tools/venvs.py
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
SAM := .venv-sam
SAM_STAMP := $(SAM)/.installed
AWSCLI := .venv-awscli
AWSCLI_STAMP := $(AWSCLI)/.installed
# sam build needs the function's runtime interpreter on PATH: pyenv's real binary (not its shim,
# which refuses to run when 3.13 is not the selected version), else whatever python3.13 is on PATH.
PY313 := $(or $(lastword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13)),$(shell command -v python3.13 2>/dev/null))
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test lint typecheck validate build deploy org-build org-deploy reliability bench custodian-venv clean

# Rebuilt only when pyproject.toml changes, so a second `make demo` or `make test` starts at once.
# The dev extra holds the demo's, so its stamp stands for both.
$(DEMO_STAMP): pyproject.toml
	$(MKVENV) $(VENV) -e '.[demo]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml
	$(MKVENV) $(VENV) -e '.[dev]'
	touch $(DEMO_STAMP) $(STAMP)

$(TOOLS_STAMP): requirements-tools.txt
	$(MKVENV) $(TOOLS) -r requirements-tools.txt
	touch $(TOOLS_STAMP)

$(SAM_STAMP): requirements-sam.txt
	$(MKVENV) $(SAM) -r requirements-sam.txt
	touch $(SAM_STAMP)

# The real AWS CLI (v1, from PyPI): tests/integration/test_paste.py pastes the printed fixes with it.
$(AWSCLI_STAMP): requirements-awscli.txt
	$(MKVENV) $(AWSCLI) -r requirements-awscli.txt
	touch $(AWSCLI_STAMP)

# Its own stamp holds the requirements' hash (tools/bench_custodian.py), so this is instant when done;
# the script needs only the standard library, so it installs alongside the project's virtualenv.
custodian-venv:
	$(PYTHON) tools/bench_custodian.py --install-only

demo: $(DEMO_STAMP)
	$(BIN)/vpce-remediator demo

# lint-imports: the import contracts in pyproject.toml (rules/ and the planner import no boto3, no
# cycles). PYTHONPATH=src: this checkout's sources, whichever checkout the virtualenv was made from.
test: $(STAMP) $(AWSCLI_STAMP)
	$(BIN)/ruff check src tests tools
	PYTHONPATH=src $(BIN)/lint-imports --no-logo
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml org/central.yaml org/member.yaml
	$(BIN)/pytest

# What it survives, in figures: damaged events, duplicates, concurrency, throttles, own events, drift.
reliability: $(STAMP)
	$(BIN)/python tools/reliability.py

lint: $(STAMP)
	$(BIN)/ruff check src tests tools

# mypy --strict over src/ ([tool.mypy] in pyproject.toml); `make test` runs it too.
typecheck: $(STAMP)
	$(BIN)/mypy

# cfn-lint, SAM's own lint, and checkov (every skip carries its reason in the template), for the
# single-account stack and the organization's two (org/member.yaml is plain CloudFormation, which
# `sam validate` does not take; cfn-lint and checkov cover it).
validate: $(STAMP) $(SAM_STAMP) $(TOOLS_STAMP)
	$(BIN)/cfn-lint template.yaml org/central.yaml org/member.yaml
	$(SAM)/bin/sam validate --lint --template template.yaml --region us-east-1
	$(SAM)/bin/sam validate --lint --template org/central.yaml --region us-east-1
	$(TOOLS)/bin/checkov --file template.yaml --file org/central.yaml --file org/member.yaml --framework cloudformation --quiet --compact --skip-download

build: $(SAM_STAMP)
	@test -n "$(PY313)" || { echo "sam build needs python3.13 on PATH (pyenv install 3.13)"; exit 1; }
	PATH="$(dir $(PY313)):$$PATH" $(SAM)/bin/sam build --template template.yaml
	@# Ship bytecode: Lambda's /var/task is read-only, so without it every cold start compiles
	@# Powertools and our modules again (~300 ms). unchecked-hash: the zip's timestamps cannot stale it.
	$(PY313) -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build/EventFunction .aws-sam/build/ConfigFunction

deploy: build
	$(SAM)/bin/sam deploy --guided

# The organization path (org/README-draft.md): the central stack, built apart from the single-account
# one. `sam deploy` uploads org/member.yaml for the StackSet's TemplateURL.
ORG_BUILD := .aws-sam/org
org-build: $(SAM_STAMP)
	@test -n "$(PY313)" || { echo "sam build needs python3.13 on PATH (pyenv install 3.13)"; exit 1; }
	PATH="$(dir $(PY313)):$$PATH" $(SAM)/bin/sam build --template org/central.yaml --build-dir $(ORG_BUILD)
	$(PY313) -m compileall -q -j 0 --invalidation-mode unchecked-hash $(ORG_BUILD)/EventFunction $(ORG_BUILD)/ConfigFunction

org-deploy: org-build
	$(SAM)/bin/sam deploy --guided --template-file $(ORG_BUILD)/template.yaml --config-file $(CURDIR)/org/samconfig.toml

# API calls per event, storms, scale, cold start, memory, package size, and Cloud Custodian side by
# side: bench/results.json and a table. SAM and Custodian install in parallel first.
bench:
	$(MAKE) --no-print-directory -j3 $(STAMP) $(SAM_STAMP) custodian-venv
	$(MAKE) --no-print-directory build
	$(BIN)/python tools/bench.py --update-readme

clean:
	rm -rf $(VENV) $(TOOLS) $(SAM) $(AWSCLI) .venv-custodian .uv .aws-sam .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
