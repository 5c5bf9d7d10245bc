#!/usr/bin/env bash
# make deploy-code: pushes new function code only, with cargo lambda deploy, per function:
#   cargo lambda deploy --binary-name delta-sync <stack>-delta-sync
# No CloudFormation change: fast for code-only iterations. The stack still records the
# zip of the last `make deploy`, and the next `make deploy` puts that zip's code back
# (both are built from your working tree, so deploy again after committing).
#   FN="webhook"   limit to some functions (space-separated; default: all three)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

require_aws
require_stack
need_cmd cargo-lambda "Run make tools (it installs cargo-lambda into .tools/venv)."
read -r -a wanted <<<"${FN:-${FUNCTIONS[*]}}"

members="$(cargo metadata --no-deps --format-version 1 \
  | python3 -c 'import json,sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"]))')"
for fn in "${wanted[@]}"; do
  if ! grep -qx "$fn" <<<"$members"; then
    warn "package $fn is not in the workspace; skipping it"
    continue
  fi
  name="$STACK_NAME-$fn"
  aws lambda get-function --function-name "$name" >/dev/null 2>&1 \
    || die "function $name does not exist; create the stack first (make deploy)"
  say "building $fn (release, arm64)"
  cargo lambda build --release --arm64 -p "$fn" --bin "$fn"
  say "deploying $fn -> $name"
  # Without configuration flags cargo lambda only replaces the code of an existing function.
  cargo lambda deploy --region "$AWS_REGION" --binary-name "$fn" "$name"
done
