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

# -- the two secrets, wherever the stack keeps them ---------------------------------
# SecretStore=ParameterStore (default): SSM SecureString parameters /<stack>/twenty-api-key
# and /<stack>/webhook-secret, encrypted with aws/ssm, or with the stack's key when
# EncryptionKey=CustomerManaged. SecretStore=SecretsManager: the stack's two secrets.
# KIND is api-key or webhook-secret. Nothing here prints a secret unless asked to
# (secret_value), and values travel through files in PRIVATE_TMP, never command lines.

secret_store() {
  local store
  store="$(stack_output SecretStore)"
  if [ -z "$store" ]; then # a stack from before the option: it had Secrets Manager
    store=SecretsManager
  fi
  printf '%s' "$store"
}

# secret_ref KIND -> the parameter name or the secret ARN
secret_ref() {
  local kind="$1"
  if [ "$(secret_store)" = SecretsManager ]; then
    case "$kind" in
      api-key) stack_output TwentyApiKeySecretArn ;;
      webhook-secret) stack_output WebhookSecretArn ;;
    esac
  else
    case "$kind" in
      api-key) stack_output TwentyApiKeyParameter ;;
      webhook-secret) stack_output WebhookSecretParameter ;;
    esac
  fi
}

# secret_value KIND -> the value on stdout (capture it into a private file)
secret_value() {
  local ref
  ref="$(secret_ref "$1")"
  [ -n "$ref" ] || die "stack $STACK_NAME has no reference to its $1; deploy it first (make deploy)"
  if [ "$(secret_store)" = SecretsManager ]; then
    aws secretsmanager get-secret-value --secret-id "$ref" --query SecretString --output text
  else
    aws ssm get-parameter --name "$ref" --with-decryption --query Parameter.Value --output text
  fi
}

# store_secret KIND FILE: stores the file's content (no trailing newline) as the secret
store_secret() {
  local kind="$1" file="$2" ref key
  ref="$(secret_ref "$kind")"
  [ -n "$ref" ] || die "stack $STACK_NAME has no reference to its $kind; deploy it first (make deploy)"
  if [ "$(secret_store)" = SecretsManager ]; then
    aws secretsmanager put-secret-value --secret-id "$ref" --secret-string "file://$file" >/dev/null
  else
    key="$(stack_output DataKeyArn)"
    local args=(--name "$ref" --type SecureString --overwrite --value "file://$file"
      --description "Spartan Sync ($STACK_NAME): $kind")
    if [ -n "$key" ]; then args+=(--key-id "$key"); fi
    aws ssm put-parameter "${args[@]}" >/dev/null
  fi
}

# api_key_is_set: make set-api-key has stored a key. In Parameter Store the parameter
# exists only then; a Secrets Manager secret starts with a random placeholder (one
# version) and every make set-api-key adds a version. No value is read.
api_key_is_set() {
  local ref versions
  ref="$(secret_ref api-key)"
  [ -n "$ref" ] || return 1
  if [ "$(secret_store)" = SecretsManager ]; then
    versions="$(aws secretsmanager list-secret-version-ids --secret-id "$ref" \
      --query 'length(Versions)' --output text)"
    [ "$versions" != "1" ]
  else
    aws ssm describe-parameters --parameter-filters "Key=Name,Values=$ref" \
      --query 'length(Parameters)' --output text | grep -qx 1
  fi
}

# A new random secret (48 letters and digits) into FILE, made locally.
random_secret_to() {
  python3 -c 'import secrets, string, sys; a = string.ascii_letters + string.digits; sys.stdout.write("".join(secrets.choice(a) for _ in range(48)))' >"$1"
}

# -- change sets: every stack update is previewed before it runs ---------------------
# show_change_set ARN: prints what the change set would do, one line a resource, and
# warns about replacements and removals. Returns 3 when it contains no change.
show_change_set() {
  aws cloudformation describe-change-set --change-set-name "$1" --output json \
    | python3 -c '
import json, sys
cs = json.load(sys.stdin)
changes = [c["ResourceChange"] for c in cs.get("Changes", [])]
if not changes:
    sys.exit(3)
name, stack = cs.get("ChangeSetName"), cs.get("StackName")
print(f"Change set {name} for stack {stack}:")
risky = []
for c in changes:
    action, logical, rtype = c["Action"], c["LogicalResourceId"], c["ResourceType"]
    what = ""
    if action == "Modify":
        props = sorted({d["Target"].get("Name") or d["Target"]["Attribute"] for d in c.get("Details", [])})
        what = " (" + ", ".join(p for p in props if p) + ")" if props else ""
        if c.get("Replacement") in ("True", "Conditional"):
            what += "  REPLACEMENT" if c["Replacement"] == "True" else "  may be replaced"
            risky.append(logical)
    if action == "Remove":
        risky.append(logical)
    print(f"  {action:7} {logical:32} {rtype}{what}")
if risky:
    print("  careful: " + ", ".join(risky) + " would be replaced or removed"
          " (the table and the KMS key are retained, never deleted)")
'
}

# confirm_change_set ARN: shows it and asks, unless YES=1. Returns 3 when empty.
confirm_change_set() {
  local arn="$1" rc=0
  show_change_set "$arn" || rc=$?
  if [ "$rc" = 3 ]; then
    aws cloudformation delete-change-set --change-set-name "$arn" >/dev/null 2>&1 || true
    return 3
  fi
  [ "$rc" = 0 ] || die "could not read change set $arn"
  if [ "${YES:-0}" = 1 ]; then
    return 0
  fi
  if [ ! -t 0 ]; then
    aws cloudformation delete-change-set --change-set-name "$arn" >/dev/null 2>&1 || true
    die "not applied: no terminal to ask on. Re-run with YES=1 to apply without asking."
  fi
  local answer
  read -r -p "Apply these changes to $STACK_NAME? [y/N] " answer
  if [[ ! "$answer" =~ ^[Yy] ]]; then
    aws cloudformation delete-change-set --change-set-name "$arn" >/dev/null 2>&1 || true
    die "not applied; nothing changed"
  fi
}

# execute_change_set ARN create|update: runs it and waits; on failure prints why.
execute_change_set() {
  local arn="$1" kind="$2"
  aws cloudformation execute-change-set --change-set-name "$arn"
  say "waiting for the stack ($kind)"
  if ! aws cloudformation wait "stack-$kind-complete" --stack-name "$STACK_NAME"; then
    # shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
    aws cloudformation describe-stack-events --stack-name "$STACK_NAME" --max-items 40 \
      --query 'StackEvents[?contains(ResourceStatus, `FAILED`)].[LogicalResourceId,ResourceStatusReason]' \
      --output text >&2 || true
    die "the stack $kind failed; the first FAILED events are above"
  fi
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
