#!/usr/bin/env python3
"""examples/prometheus and examples/grafana: the alert rules pass promtool's check
and their unit tests, and the dashboard is JSON whose queries parse and name only
metrics sockwatch --metrics exposes."""
import json
import os
import re

import harness
from harness import check, check_eq
import test_metrics as scraping

EXAMPLES = os.path.join(harness.SOURCE, "examples")
RULES = os.path.join(EXAMPLES, "prometheus", "socklab-alerts.yml")
RULE_TESTS = os.path.join(EXAMPLES, "prometheus", "socklab-alerts.test.yml")
DASHBOARD = os.path.join(EXAMPLES, "grafana", "socklab-dashboard.json")
NAME = re.compile(r"\bsocklab_[a-z_]+\b")


def exposed_families():
    """The families of a live scrape (its # TYPE lines)."""
    harness.enter_new_netns()
    sw, port = scraping.start_sockwatch()
    text = scraping.scrape(port)
    return set(re.findall(r"^# TYPE (\S+) ", text, re.M))


def test_alert_rules_pass_promtool_check():
    harness.need("promtool")
    r = harness.run(["promtool", "check", "rules", RULES], timeout=30)
    check_eq(r.returncode, 0, r.stdout + r.stderr)
    check("SUCCESS: 4 rules found" in r.stdout, r.stdout)


def test_alert_rules_unit_tests_pass():
    harness.need("promtool")
    r = harness.run(["promtool", "test", "rules", RULE_TESTS], timeout=60)
    check_eq(r.returncode, 0, r.stdout + r.stderr)
    check("SUCCESS" in r.stdout, r.stdout)


def test_rules_and_dashboard_name_only_exposed_metrics():
    families = exposed_families()
    with open(DASHBOARD) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    check(len(exprs) >= 10, "the dashboard has its panels")
    check_eq(len({p["id"] for p in dash["panels"]}), len(dash["panels"]), "unique panel ids")
    with open(RULES) as f:
        rules_text = f.read()
    used = set(NAME.findall(rules_text)) | {n for e in exprs for n in NAME.findall(e)}
    check(len(used) >= 10, f"names found: {sorted(used)}")
    unknown = sorted(used - families)
    check_eq(unknown, [], "names not in the exposition")
    # Every panel's query parses: promtool checks them as recording rules.
    harness.need("promtool")
    tmp = harness.temp_dir("socklab-dash-")
    path = os.path.join(tmp, "panels.yml")
    with open(path, "w") as f:
        f.write("groups:\n  - name: panels\n    rules:\n")
        for i, e in enumerate(exprs):
            f.write(f"      - record: panel_{i}\n        expr: {json.dumps(e.replace('$instance', '.*'))}\n")
    r = harness.run(["promtool", "check", "rules", path], timeout=30)
    check_eq(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    harness.main()
