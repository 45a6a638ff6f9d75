# Skills & Ideas API — the project's verbs. Every target installs what it uses.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs Python 3.12: prefer it (pyenv's or the system's), else fall back to python3.
PYENV_ROOT_DIR := $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON ?= $(firstword $(wildcard $(PYENV_ROOT_DIR)/versions/3.12*/bin/python3) $(shell command -v python3.12 2>/dev/null) $(shell command -v python3))
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# Never talk to a real AWS endpoint from this machine: fake credentials and a region for
# every command the Makefile runs (the tools and tests set them again for themselves).
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_SESSION_TOKEN ?= testing
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_EC2_METADATA_DISABLED := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: help install update-deps dev invoke lint unit test bench load eval capacity synth openapi clean layer infra-tests preflight diff deploy e2e sam-env browser fuzz

help: ## list the verbs
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# Two hashed locks, both written by `make update-deps` from pyproject.toml: the runtime lock (what
# the Lambda dependencies layer ships) and the dev lock, a superset with the same pins.
LOCK_DEV := requirements-dev.txt
LOCK_RUNTIME := layers/dependencies/requirements.txt

# The venv is rebuilt from scratch when the dev lock's content changes (its hash is kept in the
# venv), so it holds exactly the lock; a change of pyproject.toml alone reinstalls the project.
LOCK_HASH := $(VENV)/.lock.sha256
$(PY_STAMP): $(LOCK_DEV) pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12 (or python3) is required"; exit 1; }
	@if [ "$$(sha256sum < $(LOCK_DEV))" != "$$(cat $(LOCK_HASH) 2>/dev/null)" ]; then set -ex; \
		rm -rf $(VENV); \
		$(PYTHON) -m venv $(VENV); \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK_DEV); \
		sha256sum < $(LOCK_DEV) > $(LOCK_HASH); \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

# What the documentation routes serve, copied into the functions that serve them (and so into
# their Lambda packages): Swagger UI's files from the pinned npm package (GET /docs/{asset}) and
# the OpenAPI document (GET /openapi.json). Build output: git ignores both.
SWAGGER_UI := node_modules/swagger-ui-dist
DOCS_ASSETS := $(addprefix functions/api_docs_asset/swagger-ui/,swagger-ui-bundle.js swagger-ui.css \
	swagger-ui-bundle.js.LICENSE.txt LICENSE NOTICE)
OPENAPI_COPY := functions/openapi_document/openapi.json

functions/api_docs_asset/swagger-ui/%: $(NODE_STAMP)
	@mkdir -p $(@D)
	cp $(SWAGGER_UI)/$* $@

$(OPENAPI_COPY): docs/openapi.json
	cp $< $@

install: $(PY_STAMP) $(NODE_STAMP) $(DOCS_ASSETS) $(OPENAPI_COPY) ## create .venv (exactly the hashed dev lock), node_modules (package-lock.json) and the docs assets

# uv resolves for every platform and Python >= 3.11 at once (the dev machines run x86_64, the
# layer is arm64), keeps the current pins unless asked, and records every file's hash.
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make update-deps" $(if $(UPGRADE),--upgrade) $(addprefix --upgrade-package ,$(PACKAGES))

update-deps: $(PY_STAMP) ## re-resolve both locks from pyproject.toml (UPGRADE=1: newest allowed; PACKAGES="boto3 botocore")
	$(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], "pip", sep="\n")' \
		| $(UV_COMPILE) pyproject.toml - --extra dev --extra cdk -o $(LOCK_DEV)
	$(UV_COMPILE) pyproject.toml --constraints $(LOCK_DEV) -o $(LOCK_RUNTIME)
	$(MAKE) install

dev: install ## serve the API on http://127.0.0.1:3000 (PORT, LOCAL_STATE_DIR override)
	$(BIN)/skills-ideas serve

invoke: install ## run one handler on one event: make invoke FN=login EVENT=events/login.json
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=events/<file>.json"; exit 2; }
	$(BIN)/skills-ideas invoke $(FN) $(EVENT)

lint: install ## ruff (lint and format check) and mypy on everything: functions, layers, tools, infra, bench
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions layers/common/python tools infra bench

# The browser test drives Debian's chromium (Playwright's own browser download is not used).
browser: ## install Debian's chromium for the browser test when it is missing
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

test: install lint browser ## everything: lint, unit, DynamoDB Local, HTTP, fuzzing, browser and infrastructure tests
	$(BIN)/pytest

fuzz: install ## schemathesis against the local API, from docs/openapi.json (bounded: about a minute)
	$(BIN)/pytest tests/fuzz -q

bench: install ## cold first response of every handler vs a boto3 floor, interleaved (WRITE=1: into docs/performance.md)
	$(BIN)/python bench/cold_start.py $(if $(WRITE),--write docs/performance.md)

eval: install ## skill recommendations vs the labelled ideas: precision@3, recall@5, MRR, model and baseline (MISTAKES=dev|test)
	$(BIN)/python bench/eval/evaluate.py $(if $(MISTAKES),--mistakes $(MISTAKES))

load: install ## locust at 1/8/32/64 users on a fresh local stack, or HOST=https://<stage>; writes docs/load.md
	$(BIN)/python bench/load.py $(if $(HOST),--host '$(HOST)') --write docs/load.md

capacity: install ## DynamoDB units, Lambda time, bytes and cost per request at 100/10k/100k ideas; limits per stage (writes docs/capacity.md)
	$(BIN)/python -m skills_ideas_tools.capacity --raw bench/capacity-measurements.json --write docs/capacity.md

