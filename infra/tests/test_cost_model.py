"""DEPLOY.md's cost table: its lines add up to its total, the total is at most 1.00 USD a
month, and the lines that depend on the template agree with it (the alarm count, the
options that carry a fixed fee being off by default)."""

from __future__ import annotations

import re
from pathlib import Path

DEPLOY_MD = Path(__file__).resolve().parents[1] / "DEPLOY.md"
BUDGET = 1.00


def default_table() -> list[tuple[str, str, float]]:
    text = DEPLOY_MD.read_text()
    section = text[text.index("## Cost"):]
    section = section[section.index("Default stack"):]
    rows = []
    for line in section.splitlines()[2:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if set(cells[0]) <= {"-", " "} or cells[-1] == "USD/month":
            continue  # the header and its rule
        amount = float(cells[-1].strip("*"))
        rows.append((cells[0].strip("*"), cells[1], amount))
    return rows


def test_the_cost_table_adds_up_and_stays_under_a_dollar():
    rows = default_table()
    *lines, total = rows
    assert total[0] == "total"
    assert len(lines) >= 15
    assert abs(sum(a for _, _, a in lines) - total[2]) < 0.0015, (sum(a for _, _, a in lines), total[2])
    assert total[2] <= BUDGET


def test_the_alarm_line_counts_the_template_alarms(template):
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    metrics = sum(len([m for m in a["Properties"].get("Metrics", []) if "MetricStat" in m]) or 1 for a in alarms)
    (line,) = [r for r in default_table() if r[0] == "CloudWatch alarms"]
    assert re.search(rf"\b{len(alarms)} standard alarms × 1 metric", line[1])
    assert abs(line[2] - 0.10 * metrics) < 1e-9


def test_fixed_fee_options_are_off_by_default(template):
    params = template["Parameters"]
    assert params["EncryptionKey"]["Default"] == "AwsManaged"
    assert params["SecretStore"]["Default"] == "ParameterStore"
    assert params["CloudWatchDashboard"]["Default"] == "Disabled"
    assert params["Tracing"]["Default"] == "PassThrough"
    text = DEPLOY_MD.read_text()
    for option in ("ENCRYPTION_KEY=CustomerManaged", "SECRET_STORE=SecretsManager",
                   "DASHBOARD=Enabled", "TRACING=Active"):
        assert f"| `{option}` |" in text, option
