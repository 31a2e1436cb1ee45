#![no_main]
//! Lago's error bodies, and the per-event errors of a refused `POST /events/batch`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    billing_fuzz::exercise("lago", &adapter_lago::LagoErrors, data);
    let _ = adapter_lago::error::ErrorBody::parse(data);
    let _ = adapter_lago::error::batch_errors(data);
});
