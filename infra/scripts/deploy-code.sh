#!/usr/bin/env bash
# make deploy-code: ships new function code only, through the stack, so the functions
# always run exactly the zips `make package` built and the stack always knows which:
#   1. make package's build (the same command, so cargo reuses it: seconds when nothing
#      changed; SKIP_PACKAGE=1 uses the zips as they are);
#   2. each zip goes to the artifacts bucket under its content hash (as make deploy does);
#   3. a change set on the stack's current template and parameters, with only the code
#      keys changed; it is shown, and refused if it would touch anything but the functions;
#   4. executed (a Lambda code update through CloudFormation: well under a minute).
# No Lambda version is published and nothing drifts: the next make deploy with the same
# zips is a no-op.
#   FN="webhook"   limit to some functions (space-separated; default: all three)
#   YES=1          apply without asking (needed without a terminal)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

require_aws
require_stack
read -r -a wanted <<<"${FN:-${FUNCTIONS[*]}}"
declare -A PARAM_FOR=([delta-sync]=DeltaSyncCodeKey [webhook]=WebhookCodeKey [leads-api]=LeadsApiCodeKey)
declare -A OUTPUT_FOR=([delta-sync]=DeltaSyncFunctionName [webhook]=WebhookFunctionName [leads-api]=LeadsApiFunctionName)
for fn in "${wanted[@]}"; do
  [ -n "${PARAM_FOR[$fn]:-}" ] || die "FN must name delta-sync, webhook or leads-api (got $fn)"
done

if [ "${SKIP_PACKAGE:-0}" != 1 ]; then
  "$ROOT/infra/scripts/package.sh"
fi

BUCKET="$(stack_parameter CodeBucket)"
[ -n "$BUCKET" ] || die "stack $STACK_NAME has no CodeBucket parameter; deploy it with make deploy first"

params=()
changed=()
for param in $(aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
  --query 'Stacks[0].Parameters[].ParameterKey' --output text); do
  new=""
  for fn in "${wanted[@]}"; do
    if [ "${PARAM_FOR[$fn]}" = "$param" ]; then
      zip="$LAMBDA_DIR/$fn/bootstrap.zip"
      [ -f "$zip" ] || die "$zip is missing: run make package first"
      key="$fn/$(sha256sum "$zip" | cut -c1-32).zip"
      if [ "$key" != "$(stack_parameter "$param")" ]; then
        new="$key"
        changed+=("$fn")
        if ! aws s3api head-object --bucket "$BUCKET" --key "$key" --expected-bucket-owner "$ACCOUNT_ID" >/dev/null 2>&1; then
          say "uploading $zip -> s3://$BUCKET/$key"
          aws s3api put-object --bucket "$BUCKET" --key "$key" --body "$zip" \
            --expected-bucket-owner "$ACCOUNT_ID" >/dev/null
        fi
      fi
    fi
  done
  if [ -n "$new" ]; then
    params+=("ParameterKey=$param,ParameterValue=$new")
  else
    params+=("ParameterKey=$param,UsePreviousValue=true")
  fi
done

if [ "${#changed[@]}" = 0 ]; then
  say "nothing to deploy: ${wanted[*]} already run these zips"
  exit 0
fi

name="code-$(date -u +%Y%m%d%H%M%S)"
say "preparing change set $name (code of ${changed[*]})"
arn="$(aws cloudformation create-change-set --stack-name "$STACK_NAME" \
  --change-set-name "$name" --change-set-type UPDATE --use-previous-template \
  --capabilities CAPABILITY_NAMED_IAM --parameters "${params[@]}" \
  --query Id --output text)"
if ! aws cloudformation wait change-set-create-complete --change-set-name "$arn" 2>/dev/null; then
  reason="$(aws cloudformation describe-change-set --change-set-name "$arn" --query StatusReason --output text)"
  aws cloudformation delete-change-set --change-set-name "$arn" >/dev/null 2>&1 || true
  die "the change set failed: $reason"
fi

# Only the functions may change: anything else means the stack and this checkout disagree.
# shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
others="$(aws cloudformation describe-change-set --change-set-name "$arn" \
  --query 'Changes[?ResourceChange.ResourceType!=`AWS::Lambda::Function`].ResourceChange.LogicalResourceId' \
  --output text)"
if [ -n "$others" ] && [ "$others" != None ]; then
  aws cloudformation delete-change-set --change-set-name "$arn" >/dev/null 2>&1 || true
  die "the change set would also change: $others. Run make deploy (it previews everything)."
fi

rc=0
confirm_change_set "$arn" || rc=$?
if [ "$rc" = 3 ]; then
  say "nothing to deploy"
  exit 0
fi
execute_change_set "$arn" update
for fn in "${changed[@]}"; do
  name="$(stack_output "${OUTPUT_FOR[$fn]}")"
  sha="$(aws lambda get-function-configuration --function-name "$name" --query CodeSha256 --output text)"
  say "$name now runs $(stack_parameter "${PARAM_FOR[$fn]}") (CodeSha256 $sha)"
done
