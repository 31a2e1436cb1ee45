//! One page fetch (`page` / `per_page`, until `meta.next_page` is null) and the opaque cursors
//! that resume a walk.
//!
//! Lago lists customers newest first (`created_at DESC, id ASC`) with offset pagination, so a
//! customer created during a walk shifts every later page by one and the last item of a page
//! shows up again at the top of the next. The customer cursor therefore carries, besides the
//! page number and size, the position of the last item returned: its `created_at` (Lago shows
//! whole seconds) and the ids already returned with that same second. The next page drops every
//! item newer than that second and every id already returned in it, so nothing repeats; since
//! inserts only push unseen items later, nothing is skipped either. (A customer *deleted* during
//! a walk pulls later items one place earlier, and offset pagination cannot avoid skipping one;
//! that is Lago's limitation.)
//!
//! Cursor formats (opaque to callers, stable for checkpoints):
//! - customers: `c1.<page>.<per_page>` or `c1.<page>.<per_page>.<unix_secs>.<id>,<id>...`
//! - subscriptions: `s1.<page>.<per_page>`

use billing_core::{Cursor, Error, Operation, PageRequest, Result};
use billing_http::{ApiRequest, HttpClient, Method};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::convert::customer_position;

/// The most items asked for per page (Lago's own default; the server caps nothing).
pub const MAX_PER_PAGE: u32 = 100;

/// How many ids of one second a customer cursor remembers. Only the ids a shift can bring back
/// matter (at most one page's worth per insert), so this is generous.
pub const MAX_SEEN: usize = 1000;

/// Characters of a `lago_id` kept in a cursor: 64 bits of a UUID's hex digits.
const ID_PREFIX: usize = 16;

/// Where a walk stands: the next page to fetch and the page size it was counted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based page number.
    pub page: u64,
    /// Items per page.
    pub per_page: u32,
}

impl Position {
    /// The first page for a request, or where its cursor points, after checking both.
    ///
    /// # Errors
    /// `InvalidInput` for a limit outside `1..=MAX_PAGE_LIMIT` or a cursor of another kind.
    fn start(request: &PageRequest, kind: &str) -> Result<(Self, Vec<String>)> {
        let limit = billing_core::raw::page_limit(request, MAX_PER_PAGE)?;
        let Some(cursor) = &request.cursor else {
            return Ok((
                Self {
                    page: 1,
                    per_page: limit,
                },
                Vec::new(),
            ));
        };
        let bad =
            || Error::invalid_input(format!("cursor {:?} is not valid here", cursor.as_str()));
        let mut parts = cursor.as_str().split('.');
        if parts.next() != Some(kind) {
            return Err(bad());
        }
        let page = parts
            .next()
            .and_then(|p| p.parse::<u64>().ok())
            .filter(|p| (1..=u64::from(u32::MAX)).contains(p))
            .ok_or_else(bad)?;
        let per_page = parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| (1..=MAX_PER_PAGE).contains(p))
            .ok_or_else(bad)?;
        Ok((Self { page, per_page }, parts.map(str::to_owned).collect()))
    }

    fn encode(self, kind: &str) -> String {
        format!("{kind}.{}.{}", self.page, self.per_page)
    }
}

/// The cursor of a subscription listing.
///
/// # Errors
/// `InvalidInput` for a bad limit or a cursor this adapter did not make.
pub fn subscription_position(request: &PageRequest) -> Result<Position> {
    let (position, rest) = Position::start(request, "s1")?;
    if !rest.is_empty() {
        return Err(Error::invalid_input(
            "subscription cursor is not valid here",
        ));
    }
    Ok(position)
}

/// The cursor to the page after `position`, if Lago says there is one.
pub fn next_subscription_cursor(position: Position, next_page: Option<u64>) -> Option<Cursor> {
    next_page.map(|_| {
        Cursor::new(
            Position {
                page: position.page + 1,
                ..position
            }
            .encode("s1"),
        )
    })
}

