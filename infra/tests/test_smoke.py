"""make smoke (infra/scripts/smoke.py) against a stand-in for the deployed API on
127.0.0.1: a server that checks webhook signatures as shared/src/webhook/verify.rs does
and SigV4 signatures as API Gateway does (recomputed with botocore), with the stack's
outputs and webhook secret read from the stack deployed to moto."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import smoke  # noqa: E402

CREDENTIALS = Credentials("testing", "testing")


def test_signature_matches_a_real_twenty_delivery():
    # the delivery captured from Twenty 2.21.0 that verify.rs's own test uses
    body = (Path(__file__).resolve().parents[2] / "shared/src/webhook/verify.rs").read_text()
    start = body.index('const BODY: &str = r#"') + len('const BODY: &str = r#"')
    raw = body[start : body.index('"#;', start)]
    assert smoke.sign("twenty-test-secret", "1795540400577", raw.encode()) == (
        "b88c501fd550313dd028942776b67ed215f5f89bc1076855e13ab1ffa770c163"
    )


class FakeApi(BaseHTTPRequestHandler):
    """The deployed stack as make smoke sees it."""

    secret = ""
    region = REGION

    def log_message(self, *args):  # quiet
        pass

    def answer(self, status: int, doc: dict):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/api/webhooks/twenty":
            return self.answer(404, {"message": "Not Found"})
        ts, sig = self.headers.get("X-Twenty-Webhook-Timestamp"), self.headers.get("X-Twenty-Webhook-Signature")
        if not ts or not sig:
            return self.answer(401, {"error": "invalid signature: missing header"})
        if abs(time.time() * 1000 - int(ts)) > 300_000:
            return self.answer(401, {"error": "invalid signature: outside the tolerance"})
        expected = hmac.new(self.secret.encode(), f"{ts}:".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, sig):
            return self.answer(401, {"error": "invalid signature: the signature does not match"})
        event = json.loads(body)
        assert event["objectMetadata"]["nameSingular"] != "lead"
        return self.answer(200, {"status": "ignored"})

    def do_GET(self):
        if not self.path.startswith("/leads"):
            return self.answer(404, {"message": "Not Found"})
        auth = self.headers.get("Authorization")
        if not auth:
            return self.answer(403, {"message": "Forbidden"})
        # recompute the signature over what arrived, as API Gateway does
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        request = AWSRequest(
            method="GET",
            url=f"http://{self.headers['Host']}{self.path}",
            headers={h: self.headers[h] for h in signed},
        )
        request.context["timestamp"] = self.headers["X-Amz-Date"]
        signer = SigV4Auth(CREDENTIALS, "execute-api", self.region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if auth.split("Signature=")[1] != expected or "/execute-api/aws4_request" not in auth:
            return self.answer(403, {"message": "The request signature we calculated does not match"})
        return self.answer(200, {"data": [], "nextCursor": None})


@pytest.fixture
def fake_api(stack):
    FakeApi.secret = stack.secret_values["webhook-secret"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_smoke_passes_against_a_healthy_stack(stack, fake_api, moto_endpoint, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    code = smoke.main([
        "--stack-name", stack.stack_name, "--region", REGION,
        "--webhook-url", f"{fake_api}/api/webhooks/twenty", "--api-url", fake_api,
    ])
    out = capsys.readouterr().out
    assert code == 0, out
    assert [line[:4] for line in out.splitlines() if line[:4] in ("PASS", "FAIL")] == ["PASS"] * 5
    assert "SMOKE TEST PASSED" in out
    # the secret never shows
    assert stack.secret_values["webhook-secret"] not in out


def test_smoke_fails_when_the_secret_differs(stack, fake_api, moto_endpoint, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setattr(FakeApi, "secret", "the-secret-twenty-has")
    code = smoke.main([
        "--stack-name", stack.stack_name, "--region", REGION,
        "--webhook-url", f"{fake_api}/api/webhooks/twenty", "--api-url", fake_api,
    ])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  signed webhook delivery is accepted" in out and "SMOKE TEST FAILED: 1 of 5" in out


def test_smoke_fails_when_nothing_answers(stack, moto_endpoint, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    code = smoke.main([
        "--stack-name", stack.stack_name, "--region", REGION,
        "--webhook-url", "http://127.0.0.1:9/api/webhooks/twenty", "--api-url", "http://127.0.0.1:9",
    ])
    out = capsys.readouterr().out
    verdicts = [line[:4] for line in out.splitlines() if line[:4] in ("PASS", "FAIL")]
    assert code == 1 and verdicts == ["PASS"] + ["FAIL"] * 4 and "no answer" in out


def test_smoke_reads_secrets_manager_stacks_too(stack_paid, moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    # moto's own outputs lack the secrets it could not create; the resolved ones have them
    outputs = stack_paid.outputs()
    assert outputs["SecretStore"] == "SecretsManager"
    assert smoke.webhook_secret(outputs) == stack_paid.secret_values["WebhookSecret"]
