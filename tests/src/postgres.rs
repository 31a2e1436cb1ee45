//! A throwaway PostgreSQL server for tests and benchmarks: `initdb` in a temporary directory,
//! listening on an ephemeral port on 127.0.0.1 (and a unix socket in that directory), trust
//! authentication, stopped and removed when the handle is dropped or the process that started
//! it exits (even when killed). Tests run it with `fsync = off`; benchmarks with it on.
//!
//! The binaries come from `PATH` or Debian's `/usr/lib/postgresql/<version>/bin` (`.ci/run`
//! installs the `postgresql` package when they are missing). `initdb` and `postgres` refuse to
//! run as root, so as root they run as the `postgres` user (or `nobody`) through `runuser`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where `initdb` and `postgres` are, if anywhere.
pub fn binaries() -> Option<PathBuf> {
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has(&dir) {
                // A symlink into Debian's tree: use the real directory (postgres finds its
                // share files relative to itself).
                let real = std::fs::canonicalize(dir.join("postgres"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .unwrap_or(dir);
                return Some(real);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Why the PostgreSQL tests cannot run here, if they cannot.
pub fn unavailable_reason() -> Option<String> {
    binaries().is_none().then(|| {
        "PostgreSQL's initdb and postgres were not found (on PATH or in \
         /usr/lib/postgresql/*/bin): apt-get install postgresql"
            .to_owned()
    })
}

/// A running server.
#[derive(Debug)]
pub struct TempPostgres {
    port: u16,
    dir: PathBuf,
    /// The reaper shell's stdin: closing it (on drop, or when this process exits) stops the
    /// server and removes its directory.
    reaper_stdin: Mutex<Option<ChildStdin>>,
    reaper: Mutex<Option<Child>>,
}

fn run_as() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return None;
    }
    for user in ["postgres", "nobody"] {
        let ok = Command::new("id")
            .arg("-u")
            .arg(user)
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(user.to_owned());
        }
    }
    Some("nobody".to_owned())
}

fn command(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(u) => {
            let mut c = Command::new("runuser");
            c.arg("-u").arg(u).arg("--").arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn chown(path: &Path, user: &str) -> std::io::Result<()> {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{user}:"))
        .arg(path)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "chown {user} {}",
            path.display()
        )))
    }
}

impl TempPostgres {
    /// Starts a server.
    ///
    /// # Errors
    /// Why it could not start (binaries missing, `initdb` or the server failed: its log is
    /// quoted).
    pub fn start() -> Result<Self, String> {
        Self::start_with(false)
    }

    /// Starts a server that syncs its commits to disk (`fsync = on`), as a production server
    /// does: for benchmarks. [`TempPostgres::start`] turns fsync off, for fast tests.
    ///
    /// # Errors
    /// As [`TempPostgres::start`].
    pub fn start_durable() -> Result<Self, String> {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Result<Self, String> {
        let bin = binaries().ok_or_else(|| unavailable_reason().unwrap_or_default())?;
        let user = run_as();
        let dir = tempfile::Builder::new()
            .prefix("billing-pg-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?
            .keep();
        let data = dir.join("data");
        if let Some(u) = &user {
            chown(&dir, u).map_err(|e| e.to_string())?;
        }
        let out = command(user.as_deref(), &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .arg("--no-instructions")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("ephemeral port: {e}"))?
            .port();
        // The reaper: starts the server, waits for its stdin to close, then stops the server
        // (fast shutdown) and removes the directory.
        let script = format!(
            "{postgres} -D {data} -p {port} -h 127.0.0.1 -k {dir} -c fsync={fsync} \
             -c max_connections=200 >{dir}/server.log 2>&1 & pid=$!; \
             cat >/dev/null; kill -INT $pid 2>/dev/null; wait $pid; rm -rf {dir}",
            postgres = shell_quote(&bin.join("postgres")),
            data = shell_quote(&data),
            dir = shell_quote(&dir),
            fsync = if durable { "on" } else { "off" },
        );
        let mut reaper = command(user.as_deref(), Path::new("/bin/sh"))
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        let stdin = reaper.stdin.take();
        let server = Self {
            port,
            dir: dir.clone(),
            reaper_stdin: Mutex::new(stdin),
            reaper: Mutex::new(Some(reaper)),
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// The server shared by every test of this process, started on first use. It stops when
    /// the process exits.
    ///
    /// # Errors
    /// As [`TempPostgres::start`].
    pub fn shared() -> Result<&'static TempPostgres, String> {
        static SHARED: OnceLock<Result<TempPostgres, String>> = OnceLock::new();
        SHARED
            .get_or_init(TempPostgres::start)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let log = self.dir.join("server.log");
        while Instant::now() < deadline {
            if let Ok(f) = std::fs::File::open(&log) {
                let ready = BufReader::new(f)
                    .lines()
                    .map_while(Result::ok)
                    .any(|l| l.contains("ready to accept connections"));
                if ready && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    return Ok(());
                }
            }
            if let Ok(mut r) = self.reaper.lock()
                && let Some(child) = r.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "postgres exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "postgres did not start within 60 s: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        ))
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for `database` as the superuser `postgres` (trust authentication: no password).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a database with a fresh unique name and returns its URL.
    ///
    /// # Errors
    /// The server's refusal.
    pub async fn fresh_database(&self, prefix: &str) -> Result<String, String> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{prefix}_{}_{n}", std::process::id());
        self.sql("postgres", &format!("CREATE DATABASE {name}"))
            .await?;
        Ok(self.url(&name))
    }

    /// Runs `sql` in `database` as the superuser.
    ///
    /// # Errors
    /// The server's refusal.
    pub async fn sql(&self, database: &str, sql: &str) -> Result<(), String> {
        let (client, connection) =
            tokio_postgres::connect(&self.url(database), tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
        let task = tokio::spawn(connection);
        let result = client.batch_execute(sql).await.map_err(|e| e.to_string());
        drop(client);
        let _ = task.await;
        result
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if let Ok(mut stdin) = self.reaper_stdin.lock() {
            if let Some(s) = stdin.as_mut() {
                let _ = s.flush();
            }
            stdin.take();
        }
        if let Ok(mut r) = self.reaper.lock()
            && let Some(mut child) = r.take()
        {
            let _ = child.wait();
        }
    }
}