/// The last position a customer walk returned: a `created_at` second and the ids already
/// returned with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    /// Unix seconds.
    pub created_at: i64,
    /// Prefixes of the `lago_id`s returned with this `created_at`.
    pub seen: Vec<String>,
}

/// A customer walk's cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCursor {
    /// The page to fetch.
    pub position: Position,
    /// What was returned last, if anything.
    pub boundary: Option<Boundary>,
}

impl CustomerCursor {
    /// Reads a request's cursor (or starts a walk).
    ///
    /// # Errors
    /// `InvalidInput` for a bad limit or a cursor this adapter did not make.
    pub fn from_request(request: &PageRequest) -> Result<Self> {
        let (position, rest) = Position::start(request, "c1")?;
        let bad = || Error::invalid_input("customer cursor is not valid here");
        let boundary = match rest.as_slice() {
            [] => None,
            [secs, ids] => {
                let created_at = secs.parse::<i64>().map_err(|_| bad())?;
                let seen: Vec<String> = ids
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if seen.len() > MAX_SEEN
                    || seen
                        .iter()
                        .any(|s| s.len() > ID_PREFIX || !s.chars().all(|c| c.is_ascii_hexdigit()))
                {
                    return Err(bad());
                }
                Some(Boundary { created_at, seen })
            }
            _ => return Err(bad()),
        };
        Ok(Self { position, boundary })
    }

    /// The opaque form.
    pub fn encode(&self) -> Cursor {
        let mut s = self.position.encode("c1");
        if let Some(b) = &self.boundary {
            s.push_str(&format!(".{}.{}", b.created_at, b.seen.join(",")));
        }
        Cursor::new(s)
    }
}

/// The cursor's form of a `lago_id`: its first hex digits, dashes removed, lower case.
fn fingerprint(lago_id: &str) -> String {
    lago_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .take(ID_PREFIX)
        .collect()
}

/// One page of a customer walk, after dropping what the cursor says was already returned.
#[derive(Debug)]
pub struct CustomerPage {
    /// The raw customers to return, in Lago's order.
    pub items: Vec<Value>,
    /// The next cursor, `None` at the end.
    pub next: Option<Cursor>,
}

/// Applies a cursor to the page Lago returned for it: drops items at or before the boundary,
/// keeps at most `limit`, and computes the next cursor (the same page again when the page had
/// more than `limit` new items, the next page when Lago has one, else the end).
pub fn customer_page(
    cursor: &CustomerCursor,
    page: Vec<Value>,
    next_page: Option<u64>,
    limit: usize,
) -> CustomerPage {
    let mut boundary = cursor.boundary.clone();
    let fresh: Vec<Value> = page
        .into_iter()
        .filter(|item| {
            let (created, id) = customer_position(item);
            let fp = fingerprint(&id);
            match (&cursor.boundary, created) {
                (None, _) => true,
                (Some(b), Some(c)) if c > b.created_at => false,
                (Some(b), Some(c)) if c == b.created_at => !b.seen.contains(&fp),
                (Some(b), None) => !b.seen.contains(&fp),
                (Some(_), Some(_)) => true,
            }
        })
        .collect();
    let truncated = fresh.len() > limit;
    let items: Vec<Value> = fresh.into_iter().take(limit).collect();
    for item in &items {
        let (created, id) = customer_position(item);
        let fp = fingerprint(&id);
        match (&mut boundary, created) {
            (Some(b), Some(c)) if c == b.created_at => b.seen.push(fp),
            (Some(b), None) => b.seen.push(fp),
            (_, Some(c)) => {
                boundary = Some(Boundary {
                    created_at: c,
                    seen: vec![fp],
                });
            }
            (None, None) => {}
        }
    }
    if let Some(b) = &mut boundary
        && b.seen.len() > MAX_SEEN
    {
        let extra = b.seen.len() - MAX_SEEN;
        b.seen.drain(..extra);
    }
    let position = cursor.position;
    let next_position = if truncated {
        Some(position)
    } else {
        next_page.map(|_| Position {
            page: position.page + 1,
            ..position
        })
    };
    let next = next_position.map(|position| {
        CustomerCursor {
            position,
            boundary: boundary.clone(),
        }
        .encode()
    });
    CustomerPage { items, next }
}

