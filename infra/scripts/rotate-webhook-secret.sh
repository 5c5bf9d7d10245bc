#!/usr/bin/env bash
# make rotate-webhook-secret: a new random webhook secret in Secrets Manager, given to
# Twenty's webhook (PATCH), then the webhook function is made to reload it.
# Between the Twenty update and the reload (a few seconds) deliveries fail the signature
# check (401, WebhookUnauthorized); the next delta run (<= 5 minutes) catches them up.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_aws
require_stack
make_private_tmp
secret_arn="$(stack_output WebhookSecretArn)"
[ -n "$secret_arn" ] || die "stack $STACK_NAME has no WebhookSecretArn output"
if api_key_is_placeholder "$(stack_output TwentyApiKeySecretArn)"; then
  die "the Twenty API key is not set yet: run make set-api-key first"
fi

aws secretsmanager get-random-password --password-length 48 --exclude-punctuation \
  --query RandomPassword --output text >"$PRIVATE_TMP/secret"
tr -d '\n' <"$PRIVATE_TMP/secret" >"$PRIVATE_TMP/secret.clean"
aws secretsmanager put-secret-value --secret-id "$secret_arn" \
  --secret-string "file://$PRIVATE_TMP/secret.clean" >/dev/null
say "stored a new webhook secret in $secret_arn"

ROTATE=1 "$(dirname "$0")/register-webhook.sh"
refresh_function "$(stack_output WebhookFunctionName)"
say "the webhook function uses the new secret from now on"
