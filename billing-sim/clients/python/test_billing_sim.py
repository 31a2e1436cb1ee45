"""A Python test suite using the billing-sim binary as its Lago: standard library only.

    cargo build -p billing-sim
    BILLING_SIM_BIN=target/debug/billing-sim python3 -m unittest discover -s billing-sim/clients/python -v

The simulator starts once for the class on a free port (`--port 0`); its first stdout line is
JSON with the URLs and credentials. Each test starts from a clean state (`POST /__sim/reset`).
"""

import json
import os
import pathlib
import subprocess
import unittest
import urllib.error
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
BINARY = os.environ.get("BILLING_SIM_BIN", "billing-sim")
CATALOG = HERE.parent.parent / "catalogs" / "example.toml"


def call(method, url, body=None, headers=None):
    """One HTTP request; returns (status, body parsed as JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode()


class LagoSimulatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.process = subprocess.Popen(
            [BINARY, "--vendor", "lago", "--port", "0",
             "--catalog", str(CATALOG), "--api-key", "py-secret"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cls.info = json.loads(cls.process.stdout.readline())

    @classmethod
    def tearDownClass(cls):
        cls.process.terminate()
        cls.process.wait(timeout=10)

    def setUp(self):
        status, _ = call("POST", self.info["admin_url"] + "/reset")
        self.assertEqual(status, 204)

    def lago(self, method, path, body=None):
        key = self.info["credentials"]["api_key"]
        return call(method, self.info["url"] + path, body, {"Authorization": "Bearer " + key})

    def subscribe(self, external_id, plan):
        status, body = self.lago("POST", "/subscriptions", {"subscription": {
            "external_customer_id": "acme", "external_id": external_id, "plan_code": plan}})
        self.assertEqual(status, 200, body)

    def send(self, subscription, code, *properties):
        events = [{"transaction_id": f"{subscription}-{code}-{i}", "code": code,
                   "external_subscription_id": subscription, "properties": p}
                  for i, p in enumerate(properties)]
        status, body = self.lago("POST", "/events/batch", {"events": events})
        self.assertEqual(status, 200, body)

    def units(self, subscription, metric):
        status, body = self.lago(
            "GET", f"/customers/acme/current_usage?external_subscription_id={subscription}")
        self.assertEqual(status, 200, body)
        for line in body["customer_usage"]["charges_usage"]:
            if line["billable_metric"]["code"] == metric:
                return line["units"]
        self.fail(f"no {metric} in {body}")

    def test_first_line_describes_the_simulator(self):
        self.assertEqual(self.info["vendor"], "lago")
        self.assertEqual(self.info["credentials"]["api_key"], "py-secret")
        self.assertIn("BILLING_PROVIDER=lago", self.info["env"])
        status, body = call("GET", self.info["admin_url"])
        self.assertEqual((status, body), (200, self.info))

    def test_the_catalog_file_is_served(self):
        status, body = self.lago("GET", "/plans/growth-monthly")
        self.assertEqual(status, 200)
        metrics = sorted(c["billable_metric_code"] for c in body["plan"]["charges"])
        self.assertEqual(metrics, ["active_users", "logins", "seats"])

    def test_unique_count_and_max(self):
        self.subscribe("g1", "growth-monthly")
        self.subscribe("t1", "team-monthly")
        self.send("g1", "active_users", {"user_id": "alice"}, {"user_id": "bob"},
                  {"user_id": "alice"})
        self.send("t1", "peak_storage_gb", {"gb": 5}, {"gb": "12.5"}, {"gb": 7})
        self.assertEqual(self.units("g1", "active_users"), "2.0")
        self.assertEqual(self.units("t1", "peak_storage_gb"), "12.5")

    def test_reset_forgets_everything(self):
        self.subscribe("g1", "growth-monthly")
        call("POST", self.info["admin_url"] + "/reset")
        status, body = self.lago("GET", "/customers")
        self.assertEqual((status, body["customers"]), (200, []))

    def test_clock_moves_forward(self):
        _, before = call("GET", self.info["admin_url"] + "/clock")
        status, after = call("POST", self.info["admin_url"] + "/clock/advance", {"days": 40})
        self.assertEqual(status, 200)
        self.assertGreater(after["now"], before["now"])

    def test_faults_and_request_log(self):
        status, _ = call("PUT", self.info["admin_url"] + "/faults", {"error_503": 1.0})
        self.assertEqual(status, 200)
        self.assertEqual(self.lago("GET", "/customers")[0], 503)
        call("DELETE", self.info["admin_url"] + "/faults")
        self.assertEqual(self.lago("GET", "/customers")[0], 200)
        status, text = call("GET", self.info["admin_url"] + "/requests")
        self.assertEqual(status, 200)
        lines = [json.loads(line) for line in text.splitlines()]
        self.assertEqual([r["path"] for r in lines], ["/api/v1/customers"] * 2)
        self.assertEqual(lines[0]["headers"]["authorization"], "Bearer py-secret")


if __name__ == "__main__":
    unittest.main()
