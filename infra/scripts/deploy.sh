#!/usr/bin/env bash
# make deploy: package -> artifacts bucket -> upload zips under content-hash keys ->
# change set -> preview, confirm -> execute -> webhook secret (Parameter Store, first time)
# -> tell whether the API key still needs setting -> outputs.
#
# The functions run exactly the zips `make package` built: the stack points at them by
# content hash, and nothing else ever replaces a function's code (make deploy-code is the
# same path for the code alone).
#
#   STACK_NAME        stack name (default spartan-sync)
#   AWS_REGION        region (required unless the CLI profile has one)
#   TWENTY_API_URL    e.g. https://api.twenty.com (required on the first deploy; later
#                     deploys keep the stack's value unless you set it)
# Optional stack parameters (unset = the template default, or the stack's current value):
#   TWENTY_OBJECT TWENTY_OBJECTS SYNC_LOOKBACK_SECONDS CONFLICT_POLICY CONFLICT_RULES RECONCILE_SCHEDULE ALARM_EMAIL LOG_RETENTION_DAYS
#   METRICS_NAMESPACE TRACING (Active|PassThrough) DELTA_SYNC_RESERVED_CONCURRENCY (0|1)
#   Options with a monthly fee: SECRET_STORE (ParameterStore|SecretsManager)
#   ENCRYPTION_KEY (AwsManaged|CustomerManaged) DASHBOARD (Disabled|Enabled)
#   SKIP_PACKAGE=1    deploy the zips already in target/lambda without rebuilding
#   YES=1             apply the change set without asking (needed without a terminal)
#   ARTIFACTS_BUCKET  S3 bucket for the zips (default <stack>-artifacts-<account>-<region>)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

require_aws
status="$(stack_status)"
case "$status" in
  REVIEW_IN_PROGRESS)
    # a first deploy whose preview was declined: an empty stack, remove it and start over
    aws cloudformation delete-stack --stack-name "$STACK_NAME"
    aws cloudformation wait stack-delete-complete --stack-name "$STACK_NAME"
    status=NONE ;;
  ROLLBACK_COMPLETE)
    die "stack $STACK_NAME is in ROLLBACK_COMPLETE (its first create failed; see the Events tab for why). Delete it, then deploy again: aws cloudformation delete-stack --stack-name $STACK_NAME --region $AWS_REGION" ;;
  NONE | *_COMPLETE) ;;
  *_IN_PROGRESS) die "stack $STACK_NAME is busy ($status); wait until it finishes." ;;
  *) die "stack $STACK_NAME is in state $status; fix that first (see Troubleshooting in the deploy guide)." ;;
esac

if [ "$status" = NONE ] && [ -z "${TWENTY_API_URL:-}" ]; then
  die "TWENTY_API_URL is required for the first deploy (e.g. TWENTY_API_URL=https://api.twenty.com make deploy)"
