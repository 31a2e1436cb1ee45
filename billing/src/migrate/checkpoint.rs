//! The migration's progress on disk, written atomically after every completed page, so a killed
//! run resumes where it stopped.

use std::path::{Path, PathBuf};

use billing_core::{Cursor, Error, Result};
use serde::{Deserialize, Serialize};

use super::report::MigrationReport;

/// What a resumed run needs: where the source listing stands, and the report so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub version: u32,
    /// The source cursor of the next page to migrate; `None` at the start.
    pub cursor: Option<Cursor>,
    /// Whether the whole listing has been migrated.
    pub done: bool,
    /// Pages completed.
    pub pages: u64,
    /// The cumulative report.
    pub report: MigrationReport,
    /// The source and target the checkpoint belongs to (`name endpoint -> name endpoint`), so a
    /// file is never resumed by a migration between other backends.
    #[serde(default)]
    pub route: Option<String>,
}

const VERSION: u32 = 1;

/// Where checkpoints are kept.
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    path: PathBuf,
}

impl CheckpointFile {
    /// A checkpoint at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the checkpoint, or a fresh one if the file does not exist.
    ///
    /// # Errors
    /// `Config` if the file exists but cannot be read or is not a checkpoint of this version.
    pub fn load(&self) -> Result<Checkpoint> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Checkpoint {
                    version: VERSION,
                    ..Checkpoint::default()
                });
            }
            Err(e) => return Err(Error::config(&self.path.display().to_string(), e)),
        };
        let cp: Checkpoint = serde_json::from_str(&text).map_err(|e| {
            Error::config(
                &self.path.display().to_string(),
                format!("not a migration checkpoint: {e}"),
            )
        })?;
        if cp.version != VERSION {
            return Err(Error::config(
                &self.path.display().to_string(),
                format!("checkpoint version {} is not {VERSION}", cp.version),
            ));
        }
        Ok(cp)
    }

    /// Writes the checkpoint atomically (a temporary file renamed over the old one).
    ///
    /// # Errors
    /// `Unexpected` if the file cannot be written.
    pub fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        let text = serde_json::to_vec_pretty(checkpoint)
            .map_err(|e| Error::unexpected(format!("cannot serialise the checkpoint: {e}")))?;
        let tmp = self.path.with_extension("tmp");
        let io = |e: std::io::Error| {
            Error::unexpected(format!("cannot write {}: {e}", self.path.display())).with_source(e)
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}
