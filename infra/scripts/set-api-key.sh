#!/usr/bin/env bash
# make set-api-key: stores the Twenty API key where the stack keeps it: the SSM
# SecureString parameter /<stack>/twenty-api-key (default), or the stack's Secrets
# Manager secret (SecretStore=SecretsManager).
#   interactive:  make set-api-key              (hidden prompt)
#   scripted:     make set-api-key < key.txt    (or: printf %s "$KEY" | make set-api-key)
# Before storing, the key is tried against Twenty (GET /rest/<object>?limit=1);
# SKIP_VERIFY=1 stores it without trying. Then delta-sync is made to start fresh
# execution environments so the next run reads the new key.
# The key is never echoed, never put on a command line, and never logged.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_aws
require_stack
make_private_tmp

if [ -t 0 ]; then
  read -r -s -p "Twenty API key (Settings -> APIs & Webhooks; input hidden): " TWENTY_API_KEY
  echo >&2
else
  TWENTY_API_KEY="$(cat)"
fi
# Trim surrounding whitespace and newlines (copy-paste, files ending in a newline).
TWENTY_API_KEY="$(printf '%s' "$TWENTY_API_KEY" | tr -d '[:space:]')"
[ -n "$TWENTY_API_KEY" ] || die "no key given"
if [[ ! "$TWENTY_API_KEY" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]]; then
  warn "this does not look like a Twenty API key (a JWT: three dot-separated parts)"
fi
export TWENTY_API_KEY

if [ "${SKIP_VERIFY:-0}" != 1 ]; then
  api_url="${TWENTY_API_URL:-$(stack_parameter TwentyApiUrl)}"
  object="$(stack_parameter TwentyObject)"
  say "checking the key against $api_url/rest/$object"
  status="$(twenty_curl GET "$api_url/rest/$object?limit=1" "$PRIVATE_TMP/check.json")"
  case "$status" in
    200) ;;
    401 | 403) die "Twenty refused the key ($status: $(twenty_error "$PRIVATE_TMP/check.json")). Nothing was stored." ;;
    404) die "Twenty answered 404 for /rest/$object: is TwentyObject ($object) right? Nothing was stored (SKIP_VERIFY=1 to store anyway)." ;;
    *) die "Twenty answered $status ($(twenty_error "$PRIVATE_TMP/check.json")). Nothing was stored (SKIP_VERIFY=1 to store anyway)." ;;
  esac
fi

ref="$(secret_ref api-key)"
[ -n "$ref" ] || die "the stack has no reference to its API key; is $STACK_NAME a Spartan Sync stack?"
printf '%s' "$TWENTY_API_KEY" >"$PRIVATE_TMP/key"
store_secret api-key "$PRIVATE_TMP/key"
say "stored the API key in $ref ($(secret_store))"

fn="$(stack_output DeltaSyncFunctionName)"
refresh_function "$fn"
say "$fn will use the new key from its next run (make sync-now to run it now)"