/// Which kind of list a request reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A top-level collection (`/customers`, `/subscriptions`, `/billable_metrics`), which Lago
    /// always routes: a 404 there, whatever its body, means `lago.base_url` is wrong (Lago's
    /// router answers a path it does not know with the same `resource_not_found` as a missing
    /// record).
    Collection,
    /// A list under an object (`/customers/{id}/subscriptions`): a 404 may mean the object is
    /// missing.
    Nested,
}

/// Fetches one page of a Lago list: `GET url?<filters>&page=&per_page=`.
///
/// # Errors
/// The mapped error of a failed request (for a [`Route::Collection`], a 404 is a `Config`
/// error naming `lago.base_url`); `Decode` if the body is not the list `T`.
pub async fn fetch<T: DeserializeOwned>(
    client: &HttpClient,
    operation: Operation,
    route: Route,
    url: Url,
    filters: &[(&str, String)],
    position: Position,
) -> Result<T> {
    let mut request = ApiRequest::new(operation, Method::GET, url);
    if route == Route::Collection {
        request = request.route_always_exists();
    }
    for (name, value) in filters {
        request = request.query(*name, value.clone());
    }
    let request = request
        .query("page", position.page.to_string())
        .query("per_page", position.per_page.to_string());
    client.send_ok(request).await?.json()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(secs: i64, id: &str) -> Value {
        let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
        json!({"lago_id": id, "external_id": id, "created_at": crate::convert::format_time(t)})
    }

    fn ids(items: &[Value]) -> Vec<&str> {
        items
            .iter()
            .map(|v| v["lago_id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn cursors_round_trip() {
        let first = CustomerCursor::from_request(&PageRequest::first(500)).unwrap();
        assert_eq!(
            first.position,
            Position {
                page: 1,
                per_page: 100
            }
        );
        assert!(first.boundary.is_none());
        let cursor = CustomerCursor {
            position: Position {
                page: 3,
                per_page: 20,
            },
            boundary: Some(Boundary {
                created_at: 1_700_000_000,
                seen: vec!["aa".into(), "0b".into()],
            }),
        };
        let encoded = cursor.encode();
        assert_eq!(encoded.as_str(), "c1.3.20.1700000000.aa,0b");
        let back = CustomerCursor::from_request(&PageRequest::after(encoded, 5)).unwrap();
        assert_eq!(back, cursor);
        let s = Cursor::new("s1.4.10");
        assert_eq!(
            subscription_position(&PageRequest::after(s, 10)).unwrap(),
            Position {
                page: 4,
                per_page: 10
            }
        );
        assert_eq!(
            next_subscription_cursor(
                Position {
                    page: 4,
                    per_page: 10
                },
                Some(5)
            )
            .unwrap()
            .as_str(),
            "s1.5.10"
        );
        assert!(
            next_subscription_cursor(
                Position {
                    page: 4,
                    per_page: 10
                },
                None
            )
            .is_none()
        );
    }

    #[test]
    fn foreign_cursors_are_invalid_input() {
        for bad in [
            "",
            "7",
            "c1",
            "c1.0.10",
            "c1.1.0",
            "c1.1.101",
            "c1.x.10",
            "c1.1.10.5",
            "c1.1.10.x.aa",
            "c1.1.10.5.zz",
            "s1.1.10",
            "c1.1.10.5.aa.extra",
        ] {
            let e = CustomerCursor::from_request(&PageRequest::after(Cursor::new(bad), 10));
            assert!(e.is_err(), "{bad}");
        }
        assert!(subscription_position(&PageRequest::after(Cursor::new("c1.1.10"), 10)).is_err());
        assert!(subscription_position(&PageRequest::after(Cursor::new("s1.1.10.3"), 10)).is_err());
        assert!(CustomerCursor::from_request(&PageRequest::first(0)).is_err());
    }

    #[test]
    fn inserts_during_a_walk_neither_repeat_nor_skip() {
        // Five customers in one second, newest first as Lago orders them.
        let all: Vec<Value> = (0..5).rev().map(|i| c(100, &format!("a{i}"))).collect();
        let start = CustomerCursor::from_request(&PageRequest::first(2)).unwrap();
        let p1 = customer_page(&start, all[0..2].to_vec(), Some(2), 2);
        assert_eq!(ids(&p1.items).len(), 2);
        // Two customers are created: the old page 2 now starts with page 1's last item.
        let mut shifted = vec![c(101, "b1"), c(101, "b0")];
        shifted.extend(all.iter().cloned());
        let cur = CustomerCursor::from_request(&PageRequest::after(p1.next.unwrap(), 2)).unwrap();
        let p2 = customer_page(&cur, shifted[2..4].to_vec(), Some(3), 2);
        assert!(p2.items.is_empty(), "both were returned already");
        let cur = CustomerCursor::from_request(&PageRequest::after(p2.next.unwrap(), 2)).unwrap();
        let p3 = customer_page(&cur, shifted[4..6].to_vec(), Some(4), 2);
        let cur = CustomerCursor::from_request(&PageRequest::after(p3.next.unwrap(), 2)).unwrap();
        let p4 = customer_page(&cur, shifted[6..7].to_vec(), None, 2);
        assert!(p4.next.is_none());
        let mut got: Vec<&str> = ids(&p1.items);
        got.extend(ids(&p3.items));
        got.extend(ids(&p4.items));
        let mut want = ids(&all);
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
    }

    #[test]
    fn older_seconds_pass_and_a_short_limit_refetches_the_page() {
        let cursor = CustomerCursor {
            position: Position {
                page: 2,
                per_page: 4,
            },
            boundary: Some(Boundary {
                created_at: 100,
                seen: vec![fingerprint("aa")],
            }),
        };
        let page = vec![
            c(101, "ff"),
            c(100, "aa"),
            c(100, "bb"),
            c(99, "cc"),
            c(98, "dd"),
        ];
        let p = customer_page(&cursor, page.clone(), Some(3), 2);
        assert_eq!(ids(&p.items), vec!["bb", "cc"]);
        let next = CustomerCursor::from_request(&PageRequest::after(p.next.unwrap(), 2)).unwrap();
        assert_eq!(next.position.page, 2, "more was left on this page");
        assert_eq!(next.boundary.as_ref().unwrap().created_at, 99);
        let p = customer_page(&next, page, Some(3), 2);
        assert_eq!(ids(&p.items), vec!["dd"]);
        let last = CustomerCursor::from_request(&PageRequest::after(p.next.unwrap(), 2)).unwrap();
        assert_eq!(last.position.page, 3);
    }

    #[test]
    fn seen_ids_are_bounded() {
        let cursor = CustomerCursor {
            position: Position {
                page: 1,
                per_page: 100,
            },
            boundary: Some(Boundary {
                created_at: 5,
                seen: (0..MAX_SEEN).map(|i| format!("{i:x}")).collect(),
            }),
        };
        let p = customer_page(&cursor, vec![c(5, "abcdef")], Some(2), 100);
        let next = CustomerCursor::from_request(&PageRequest::after(p.next.unwrap(), 100)).unwrap();
        let seen = next.boundary.unwrap().seen;
        assert_eq!(seen.len(), MAX_SEEN);
        assert_eq!(seen.last().map(String::as_str), Some("abcdef"));
    }
}
