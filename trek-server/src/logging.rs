//! Logging to stdout and to `data/logs/trek.log`, rotated like TREK's (10 MiB, five files).
//!
//! Nothing logged carries a secret: handlers log events and ids, never bodies, headers,
//! tokens or passwords, and the first-admin password goes to stdout through `println!`, not
//! through this logger (decision 14).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Rotate when the log reaches this size.
pub const ROTATE_BYTES: u64 = 10 * 1024 * 1024;
/// Files kept: `trek.log` and `trek.log.1` to `.4`.
pub const KEEP: usize = 5;

/// An append-only log file that rotates by size.
#[derive(Debug, Clone)]
pub struct RotatingLog {
    inner: Arc<Mutex<LogFile>>,
}

#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    file: Option<File>,
    size: u64,
}

impl RotatingLog {
    /// Opens (creating) `dir/trek.log`.
    ///
    /// # Errors
    ///
    /// The folder or file cannot be created.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let path = dir.join("trek.log");
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            inner: Arc::new(Mutex::new(LogFile {
                path,
                file: Some(file),
                size,
            })),
        })
    }
}

impl LogFile {
    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        for n in (1..KEEP - 1).rev() {
            let from = numbered(&self.path, n);
            if from.exists() {
                fs::rename(&from, numbered(&self.path, n + 1))?;
            }
        }
        fs::rename(&self.path, numbered(&self.path, 1))?;
        self.file = Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?,
        );
        self.size = 0;
        Ok(())
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size >= ROTATE_BYTES {
            self.rotate()?;
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("log file closed"))?;
        file.write_all(buf)?;
        self.size += buf.len() as u64;
        Ok(buf.len())
    }
}

fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// One write to the log.
pub struct LogWriter<'a>(&'a Mutex<LogFile>);

impl Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for RotatingLog {
    type Writer = LogWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter(&self.inner)
    }
}

/// Installs the global subscriber: stdout plus the log file when it could be opened.
pub fn init(debug: bool, file: Option<RotatingLog>) {
    let level = if debug { "debug" } else { "info" };
    let filter = EnvFilter::new(format!("{level},sqlx=warn,hyper=info,poem=info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let stdout = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(ansi);
    let file = file.map(|f| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_target(false)
            .with_writer(f)
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stdout)
        .with(file)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_by_size_and_keeps_five_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = RotatingLog::open(dir.path()).expect("open");
        let chunk = vec![b'x'; 4 * 1024 * 1024];
        for _ in 0..24 {
            log.make_writer().write_all(&chunk).expect("write");
        }
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "trek.log",
                "trek.log.1",
                "trek.log.2",
                "trek.log.3",
                "trek.log.4"
            ]
        );
    }
}
