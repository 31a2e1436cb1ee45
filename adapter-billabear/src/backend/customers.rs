//! Customers: the key lives in `reference` (mirrored in metadata), lookups go through the
//! reference filter, updates are GET-merge-PUT, delete disables.

use async_trait::async_trait;
use billing_core::{
    Customer, CustomerKey, CustomerPatch, CustomerStore, Error, Metadata, NewCustomer, Operation,
    Page, PageRequest, Result,
};
use billing_http::{Method, decode_value, ordered_fanout};
use serde_json::{Value, json};

use super::{BillaBear, METADATA_LIMITS};
use crate::convert;
use crate::pager;
use crate::wire;

impl BillaBear {
    fn check_metadata(metadata: &Metadata) -> Result<()> {
        METADATA_LIMITS.check(metadata)?;
        convert::check_user_metadata(metadata)
    }

    async fn create_customer_inner(&self, new: &NewCustomer) -> Result<Customer> {
        let op = Operation::CreateCustomer;
        new.validate()?;
        let email = new.email.as_deref().ok_or_else(|| {
            Error::invalid_input("BillaBear requires an email address for every customer")
        })?;
        Self::check_metadata(&new.metadata)?;
        // BillaBear enforces no uniqueness on `reference`: look first, never create a second
        // (through this backend; see `Capabilities::customer_writes_atomic`).
        let _key = self.customer_locks.lock(&new.key).await;
        if self.customers.get(&new.key).is_some()
            || self.find_customer(op, &new.key).await?.is_some()
        {
            return Err(Error::already_exists(format!(
                "customer `{}` already exists",
                new.key
            )));
        }
        let body = wire::NewCustomer {
            email,
            name: new.name.as_deref(),
            reference: new.key.as_str(),
            metadata: convert::customer_metadata(&new.key, new.currency, &new.metadata),
        };
        let raw: Value = self
            .send_json(op, Method::POST, &["customer"], &body)
            .await?
            .json()?;
        let w: wire::Customer = decode_value(&raw, "BillaBear customer")?;
        self.customers.insert(new.key.clone(), w.id.clone());
        convert::customer(&w, raw)
    }

    async fn update_customer_inner(
        &self,
        key: &CustomerKey,
        patch: &CustomerPatch,
    ) -> Result<Customer> {
        let op = Operation::UpdateCustomer;
        patch.validate()?;
        if let Some(m) = &patch.metadata {
            Self::check_metadata(m)?;
        }
        let current = self.customer_record(op, key).await?;
        if patch.is_empty() {
            return convert::customer(&current.wire, current.raw);
        }
        // PUT replaces the whole record: send the current one with the patch applied.
        let body = convert::update_body(&current.raw, key, patch)?;
        let raw: Value = self
            .send_json(op, Method::PUT, &["customer", &current.wire.id], &body)
            .await?
            .json()?;
        convert::customer(&decode_value(&raw, "BillaBear customer")?, raw)
    }

    async fn delete_customer_inner(&self, key: &CustomerKey) -> Result<()> {
        let op = Operation::DeleteCustomer;
        let customer = self.customer_record(op, key).await?;
        let id = customer.wire.id.as_str();
        // Disabling does not end subscriptions in BillaBear: cancel every one still running.
        let list: wire::List<wire::Subscription> = self
            .get_as(
                op,
                &["customer", id, "subscription"],
                Vec::new(),
                "subscription list",
            )
            .await?;
        let running: Vec<String> = list
            .data
            .into_iter()
            .filter(|s| s.status != "cancelled")
            .map(|s| s.id)
            .collect();
        let results = ordered_fanout(running, self.concurrency(), |sub_id| async move {
            let body = wire::Cancel {
                when: "instantly",
                refund_type: "none",
            };
            self.send_json(
                op,
                Method::POST,
                &["subscription", &sub_id, "cancel"],
                &body,
            )
            .await
            .map(|_| ())
        })
        .await;
        results.into_iter().collect::<Result<Vec<()>>>()?;
        if customer.wire.status.as_deref() != Some("disabled") {
            self.send_json(op, Method::POST, &["customer", id, "disable"], &json!({}))
                .await?;
        }
        Ok(())
    }

    async fn list_customers_inner(&self, page: &PageRequest) -> Result<Page<Customer>> {
        let op = Operation::ListCustomers;
        let query = pager::page_query(page)?;
        let list: wire::List<Value> = self
            .get_as(op, &["customer"], query.params("limit"), "customer list")
            .await?;
        let next = pager::next_cursor(&list)?;
        let mut items = Vec::with_capacity(list.data.len());
        let mut ids = Vec::with_capacity(list.data.len());
        for raw in list.data {
            let w: wire::Customer = decode_value(&raw, "BillaBear customer")?;
            // Customers created outside this library have no key: they are not listed.
            let Some(key) = convert::customer_key_of(&w) else {
                continue;
            };
            if w.reference.as_deref() == Some(key.as_str()) {
                ids.push((key, w.id.clone()));
            }
            items.push(convert::customer(&w, raw)?);
        }
        // The page's ids, in the cache's page-sized part (a walk keeps one page of them).
        self.customers.insert_listed(ids);
        Ok(Page::new(items, next))
    }
}

#[async_trait]
impl CustomerStore for BillaBear {
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        self.create_customer_inner(new).await
    }

    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        let op = Operation::GetCustomer;
        async {
            let r = self.customer_record(op, key).await?;
            convert::customer(&r.wire, r.raw)
        }
        .await
    }

    async fn update_customer(&self, key: &CustomerKey, patch: &CustomerPatch) -> Result<Customer> {
        self.update_customer_inner(key, patch).await
    }

    async fn delete_customer(&self, key: &CustomerKey) -> Result<()> {
        self.delete_customer_inner(key).await
    }

    async fn list_customers(&self, page: &PageRequest) -> Result<Page<Customer>> {
        self.list_customers_inner(page).await
    }
}
