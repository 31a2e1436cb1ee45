//! Mapping plan codes from the source catalog to the target's.

use std::collections::BTreeMap;
use std::path::Path;

use billing_core::{Error, PlanCode, Result};
use serde::Deserialize;

/// Source plan code -> target plan code. Plans not listed keep their code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanMap {
    map: BTreeMap<PlanCode, PlanCode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanMapFile {
    plans: BTreeMap<String, String>,
}

impl PlanMap {
    /// An empty map: every plan keeps its code.
    pub fn identity() -> Self {
        Self::default()
    }

    /// Adds one mapping.
    pub fn with(mut self, from: PlanCode, to: PlanCode) -> Self {
        self.map.insert(from, to);
        self
    }

    /// Parses `[plans]` pairs: `"source-code" = "target-code"`.
    ///
    /// # Errors
    /// `Config` naming the bad entry.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let file: PlanMapFile =
            toml::from_str(text).map_err(|e| Error::config("plans", e.message()))?;
        let mut map = BTreeMap::new();
        for (from, to) in file.plans {
            let setting = format!("plans.{from}");
            let from_code =
                PlanCode::new(from).map_err(|e| Error::config(&setting, e.message()))?;
            let to_code = PlanCode::new(to).map_err(|e| Error::config(&setting, e.message()))?;
            map.insert(from_code, to_code);
        }
        Ok(Self { map })
    }

    /// Reads a plan-map file.
    ///
    /// # Errors
    /// `Config` naming the file or the bad entry.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(&path.display().to_string(), e))?;
        Self::from_toml_str(&text)
    }

    /// The target code for a source plan.
    pub fn map(&self, plan: &PlanCode) -> PlanCode {
        self.map.get(plan).cloned().unwrap_or_else(|| plan.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_maps() {
        let m = PlanMap::from_toml_str("[plans]\n\"old-basic\" = \"starter-monthly\"\n").unwrap();
        let old = PlanCode::new("old-basic").unwrap();
        assert_eq!(m.map(&old).as_str(), "starter-monthly");
        let other = PlanCode::new("pro-monthly").unwrap();
        assert_eq!(m.map(&other), other);
        assert!(PlanMap::from_toml_str("[plans]\n\"\" = \"x\"\n").is_err());
        assert!(PlanMap::from_toml_str("plans = 3").is_err());
    }
}
