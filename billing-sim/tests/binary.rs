//! The `billing-sim` binary, driven only through its command line and HTTP, as another
//! language's test suite drives it: started on port 0, the first stdout line read as JSON,
//! the vendor API and the admin API over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use reqwest::{Client, Method};
use serde_json::{Value, json};

/// A running binary, killed when dropped.
struct Running {
    child: Child,
    info: Value,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_billing-sim"))
        .args(args)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    Running { child, info }
}

fn manifest(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

async fn json_of(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn lago_binary_with_a_catalog_file() {
    let sim = start(&[
        "--vendor",
        "lago",
        "--catalog",
        &manifest("catalogs/example.toml"),
        "--api-key",
        "bin-k3y",
    ]);
    let http = Client::new();
    let url = s(&sim.info, "url").to_owned();
    let admin = s(&sim.info, "admin_url").to_owned();
    assert_eq!(sim.info["vendor"], "lago");
    assert_eq!(sim.info["credentials"]["api_key"], "bin-k3y");
    assert_eq!(
        s(&sim.info, "env"),
        format!("BILLING_PROVIDER=lago BILLING_LAGO_BASE_URL={url} BILLING_LAGO_API_KEY=bin-k3y")
    );
    assert_eq!(json_of(http.get(&admin)).await, (200, sim.info.clone()));

    let lago = |m: Method, path: &str| {
        http.request(m, format!("{url}{path}"))
            .bearer_auth("bin-k3y")
    };
    let (status, _) = json_of(
        http.get(format!("{url}/customers"))
            .bearer_auth("lago-sim-api-key"),
    )
    .await;
    assert_eq!(status, 401, "only the configured key");
    let (status, v) = json_of(
        lago(Method::POST, "/subscriptions").json(&json!({"subscription":
        {"external_customer_id": "acme", "external_id": "t1", "plan_code": "team-monthly"}})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let events: Vec<Value> = [5, 12, 7]
        .iter()
        .enumerate()
        .map(|(i, gb)| {
            json!({"transaction_id": format!("e{i}"), "external_subscription_id": "t1",
                   "code": "peak_storage_gb", "properties": {"gb": gb}})
        })
        .collect();
    let (status, v) =
        json_of(lago(Method::POST, "/events/batch").json(&json!({ "events": events }))).await;
    assert_eq!(status, 200, "{v}");
    let (_, usage) = json_of(lago(
        Method::GET,
        "/customers/acme/current_usage?external_subscription_id=t1&billable_metric_code=peak_storage_gb",
    ))
    .await;
    assert_eq!(usage["customer_usage"]["charges_usage"][0]["units"], "12.0");

    let logged = || async {
        let log = http.get(format!("{admin}/requests")).send().await.unwrap();
        log.text().await.unwrap().lines().count()
    };
    assert_eq!(logged().await, 4);
    let (status, _) = json_of(http.post(format!("{admin}/reset"))).await;
    assert_eq!(status, 204);
    let (_, customers) = json_of(lago(Method::GET, "/customers")).await;
    assert_eq!(customers["customers"], json!([]));
    assert_eq!(logged().await, 1, "only the request after the reset");
}

#[tokio::test]
async fn killbill_binary_with_its_own_xml_catalog_users_and_tenants() {
    let sim = start(&[
        "--vendor",
        "killbill",
        "--catalog",
        &manifest("../scripts/killbill/catalog.xml"),
        "--user",
        "ops:0ps-pass",
        "--tenant",
        "acme:acme-s3cret",
        "--tenant",
        "beta:beta-s3cret",
    ]);
    let http = Client::new();
    let url = s(&sim.info, "url").to_owned();
    let creds = &sim.info["credentials"];
    assert_eq!((s(creds, "username"), s(creds, "api_key")), ("ops", "acme"));
    assert_eq!(creds["tenants"].as_array().unwrap().len(), 2);
    assert!(s(&sim.info, "env").contains("BILLING_KILLBILL_API_SECRET=acme-s3cret"));
    let kb = |m: Method, path: &str, tenant: (&str, &str)| {
        http.request(m, format!("{url}{path}"))
            .basic_auth("ops", Some("0ps-pass"))
            .header("X-Killbill-ApiKey", tenant.0)
            .header("X-Killbill-ApiSecret", tenant.1)
            .header("X-Killbill-CreatedBy", "binary-test")
            .header("Accept", "application/json")
    };
    for tenant in [("acme", "acme-s3cret"), ("beta", "beta-s3cret")] {
        let (status, catalog) = json_of(kb(Method::GET, "/1.0/kb/catalog", tenant)).await;
        assert_eq!(status, 200);
        assert_eq!(catalog[0]["name"], "BillingConformance");
    }
    let (status, _) = json_of(kb(Method::GET, "/1.0/kb/catalog", ("bob", "lazar"))).await;
    assert_eq!(status, 401, "the default tenant does not exist");

    // A new catalog version, uploaded as the real server takes it.
    let xml = std::fs::read_to_string(manifest("../scripts/killbill/catalog.xml")).unwrap();
    let newer = xml
        .replace("2020-01-01T00:00:00+00:00", "2021-01-01T00:00:00+00:00")
        .replace("<value>10.00</value>", "<value>12.00</value>");
    let upload = kb(Method::POST, "/1.0/kb/catalog/xml", ("acme", "acme-s3cret"))
        .header("Content-Type", "text/xml")
        .body(newer.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201);
    assert!(
        upload.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/1.0/kb/catalog")
    );
    let (_, versions) = json_of(kb(
        Method::GET,
        "/1.0/kb/catalog/versions",
        ("acme", "acme-s3cret"),
    ))
    .await;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let again = kb(Method::POST, "/1.0/kb/catalog/xml", ("acme", "acme-s3cret"))
        .header("Content-Type", "text/xml")
        .body(newer)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400, "the same effective date twice");
    let (_, beta) = json_of(kb(
        Method::GET,
        "/1.0/kb/catalog/versions",
        ("beta", "beta-s3cret"),
    ))
    .await;
    assert_eq!(
        beta.as_array().unwrap().len(),
        1,
        "another tenant's catalog"
    );

    // Reset: the start-up catalog again.
    let admin = s(&sim.info, "admin_url");
    assert_eq!(json_of(http.post(format!("{admin}/reset"))).await.0, 204);
    let (_, versions) = json_of(kb(
        Method::GET,
        "/1.0/kb/catalog/versions",
        ("acme", "acme-s3cret"),
    ))
    .await;
    assert_eq!(versions.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn billabear_binary_takes_its_api_key() {
    let sim = start(&["--vendor", "billabear", "--api-key", "bb-bin-k3y"]);
    let http = Client::new();
    let url = s(&sim.info, "url");
    let (status, _) = json_of(
        http.post(format!("{url}/customer"))
            .header("X-API-Key", "bb-bin-k3y")
            .json(&json!({"email": "a@example.org"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = json_of(
        http.get(format!("{url}/customer"))
            .header("X-API-Key", "bb-sim-0123456789abcdef"),
    )
    .await;
    assert_eq!(status, 401);
}

#[test]
fn bad_arguments_stop_the_binary_with_a_reason() {
    for args in [
        &["--vendor", "lago", "--catalog", "/nonexistent.toml"][..],
        &["--vendor", "killbill", "--api-key", "k"][..],
        &["--vendor", "lago", "--tenant", "a:b"][..],
        &["--vendor", "billabear", "--catalog", "x.xml"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_billing-sim"))
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    let file = std::env::temp_dir().join(format!("billing-sim-count-{}.toml", std::process::id()));
    std::fs::write(
        &file,
        "[[metrics]]\ncode = \"logins\"\naggregation = \"count\"\n",
    )
    .unwrap();
    let unsupported = Command::new(env!("CARGO_BIN_EXE_billing-sim"))
        .args([
            "--vendor",
            "killbill",
            "--catalog",
            &file.display().to_string(),
        ])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(!unsupported.status.success());
    let reason = String::from_utf8_lossy(&unsupported.stderr);
    assert!(
        reason.contains("`logins`"),
        "names the metric it cannot serve: {reason}"
    );
}
