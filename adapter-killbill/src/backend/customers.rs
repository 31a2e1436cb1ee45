//! Customers are Kill Bill accounts, addressed by `externalKey`.

use async_trait::async_trait;
use billing_core::{
    Customer, CustomerKey, CustomerPatch, CustomerStore, Error, Metadata, NewCustomer, Operation,
    Page, PageRequest, Result,
};
use billing_http::{Method, ordered_fanout};
use serde::Deserialize;

use super::{AccountRef, KillBill, NAME, is_stale_id};
use crate::convert;
use crate::error::SUB_CANCEL_BAD_STATE;
use crate::pager::OffsetPage;
use crate::wire;

/// Kill Bill accounts have no metadata field (see the crate docs): non-empty metadata is refused
/// before any request.
fn refuse_metadata(metadata: &Metadata) -> Result<()> {
    if metadata.is_empty() {
        Ok(())
    } else {
        Err(Error::unsupported(
            "Kill Bill accounts have no metadata; this adapter does not map it to custom fields",
        ))
    }
}

impl KillBill {
    /// An account and whether it is closed: two reads, in parallel when the id is cached.
    async fn load_account(
        &self,
        op: Operation,
        key: &CustomerKey,
    ) -> Result<(wire::Account, serde_json::Value, bool)> {
        if let Some(id) = self.account_ids.get(key) {
            let account = async {
                let r = self.request(op, Method::GET, &["accounts", &id])?;
                self.http
                    .send_ok(r)
                    .await?
                    .json_keeping_raw::<wire::Account>()
            };
            let (account, closed) = tokio::join!(account, self.is_closed(op, &id));
            match account {
                Ok((a, raw)) if a.external_key.as_deref() == Some(key.as_str()) => {
                    self.remember_account(&a);
                    return Ok((a, raw, closed?));
                }
                Ok(_) => self.forget_account(key),
                Err(e) if is_stale_id(&e) => self.forget_account(key),
                Err(e) => return Err(e),
            }
        }
        let (account, raw) = self.account_by_key(op, key).await?;
        let id = account
            .account_id
            .clone()
            .ok_or_else(|| Error::decode("AccountJson without accountId"))?;
        let closed = self.is_closed(op, &id).await?;
        Ok((account, raw, closed))
    }

    async fn create_account(&self, new: &NewCustomer) -> Result<Customer> {
        let op = Operation::CreateCustomer;
        new.validate()?;
        refuse_metadata(&new.metadata)?;
        convert::check_account_fields(new.name.as_deref(), new.email.as_deref())?;
        let request = self
            .write(op, Method::POST, &["accounts"])?
            .json(&convert::account_for_create(new))?;
        let response = self.http.send_ok(request).await?;
        let id = match self.created_id(&response, "accounts") {
            Some(id) => id,
            None => self
                .account_by_key(op, &new.key)
                .await?
                .0
                .account_id
                .ok_or_else(|| Error::decode("AccountJson without accountId"))?,
        };
        self.account_ids.insert(new.key.clone(), id.clone());
        self.accounts.insert(
            id.clone(),
            AccountRef {
                key: new.key.clone(),
                tod: None,
            },
        );
        Ok(billing_core::raw::customer_from_new(new, id))
    }

    async fn update_account(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        let op = Operation::UpdateCustomer;
        patch.validate()?;
        if let Some(m) = &patch.metadata {
            refuse_metadata(m)?;
        }
        convert::check_account_fields(patch.name.as_deref(), patch.email.as_deref())?;
        let (mut account, mut raw, closed) = self.load_account(op, key).await?;
        if let Some(update) = convert::account_update(&account, patch)? {
            let id = account
                .account_id
                .clone()
                .ok_or_else(|| Error::decode("AccountJson without accountId"))?;
            let request = self
                .write(op, Method::PUT, &["accounts", &id])?
                .json(&update)?;
            self.http.send_ok(request).await?;
            convert::apply_update(&mut account, &update);
            if let (Ok(serde_json::Value::Object(changes)), Some(fields)) =
                (serde_json::to_value(&update), raw.as_object_mut())
            {
                fields.extend(changes);
            }
        }
        convert::customer(&account, closed, Some(raw))
    }

