#!/usr/bin/env bash
# make register-webhook: registers the stack's webhook URL with Twenty, signed with the
# stack's webhook secret. Idempotent: when Twenty already has a webhook for this URL it
# is left alone (ROTATE=1 instead gives it the current secret, see rotate-webhook-secret.sh).
#
# Reads: the WebhookUrl output, the webhook secret and the API key (Parameter Store or
# Secrets Manager, wherever the stack keeps them),
# the TwentyApiUrl / TwentyObject stack parameters. TWENTY_OBJECT_SINGULAR overrides the
# singular name used in the operations (normally looked up in Twenty's metadata).
# Prints neither the secret nor the key.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_aws
require_stack
need_cmd curl "apt-get install curl"
make_private_tmp

webhook_url="$(stack_output WebhookUrl)"
api_url="${TWENTY_API_URL:-$(stack_parameter TwentyApiUrl)}"
object="$(stack_parameter TwentyObject)"
[ -n "$webhook_url" ] && [ -n "$(secret_ref webhook-secret)" ] \
  || die "stack $STACK_NAME lacks the WebhookUrl output or its webhook secret; deploy it first (make deploy)"

if ! api_key_is_set; then
  die "the Twenty API key is not set yet: run make set-api-key first"
fi
TWENTY_API_KEY="$(secret_value api-key)"
export TWENTY_API_KEY

# -- the object's singular name, for the operations ("lead.*") --------------------
singular="${TWENTY_OBJECT_SINGULAR:-}"
if [ -z "$singular" ]; then
  status="$(twenty_curl GET "$api_url/rest/metadata/objects?limit=1000" "$PRIVATE_TMP/objects.json")"
  if [ "$status" = 200 ]; then
    singular="$(python3 - "$PRIVATE_TMP/objects.json" "$object" <<'PY'
import json, sys
doc, plural = json.load(open(sys.argv[1])), sys.argv[2]
def walk(node):
    if isinstance(node, dict):
        if node.get("namePlural") == plural and node.get("nameSingular"):
            yield node["nameSingular"]
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)
print(next(walk(doc), ""))
PY
)"
  fi
  if [ -z "$singular" ]; then
    case "$object" in
      people) singular=person ;;
      *ies) singular="${object%ies}y" ;;
      *s) singular="${object%s}" ;;
      *) singular="$object" ;;
    esac
    warn "could not read the singular of '$object' from Twenty's metadata; using '$singular' (set TWENTY_OBJECT_SINGULAR to override)"
  fi
fi

# -- already registered? ------------------------------------------------------------
status="$(twenty_curl GET "$api_url/rest/webhooks" "$PRIVATE_TMP/list.json")"
[ "$status" = 200 ] || die "GET $api_url/rest/webhooks answered $status: $(twenty_error "$PRIVATE_TMP/list.json")"
existing_id="$(python3 - "$PRIVATE_TMP/list.json" "$webhook_url" <<'PY'
import json, sys
doc, url = json.load(open(sys.argv[1])), sys.argv[2]
# Twenty answers a plain list or {"data": {"webhooks": [...]}} depending on the version.
items = doc
if isinstance(doc, dict):
    data = doc.get("data", doc)
    items = data.get("webhooks", data) if isinstance(data, dict) else data
for w in items if isinstance(items, list) else []:
    if isinstance(w, dict) and w.get("targetUrl") == url and not w.get("deletedAt"):
        print(w.get("id", "?"))
        break
PY
)"

if [ -n "$existing_id" ] && [ "${ROTATE:-0}" != 1 ]; then
  say "Twenty already sends to $webhook_url (webhook $existing_id); nothing to do"
  exit 0
fi

# -- the request body holds the secret: build it in the private dir ---------------
secret_value webhook-secret >"$PRIVATE_TMP/secret"
python3 - "$PRIVATE_TMP/secret" "$webhook_url" "$singular" "$PRIVATE_TMP/body.json" "$existing_id" <<'PY'
import json, sys
secret_file, url, singular, out, existing = sys.argv[1:6]
secret = open(secret_file).read().strip()
if existing:
    body = {"secret": secret}
else:
    body = {
        "targetUrl": url,
        "operations": [f"{singular}.*", "note.*", "noteTarget.*"],
        "description": "Spartan Sync",
        "secret": secret,
    }
json.dump(body, open(out, "w"))
PY

if [ -n "$existing_id" ]; then
  status="$(twenty_curl PATCH "$api_url/rest/webhooks/$existing_id" "$PRIVATE_TMP/answer.json" "$PRIVATE_TMP/body.json")"
  [ "$status" = 200 ] || die "PATCH /rest/webhooks/$existing_id answered $status: $(twenty_error "$PRIVATE_TMP/answer.json")"
  say "gave webhook $existing_id the current secret"
  exit 0
fi

status="$(twenty_curl POST "$api_url/rest/webhooks" "$PRIVATE_TMP/answer.json" "$PRIVATE_TMP/body.json")"
case "$status" in
  200 | 201) ;;
  *) die "POST $api_url/rest/webhooks answered $status: $(twenty_error "$PRIVATE_TMP/answer.json")" ;;
esac
# Show what Twenty stored, minus the secret it echoes back.
python3 - "$PRIVATE_TMP/answer.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
hook = doc.get("data", {}).get("createWebhook", doc) if isinstance(doc.get("data"), dict) else doc
hook.pop("secret", None)
print("registered webhook", hook.get("id"), "->", hook.get("targetUrl"), "operations", hook.get("operations"))
PY
