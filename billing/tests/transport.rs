//! Transport, through the facade, for every vendor: `http://` only to a loopback host unless
//! `http.allow_insecure_http` is set; `https://` always. A refused URL is a `Config` error
//! naming the setting, raised by `connect`, before any request could be sent.
#![cfg(all(feature = "lago", feature = "killbill", feature = "billabear"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::result_large_err
)]

use billing::{BillingConfig, ErrorKind};
use rstest::rstest;

/// A complete section for `vendor` at `base` (the API root each vendor expects after it).
fn toml(vendor: &str, base: &str, allow_insecure_http: bool) -> String {
    let section = match vendor {
        "lago" => format!("[lago]\nbase_url = \"{base}/api/v1\"\napi_key = \"k\"\n"),
        "killbill" => format!(
            "[killbill]\nbase_url = \"{base}\"\nusername = \"u\"\npassword = \"p\"\n\
             api_key = \"t\"\napi_secret = \"s\"\n"
        ),
        "billabear" => format!("[billabear]\nbase_url = \"{base}/api/v1\"\napi_key = \"k\"\n"),
        other => panic!("no vendor {other}"),
    };
    format!(
        "provider = \"{vendor}\"\n{section}[http]\nallow_insecure_http = {allow_insecure_http}\n"
    )
}

fn connect(vendor: &str, base: &str, allow_insecure_http: bool) -> billing::Result<()> {
    let config = BillingConfig::from_toml_str(&toml(vendor, base, allow_insecure_http))?;
    billing::connect(&config).map(|_| ())
}

#[rstest]
fn plain_http_to_a_remote_host_is_refused(
    #[values("lago", "killbill", "billabear")] vendor: &str,
    #[values(
        "http://billing.example.com",
        "http://10.0.0.7:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "http://[2001:db8::1]"
    )]
    base: &str,
) {
    let e = connect(vendor, base, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.message().contains(&format!("{vendor}.base_url")), "{e}");
    connect(vendor, base, true).expect("allowed when allow_insecure_http is set");
}

#[rstest]
fn https_anywhere_and_http_to_loopback_are_accepted(
    #[values("lago", "killbill", "billabear")] vendor: &str,
    #[values(
        "https://billing.example.com",
        "http://127.0.0.1:8080",
        "http://127.8.9.10",
        "http://localhost:3000",
        "http://[::1]:8080"
    )]
    base: &str,
) {
    connect(vendor, base, false).unwrap_or_else(|e| panic!("{base}: {e}"));
}

#[rstest]
fn other_schemes_are_refused(#[values("lago", "killbill", "billabear")] vendor: &str) {
    for base in [
        "ftp://billing.example.com",
        "file:///tmp",
        "ws://127.0.0.1:1",
    ] {
        let e = connect(vendor, base, true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{base}: {e}");
    }
}
