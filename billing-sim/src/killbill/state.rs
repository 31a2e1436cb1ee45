//! The simulator's in-memory database: tenants, accounts (with their tags and blocking states),
//! bundles, subscriptions and usage rows, each scoped to a tenant as Kill Bill's tables are.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::catalog::KbCatalog;
use super::time::Clock;

/// Tag definition id of the AUTO_INVOICING_OFF control tag (observed on the real server; the
/// brief's `...0001` is AUTO_PAY_OFF).
pub(crate) const AUTO_INVOICING_OFF: &str = "00000000-0000-0000-0000-000000000002";

/// A tenant.
#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    pub(crate) id: Uuid,
    pub(crate) api_key: String,
    pub(crate) api_secret: String,
    pub(crate) external_key: Option<String>,
    /// The tenant's catalog: the start-up catalog for the tenants given at start-up and those
    /// created with `useGlobalDefault=true`, what it uploaded, or `None` (Kill Bill's empty
    /// template catalog) for a tenant created otherwise.
    pub(crate) catalog: Option<Arc<KbCatalog>>,
}

/// The mutable fields of an account (AccountJson without ids and computed values).
#[derive(Debug, Clone, Default)]
pub(crate) struct AccountData {
    pub(crate) name: Option<String>,
    pub(crate) first_name_length: Option<i32>,
    pub(crate) external_key: String,
    pub(crate) email: Option<String>,
    /// 0 means "not set yet".
    pub(crate) bill_cycle_day_local: i32,
    pub(crate) currency: Option<String>,
    pub(crate) parent_account_id: Option<Uuid>,
    pub(crate) is_payment_delegated_to_parent: bool,
    pub(crate) payment_method_id: Option<Uuid>,
    pub(crate) time_zone: String,
    pub(crate) address1: Option<String>,
    pub(crate) address2: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) company: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) locale: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) notes: Option<String>,
    pub(crate) is_migrated: Option<bool>,
}

/// A tag on an account.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub(crate) id: Uuid,
    pub(crate) definition_id: Uuid,
    pub(crate) definition_name: String,
}

/// A blocking state (account level, or a subscription's entitlement state).
#[derive(Debug, Clone)]
pub(crate) struct BlockingState {
    pub(crate) blocked_id: Uuid,
    pub(crate) state_name: String,
    pub(crate) service: String,
    pub(crate) block_change: bool,
    pub(crate) block_entitlement: bool,
    pub(crate) block_billing: bool,
    pub(crate) effective: DateTime<Utc>,
    /// ACCOUNT, SUBSCRIPTION_BUNDLE or SUBSCRIPTION.
    pub(crate) kind: &'static str,
}

/// An account.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) id: Uuid,
    pub(crate) tenant: Uuid,
    pub(crate) data: AccountData,
    pub(crate) reference_time: DateTime<Utc>,
    pub(crate) tags: Vec<Tag>,
    /// Account-level blocking states (CLOSE_ACCOUNT).
    pub(crate) blocking: Vec<BlockingState>,
}

impl Account {
    /// Whether the account carries the CLOSE_ACCOUNT blocking state.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed_at().is_some()
    }

    /// When the CLOSE_ACCOUNT blocking state took effect.
    pub(crate) fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.blocking
            .iter()
            .find(|b| b.state_name == "CLOSE_ACCOUNT")
            .map(|b| b.effective)
    }
}

/// A bundle.
#[derive(Debug, Clone)]
pub(crate) struct Bundle {
    pub(crate) id: Uuid,
    pub(crate) tenant: Uuid,
    pub(crate) account_id: Uuid,
    pub(crate) record_id: u64,
    pub(crate) external_key: String,
}

/// One plan of a subscription's timeline, effective from `effective`.
#[derive(Debug, Clone)]
pub(crate) struct PlanSegment {
    pub(crate) effective: DateTime<Utc>,
    pub(crate) plan: String,
    pub(crate) event_id: Uuid,
}

/// A cancellation: entitlement and billing end dates (either may be in the future).
#[derive(Debug, Clone)]
pub(crate) struct Cancellation {
    pub(crate) entitlement_end: DateTime<Utc>,
    pub(crate) billing_end: DateTime<Utc>,
    pub(crate) entitlement_event_id: Uuid,
    pub(crate) billing_event_id: Uuid,
}

/// A subscription (an entitlement, in Kill Bill's words).
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub(crate) id: Uuid,
    pub(crate) tenant: Uuid,
    pub(crate) account_id: Uuid,
    pub(crate) bundle_id: Uuid,
    pub(crate) external_key: String,
    pub(crate) entitlement_start: DateTime<Utc>,
    pub(crate) billing_start: DateTime<Utc>,
    /// Created with `migrated=true` (source type `MIGRATED`).
    pub(crate) migrated: bool,
    /// Bill-cycle day, once a recurring plan set it (a usage-only plan leaves it unset).
    pub(crate) bcd: Option<u32>,
    /// The account's reference time of day (dates become instants at this time).
    pub(crate) reference_tod: NaiveTime,
    pub(crate) quantity: i32,
    /// The tenant's catalog, where the plans are looked up (replaced when the tenant uploads
    /// a new version).
    pub(crate) catalog: Arc<KbCatalog>,
    /// First element: the plan at creation; later ones: changes (possibly in the future).
    pub(crate) plans: Vec<PlanSegment>,
    pub(crate) cancellation: Option<Cancellation>,
    pub(crate) start_entitlement_event_id: Uuid,
    pub(crate) start_billing_event_id: Uuid,
}

