//! Secrets never appear in what the library prints or logs.
//!
//! For each adapter, with every `tracing` event and span captured at TRACE level (the library's
//! own, reqwest's and hyper's): the whole conformance suite runs against the simulator; the same
//! backend then meets injected faults (retries, timeouts, dropped connections); a backend with
//! a wrong secret meets 401s; configurations with a secret and a bad setting are refused. The
//! Debug and Display of every configuration, backend and error met on the way are collected.
//! No API key, password or tenant secret may appear anywhere in that text, neither as
//! configured nor base64-encoded as basic auth sends it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::{Arc, Mutex, PoisonError};

use billing::layers::MapErr;
use billing::{BillingBackend, BillingConfig, BillingExt, PageRequest};
use billing_conformance::sims::{SimTarget, Vendor};
use billing_conformance::traces::TraceCapture;
use billing_sim::{FaultConfig, SimOptions};

/// Keeps the Debug and Display of every error a call returns (whole-call failures and rejected
/// usage events alike).
#[derive(Debug, Default, Clone)]
struct ErrorTexts(Arc<Mutex<Vec<String>>>);

impl ErrorTexts {
    fn push(&self, text: String) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(text);
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl ErrorTexts {
    /// A layer keeping the text of every error that goes by.
    fn layer(&self) -> MapErr {
        let texts = self.clone();
        MapErr::new(move |_op, e| {
            texts.push(format!("{e}\n{e:?}\n{e:#?}"));
            e
        })
    }
}

/// A wrong secret of the same shape, itself a secret that must not leak.
const WRONG_SECRET: &str = "wr0ng-s3cret-77b1e4";

/// Short timeouts, so injected latency becomes timeouts and retries quickly.
const FAULTY_HTTP: &str = "timeout_ms = 300\nconnect_timeout_ms = 300\nmax_retries = 2\n\
                           retry_base_delay_ms = 5\nmax_retry_delay_ms = 50\n\
                           total_budget_ms = 2000\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_traces_debug_display_or_errors() {
    let capture = TraceCapture::global();
    let mut texts: Vec<String> = Vec::new();
    let mut secrets: Vec<String> = vec![WRONG_SECRET.to_owned()];
    let mut errors_seen = 0;

    for vendor in Vendor::ALL {
        let target = Arc::new(SimTarget::start(vendor, SimOptions::default()).await);
        let vendor_secrets = target.secrets();
        secrets.extend(vendor_secrets.iter().cloned());
        let errors = ErrorTexts::default();

        // Configuration and backend, as an application builds them.
        let config = target.config("");
        texts.push(format!("{config:?}\n{config:#?}"));
        let connected = target.connect("");
        texts.push(format!("{connected:?}\n{connected:#?}"));
        let backend: Arc<dyn BillingBackend> = Arc::new(connected.layer(errors.layer()));

        // 1. The whole conformance suite, each scenario under its own key prefix.
        for (_, scenario) in billing_conformance::all() {
            scenario(&target.ctx(Arc::clone(&backend))).await;
        }
        let ctx = target.ctx(Arc::clone(&backend));

        // 2. Faults: 500/503/429, dropped connections, answers after the client's timeout.
        let faulty: Arc<dyn BillingBackend> =
            Arc::new(target.connect(FAULTY_HTTP).layer(errors.layer()));
        let sub = ctx.subscribed("faults", ctx.starter()).await;
        target.server().faults().set(FaultConfig {
            latency: std::time::Duration::from_millis(600),
            ..FaultConfig::mixed(0.6)
        });
        for i in 0..30 {
            let _ = faulty.get_customer(&sub.customer).await;
            let event = ctx.event(&format!("f{i}"), &sub.key, ctx.api_calls(), "1");
            let _ = faulty.record_usage(&[event]).await;
        }
        let _ = faulty.list_customers(&PageRequest::first(10)).await;
        target.server().faults().set(FaultConfig::none());

        // 3. A wrong secret: the vendor refuses every call.
        let wrong_toml = target.toml("").replace(&vendor_secrets[0], WRONG_SECRET);
        let wrong_config = BillingConfig::from_toml_str(&wrong_toml).expect("valid config");
        texts.push(format!("{wrong_config:?}"));
        let wrong: Arc<dyn BillingBackend> = Arc::new(
            billing::connect(&wrong_config)
                .expect("connect")
                .layer(errors.layer()),
        );
        texts.push(format!("{wrong:?}"));
        let _ = wrong.get_customer(&sub.customer).await;
        let _ = wrong.ensure_customer(&ctx.new_customer("wrong")).await;
        let event = ctx.event("wrong", &sub.key, ctx.api_calls(), "1");
        let _ = wrong.record_usage(&[event]).await;

        // 4. Refused configurations that carry a secret.
        for bad in [
            target
                .toml("")
                .replace("http://127.0.0.1", "http://billing.example.com"),
            target.toml("timeout_ms = \"soon\""),
            format!("{}\nunknown_setting = true\n", target.toml("")),
        ] {
            let error =
                BillingConfig::from_toml_str(&bad).and_then(|c| billing::connect(&c).map(|_| c));
            match error {
                Err(e) => texts.push(format!("{e}\n{e:?}")),
                Ok(c) => texts.push(format!("{c:?}")),
            }
        }

        let met = errors.take();
        assert!(
            !met.is_empty(),
            "{vendor:?}: the run met no error, so it proves nothing about errors"
        );
        errors_seen += met.len();
        texts.extend(met);
    }

    let traces = capture.text();
    let mut leaks = Vec::new();
    for secret in &secrets {
        if traces.contains(secret.as_str()) {
            leaks.push(format!("{secret:?} in the traces"));
        }
        for text in &texts {
            if text.contains(secret.as_str()) {
                leaks.push(format!("{secret:?} in {text}"));
            }
        }
    }
    println!(
        "secrets: {} secrets searched in {} KiB of traces and {} Debug/Display texts \
         ({errors_seen} errors): {} found",
        secrets.len(),
        traces.len() / 1024,
        texts.len(),
        leaks.len()
    );
    assert!(traces.len() > 100_000, "the traces were not captured");
    assert!(leaks.is_empty(), "{leaks:#?}");
}
