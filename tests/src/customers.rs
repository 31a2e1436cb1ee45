//! Customer scenarios.

use std::collections::{BTreeMap, HashMap};

use billing::{
    BillingExt, CustomerDeletion, CustomerPatch, CustomerStatus, ErrorKind, MAX_PAGE_LIMIT,
    Metadata, PageRequest,
};
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};

use crate::ctx::{Ctx, assert_kind};

/// Create returns the stored customer; get returns the same fields.
pub fn create_and_get(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let new = ctx.new_customer("ada");
        let created = ctx.backend().create_customer(&new).await.unwrap();
        assert_eq!(created.key, new.key);
        assert_eq!(created.name, new.name);
        assert_eq!(created.email, new.email);
        assert_eq!(created.status, CustomerStatus::Active);
        assert!(!created.vendor_id.is_empty());
        let got = ctx.backend().get_customer(&new.key).await.unwrap();
        assert_eq!(got.key, new.key);
        assert_eq!(got.vendor_id, created.vendor_id);
        assert_eq!(got.name, new.name);
        assert_eq!(got.email, new.email);
        assert_eq!(got.currency, new.currency);
    })
}

/// Concurrent creates of one key through one backend: exactly one wins, the others are
/// `AlreadyExists`, and the stored customer is the winner's (whatever
/// `customer_writes_atomic` says about other processes).
pub fn concurrent_creates_one_wins(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let attempts: Vec<_> = (0..6)
            .map(|i| ctx.new_customer("race").name(format!("Racer {i}")))
            .collect();
        let results =
            futures::future::join_all(attempts.iter().map(|n| ctx.backend().create_customer(n)))
                .await;
        let winners: Vec<&billing::Customer> =
            results.iter().filter_map(|r| r.as_ref().ok()).collect();
        let summary: Vec<_> = results
            .iter()
            .map(|r| r.as_ref().map(|c| c.name.clone()).map_err(|e| e.kind()))
            .collect();
        assert_eq!(winners.len(), 1, "{summary:?}");
        for r in &results {
            if let Err(e) = r {
                assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
            }
        }
        let stored = ctx.backend().get_customer(&attempts[0].key).await.unwrap();
        assert_eq!(
            stored.name, winners[0].name,
            "the winner's fields, untouched"
        );
    })
}

/// A second create under the same key is `AlreadyExists` and leaves the first untouched.
pub fn duplicate_key_already_exists(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let first = ctx.create_customer("dup").await;
        let second = ctx.new_customer("dup").name("Someone Else");
        assert_kind(
            ctx.backend().create_customer(&second).await,
            ErrorKind::AlreadyExists,
        );
        let got = ctx.backend().get_customer(&first.key).await.unwrap();
        assert_eq!(
            got.name, first.name,
            "the existing customer is not overwritten"
        );
    })
}

/// Getting an unknown key is `NotFound`.
pub fn get_missing_not_found(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        assert_kind(
            ctx.backend()
                .get_customer(&ctx.customer_key("nobody"))
                .await,
            ErrorKind::NotFound,
        );
    })
}

/// An update changes exactly the fields it sets.
pub fn partial_update(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let c = ctx.create_customer("upd").await;
        let patch = CustomerPatch::new().email(format!("{}@example.org", ctx.key("new")));
        if !ctx.caps().customer_update {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend().update_customer(&c.key, &patch),
            )
            .await;
            return;
        }
        let updated = ctx.backend().update_customer(&c.key, &patch).await.unwrap();
        assert_eq!(updated.email, patch.email);
        assert_eq!(updated.name, c.name, "name untouched");
        assert_eq!(updated.currency, c.currency, "currency untouched");
        let got = ctx.backend().get_customer(&c.key).await.unwrap();
        assert_eq!(got.email, patch.email);
        assert_eq!(got.name, c.name);

        let renamed = ctx
            .backend()
            .update_customer(&c.key, &CustomerPatch::new().name("Renamed"))
            .await
            .unwrap();
        assert_eq!(renamed.name.as_deref(), Some("Renamed"));
        assert_eq!(
            renamed.email, patch.email,
            "email kept from the first patch"
        );
    })
}

