#!/usr/bin/env bash
# make rotate-webhook-secret: a new random webhook secret (Parameter Store or Secrets
# Manager, wherever the stack keeps it), given to Twenty's webhook (PATCH), then the
# webhook function is made to reload it.
# Between the Twenty update and the reload (a few seconds) deliveries fail the signature
# check (401, WebhookUnauthorized); the next delta run (<= 5 minutes) catches them up.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_aws
require_stack
make_private_tmp
ref="$(secret_ref webhook-secret)"
[ -n "$ref" ] || die "stack $STACK_NAME has no webhook secret; deploy it first (make deploy)"
if ! api_key_is_set; then
  die "the Twenty API key is not set yet: run make set-api-key first"
fi

random_secret_to "$PRIVATE_TMP/secret"
store_secret webhook-secret "$PRIVATE_TMP/secret"
say "stored a new webhook secret in $ref"

ROTATE=1 "$(dirname "$0")/register-webhook.sh"
refresh_function "$(stack_output WebhookFunctionName)"
say "the webhook function uses the new secret from now on"