fi
if [ -n "${TWENTY_API_URL:-}" ]; then
  [[ "$TWENTY_API_URL" =~ ^https://[^[:space:]/]+(/[^[:space:]]*[^[:space:]/])?$ ]] \
    || die "TWENTY_API_URL must be an https:// URL without a trailing slash, got: $TWENTY_API_URL"
fi

if [ "${SKIP_PACKAGE:-0}" != 1 ]; then
  "$ROOT/infra/scripts/package.sh"
fi

# -- artifacts bucket: private, encrypted, TLS-only, old zips expire --------------
default_bucket="${STACK_NAME,,}-artifacts-${ACCOUNT_ID}-${AWS_REGION}"
BUCKET="${ARTIFACTS_BUCKET:-$default_bucket}"
[ "${#BUCKET}" -le 63 ] || die "bucket name $BUCKET is longer than 63 characters; set ARTIFACTS_BUCKET to a shorter name"
if ! aws s3api head-bucket --bucket "$BUCKET" --expected-bucket-owner "$ACCOUNT_ID" >/dev/null 2>&1; then
  say "creating the artifacts bucket s3://$BUCKET"
  if [ "$AWS_REGION" = us-east-1 ]; then
    aws s3api create-bucket --bucket "$BUCKET" >/dev/null
  else
    aws s3api create-bucket --bucket "$BUCKET" \
      --create-bucket-configuration "LocationConstraint=$AWS_REGION" >/dev/null
  fi
  aws s3api wait bucket-exists --bucket "$BUCKET"
  aws s3api put-public-access-block --bucket "$BUCKET" --public-access-block-configuration \
    BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
  aws s3api put-bucket-encryption --bucket "$BUCKET" --server-side-encryption-configuration \
    '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"},"BucketKeyEnabled":true}]}'
  aws s3api put-bucket-ownership-controls --bucket "$BUCKET" \
    --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'
  aws s3api put-bucket-policy --bucket "$BUCKET" --policy "$(printf '%s' \
    '{"Version":"2012-10-17","Statement":[{"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*",' \
    '"Resource":["arn:aws:s3:::'"$BUCKET"'","arn:aws:s3:::'"$BUCKET"'/*"],' \
    '"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}')"
  # Lambda copies the code at deploy time, so old zips are only needed for a rollback.
  aws s3api put-bucket-lifecycle-configuration --bucket "$BUCKET" --lifecycle-configuration \
    '{"Rules":[{"ID":"expire-old-artifacts","Status":"Enabled","Filter":{"Prefix":""},"Expiration":{"Days":180},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}}]}'
fi

# -- upload the zips under content-hash keys ------------------------------------
declare -A PARAM_FOR=([delta-sync]=DeltaSyncCodeKey [webhook]=WebhookCodeKey [leads-api]=LeadsApiCodeKey)
overrides=("CodeBucket=$BUCKET")
for fn in "${FUNCTIONS[@]}"; do
  zip="$LAMBDA_DIR/$fn/bootstrap.zip"
  param="${PARAM_FOR[$fn]}"
  if [ ! -f "$zip" ]; then
    if [ "$status" != NONE ] && [ -n "$(stack_parameter "$param")" ]; then
      warn "$zip is missing: $fn keeps the code it has now"
      continue
    fi
    die "$zip is missing and the stack needs it for its first deploy. Build it (make package) or add the $fn package."
  fi
  hash="$(sha256sum "$zip" | cut -c1-32)"
  key="$fn/$hash.zip"
  if ! aws s3api head-object --bucket "$BUCKET" --key "$key" --expected-bucket-owner "$ACCOUNT_ID" >/dev/null 2>&1; then
    say "uploading $zip -> s3://$BUCKET/$key"
    aws s3api put-object --bucket "$BUCKET" --key "$key" --body "$zip" --expected-bucket-owner "$ACCOUNT_ID" >/dev/null
  fi
  overrides+=("$param=$key")
done

add_override() { # ENV_VAR StackParameter
  if [ -n "${!1:-}" ]; then overrides+=("$2=${!1}"); fi
}
add_override TWENTY_API_URL TwentyApiUrl
add_override TWENTY_OBJECT TwentyObject
add_override TWENTY_OBJECTS TwentyObjects
add_override SYNC_LOOKBACK_SECONDS SyncLookbackSeconds
add_override CONFLICT_POLICY ConflictPolicy
add_override CONFLICT_RULES ConflictRules
add_override RECONCILE_SCHEDULE ReconcileSchedule
add_override DELTA_SYNC_RESERVED_CONCURRENCY DeltaSyncReservedConcurrency
add_override ALARM_EMAIL AlarmEmail
add_override LOG_RETENTION_DAYS LogRetentionDays
add_override METRICS_NAMESPACE MetricsNamespace
add_override TRACING Tracing
add_override SECRET_STORE SecretStore
add_override ENCRYPTION_KEY EncryptionKey
add_override DASHBOARD CloudWatchDashboard

# -- preview, then deploy ----------------------------------------------------------
say "preparing a change set for stack $STACK_NAME in $AWS_REGION"
# --s3-bucket: the template is larger than CloudFormation's 51,200-byte inline limit.
if ! out="$(aws cloudformation deploy \
  --stack-name "$STACK_NAME" \
  --template-file infra/template.yaml \
  --s3-bucket "$BUCKET" --s3-prefix templates \
  --capabilities CAPABILITY_NAMED_IAM \
  --no-execute-changeset \
  --no-fail-on-empty-changeset \
  --tags project=spartan-sync \
  --parameter-overrides "${overrides[@]}" 2>&1)"; then
  printf '%s\n' "$out" >&2
  die "the change set could not be created"
fi
arn="$(grep -o 'arn:aws[a-z-]*:cloudformation:[^ ]*:changeSet/[^ ]*' <<<"$out" | head -n1 || true)"
rc=3
if [ -n "$arn" ]; then
  rc=0
  confirm_change_set "$arn" || rc=$?
fi
if [ "$rc" = 3 ]; then
  say "no changes: the stack already runs these zips with these settings"
else
  kind=update
  if [ "$status" = NONE ]; then kind=create; fi
  execute_change_set "$arn" "$kind"
fi

# -- the webhook secret, in Parameter Store: made here once (CloudFormation cannot) --
if [ "$(secret_store)" = ParameterStore ]; then
  ref="$(secret_ref webhook-secret)"
  if ! aws ssm describe-parameters --parameter-filters "Key=Name,Values=$ref" \
    --query 'length(Parameters)' --output text | grep -qx 1; then
    make_private_tmp
    random_secret_to "$PRIVATE_TMP/webhook-secret"
    store_secret webhook-secret "$PRIVATE_TMP/webhook-secret"
    say "stored a new random webhook secret in $ref (make register-webhook gives it to Twenty)"
  fi
fi

# -- what is left to do ---------------------------------------------------------
echo
if ! api_key_is_set; then
  cat >&2 <<EOF
The Twenty API key is not set yet (delta-sync runs fail until then, and the sync-failing
alarm fires after 30 minutes). Next steps:
  make set-api-key        # paste the key from Twenty: Settings -> APIs & Webhooks
  make register-webhook   # tell Twenty where to send changes
  make full-sync          # first complete copy
  make smoke              # check the deployed stack end to end
EOF
else
  say "the Twenty API key is set; if the webhook is not registered yet: make register-webhook; then: make smoke"
fi
echo
aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table