    async fn close_account(&self, key: &CustomerKey) -> Result<()> {
        let op = Operation::DeleteCustomer;
        self.with_account_id(op, key, |id| async move {
            // Closing cancels only subscriptions with no billing end yet (AccountResource:
            // `getBillingEndDate() == null`): a pending END_OF_TERM cancellation would survive
            // the close, so those are cancelled now first.
            let request = self.request(op, Method::GET, &["accounts", &id, "bundles"])?;
            let (bundles, _) = self.fetch::<Vec<wire::Bundle>>(request).await?;
            for value in bundles.into_iter().flat_map(|b| b.subscriptions) {
                let Ok(sub) = serde_json::from_value::<wire::Subscription>(value) else {
                    continue;
                };
                let (status, _) = convert::status(&sub);
                let pending_cancel = !status.is_ended() && sub.billing_end_date.is_some();
                if let (true, Some(sub_id)) = (pending_cancel, sub.subscription_id.as_deref()) {
                    let request = self
                        .write(op, Method::DELETE, &["subscriptions", sub_id])?
                        .query("entitlementPolicy", "IMMEDIATE")
                        .query("billingPolicy", "IMMEDIATE");
                    match self.http.send_ok(request).await {
                        Ok(_) => {}
                        Err(e) if crate::error::code_of_error(&e) == Some(SUB_CANCEL_BAD_STATE) => {
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            let request = self
                .write(op, Method::DELETE, &["accounts", &id])?
                .query("cancelAllSubscriptions", "true");
            self.http.send_ok(request).await?;
            Ok(())
        })
        .await
    }

    async fn list_accounts(&self, page: &PageRequest) -> Result<Page<Customer>> {
        let op = Operation::ListCustomers;
        let offset = OffsetPage::of(page)?;
        let request = self
            .request(op, Method::GET, &["accounts", "pagination"])?
            .query("offset", offset.offset.to_string())
            .query("limit", offset.limit.to_string());
        let response = self.http.send_ok(request).await?;
        let values: Vec<serde_json::Value> = response.json()?;
        let received = values.len();
        let mut accounts = Vec::with_capacity(received);
        for raw in values {
            match wire::Account::deserialize(&raw) {
                Ok(a) if a.account_id.is_some() => accounts.push((a, raw)),
                _ => tracing::warn!(backend = NAME, "skipping an AccountJson without accountId"),
            }
        }
        self.remember_listed_accounts(accounts.iter().map(|(a, _)| a));
        let ids: Vec<String> = accounts
            .iter()
            .map(|(a, _)| a.account_id.clone().unwrap_or_default())
            .collect();
        let closed = ordered_fanout(ids, self.http.concurrency(), |id| async move {
            self.is_closed(op, &id).await
        })
        .await;
        let mut items = Vec::with_capacity(accounts.len());
        for ((account, raw), closed) in accounts.into_iter().zip(closed) {
            match convert::customer(&account, closed?, Some(raw)) {
                Ok(c) => items.push(c),
                // An account whose externalKey is not a valid key (made outside this library)
                // cannot be a Customer; the walk goes on without it.
                Err(e) => tracing::warn!(backend = NAME, error = %e, "skipping an account"),
            }
        }
        Ok(Page::new(
            items,
            offset.next(received, Some(&response.headers)),
        ))
    }
}

#[async_trait]
impl CustomerStore for KillBill {
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        self.create_account(new).await
    }

    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        let op = Operation::GetCustomer;
        let (account, raw, closed) = self.load_account(op, key).await?;
        convert::customer(&account, closed, Some(raw))
    }

    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        self.update_account(key, patch).await
    }

    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        self.close_account(key).await
    }

    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        self.list_accounts(page).await
    }
}
