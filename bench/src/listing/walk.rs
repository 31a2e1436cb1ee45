//! The raw baseline's customer walks: reqwest plus `serde_json::Value`, one page at a time,
//! sending the requests each adapter sends (Kill Bill's adapter also reads every account's
//! blocking states, to tell closed accounts; the baseline does the same reads).

use anyhow::{Context, bail};
use futures::stream::{self, StreamExt, TryStreamExt};
use http::HeaderMap;
use serde_json::Value;

use crate::vendor::Vendor;

/// Kill Bill's `X-Killbill-Pagination-NextOffset`.
const KB_NEXT_OFFSET: &str = "x-killbill-pagination-nextoffset";

/// A raw walker for one simulator.
#[derive(Debug, Clone)]
pub struct Walker {
    /// The vendor.
    pub vendor: Vendor,
    /// The URL the adapter is configured with.
    pub base: String,
    /// The headers the adapter sends on its GETs.
    pub headers: HeaderMap,
    /// Requests in flight for fan-out reads.
    pub concurrency: usize,
    /// Items per page.
    pub page_size: usize,
}

/// What a walk saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walked {
    /// Customers.
    pub items: usize,
    /// Requests sent.
    pub requests: usize,
    /// Bytes of every customer's key, so the items are really read.
    pub key_bytes: usize,
}

impl Walker {
    /// Walks every customer.
    pub async fn walk(&self, client: &reqwest::Client) -> anyhow::Result<Walked> {
        match self.vendor {
            Vendor::Lago => self.lago(client).await,
            Vendor::Killbill => self.killbill(client).await,
            Vendor::Billabear => self.billabear(client).await,
        }
    }

    async fn get(&self, client: &reqwest::Client, url: &str) -> anyhow::Result<(HeaderMap, Value)> {
        let response = client
            .get(url)
            .headers(self.headers.clone())
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        if !response.status().is_success() {
            bail!("GET {url}: {}", response.status());
        }
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok((headers, serde_json::from_slice(&body)?))
    }

    async fn lago(&self, client: &reqwest::Client) -> anyhow::Result<Walked> {
        let mut walked = Walked::default();
        let mut page = 1_u64;
        loop {
            let url = format!(
                "{}/customers?page={page}&per_page={}",
                self.base, self.page_size
            );
            let (_, body) = self.get(client, &url).await?;
            walked.requests += 1;
            for c in body["customers"].as_array().map_or(&[][..], Vec::as_slice) {
                walked.items += 1;
                walked.key_bytes += c["external_id"].as_str().map_or(0, str::len);
            }
            match body["meta"]["next_page"].as_u64() {
                Some(next) => page = next,
                None => return Ok(walked),
            }
        }
    }

    async fn killbill(&self, client: &reqwest::Client) -> anyhow::Result<Walked> {
        let mut walked = Walked::default();
        let mut offset = 0_usize;
        loop {
            let url = format!(
                "{}/1.0/kb/accounts/pagination?offset={offset}&limit={}",
                self.base, self.page_size
            );
            let (headers, body) = self.get(client, &url).await?;
            walked.requests += 1;
            let accounts = body.as_array().map_or(&[][..], Vec::as_slice);
            let ids: Vec<&str> = accounts
                .iter()
                .filter_map(|a| a["accountId"].as_str())
                .collect();
            let states: Vec<Value> = stream::iter(ids)
                .map(|id| async move {
                    let url = format!(
                        "{}/1.0/kb/accounts/{id}/block?blockingStateTypes=ACCOUNT",
                        self.base
                    );
                    self.get(client, &url).await.map(|(_, v)| v)
                })
                .buffered(self.concurrency.max(1))
                .try_collect()
                .await?;
            walked.requests += states.len();
            for a in accounts {
                walked.items += 1;
                walked.key_bytes += a["externalKey"].as_str().map_or(0, str::len);
            }
            let received = accounts.len();
            if received < self.page_size || received == 0 || !headers.contains_key(KB_NEXT_OFFSET) {
                return Ok(walked);
            }
            offset += received;
        }
    }

    async fn billabear(&self, client: &reqwest::Client) -> anyhow::Result<Walked> {
        let mut walked = Walked::default();
        let mut last_key: Option<String> = None;
        loop {
            let mut url = format!("{}/customer?limit={}", self.base, self.page_size);
            if let Some(k) = &last_key {
                url.push_str(&format!("&last_key={k}"));
            }
            let (_, body) = self.get(client, &url).await?;
            walked.requests += 1;
            for c in body["data"].as_array().map_or(&[][..], Vec::as_slice) {
                walked.items += 1;
                walked.key_bytes += c["reference"].as_str().map_or(0, str::len);
            }
            if body["has_more"].as_bool() != Some(true) {
                return Ok(walked);
            }
            last_key = Some(
                body["last_key"]
                    .as_str()
                    .context("more pages but no last_key")?
                    .to_owned(),
            );
        }
    }
}
