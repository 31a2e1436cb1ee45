//! Parthenon's keyset pagination (`DoctrineCrudRepository::getList` + `ResultSet`), sorted by
//! id (UUIDs compare like their lower-case text), bugs included.

/// Page-size errors, as each controller words them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SizeError {
    /// `< 1` (including non-numeric, which PHP casts to 0): 400.
    Below,
    /// `> 100`: 413.
    Above,
}

/// `(int) $request->get(param, 10)` checked against 1..=100.
pub(crate) fn page_size(raw: Option<&str>) -> Result<usize, SizeError> {
    let n = raw.map_or(10, super::validate::php_int);
    if n < 1 {
        Err(SizeError::Below)
    } else if n > 100 {
        Err(SizeError::Above)
    } else {
        Ok(usize::try_from(n).unwrap_or(100))
    }
}

/// One page of results.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
    /// The first item's id (`ResultSet::getFirstKey`).
    pub first_key: Option<String>,
    /// The last item's id (`ResultSet::getLastKey`).
    pub last_key: Option<String>,
}

/// A page of `rows` (already filtered, in ASCENDING key order) as `getList` computes it:
/// `ORDER BY id <dir>`, `WHERE id > last` (`<` when descending), `LIMIT limit + 1`.
/// With `first` (the previous-page cursor) the `WHERE` becomes `id < first` (`>` when
/// descending), the order is reversed, and the `limit + 1` rows fetched are reversed back
/// BEFORE the page is cut to `limit`: when more rows exist, the page therefore drops the row
/// nearest the cursor, exactly like the server. `first` replaces `last` when both are given.
/// Cursors must already be canonical lower-case UUIDs. Rows are consumed lazily, so an
/// ascending walk only touches what it returns.
pub(crate) fn keyset<'a, T>(
    rows: impl DoubleEndedIterator<Item = (&'a str, T)>,
    descending: bool,
    limit: usize,
    last: Option<&str>,
    first: Option<&str>,
) -> Page<T> {
    let keep = |id: &str| match (first, last) {
        (Some(f), _) if descending => id > f,
        (Some(f), _) => id < f,
        (None, Some(l)) if descending => id < l,
        (None, Some(l)) => id > l,
        (None, None) => true,
    };
    let ascending = descending == first.is_some();
    let mut fetched: Vec<(&str, T)> = if ascending {
        rows.filter(|(id, _)| keep(id)).take(limit + 1).collect()
    } else {
        rows.rev()
            .filter(|(id, _)| keep(id))
            .take(limit + 1)
            .collect()
    };
    if first.is_some() {
        fetched.reverse();
    }
    let has_more = fetched.len() > limit;
    fetched.truncate(limit);
    Page {
        first_key: fetched.first().map(|(id, _)| (*id).to_owned()),
        last_key: fetched.last().map(|(id, _)| (*id).to_owned()),
        has_more,
        items: fetched.into_iter().map(|(_, item)| item).collect(),
    }
}

/// `LIKE '%needle%'` on Postgres: case-sensitive, `%` matches any run and `_` any single
/// character (the server does not escape them). A `NULL` column never matches.
pub(crate) fn like_contains(haystack: Option<&str>, needle: &str) -> bool {
    let Some(h) = haystack else {
        return false;
    };
    let mut pattern = vec!['%'];
    pattern.extend(needle.chars());
    pattern.push('%');
    let text: Vec<char> = h.chars().collect();
    like(&text, &pattern)
}

/// Iterative wildcard matching with backtracking on the last `%`.
fn like(text: &[char], pattern: &[char]) -> bool {
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '_' || (pattern[p] != '%' && pattern[p] == text[t]))
        {
            t += 1;
            p += 1;
        } else if p < pattern.len() && pattern[p] == '%' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '%')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows<'a>(ids: &[&'a str]) -> Vec<(&'a str, &'a str)> {
        let mut v: Vec<(&str, &str)> = ids.iter().map(|i| (*i, *i)).collect();
        v.sort();
        v
    }

    #[test]
    fn ascending_pages_and_cursors() {
        let all = rows(&["e", "a", "c", "b", "d"]);
        let p = keyset(all.clone().into_iter(), false, 2, None, None);
        assert_eq!(p.items, ["a", "b"]);
        assert!(p.has_more);
        assert_eq!(p.last_key.as_deref(), Some("b"));
        let p = keyset(all.clone().into_iter(), false, 2, Some("d"), None);
        assert_eq!(p.items, ["e"]);
        assert!(!p.has_more);
        let p = keyset(all.clone().into_iter(), false, 2, Some("e"), None);
        assert!(p.items.is_empty() && p.last_key.is_none());
        // Previous page from "e": fetch d, c, b; reverse to b, c, d; cut to b, c (d dropped).
        let p = keyset(all.into_iter(), false, 2, None, Some("e"));
        assert_eq!(p.items, ["b", "c"]);
        assert!(p.has_more);
    }

    #[test]
    fn descending_pages() {
        let all = rows(&["a", "b", "c"]);
        let p = keyset(all.clone().into_iter(), true, 2, None, None);
        assert_eq!(p.items, ["c", "b"]);
        let p = keyset(all.into_iter(), true, 2, Some("b"), None);
        assert_eq!(p.items, ["a"]);
    }

    #[test]
    fn like_semantics() {
        assert!(like_contains(Some("xabcx"), "abc"));
        assert!(!like_contains(Some("xABCx"), "abc"));
        assert!(like_contains(Some("user-1"), "user_1"));
        assert!(like_contains(Some("a1b"), "a%b"));
        assert!(!like_contains(None, ""));
        assert!(like_contains(Some(""), ""));
        assert_eq!(page_size(Some("abc")), Err(SizeError::Below));
        assert_eq!(page_size(Some("101")), Err(SizeError::Above));
        assert_eq!(page_size(None), Ok(10));
    }
}
