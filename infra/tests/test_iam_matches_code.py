"""Each function's role grants exactly the DynamoDB actions its code can reach.

sdk_calls.py reads the Rust source (the function's crate plus the shared crate) and
follows calls from the function's own code to the AWS SDK calls in shared/src/store and in
the crate. When the code gains a call (say a ConditionCheck inside a transaction), this
fails and names the role, the action and the place in the code; when a call goes away,
it fails until the grant goes too.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import sdk_calls

ROLES = {"delta-sync": "DeltaSyncRole", "webhook": "WebhookRole", "leads-api": "LeadsApiRole"}


def granted(template, role: str) -> tuple[set[str], object]:
    (policy,) = template["Resources"][role]["Properties"]["Policies"]
    statements = [
        s for s in policy["PolicyDocument"]["Statement"]
        if isinstance(s, dict) and "Action" in s
    ]
    dynamo = [s for s in statements if any(str(a).startswith("dynamodb:") for a in s["Action"])]
    assert len(dynamo) == 1, f"{role}: one DynamoDB statement"
    return {a.split(":", 1)[1] for a in dynamo[0]["Action"]}, dynamo[0]["Resource"]


@pytest.mark.parametrize("function", sorted(ROLES))
def test_role_grants_exactly_what_the_code_calls(template, function):
    role = ROLES[function]
    actions, resource = granted(template, role)
    reach = sdk_calls.analyse(function)
    missing = reach.actions - actions
    extra = actions - reach.actions
    lines = []
    for action in sorted(missing):
        where = "\n      ".join(sorted(set(reach.evidence[action])))
        lines.append(f"{role} lacks dynamodb:{action}, needed by:\n      {where}")
    for action in sorted(extra):
        lines.append(f"{role} grants dynamodb:{action}, which {function}'s code never calls")
    assert not lines, "\n".join(lines) + (
        "\nFix the role's LeadsTable statement in infra/template.yaml "
        "(python3 infra/tests/sdk_calls.py -v lists every call site)."
    )
    # the indexes only where the code queries them
    table = {"Fn::GetAtt": ["LeadsTable", "Arn"]}
    if "Query" in actions:
        assert resource == [table, {"Fn::Sub": "${LeadsTable.Arn}/index/*"}], role
    else:
        assert resource == table, role


def test_no_role_grants_table_wide_or_admin_actions(template):
    for role in ROLES.values():
        actions, _ = granted(template, role)
        assert not {"Scan", "BatchWriteItem", "DeleteTable", "UpdateTable", "CreateTable", "*"} & actions, role


# ---------------------------------------------------------------------------
# The analysis itself, on small made-up crates
# ---------------------------------------------------------------------------
def crate(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


def test_analysis_follows_calls_into_the_store_and_skips_tests_comments_strings(tmp_path):
    root = crate(tmp_path, {
        "shared/lib.rs": "pub mod store; pub mod engine;",
        "shared/engine.rs": """
            pub struct SyncEngine<S> { store: S }
            impl<S: Mirror> SyncEngine<S> {
                pub async fn run(&self) { self.store.save_all().await; let v = vec![1]; }
            }
        """,
        "shared/store/mod.rs": """
            use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
            pub struct DynamoStore;
            impl DynamoStore {
                pub async fn save_all(&self) {
                    let check = ConditionCheck::builder().table_name("t").build();
                    let put = Put::builder().table_name("t").build();
                    self.client.transact_write_items().send().await;
                }
                pub async fn only_in_tools(&self) { self.client.scan().send().await; }
                pub async fn push(&self) { self.client.batch_write_item().send().await; }
                /// never: self.client.delete_item()
                pub async fn read(&self) { let s = "self.client.query()"; self.client.get_item().send().await; }
            }
            #[cfg(test)]
            mod tests {
                async fn t(s: &DynamoStore) { s.client.update_item().send().await; s.only_in_tools().await; }
            }
        """,
        "fn/main.rs": """
            #[tokio::main]
            async fn main() {
                let engine = SyncEngine { store: DynamoStore };
                lambda_runtime::run(service_fn(|e| async { engine.run().await })).await;
                let mut fields = Vec::new();
                fields.push(1);
            }
        """,
    })
    reach = sdk_calls.analyse("x", shared=root / "shared", crate=root / "fn")
    # the transaction's items decide; the Vec push and lambda_runtime::run reach nothing;
    # test code, comments and strings are not calls
    assert reach.actions == {"ConditionCheckItem", "PutItem"}


def test_analysis_resolves_self_and_type_paths(tmp_path):
    root = crate(tmp_path, {
        "shared/store/lead.rs": """
            pub struct LeadStore;
            impl LeadStore {
                pub fn new() -> Self { LeadStore }
                pub async fn get(&self) { self.client.get_item().send().await; }
                pub async fn forget(&self) { self.client.delete_item().send().await; }
            }
            pub struct Other;
            impl Other {
                pub async fn get(&self) { self.client.query().send().await; }
            }
        """,
        "fn/handler.rs": """
            pub async fn handle(store: &LeadStore, map: &HashMap<u8, u8>) {
                let s = LeadStore::new();
                map.get(&1);
                store.get().await;
            }
        """,
    })
    reach = sdk_calls.analyse("x", shared=root / "shared", crate=root / "fn")
    # `store.get()` is LeadStore::get (the receiver names the type), not Other::get;
    # `map.get` is a HashMap's
    assert reach.actions == {"GetItem"}
