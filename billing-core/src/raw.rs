//! For backend and layer authors only: the helpers every adapter of this workspace shares, kept
//! out of the application-facing API (as OpenDAL keeps its `raw` module).
//!
//! Applications never need anything here: they build values with the domain types' own
//! constructors and call the traits.

use crate::customer::{Customer, NewCustomer};
use crate::error::Result;
use crate::page::{Cursor, PageRequest};

pub use crate::customer::{MAX_EMAIL_LEN, MAX_NAME_CHARS, validate_email};
pub use crate::ext::paginate;
pub use crate::key::validate_key;
pub use crate::outcomes::Outcomes;

/// Parses a cursor this backend made as a number (a page or an offset).
///
/// # Errors
/// `InvalidInput` if the cursor is not a number (it was not made by this backend).
pub fn cursor_number(cursor: &Cursor) -> Result<u64> {
    crate::page::cursor_number(cursor)
}

/// Checks a page request's limit and returns it capped at `backend_max` (the vendor's largest
/// page).
///
/// # Errors
/// `InvalidInput` if the limit is 0 or above [`crate::MAX_PAGE_LIMIT`].
pub fn page_limit(request: &PageRequest, backend_max: u32) -> Result<u32> {
    crate::page::page_limit(request, backend_max)
}

/// The customer a create returns when the vendor answers with no body: the fields sent, the
/// vendor's id, status `Active`, no raw JSON.
pub fn customer_from_new(new: &NewCustomer, vendor_id: impl Into<String>) -> Customer {
    Customer::from_new(new, vendor_id)
}
