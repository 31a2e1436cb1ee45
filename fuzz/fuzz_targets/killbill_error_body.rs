#![no_main]
//! Kill Bill's error bodies: `BillingExceptionJson`, servlet container HTML pages, empty bodies.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    billing_fuzz::exercise("killbill", &adapter_killbill::KillBillErrors, data);
});