openapi: install ## regenerate docs/openapi.json from the route manifest and the contract
	$(BIN)/python -c "from skills_ideas_tools import openapi; print(openapi.write())"
	cp docs/openapi.json $(OPENAPI_COPY)

# --- Infrastructure (infra/, the CDK app) ---
STAGES ?= dev prod
STAGE ?= dev
CDK := npx --no-install cdk
# deploy/diff talk to real AWS: drop this Makefile's fake credentials so the operator's own
# (environment, profile, SSO or instance role) are used.
REAL_AWS := $(if $(filter testing,$(AWS_ACCESS_KEY_ID)),env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_EC2_METADATA_DISABLED,)

# synth is offline: no credentials at all, so the CLI does not look the default account up
# with STS (it does whenever it finds credentials, even fake ones), and no notices fetch.
NO_AWS := env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

layer: install ## build the dependencies Lambda layer from the runtime lock, without Docker (only when the lock changes)
	$(BIN)/python -m infra.layer_build

# A stage's stack and the account settings stack it depends on (deployed first by cdk deploy).
STACKS = SkillsIdeas-account SkillsIdeas-$(STAGE)
# EXAMPLE deployment settings, for offline checks only: a stage that requires settings (prod:
# its CORS origin and alarm e-mails, see infra/config.py) gets example.com values here so that
# `make synth` can synthesize it. Never deploy them: `make preflight` refuses them. Real values
# come from the environment (SKILLS_IDEAS_CORS_ORIGIN, SKILLS_IDEAS_ALARM_EMAILS) or `-c`.
EXAMPLE_SETTINGS = $(shell $(BIN)/python -c 'from infra.config import example_context; print(example_context("$(1)"))' 2>/dev/null)

# The multi-region example (docs/multi-region.md): a stage with EXAMPLE regions and hosted zone,
# synthesized into cdk.out/<stage>-multi-region next to the single-region stages.
MULTI_REGION_STAGE = $(shell $(BIN)/python -c 'from infra.config import MULTI_REGION_EXAMPLE_STAGE; print(MULTI_REGION_EXAMPLE_STAGE)' 2>/dev/null)
MULTI_REGION_SETTINGS = $(shell $(BIN)/python -c 'from infra.config import example_context; print(example_context("$(1)", multi_region=True))' 2>/dev/null)
MULTI_REGION ?= 1

synth: layer ## cdk synth every stage (cdk-nag on) into cdk.out/<stage>, and the multi-region example (MULTI_REGION=0: not), then cfn-lint every template
	@set -e; $(foreach stage,$(STAGES),echo "cdk synth $(stage) $(call EXAMPLE_SETTINGS,$(stage))"; \
		$(NO_AWS) $(CDK) synth --quiet --no-notices -c stage=$(stage) $(call EXAMPLE_SETTINGS,$(stage)) -o cdk.out/$(stage);)
	@set -e; $(if $(filter 1,$(MULTI_REGION)),echo "cdk synth $(MULTI_REGION_STAGE) $(call MULTI_REGION_SETTINGS,$(MULTI_REGION_STAGE))"; \
		$(NO_AWS) $(CDK) synth --quiet --no-notices -c stage=$(MULTI_REGION_STAGE) $(call MULTI_REGION_SETTINGS,$(MULTI_REGION_STAGE)) \
		-o cdk.out/$(MULTI_REGION_STAGE)-multi-region,true)
	$(BIN)/python -m infra.cfn_lint $(addprefix cdk.out/,$(STAGES)) $(if $(filter 1,$(MULTI_REGION)),cdk.out/$(MULTI_REGION_STAGE)-multi-region)

SAM_TEMPLATE = cdk.out/$(STAGE)/SkillsIdeas-$(STAGE).template.json
sam-env: install ## env.json for `sam local invoke` against the running make dev (SAM_HOST=127.0.0.1 for --docker-network host)
	@test -f $(SAM_TEMPLATE) || $(MAKE) synth STAGES=$(STAGE) MULTI_REGION=0
	$(BIN)/skills-ideas sam-env --template $(SAM_TEMPLATE) $(if $(SAM_HOST),--host $(SAM_HOST))

infra-tests: layer ## the infrastructure tests only (CDK assertions, cdk-nag, cfn-lint, preflight)
	$(BIN)/pytest tests/infra

preflight: layer ## read-only checks of the account before a deploy: make preflight STAGE=prod (real AWS credentials)
	@echo "cdk synth $(STAGE) with your settings (SKILLS_IDEAS_CORS_ORIGIN, SKILLS_IDEAS_ALARM_EMAILS)"
	$(NO_AWS) $(CDK) synth --quiet --no-notices -c stage=$(STAGE) -o cdk.out/preflight-$(STAGE)
	$(REAL_AWS) $(BIN)/skills-ideas preflight --stage $(STAGE) --assembly cdk.out/preflight-$(STAGE)

diff: layer ## compare a stage with what is deployed: make diff STAGE=prod (real AWS credentials)
	$(REAL_AWS) $(CDK) diff -c stage=$(STAGE) $(STACKS)

deploy: layer ## deploy one stage: make deploy STAGE=prod (real AWS credentials; run make preflight first)
	$(REAL_AWS) $(CDK) deploy -c stage=$(STAGE) --require-approval broadening $(STACKS)

e2e: install ## the HTTP contract suite against a deployed stage: make e2e STAGE=dev (real AWS credentials)
	$(REAL_AWS) $(BIN)/python -m tests.e2e --stage $(STAGE)

clean: ## remove build output (keeps .venv and the local state)
	rm -rf cdk.out .build .pytest_cache .mypy_cache .ruff_cache