/// One stored usage row (`rolled_up_usage`).
#[derive(Debug, Clone)]
pub(crate) struct UsageRow {
    pub(crate) unit_type: String,
    pub(crate) record_date: DateTime<Utc>,
    pub(crate) amount: Decimal,
    pub(crate) tracking_id: String,
}

/// All stored data.
#[derive(Debug, Default)]
pub(crate) struct Db {
    pub(crate) tenants: Vec<Tenant>,
    pub(crate) accounts: HashMap<Uuid, Account>,
    /// Account ids per tenant, in creation order (the pagination order).
    pub(crate) account_order: HashMap<Uuid, Vec<Uuid>>,
    /// (tenant, externalKey) -> account id.
    pub(crate) account_keys: HashMap<(Uuid, String), Uuid>,
    pub(crate) bundles: HashMap<Uuid, Bundle>,
    /// Bundle ids per account, in creation order.
    pub(crate) account_bundles: HashMap<Uuid, Vec<Uuid>>,
    pub(crate) subscriptions: HashMap<Uuid, Subscription>,
    /// Subscription ids per bundle, in creation order.
    pub(crate) bundle_subscriptions: HashMap<Uuid, Vec<Uuid>>,
    /// (tenant, externalKey) -> subscription id: the `subscriptions_external_key` unique index.
    pub(crate) subscription_keys: HashMap<(Uuid, String), Uuid>,
    /// Usage rows per subscription, in insertion order.
    pub(crate) usage: HashMap<Uuid, Vec<UsageRow>>,
    /// (subscription, trackingId) pairs already used.
    pub(crate) tracking_ids: HashSet<(Uuid, String)>,
    pub(crate) usage_rows: usize,
    pub(crate) next_record_id: u64,
    /// Issued invoices, in issue order.
    pub(crate) invoices: Vec<super::invoices::Invoice>,
    /// How far each subscription has been invoiced.
    pub(crate) invoiced: HashMap<Uuid, super::invoices::Invoiced>,
}

impl Db {
    /// The next record id (Kill Bill's auto-increment `record_id`).
    pub(crate) fn record_id(&mut self) -> u64 {
        self.next_record_id += 1;
        self.next_record_id
    }

    /// A tenant by API key and secret.
    pub(crate) fn tenant_by_credentials(&self, api_key: &str, api_secret: &str) -> Option<&Tenant> {
        self.tenants
            .iter()
            .find(|t| t.api_key == api_key && t.api_secret == api_secret)
    }

    /// A tenant by id.
    pub(crate) fn tenant(&self, id: Uuid) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id == id)
    }

    /// The catalog of a tenant (`None`: Kill Bill's empty template catalog).
    pub(crate) fn catalog_of(&self, tenant: Uuid) -> Option<Arc<KbCatalog>> {
        self.tenant(tenant).and_then(|t| t.catalog.clone())
    }

    /// An account of `tenant` by id.
    pub(crate) fn account(&self, tenant: Uuid, id: Uuid) -> Option<&Account> {
        self.accounts.get(&id).filter(|a| a.tenant == tenant)
    }

    /// A mutable account of `tenant` by id.
    pub(crate) fn account_mut(&mut self, tenant: Uuid, id: Uuid) -> Option<&mut Account> {
        self.accounts.get_mut(&id).filter(|a| a.tenant == tenant)
    }

    /// A subscription of `tenant` by id.
    pub(crate) fn subscription(&self, tenant: Uuid, id: Uuid) -> Option<&Subscription> {
        self.subscriptions.get(&id).filter(|s| s.tenant == tenant)
    }

    /// The subscriptions of a bundle, in creation order.
    pub(crate) fn subscriptions_of_bundle(&self, bundle: Uuid) -> Vec<&Subscription> {
        self.bundle_subscriptions
            .get(&bundle)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.subscriptions.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The bundles of an account, in creation order.
    pub(crate) fn bundles_of_account(&self, account: Uuid) -> Vec<&Bundle> {
        self.account_bundles
            .get(&account)
            .map(|ids| ids.iter().filter_map(|id| self.bundles.get(id)).collect())
            .unwrap_or_default()
    }
}

/// The shared state of a running simulator.
#[derive(Debug, Clone)]
pub(crate) struct Sim {
    db: Arc<Mutex<Db>>,
    /// The simulated clock.
    pub(crate) clock: Clock,
    /// The start-up catalog: the global default catalog of `useGlobalDefault=true` tenants.
    pub(crate) default_catalog: Arc<KbCatalog>,
}

impl Sim {
    /// A database with `tenants` (API key, secret), each with `catalog`.
    pub(crate) fn seeded(tenants: &[(String, String)], catalog: Arc<KbCatalog>) -> Self {
        let sim = Self {
            db: Arc::new(Mutex::new(Db::default())),
            clock: Clock::real_time(),
            default_catalog: catalog,
        };
        sim.reset_data(tenants);
        sim
    }

    /// Forgets everything but `tenants`, which get the start-up catalog.
    pub(crate) fn reset_data(&self, tenants: &[(String, String)]) {
        let mut db = Db::default();
        for (api_key, api_secret) in tenants {
            db.tenants.push(Tenant {
                id: Uuid::new_v4(),
                api_key: api_key.clone(),
                api_secret: api_secret.clone(),
                external_key: None,
                catalog: Some(self.default_catalog.clone()),
            });
        }
        *self.db() = db;
    }

    /// Locks the database.
    pub(crate) fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
