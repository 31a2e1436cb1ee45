//! # billing-conformance
//!
//! One set of behavioural scenarios, run unchanged against every backend: the in-memory one,
//! each adapter against its simulator, and real servers when configured. Each scenario is a
//! plain async function over a [`Ctx`] (which holds a `&dyn BillingBackend`) and checks one
//! sentence of the `# Behavior` sections of the traits. Capabilities gate them: a `true` flag
//! means the behaviour must hold, a `false` flag means the call must return `Unsupported` before
//! any request. Nothing is skipped: a case whose prerequisite is missing (a real server, the
//! vendors' API descriptions) is compiled as ignored (see `build.rs`), and with `CI=true` a
//! missing prerequisite fails the run (`tests/prerequisites.rs`).
//!
//! Every key carries a random run prefix, so runs never collide with data already on a server.
#![deny(missing_docs)]
// This crate is test support: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ctx;

pub mod bad_input;
pub mod customers;
pub mod errors;
pub mod hostile;
pub mod killbill_server;
pub mod malformed;
pub mod outbox;
pub mod postgres;
pub mod routes;
pub mod sims;
pub mod soak;
pub mod spec;
pub mod start_dates;
pub mod subscriptions;
pub mod traces;
pub mod usage;

pub use ctx::{Ctx, RequestCounter, assert_kind, dec};

/// The workspace README's Rust code, compiled (and run unless marked `no_run`) as doctests, so
/// the tour and the layer example stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// A scenario: an async check over a context.
pub type Scenario = for<'a> fn(&'a Ctx) -> futures::future::BoxFuture<'a, ()>;

/// Every scenario, with its name.
pub fn all() -> Vec<(&'static str, Scenario)> {
    vec![
        ("customer_create_and_get", customers::create_and_get),
        (
            "customer_concurrent_creates_one_wins",
            customers::concurrent_creates_one_wins,
        ),
        (
            "customer_duplicate_key_already_exists",
            customers::duplicate_key_already_exists,
        ),
        (
            "customer_get_missing_not_found",
            customers::get_missing_not_found,
        ),
        ("customer_partial_update", customers::partial_update),
        (
            "customer_empty_patch_changes_nothing",
            customers::empty_patch_changes_nothing,
        ),
        (
            "customer_update_missing_not_found",
            customers::update_missing_not_found,
        ),
        (
            "customer_metadata_round_trip_and_limits",
            customers::metadata_round_trip_and_limits,
        ),
        ("customer_delete", customers::delete),
        (
            "customer_delete_missing_not_found",
            customers::delete_missing_not_found,
        ),
        ("customer_list_every_page", customers::list_every_page),
        (
            "customer_list_is_stable_under_inserts",
            customers::list_is_stable_under_inserts,
        ),
        (
            "customer_list_bad_limit_invalid_input",
            customers::list_bad_limit_invalid_input,
        ),
        (
            "customer_ensure_is_get_or_create",
            customers::ensure_is_get_or_create,
        ),
        ("subscription_create_and_get", subscriptions::create_and_get),
        (
            "subscription_unknown_customer_not_found",
            subscriptions::unknown_customer_not_found,
        ),
        (
            "subscription_unknown_plan_not_found",
            subscriptions::unknown_plan_not_found,
        ),
        (
            "subscription_duplicate_key_already_exists",
            subscriptions::duplicate_key_already_exists,
        ),
        (
            "subscription_get_missing_not_found",
            subscriptions::get_missing_not_found,
        ),
        (
            "subscription_list_for_customer",
            subscriptions::list_for_customer,
        ),
        (
            "subscription_list_unknown_customer_not_found",
            subscriptions::list_unknown_customer_not_found,
        ),
        (
            "subscription_ensure_is_get_or_create",
            subscriptions::ensure_is_get_or_create,
        ),
        ("subscription_cancel_now", subscriptions::cancel_now),
        (
            "subscription_cancel_at_period_end",
            subscriptions::cancel_at_period_end,
        ),
        (
            "subscription_cancel_twice_is_idempotent",
            subscriptions::cancel_twice_is_idempotent,
        ),
        (
            "subscription_change_plan_now",
            subscriptions::change_plan_now,
        ),
        (
            "subscription_change_plan_at_period_end",
            subscriptions::change_plan_at_period_end,
        ),
        (
            "subscription_change_plan_vendor_default",
            subscriptions::change_plan_vendor_default,
        ),
        (
            "subscription_change_plan_errors",
            subscriptions::change_plan_errors,
        ),
        (
            "subscription_past_start_keeps_started_at",
            start_dates::past_start_keeps_started_at,
        ),
        (
            "subscription_billing_anchor_ends_the_lead_in",
            start_dates::billing_anchor_ends_the_lead_in,
        ),
        (
            "subscription_future_start_is_pending",
            start_dates::future_start_is_pending,
        ),
        (
            "subscription_anchor_before_start_is_invalid",
            start_dates::anchor_before_start_is_invalid,
        ),
        (
            "usage_record_single_and_read",
            usage::record_single_and_read,
        ),
        (
            "usage_batch_outcomes_in_order",
            usage::batch_outcomes_in_order,
        ),
        (
            "usage_duplicate_event_counted_once",
            usage::duplicate_event_counted_once,
        ),
        (
            "usage_decimal_sums_are_exact",
            usage::decimal_sums_are_exact,
        ),
        ("usage_metric_filter_lines", usage::metric_filter_lines),
        ("usage_range_query", usage::range_query),
        ("usage_unknown_subscription", usage::unknown_subscription),
        ("usage_unknown_metric", usage::unknown_metric),
        (
            "usage_large_batch_is_chunked",
            usage::large_batch_is_chunked,
        ),
        ("usage_per_subscription", usage::per_subscription),
        (
            "usage_amounts_follow_the_capability",
            usage::amounts_follow_the_capability,
        ),
        ("usage_backdated_events", usage::backdated_events),
        ("usage_unsupported_periods", usage::unsupported_periods),
        ("bad_keys_are_invalid", bad_input::bad_keys_are_invalid),
        (
            "bad_special_character_keys_round_trip",
            bad_input::special_character_keys_round_trip,
        ),
        ("bad_customer_fields", bad_input::bad_customer_fields),
        ("bad_quantities", bad_input::bad_quantities),
        (
            "errors_name_backend_and_operation",
            errors::errors_name_backend_and_operation,
        ),
        ("errors_name_the_key", errors::errors_name_the_key),
    ]
}

