#!/usr/bin/env bash
# Shared helpers for the infra scripts. Source it; do not run it.
#   STACK_NAME   CloudFormation stack (default spartan-sync)
#   AWS_REGION   region (falls back to AWS_DEFAULT_REGION, then the CLI profile's region)
# No helper here ever prints a secret value.

# shellcheck disable=SC2034 # ROOT and FUNCTIONS are for the scripts that source this
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_NAME="${STACK_NAME:-spartan-sync}"
# shellcheck disable=SC2034
FUNCTIONS=(delta-sync webhook leads-api)
# Where cargo lambda puts target/lambda/<fn>/bootstrap.zip (honours CARGO_TARGET_DIR).
# shellcheck disable=SC2034
LAMBDA_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/lambda"

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed. $2"
}

# The AWS CLI from .tools/venv (make puts it first on PATH), a region and working
# credentials. Exports AWS_REGION / AWS_DEFAULT_REGION and ACCOUNT_ID.
require_aws() {
  need_cmd aws "Run the make target again (it installs awscli into .tools/venv), or: .tools/venv/bin/pip install awscli"
  if [ -z "${AWS_REGION:-}" ]; then
    AWS_REGION="${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}"
  fi
  [ -n "${AWS_REGION:-}" ] || die "AWS_REGION is not set (e.g. AWS_REGION=eu-west-1 make deploy)"
  export AWS_REGION AWS_DEFAULT_REGION="$AWS_REGION"
  local identity
  if ! identity="$(aws sts get-caller-identity --output text --query Account 2>&1)"; then
    die "no usable AWS credentials (aws sts get-caller-identity failed: ${identity##*$'\n'}). Configure them with 'aws configure', AWS_PROFILE or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables."
  fi
  ACCOUNT_ID="$identity"
  export ACCOUNT_ID
}

stack_status() {
  aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
    --query 'Stacks[0].StackStatus' --output text 2>/dev/null || echo NONE
}

require_stack() {
  local status
  status="$(stack_status)"
  case "$status" in
    NONE) die "stack $STACK_NAME does not exist in $AWS_REGION. Deploy it first: make deploy (or set STACK_NAME)." ;;
    ROLLBACK_COMPLETE) die "stack $STACK_NAME never finished creating (ROLLBACK_COMPLETE); see Troubleshooting in the deploy guide." ;;
    *_COMPLETE) ;;
    *) die "stack $STACK_NAME is in state $status; wait for it or fix it first (see the deploy guide)." ;;
  esac
}

# stack_output KEY -> the output's value (empty if absent)
stack_output() {
  aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text 2>/dev/null \
    | sed 's/^None$//'
}

# stack_parameter KEY -> the parameter's current value
stack_parameter() {
  aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
    --query "Stacks[0].Parameters[?ParameterKey=='$1'].ParameterValue | [0]" --output text 2>/dev/null \
    | sed 's/^None$//'
}

# The API key secret still holds the random placeholder CloudFormation put there when
# it has a single version: every `make set-api-key` adds one. No value is read.
api_key_is_placeholder() {
  local arn="$1" versions
  versions="$(aws secretsmanager list-secret-version-ids --secret-id "$arn" \
    --query 'length(Versions)' --output text)"
  [ "$versions" = "1" ]
}

# Sets PRIVATE_TMP to a private (0700) temp dir that is removed when the script exits;
# for files that hold a secret. Call it directly, not in $(...).
make_private_tmp() {
  PRIVATE_TMP="$(umask 077 && mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$PRIVATE_TMP'" EXIT
}

# Functions read their secret once, at cold start. Touching the configuration makes
# Lambda start fresh execution environments, which read the new value.
refresh_function() {
  local name="$1" desc
  desc="$(aws lambda get-function-configuration --function-name "$name" --query Description --output text)"
  desc="${desc%% [secret reloaded *}"
  aws lambda update-function-configuration --function-name "$name" \
    --description "$desc [secret reloaded $(date -u +%Y-%m-%dT%H:%M:%SZ)]" >/dev/null
  aws lambda wait function-updated --function-name "$name"
}

# twenty_curl METHOD URL OUT_FILE [BODY_FILE] -> prints the HTTP status, body in OUT_FILE.
# The API key comes from $TWENTY_API_KEY and goes into a private header file, never on
# a command line (where ps would show it). Needs make_private_tmp first.
twenty_curl() {
  local method="$1" url="$2" out="$3" body="${4:-}"
  printf 'Authorization: Bearer %s\n' "$TWENTY_API_KEY" >"$PRIVATE_TMP/auth.header"
  local args=(-sS -X "$method" -H @"$PRIVATE_TMP/auth.header" -H 'Accept: application/json'
    --max-time 30 -o "$out" -w '%{http_code}')
  if [ -n "$body" ]; then
    args+=(-H 'Content-Type: application/json' --data-binary @"$body")
  fi
  curl "${args[@]}" "$url" || die "$method $url failed (network, DNS or TLS problem)"
}

# First line of Twenty's error answer, for messages (never contains our secrets).
twenty_error() {
  python3 - "$1" <<'PY' 2>/dev/null || head -c 300 "$1"
import json, sys
body = json.load(open(sys.argv[1]))
msgs = body.get("messages") or [body.get("message") or body.get("error") or body]
print("; ".join(map(str, msgs))[:300])
PY
}
