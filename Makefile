# Two commands set everything up on a fresh clone: `make demo` and `make test`.
# SAM and checkov live in their own virtualenv (.venv-tools): aws-sam-cli pins its own boto3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
# sam build needs the function's runtime interpreter on PATH: pyenv's real binary (not its shim,
# which refuses to run when 3.13 is not the selected version), else whatever python3.13 is on PATH.
PY313 := $(or $(lastword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13)),$(shell command -v python3.13 2>/dev/null))
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test lint validate build deploy reliability clean

# Rebuilt only when pyproject.toml changes, so a second `make test` starts at once.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(TOOLS_STAMP): requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	touch $(TOOLS_STAMP)

demo: $(STAMP)
	$(BIN)/vpce-remediator demo

test: $(STAMP)
	$(BIN)/ruff check src tests tools
	$(BIN)/cfn-lint template.yaml
	$(BIN)/pytest

# What it survives, in figures: damaged events, duplicates, concurrency, throttles, own events, drift.
reliability: $(STAMP)
	$(BIN)/python tools/reliability.py

lint: $(STAMP)
	$(BIN)/ruff check src tests tools

# cfn-lint, SAM's own lint, and checkov (every skip carries its reason in template.yaml).
validate: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint --template template.yaml --region us-east-1
	$(TOOLS)/bin/checkov --file template.yaml --framework cloudformation --quiet --compact --skip-download

build: $(TOOLS_STAMP)
	@test -n "$(PY313)" || { echo "sam build needs python3.13 on PATH (pyenv install 3.13)"; exit 1; }
	PATH="$(dir $(PY313)):$$PATH" $(TOOLS)/bin/sam build --template template.yaml

deploy: build
	$(TOOLS)/bin/sam deploy --guided

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .ruff_cache