/// An empty patch changes nothing.
pub fn empty_patch_changes_nothing(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let c = ctx.create_customer("noop").await;
        if !ctx.caps().customer_update {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend().update_customer(&c.key, &CustomerPatch::new()),
            )
            .await;
            return;
        }
        let same = ctx
            .backend()
            .update_customer(&c.key, &CustomerPatch::new())
            .await
            .unwrap();
        assert_eq!(
            (same.name, same.email, same.currency),
            (c.name, c.email, c.currency)
        );
    })
}

/// Updating an unknown key is `NotFound`.
pub fn update_missing_not_found(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        if !ctx.caps().customer_update {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend()
                    .update_customer(&ctx.customer_key("ghost"), &CustomerPatch::new().name("x")),
            )
            .await;
            return;
        }
        assert_kind(
            ctx.backend()
                .update_customer(&ctx.customer_key("ghost"), &CustomerPatch::new().name("X"))
                .await,
            ErrorKind::NotFound,
        );
    })
}

/// Metadata within the backend's limits round-trips; over the limits it is refused before any
/// request.
pub fn metadata_round_trip_and_limits(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let Some(limits) = ctx.caps().customer_metadata else {
            let new = ctx.new_customer("meta").metadata("plan", "gold");
            ctx.refused_before_sending(ErrorKind::Unsupported, ctx.backend().create_customer(&new))
                .await;
            return;
        };
        let new = ctx
            .new_customer("meta")
            .metadata("tier", "gold")
            .metadata("region", "eu-west");
        let created = ctx.backend().create_customer(&new).await.unwrap();
        assert_eq!(created.metadata, new.metadata);
        let got = ctx.backend().get_customer(&new.key).await.unwrap();
        assert_eq!(got.metadata, new.metadata);

        if ctx.caps().customer_update {
            let mut replaced = Metadata::new();
            replaced.insert("tier".into(), "platinum".into());
            let updated = ctx
                .backend()
                .update_customer(&new.key, &CustomerPatch::new().metadata(replaced.clone()))
                .await
                .unwrap();
            assert_eq!(
                updated.metadata, replaced,
                "metadata is replaced as a whole"
            );
            assert_eq!(
                ctx.backend().get_customer(&new.key).await.unwrap().metadata,
                replaced
            );
        }

        let mut too_many = BTreeMap::new();
        for i in 0..=limits.max_entries {
            too_many.insert(format!("k{i}"), "v".to_owned());
        }
        let mut over = ctx.new_customer("meta-over");
        over.metadata = too_many;
        ctx.refused_before_sending(
            ErrorKind::InvalidInput,
            ctx.backend().create_customer(&over),
        )
        .await;
        let long_key = ctx
            .new_customer("meta-key")
            .metadata("k".repeat(limits.max_key_chars + 1), "v");
        ctx.refused_before_sending(
            ErrorKind::InvalidInput,
            ctx.backend().create_customer(&long_key),
        )
        .await;
        let long_value = ctx
            .new_customer("meta-value")
            .metadata("k", "v".repeat(limits.max_value_chars + 1));
        ctx.refused_before_sending(
            ErrorKind::InvalidInput,
            ctx.backend().create_customer(&long_value),
        )
        .await;
    })
}

/// Delete removes or closes as `Capabilities::customer_delete` says, and ends subscriptions.
pub fn delete(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let sub = ctx.subscribed("del", ctx.starter()).await;
        let key = ctx.customer_key("del");
        let Some(mode) = ctx.caps().customer_delete else {
            ctx.refused_before_sending(ErrorKind::Unsupported, ctx.backend().delete_customer(&key))
                .await;
            return;
        };
        ctx.backend().delete_customer(&key).await.unwrap();
        let after = ctx.backend().get_subscription(&sub.key).await.unwrap();
        assert_eq!(
            after.status,
            billing::SubscriptionStatus::Canceled,
            "subscriptions end with the customer"
        );
        match mode {
            CustomerDeletion::Remove => {
                assert_kind(ctx.backend().get_customer(&key).await, ErrorKind::NotFound);
                assert_kind(
                    ctx.backend().delete_customer(&key).await,
                    ErrorKind::NotFound,
                );
                let again = ctx
                    .backend()
                    .create_customer(&ctx.new_customer("del"))
                    .await;
                assert!(again.is_ok(), "a removed key can be used again: {again:?}");
            }
            CustomerDeletion::Close => {
                let closed = ctx.backend().get_customer(&key).await.unwrap();
                assert_eq!(closed.status, CustomerStatus::Closed);
                ctx.backend().delete_customer(&key).await.unwrap();
                assert_kind(
                    ctx.backend()
                        .create_customer(&ctx.new_customer("del"))
                        .await,
                    ErrorKind::AlreadyExists,
                );
            }
        }
    })
}

