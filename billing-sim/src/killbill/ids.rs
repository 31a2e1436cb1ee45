//! Path identifiers as Kill Bill's Jersey resources accept them.
//!
//! Every `{id}` segment is declared with the loose regex `\w+-\w+-\w+-\w+-\w+`: a segment that
//! does not match finds no resource (a container 404 page, no JSON), and one that matches but is
//! not a UUID fails `UUID.fromString` (400 with a JSON error). Java's `UUID.fromString` is itself
//! lenient: five dash-separated hex groups of at most 8-4-4-4-12 digits are accepted and
//! zero-padded, so `a-b-c-d-e` means `0000000a-000b-000c-000d-00000000000e`.

use uuid::Uuid;

use super::errors::KbError;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `s` matches `\w+-\w+-\w+-\w+-\w+` as a whole.
pub(crate) fn matches_id_pattern(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(is_word))
}

/// Java's `UUID.fromString`, for segments that matched the pattern.
fn java_uuid(s: &str) -> Option<Uuid> {
    if let Ok(u) = Uuid::try_parse(s)
        && s.len() == 36
    {
        return Some(u);
    }
    let widths = [8usize, 4, 4, 4, 12];
    let mut hex = String::with_capacity(32);
    for (group, width) in s.split('-').zip(widths) {
        if group.len() > width || !group.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        hex.push_str(&"0".repeat(width - group.len()));
        hex.push_str(group);
    }
    Uuid::try_parse(&hex).ok()
}

/// The UUID in a path segment, or the error Kill Bill would answer.
pub(crate) fn path_id(segment: &str) -> Result<Uuid, KbError> {
    if !matches_id_pattern(segment) {
        return Err(KbError::not_found_page());
    }
    java_uuid(segment)
        .ok_or_else(|| KbError::illegal_argument(format!("Invalid UUID string: {segment}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_and_leniency() {
        assert!(!matches_id_pattern("abc"));
        assert!(!matches_id_pattern("a-b-c-d"));
        assert!(!matches_id_pattern("a-b-c-d-e-f"));
        assert!(!matches_id_pattern("a-b-c-d-e.f"));
        assert!(matches_id_pattern("zz-b-c-d-e"));
        assert_eq!(
            java_uuid("a-b-c-d-e").map(|u| u.to_string()),
            Some("0000000a-000b-000c-000d-00000000000e".to_owned())
        );
        assert!(java_uuid("zz-b-c-d-e").is_none());
        let u = Uuid::new_v4().to_string();
        assert_eq!(java_uuid(&u).map(|x| x.to_string()), Some(u));
    }
}
