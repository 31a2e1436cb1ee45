//! Where an outbox keeps its events: a SQLite file or a PostgreSQL database, parsed from one
//! setting, with the password kept out of every `Debug`, `Display`, log line and error.

use std::fmt;
use std::path::PathBuf;

use billing_core::{Error, Result};
use billing_http::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `outbox.store` setting.
///
/// - a file path, or `sqlite:PATH` / `sqlite://PATH`: a SQLite database file (created if
///   missing, with its directory);
/// - `postgres://user:password@host:port/database` (or `postgresql://`): a PostgreSQL
///   database, shared by every process that points at it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreLocation {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PostgresUrl),
}

/// A PostgreSQL connection URL. Only [`PostgresUrl::redacted`] (the URL without its password)
/// is ever shown.
#[derive(Clone)]
pub struct PostgresUrl {
    url: SecretString,
    redacted: String,
}

impl PartialEq for PostgresUrl {
    fn eq(&self, other: &Self) -> bool {
        self.url.expose_secret() == other.url.expose_secret()
    }
}
impl Eq for PostgresUrl {}

impl PostgresUrl {
    /// Parses a `postgres://` or `postgresql://` URL.
    ///
    /// # Errors
    /// A `Config` error naming `outbox.store` (never quoting the URL, which may hold a password).
    pub fn parse(url: &str) -> Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| {
            Error::config("outbox.store", format!("not a valid PostgreSQL URL ({e})"))
        })?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(Error::config(
                "outbox.store",
                "a PostgreSQL URL starts with postgres:// or postgresql://",
            ));
        }
        let mut shown = parsed.clone();
        if shown.password().is_some() {
            // Cannot fail on a URL that has a password (it has a host).
            let _ = shown.set_password(Some("***"));
        }
        // A password may also travel as a query parameter.
        let pairs: Vec<(String, String)> = shown
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "***".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        if !pairs.is_empty() {
            shown.query_pairs_mut().clear().extend_pairs(pairs);
        }
        Ok(Self {
            url: SecretString::from(url.to_owned()),
            redacted: shown.to_string(),
        })
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The full URL, password included: for the driver only.
    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl StoreLocation {
    /// Parses the setting.
    ///
    /// # Errors
    /// A `Config` error naming `outbox.store`.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::config("outbox.store", "is empty"));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return PostgresUrl::parse(text).map(StoreLocation::Postgres);
        }
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(Error::config("outbox.store", "`sqlite:` needs a file path"));
            }
            return Ok(StoreLocation::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(Error::config(
                "outbox.store",
                format!(
                    "unknown kind of store `{scheme}`: use a file path (SQLite) or a \
                     postgres:// URL"
                ),
            ));
        }
        Ok(StoreLocation::Sqlite(PathBuf::from(text)))
    }

    /// What the setting names, without a password: for messages and logs.
    pub fn redacted(&self) -> String {
        match self {
            StoreLocation::Sqlite(p) => format!("sqlite:{}", p.display()),
            StoreLocation::Postgres(u) => u.redacted().to_owned(),
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        match self {
            StoreLocation::Sqlite(p) if p.as_os_str().is_empty() => {
                Err(Error::config("outbox.store", "is empty"))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::str::FromStr for StoreLocation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for StoreLocation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // The error's message names the setting and never quotes the value.
        StoreLocation::parse(&text).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

/// Serialised without the password (as [`StoreLocation::redacted`]).
impl Serialize for StoreLocation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        assert_eq!(
            StoreLocation::parse("/tmp/o.db").unwrap(),
            StoreLocation::Sqlite("/tmp/o.db".into())
        );
        assert_eq!(
            StoreLocation::parse("sqlite:rel/o.db").unwrap(),
            StoreLocation::Sqlite("rel/o.db".into())
        );
        assert_eq!(
            StoreLocation::parse("sqlite:///abs/o.db").unwrap(),
            StoreLocation::Sqlite("/abs/o.db".into())
        );
        assert!(matches!(
            StoreLocation::parse("postgresql://u@h/db").unwrap(),
            StoreLocation::Postgres(_)
        ));
        for bad in ["", "  ", "sqlite:", "mysql://u@h/db"] {
            let e = StoreLocation::parse(bad).unwrap_err();
            assert!(e.message().contains("outbox.store"), "{e}");
        }
    }

    #[test]
    fn a_password_is_never_shown() {
        let s = StoreLocation::parse("postgres://app:hunter2-pw@db.internal:5432/billing?password=hunter3-pw&sslmode=require").unwrap();
        for shown in [format!("{s:?}"), s.to_string(), s.redacted()] {
            assert!(
                !shown.contains("hunter2-pw") && !shown.contains("hunter3-pw"),
                "{shown}"
            );
            assert!(
                shown.contains("db.internal") && shown.contains("app"),
                "{shown}"
            );
        }
        let e = StoreLocation::parse("postgres://app:hunter2-pw@[::1").unwrap_err();
        assert!(!e.to_string().contains("hunter2-pw"), "{e}");
    }
}
