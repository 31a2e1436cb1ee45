//! Bulk seeding for benchmarks: many customers at once, without an HTTP request each.

use serde_json::json;

use super::BillaBearSim;
use super::state::{Address, Customer};

impl BillaBearSim {
    /// Adds `count` customers with references `<prefix><n>` (`n` zero-padded to 7 digits),
    /// each with a name, an email and the metadata the billing adapter writes (`billing.key`,
    /// `billing.currency` USD), as `POST /customer` would store them (with a default card when
    /// the configuration gives customers one).
    pub fn seed_customers(&self, count: usize, prefix: &str) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for n in 0..count {
            let reference = format!("{prefix}{n:07}");
            let id = uuid::Uuid::new_v4().to_string();
            let hex = uuid::Uuid::new_v4().simple().to_string();
            let mut customer = Customer {
                id: id.clone(),
                name: Some(format!("Customer {n}")),
                email: format!("{reference}@example.com"),
                reference: Some(reference.clone()),
                external_reference: format!("cus_{}", &hex[..14]),
                address: Address::default(),
                status: "new".to_owned(),
                brand: "default".to_owned(),
                locale: "en".to_owned(),
                billing_type: "card".to_owned(),
                tax_number: None,
                standard_tax_rate: None,
                customer_type: "individual".to_owned(),
                invoice_format: None,
                marketing_opt_in: false,
                metadata: json!({"billing.key": reference, "billing.currency": "USD"}),
                default_card: None,
            };
            if state.config.customers_have_default_card {
                let card = uuid::Uuid::new_v4().to_string();
                state.cards.insert(card.clone(), id.clone());
                customer.default_card = Some(card);
            }
            state.customers.insert(id, customer);
        }
    }
}