/// Deleting an unknown key is `NotFound`.
pub fn delete_missing_not_found(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        if ctx.caps().customer_delete.is_none() {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend().delete_customer(&ctx.customer_key("ghost")),
            )
            .await;
            return;
        }
        assert_kind(
            ctx.backend()
                .delete_customer(&ctx.customer_key("ghost"))
                .await,
            ErrorKind::NotFound,
        );
    })
}

fn count_ours(ctx: &Ctx, keys: &[billing::CustomerKey]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for k in keys {
        if k.as_str().starts_with(ctx.prefix()) {
            *seen.entry(k.as_str().to_owned()).or_insert(0) += 1;
        }
    }
    seen
}

/// Walking every page yields each customer exactly once.
pub fn list_every_page(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let names: Vec<String> = (0..7).map(|i| format!("list{i}")).collect();
        for n in &names {
            ctx.create_customer(n).await;
        }
        let mut keys = Vec::new();
        let mut page = PageRequest::first(3);
        let mut pages = 0;
        loop {
            let p = ctx.backend().list_customers(&page).await.unwrap();
            assert!(p.items.len() <= 3, "a page holds at most `limit` items");
            keys.extend(p.items.into_iter().map(|c| c.key));
            pages += 1;
            match p.next {
                Some(next) => page = PageRequest::after(next, 3),
                None => break,
            }
            assert!(pages < 100_000, "pagination does not end");
        }
        let seen = count_ours(ctx, &keys);
        assert_eq!(seen.len(), names.len(), "no miss: {seen:?}");
        assert!(seen.values().all(|n| *n == 1), "no duplicate: {seen:?}");
    })
}

/// Customers created while a listing is in progress never make it repeat or skip the others.
pub fn list_is_stable_under_inserts(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        for i in 0..5 {
            ctx.create_customer(&format!("old{i}")).await;
        }
        let mut stream = ctx.backend().customers(2);
        let mut keys = Vec::new();
        let mut inserted = false;
        while let Some(c) = stream.next().await {
            keys.push(c.unwrap().key);
            if !inserted && keys.len() == 2 {
                for i in 0..3 {
                    ctx.create_customer(&format!("new{i}")).await;
                }
                inserted = true;
            }
        }
        let seen = count_ours(ctx, &keys);
        for i in 0..5 {
            assert_eq!(
                seen.get(&ctx.key(&format!("old{i}"))),
                Some(&1),
                "every customer that existed during the walk appears once: {seen:?}"
            );
        }
        assert!(seen.values().all(|n| *n == 1), "no duplicate: {seen:?}");
    })
}

/// Limits outside `1..=MAX_PAGE_LIMIT` are refused before any request.
pub fn list_bad_limit_invalid_input(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        for limit in [0, MAX_PAGE_LIMIT + 1] {
            ctx.refused_before_sending(
                ErrorKind::InvalidInput,
                ctx.backend().list_customers(&PageRequest::first(limit)),
            )
            .await;
        }
    })
}

/// `ensure_customer` creates once and then returns the existing customer unchanged.
pub fn ensure_is_get_or_create(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let new = ctx.new_customer("ensure");
        let first = ctx.backend().ensure_customer(&new).await.unwrap();
        let second = ctx
            .backend()
            .ensure_customer(&new.clone().name("Changed"))
            .await
            .unwrap();
        assert_eq!(first.vendor_id, second.vendor_id);
        assert_eq!(second.name, new.name, "an existing customer is not updated");
        let all: Vec<_> = ctx
            .backend()
            .customers(MAX_PAGE_LIMIT)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all.iter().filter(|c| c.key == new.key).count(), 1);
    })
}
