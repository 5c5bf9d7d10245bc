"""make smoke: checks a deployed stack end to end, from outside, as Twenty and the team's
app reach it. Prints PASS or FAIL per check and a verdict; exits 1 when any check fails.

  1. stack outputs     the stack has its URLs and its webhook secret is readable
  2. signed delivery   a delivery signed like Twenty signs (HMAC-SHA256 of
                       "<timestamp ms>:<body>" with the webhook secret) is accepted: 200.
                       Its event is of an object the mirror does not keep, so nothing is
                       written (the function answers "ignored")
  3. unsigned delivery the same body without a signature is refused: 401
  4. signed GET /leads a SigV4-signed GET /leads?limit=1 with your AWS credentials: 200
                       and a JSON body (your identity needs execute-api:Invoke, e.g. the
                       LeadsApiClientPolicyArn output)
  5. unsigned GET      the leads API refuses unsigned callers: 403

Check 3 counts one WebhookUnauthorized; its alarm needs refusals in 3 of 6 five-minute
periods, so a smoke run never pages.

Usage: python3 infra/scripts/smoke.py [--webhook-url URL] [--api-url URL]
(STACK_NAME and AWS_REGION from the environment; the URLs default to the stack outputs.)
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

# The event Twenty would send for an object the mirror does not keep: verified, parsed,
# classified, answered "ignored", never written.
SMOKE_OBJECT = "spartanSyncSmokeTest"


@dataclass
class Result:
    name: str
    ok: bool
    detail: str


def sign(secret: str, timestamp_ms: str, body: bytes) -> str:
    """Twenty's scheme (shared/src/webhook/verify.rs): lowercase hex HMAC-SHA256 of
    "<timestamp>:<raw body>" keyed with the webhook secret."""
    return hmac.new(secret.encode(), timestamp_ms.encode() + b":" + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now_ms: int | None = None) -> dict[str, str]:
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    return {
        "Content-Type": "application/json",
        "X-Twenty-Webhook-Timestamp": ts,
        "X-Twenty-Webhook-Signature": sign(secret, ts, body),
        "X-Twenty-Webhook-Nonce": secrets.token_hex(16),
    }


def smoke_body(webhook_url: str) -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    event = {
        "targetUrl": webhook_url,
        "eventName": f"{SMOKE_OBJECT}.created",
        "objectMetadata": {"id": str(uuid.uuid4()), "nameSingular": SMOKE_OBJECT},
        "workspaceId": str(uuid.uuid4()),
        "webhookId": str(uuid.uuid4()),
        "eventDate": now,
        "record": {"id": str(uuid.uuid4()), "createdAt": now, "updatedAt": now},
    }
    return json.dumps(event, separators=(",", ":")).encode()


def http(method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None,
         timeout: float = 15) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, f"no answer: {e}"


def sigv4_headers(method: str, url: str, credentials, region: str) -> dict[str, str]:
    """The headers of a SigV4-signed request for API Gateway (service execute-api)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method=method, url=url)
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def check_webhook(url: str, secret: str) -> list[Result]:
    body = smoke_body(url)
    status, answer = http("POST", url, signed_headers(secret, body), body)
    results = [Result(
        "signed webhook delivery is accepted",
        status == 200 and "ignored" in answer,
        f"POST {url} -> {status} {short(answer)}",
    )]
    status, answer = http("POST", url, {"Content-Type": "application/json"}, body)
    results.append(Result(
        "unsigned webhook delivery is refused",
        status == 401,
        f"-> {status} {short(answer)} (expected 401)",
    ))
    return results


def check_leads_api(base_url: str, credentials, region: str) -> list[Result]:
    url = base_url.rstrip("/") + "/leads?limit=1"
    results = []
    if credentials is None:
        results.append(Result("SigV4-signed GET /leads", False, "no AWS credentials to sign with"))
    else:
        status, answer = http("GET", url, sigv4_headers("GET", url, credentials, region))
        try:
            json.loads(answer)
            is_json = True
        except ValueError:
            is_json = False
        hint = ""
        if status == 403:
            hint = " (attach the LeadsApiClientPolicyArn output's policy to your identity)"
        results.append(Result(
            "SigV4-signed GET /leads answers 200 with JSON",
            status == 200 and is_json,
            f"GET {url} -> {status} {short(answer)}{hint}",
        ))
    status, answer = http("GET", url)
    results.append(Result(
        "unsigned GET /leads is refused",
        status == 403,
        f"-> {status} {short(answer)} (expected 403)",
    ))
    return results


def stack_context(stack_name: str):
    """(outputs, webhook secret) of the deployed stack, read with boto3."""
    import boto3

    cfn = boto3.client("cloudformation")
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return outputs, webhook_secret(outputs)


def webhook_secret(outputs: dict[str, str]) -> str:
    """The secret, from wherever the stack keeps it (the SecretStore output)."""
    import boto3

    store = outputs.get("SecretStore", "SecretsManager")
    if store == "ParameterStore":
        secret = boto3.client("ssm").get_parameter(
            Name=outputs["WebhookSecretParameter"], WithDecryption=True
        )["Parameter"]["Value"]
    else:
        secret = boto3.client("secretsmanager").get_secret_value(
            SecretId=outputs["WebhookSecretArn"]
        )["SecretString"]
    return secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-name", default=os.environ.get("STACK_NAME", "spartan-sync"))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    parser.add_argument("--webhook-url", help="default: the stack's WebhookUrl output")
    parser.add_argument("--api-url", help="default: the stack's LeadsApiUrl output")
    args = parser.parse_args(argv)

    import boto3

    results: list[Result] = []
    try:
        outputs, secret = stack_context(args.stack_name)
        webhook_url = args.webhook_url or outputs["WebhookUrl"]
        api_url = args.api_url or outputs["LeadsApiUrl"]
        results.append(Result("stack outputs and webhook secret", True,
                              f"{args.stack_name}: {webhook_url}, {api_url}"))
    except Exception as e:  # noqa: BLE001 - reported as the check's failure
        results.append(Result("stack outputs and webhook secret", False, f"{type(e).__name__}: {e}"))
        return report(results)
    results += check_webhook(webhook_url, secret)
    session = boto3.session.Session(region_name=args.region)
    credentials = session.get_credentials()
    region = args.region or session.region_name
    results += check_leads_api(api_url, credentials.get_frozen_credentials() if credentials else None, region)
    return report(results)


def report(results: list[Result]) -> int:
    for r in results:
        print(f"{'PASS' if r.ok else 'FAIL'}  {r.name}\n      {r.detail}")
    failed = [r for r in results if not r.ok]
    print()
    if failed:
        print(f"SMOKE TEST FAILED: {len(failed)} of {len(results)} checks failed")
        return 1
    print(f"SMOKE TEST PASSED: all {len(results)} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
