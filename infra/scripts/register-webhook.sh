#!/usr/bin/env bash
# make register-webhook: registers the stack's webhook URL with Twenty, signed with the
# stack's webhook secret, for the events of every object in TwentyObjects. Idempotent:
# when Twenty already has a webhook for this URL with those operations it is left alone;
# with others (TwentyObjects changed) it is given the current ones and the secret
# (ROTATE=1 does that too, see rotate-webhook-secret.sh).
#
# Reads: the WebhookUrl output, the webhook secret and the API key (Parameter Store or
# Secrets Manager, wherever the stack keeps them),
# the TwentyApiUrl / TwentyObject / TwentyObjects stack parameters. TWENTY_OBJECT_SINGULAR
# overrides the lead object's singular (normally looked up in Twenty's metadata).
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

# -- the operations: <singular>.* for every mirrored object ---------------------------
# TwentyObjects names them by plural (plural:singular where Twenty's singular is not the
# English one); the singulars come from Twenty's metadata, else from the English rule.
objects="$(stack_parameter TwentyObjects)"
[ -n "$objects" ] || objects="$object,notes,noteTargets"
status="$(twenty_curl GET "$api_url/rest/metadata/objects?limit=1000" "$PRIVATE_TMP/objects.json")"
[ "$status" = 200 ] || echo '{}' >"$PRIVATE_TMP/objects.json"
operations="$(python3 - "$PRIVATE_TMP/objects.json" "$objects" "$object" "${TWENTY_OBJECT_SINGULAR:-}" <<'PY'
import json, sys
doc, objects, lead_plural, lead_singular = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
known = {}
def walk(node):
    if isinstance(node, dict):
        if node.get("namePlural") and node.get("nameSingular"):
            known[node["namePlural"]] = node["nameSingular"]
        for v in node.values():
            walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)
walk(doc)
def english(plural):
    if plural == "people":
        return "person"
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    return plural[:-1] if plural.endswith("s") else plural
singulars = []
for entry in objects.split(","):
    plural, _, singular = entry.partition(":")
    if not singular and plural == lead_plural and lead_singular:
        singular = lead_singular
    if not singular:
        singular = known.get(plural) or english(plural)
        if plural not in known:
            print(f"warning: '{plural}' is not in Twenty's metadata; using the singular '{singular}'", file=sys.stderr)
    singulars.append(singular)
print(json.dumps([f"{s}.*" for s in singulars]))
PY
)"

# -- already registered? ------------------------------------------------------------
status="$(twenty_curl GET "$api_url/rest/webhooks" "$PRIVATE_TMP/list.json")"
[ "$status" = 200 ] || die "GET $api_url/rest/webhooks answered $status: $(twenty_error "$PRIVATE_TMP/list.json")"
existing_id="$(python3 - "$PRIVATE_TMP/list.json" "$webhook_url" "$operations" <<'PY'
import json, sys
doc, url, wanted = json.load(open(sys.argv[1])), sys.argv[2], json.loads(sys.argv[3])
# Twenty answers a plain list or {"data": {"webhooks": [...]}} depending on the version.
items = doc
if isinstance(doc, dict):
    data = doc.get("data", doc)
    items = data.get("webhooks", data) if isinstance(data, dict) else data
for w in items if isinstance(items, list) else []:
    if isinstance(w, dict) and w.get("targetUrl") == url and not w.get("deletedAt"):
        # "<id> same" when it already carries these operations, "<id> other" if not.
        same = sorted(w.get("operations") or []) == sorted(wanted)
        print(w.get("id", "?"), "same" if same else "other")
        break
PY
)"

existing_ops="${existing_id#* }"
existing_id="${existing_id%% *}"
if [ -n "$existing_id" ] && [ "$existing_ops" = same ] && [ "${ROTATE:-0}" != 1 ]; then
  say "Twenty already sends $operations to $webhook_url (webhook $existing_id); nothing to do"
  exit 0
fi

# -- the request body holds the secret: build it in the private dir ---------------
secret_value webhook-secret >"$PRIVATE_TMP/secret"
python3 - "$PRIVATE_TMP/secret" "$webhook_url" "$operations" "$PRIVATE_TMP/body.json" "$existing_id" <<'PY'
import json, sys
secret_file, url, operations, out, existing = sys.argv[1:6]
secret = open(secret_file).read().strip()
if existing:
    body = {"secret": secret, "operations": json.loads(operations)}
else:
    body = {
        "targetUrl": url,
        "operations": json.loads(operations),
        "description": "Spartan Sync",
        "secret": secret,
    }
json.dump(body, open(out, "w"))
PY

if [ -n "$existing_id" ]; then
  status="$(twenty_curl PATCH "$api_url/rest/webhooks/$existing_id" "$PRIVATE_TMP/answer.json" "$PRIVATE_TMP/body.json")"
  [ "$status" = 200 ] || die "PATCH /rest/webhooks/$existing_id answered $status: $(twenty_error "$PRIVATE_TMP/answer.json")"
  say "gave webhook $existing_id the current secret and operations $operations"
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
