//! Every error names the backend it came from and the operation, whatever produced it: a check
//! before any request, the vendor's answer, or a rejected event of a batch.

use billing::{ErrorKind, EventOutcome, Operation, PageRequest, UsageQuery};
use futures::future::BoxFuture;

use crate::ctx::Ctx;

#[track_caller]
fn assert_context(ctx: &Ctx, e: &billing::Error, operation: Operation) {
    assert_eq!(e.backend(), Some(ctx.backend().info().name), "{e}");
    assert_eq!(e.operation(), Some(operation), "{e}");
}

/// Refusals before sending, vendor answers and rejected events all carry backend and operation.
pub fn errors_name_backend_and_operation(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        // Decided locally, before any request.
        let e = ctx
            .refused_before_sending(
                ErrorKind::InvalidInput,
                ctx.backend().list_customers(&PageRequest::first(0)),
            )
            .await;
        assert_context(ctx, &e, Operation::ListCustomers);
        // The vendor's answer (or the backend's lookup).
        let missing = ctx.customer_key("nobody");
        let e = ctx.backend().get_customer(&missing).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert_context(ctx, &e, Operation::GetCustomer);
        let e = ctx
            .backend()
            .usage(&UsageQuery::current(ctx.subscription_key("nothing")))
            .await
            .unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Unsupported),
            "{e}"
        );
        assert_context(ctx, &e, Operation::Usage);
        // A rejected event of a batch.
        let s = ctx.subscribed("ctx", ctx.starter()).await;
        let bad = ctx.event("neg", &s.key, ctx.api_calls(), "-1");
        let outcomes = ctx.backend().record_usage(&[bad]).await;
        let EventOutcome::Rejected(e) = &outcomes[0] else {
            panic!("a negative quantity is rejected: {outcomes:?}");
        };
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert_context(ctx, e, Operation::RecordUsage);
    })
}
