//! [`CustomerStore`] for Lago.

use async_trait::async_trait;
use billing_core::{
    Customer, CustomerKey, CustomerPatch, CustomerStore, Error, NewCustomer, Operation, Page,
    PageRequest, Result,
};
use billing_http::{ApiRequest, Idempotency, Method, ordered_fanout};
use serde_json::Value;

use super::{Lago, METADATA_LIMITS};
use crate::convert;
use crate::pager::{self, CustomerCursor, MAX_PER_PAGE, Position};
use crate::wire;

impl Lago {
    /// `POST /customers` (an upsert, so safe to resend) and the customer it returns.
    async fn upsert_customer(&self, input: wire::CustomerInput, op: Operation) -> Result<Customer> {
        let request = ApiRequest::new(op, Method::POST, self.url(&["customers"])?)
            .json(&wire::CustomerBody { customer: input })?
            .idempotency(Idempotency::Idempotent);
        let envelope: wire::CustomerEnvelope = self.client.send_ok(request).await?.json()?;
        convert::customer(envelope.customer)
    }

    /// Terminates the customer's active subscriptions and cancels its pending ones, so they end
    /// now rather than in Lago's background job after the delete.
    ///
    /// # Errors
    /// `NotFound` if the customer does not exist.
    async fn end_subscriptions_of(&self, key: &CustomerKey, op: Operation) -> Result<()> {
        let filters = [
            ("status[]", "active".to_owned()),
            ("status[]", "pending".to_owned()),
        ];
        let mut rows = Vec::new();
        let mut position = Position {
            page: 1,
            per_page: MAX_PER_PAGE,
        };
        loop {
            let list: wire::SubscriptionList = pager::fetch(
                &self.client,
                op,
                pager::Route::Nested,
                self.customer_url(key, &["subscriptions"])?,
                &filters,
                position,
            )
            .await?;
            for raw in &list.subscriptions {
                rows.push(convert::subscription_row(raw)?);
            }
            match list.meta.next_page {
                Some(next) if next > position.page => position.page = next,
                _ => break,
            }
        }
        // A scheduled downgrade (pending, with a previous plan) ends with its active row.
        let targets: Vec<(String, bool)> = rows
            .iter()
            .filter(|r| r.status == "active" || convert::is_representative(r))
            .map(|r| (r.external_id.clone(), r.status == "pending"))
            .collect();
        let results = ordered_fanout(
            targets,
            self.client.concurrency(),
            |(id, pending)| async move {
                let mut request =
                    ApiRequest::new(op, Method::DELETE, self.url(&["subscriptions", &id])?);
                if pending {
                    request = request.query("status", "pending");
                }
                let response = self.client.send(request).await?;
                // 404: it ended meanwhile.
                if response.is_success() || response.status.as_u16() == 404 {
                    Ok(())
                } else {
                    Err(self.client.error(op, &response))
                }
            },
        )
        .await;
        results.into_iter().collect()
    }
}

#[async_trait]
impl CustomerStore for Lago {
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        let op = Operation::CreateCustomer;
        new.validate()?;
        METADATA_LIMITS.check(&new.metadata)?;
        // POST /customers would overwrite an existing customer: check first, one create,
        // update or delete of a key at a time through this backend. Lago has no create-only
        // call, so another process can still win the race (`customer_writes_atomic` is false).
        let _key = self.customer_locks.lock(&new.key).await;
        if self.find_customer(&new.key, op).await?.is_some() {
            return Err(Error::already_exists(format!(
                "a customer with key `{}` exists",
                new.key
            )));
        }
        self.upsert_customer(convert::create_input(new), op).await
    }

    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        let op = Operation::GetCustomer;
        self.find_customer(key, op)
            .await?
            .ok_or_else(|| Error::not_found(format!("no customer `{key}`")))
    }

    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        let op = Operation::UpdateCustomer;
        patch.validate()?;
        if let Some(metadata) = &patch.metadata {
            METADATA_LIMITS.check(metadata)?;
        }
        // Read first: the upsert would create a missing customer, and metadata entries keep
        // their ids only if we send them.
        let _key = self.customer_locks.lock(key).await;
        let current = self
            .find_customer(key, op)
            .await?
            .ok_or_else(|| Error::not_found(format!("no customer `{key}`")))?;
        let Some(input) = convert::patch_input(&current, patch) else {
            return Ok(current);
        };
        let updated = self.upsert_customer(input, op).await?;
        if updated.vendor_id != current.vendor_id {
            // The customer read a moment ago was deleted meanwhile (by another process: this
            // backend holds the key), and the upsert created a new one under the key.
            return Err(Error::conflict(format!(
                "customer `{key}` was deleted while it was being updated; the update created a \
                 new customer under the key (Lago id {}), which may need deleting",
                updated.vendor_id
            )));
        }
        Ok(updated)
    }

    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        let op = Operation::DeleteCustomer;
        let _key = self.customer_locks.lock(key).await;
        self.end_subscriptions_of(key, op).await.map_err(|e| {
            if e.is_not_found() {
                Error::not_found(format!("no customer `{key}`"))
            } else {
                e
            }
        })?;
        let request = ApiRequest::new(op, Method::DELETE, self.customer_url(key, &[])?);
        let response = self.client.send(request).await?;
        // The customer existed a moment ago (its subscriptions were just listed): a 404 here
        // means it is gone already, by a retried DELETE whose first answer was lost or by a
        // concurrent delete. Either way it is deleted.
        if response.is_success() || response.status.as_u16() == 404 {
            Ok(())
        } else {
            Err(self.client.error(op, &response))
        }
    }

    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        let op = Operation::ListCustomers;
        let cursor = CustomerCursor::from_request(page)?;
        let list: wire::CustomerList = pager::fetch(
            &self.client,
            op,
            pager::Route::Collection,
            self.url(&["customers"])?,
            &[],
            cursor.position,
        )
        .await?;
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let walked = pager::customer_page(&cursor, list.customers, list.meta.next_page, limit);
        let items = walked
            .items
            .into_iter()
            .filter_map(|raw: Value| match convert::customer(raw) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(target: "billing_lago", error = %e, "skipping a customer this library cannot represent");
                    None
                }
            })
            .collect();
        Ok(Page::new(items, walked.next))
    }
}