/// Generates one rstest case per scenario, each building a fresh context with `$make` (an async
/// expression yielding a [`Ctx`]). Attributes after it go on every case: an opt-in tier passes
/// `#[cfg_attr(not(...), ignore = "why")]`, so a case that cannot run is reported as ignored,
/// never as passed. Use once per backend (or per module), in a test file of this crate.
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr $(, #[$attr:meta])* $(,)?) => {
        #[rstest::rstest]
        #[case::customer_create_and_get($crate::customers::create_and_get)]
        #[case::customer_concurrent_creates_one_wins(
            $crate::customers::concurrent_creates_one_wins
        )]
        #[case::customer_duplicate_key_already_exists(
            $crate::customers::duplicate_key_already_exists
        )]
        #[case::customer_get_missing_not_found($crate::customers::get_missing_not_found)]
        #[case::customer_partial_update($crate::customers::partial_update)]
        #[case::customer_empty_patch_changes_nothing(
            $crate::customers::empty_patch_changes_nothing
        )]
        #[case::customer_update_missing_not_found($crate::customers::update_missing_not_found)]
        #[case::customer_metadata_round_trip_and_limits(
            $crate::customers::metadata_round_trip_and_limits
        )]
        #[case::customer_delete($crate::customers::delete)]
        #[case::customer_delete_missing_not_found($crate::customers::delete_missing_not_found)]
        #[case::customer_list_every_page($crate::customers::list_every_page)]
        #[case::customer_list_is_stable_under_inserts(
            $crate::customers::list_is_stable_under_inserts
        )]
        #[case::customer_list_bad_limit_invalid_input(
            $crate::customers::list_bad_limit_invalid_input
        )]
        #[case::customer_ensure_is_get_or_create($crate::customers::ensure_is_get_or_create)]
        #[case::subscription_create_and_get($crate::subscriptions::create_and_get)]
        #[case::subscription_unknown_customer_not_found(
            $crate::subscriptions::unknown_customer_not_found
        )]
        #[case::subscription_unknown_plan_not_found($crate::subscriptions::unknown_plan_not_found)]
        #[case::subscription_duplicate_key_already_exists(
            $crate::subscriptions::duplicate_key_already_exists
        )]
        #[case::subscription_get_missing_not_found($crate::subscriptions::get_missing_not_found)]
        #[case::subscription_list_for_customer($crate::subscriptions::list_for_customer)]
        #[case::subscription_list_unknown_customer_not_found(
            $crate::subscriptions::list_unknown_customer_not_found
        )]
        #[case::subscription_ensure_is_get_or_create(
            $crate::subscriptions::ensure_is_get_or_create
        )]
        #[case::subscription_cancel_now($crate::subscriptions::cancel_now)]
        #[case::subscription_cancel_at_period_end($crate::subscriptions::cancel_at_period_end)]
        #[case::subscription_cancel_twice_is_idempotent(
            $crate::subscriptions::cancel_twice_is_idempotent
        )]
        #[case::subscription_change_plan_now($crate::subscriptions::change_plan_now)]
        #[case::subscription_change_plan_at_period_end(
            $crate::subscriptions::change_plan_at_period_end
        )]
        #[case::subscription_change_plan_vendor_default(
            $crate::subscriptions::change_plan_vendor_default
        )]
        #[case::subscription_change_plan_errors($crate::subscriptions::change_plan_errors)]
        #[case::subscription_past_start_keeps_started_at(
            $crate::start_dates::past_start_keeps_started_at
        )]
        #[case::subscription_billing_anchor_ends_the_lead_in(
            $crate::start_dates::billing_anchor_ends_the_lead_in
        )]
        #[case::subscription_future_start_is_pending($crate::start_dates::future_start_is_pending)]
        #[case::subscription_anchor_before_start_is_invalid(
            $crate::start_dates::anchor_before_start_is_invalid
        )]
        #[case::usage_record_single_and_read($crate::usage::record_single_and_read)]
        #[case::usage_batch_outcomes_in_order($crate::usage::batch_outcomes_in_order)]
        #[case::usage_duplicate_event_counted_once($crate::usage::duplicate_event_counted_once)]
        #[case::usage_decimal_sums_are_exact($crate::usage::decimal_sums_are_exact)]
        #[case::usage_metric_filter_lines($crate::usage::metric_filter_lines)]
        #[case::usage_range_query($crate::usage::range_query)]
        #[case::usage_unknown_subscription($crate::usage::unknown_subscription)]
        #[case::usage_unknown_metric($crate::usage::unknown_metric)]
        #[case::usage_large_batch_is_chunked($crate::usage::large_batch_is_chunked)]
        #[case::usage_per_subscription($crate::usage::per_subscription)]
        #[case::usage_amounts_follow_the_capability($crate::usage::amounts_follow_the_capability)]
        #[case::usage_backdated_events($crate::usage::backdated_events)]
        #[case::usage_unsupported_periods($crate::usage::unsupported_periods)]
        #[case::bad_keys_are_invalid($crate::bad_input::bad_keys_are_invalid)]
        #[case::bad_special_character_keys_round_trip(
            $crate::bad_input::special_character_keys_round_trip
        )]
        #[case::bad_customer_fields($crate::bad_input::bad_customer_fields)]
        #[case::bad_quantities($crate::bad_input::bad_quantities)]
        #[case::errors_name_backend_and_operation(
            $crate::errors::errors_name_backend_and_operation
        )]
        #[case::errors_name_the_key($crate::errors::errors_name_the_key)]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn conformance(#[case] scenario: $crate::Scenario) {
            let ctx: $crate::Ctx = $make.await;
            scenario(&ctx).await;
        }
    };
}
