#![no_main]
//! BillaBear's error bodies: validation maps, `reason`/`error` objects, `[]`, Symfony pages.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    billing_fuzz::exercise("billabear", &adapter_billabear::BillaBearErrors, data);
});
