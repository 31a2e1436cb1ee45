//! The migration's progress on disk, written atomically and durably after every completed page,
//! so a killed run (or a machine that lost power) resumes where it stopped.

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

    /// Reads the checkpoint, or a fresh one if the file does not exist, on a blocking thread
    /// (never on the async runtime's).
    ///
    /// # Errors
    /// `Config` if the file exists but cannot be read or is not a checkpoint of this version.
    pub async fn load(&self) -> Result<Checkpoint> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.load_blocking())
            .await
            .map_err(|e| Error::unexpected(format!("the checkpoint read failed: {e}")))?
    }

    fn load_blocking(&self) -> Result<Checkpoint> {
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

    /// Writes the checkpoint atomically and durably, on a blocking thread: a temporary file in
    /// the same directory is written and fsynced, renamed over the old checkpoint, and the
    /// directory is fsynced, so after a crash the file is either the old checkpoint or the new
    /// one, whole.
    ///
    /// # Errors
    /// `Unexpected` if the file cannot be written.
    pub async fn save(&self, checkpoint: &Checkpoint) -> Result<()> {
        let text = serde_json::to_vec_pretty(checkpoint)
            .map_err(|e| Error::unexpected(format!("cannot serialise the checkpoint: {e}")))?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            crate::durable::write_atomically(&path, &text).map_err(|e| {
                Error::unexpected(format!("cannot write {}: {e}", path.display())).with_source(e)
            })
        })
        .await
        .map_err(|e| Error::unexpected(format!("the checkpoint write failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_saved_checkpoint_loads_back_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = CheckpointFile::new(dir.path().join("cp.json"));
        let fresh = file.load().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fresh.version, VERSION);
        let cp = Checkpoint {
            cursor: Some(Cursor::new("7")),
            pages: 3,
            ..fresh
        };
        file.save(&cp).await.unwrap_or_else(|e| panic!("{e}"));
        file.save(&cp).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.load().await.unwrap_or_else(|e| panic!("{e}")), cp);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names, ["cp.json"], "only the checkpoint itself");
    }

    #[tokio::test]
    async fn an_unwritable_place_is_an_error_and_the_old_checkpoint_stays() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let missing = CheckpointFile::new(dir.path().join("no-such-dir").join("cp.json"));
        let e = missing
            .save(&Checkpoint::default())
            .await
            .expect_err("no directory");
        assert_eq!(e.kind(), billing_core::ErrorKind::Unexpected);
        let file = CheckpointFile::new(dir.path().join("cp.json"));
        std::fs::write(file.path(), "not json").unwrap_or_else(|e| panic!("{e}"));
        let e = file.load().await.expect_err("not a checkpoint");
        assert_eq!(e.kind(), billing_core::ErrorKind::Config);
    }
}
