//! Key files on disk: read trimmed, written atomically with mode 0600.
//!
//! `data/.jwt_secret` and `data/.encryption_key` hold the server's two root secrets. A crash
//! half-way through writing one must never leave a truncated key behind (every session or every
//! sealed secret would be lost), so writes go to a private temporary file in the same folder,
//! are synced, and then renamed over the old file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use zeroize::Zeroizing;

/// Reads a key file and trims surrounding whitespace.
///
/// Returns `Ok(None)` when the file does not exist.
///
/// # Errors
///
/// Any other I/O error (permissions, not UTF-8) is returned as is.
pub fn read_trimmed(path: &Path) -> io::Result<Option<Zeroizing<String>>> {
    match fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "key file is not UTF-8"))?;
            Ok(Some(Zeroizing::new(text.trim().to_owned())))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `contents` to `path` atomically, readable by the owner only.
///
/// Creates the parent folder if needed. The file is mode 0600 whether or not it existed before,
/// unlike TREK, whose mode applied only on creation.
///
/// # Errors
///
/// Fails when the folder cannot be created or written, or the rename fails; the old file, if
/// any, is then untouched.
pub fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = dir.unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;

    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:x}",
        name.unwrap_or_default(),
        std::process::id(),
        rand::random::<u64>()
    ));
    let result = write_synced(&tmp, contents).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir);
    Ok(())
}

/// Makes an existing key file readable by its owner only, returning whether its mode had to
/// change. TREK applied 0600 only when it created a file, so a key restored with a loose mode
/// stayed readable by every local user.
///
/// # Errors
///
/// The file's mode cannot be read or set. A missing file is `Ok(false)`.
#[cfg(unix)]
pub fn ensure_private(path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if meta.permissions().mode() & 0o077 == 0 {
        return Ok(false);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(true)
}

/// Elsewhere file modes do not apply.
///
/// # Errors
///
/// Never.
#[cfg(not(unix))]
pub fn ensure_private(_path: &Path) -> io::Result<bool> {
    Ok(false)
}

fn write_synced(path: &Path, contents: &str) -> io::Result<()> {
    let mut file = private_options().open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(unix)]
fn private_options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true).mode(0o600);
    options
}

#[cfg(not(unix))]
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    options
}

/// Makes the rename durable; a failure here only weakens crash safety, so it is not reported.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_file_reads_back_trimmed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested").join(".jwt_secret");
        write_private(&path, "abc\n").expect("write");
        assert_eq!(
            read_trimmed(&path)
                .expect("read")
                .as_deref()
                .map(|s| s.as_str()),
            Some("abc")
        );
    }

    #[test]
    fn missing_file_reads_as_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(
            read_trimmed(&dir.path().join("nope"))
                .expect("read")
                .is_none()
        );
    }

    #[cfg(unix)]
    #[test]
    fn ensure_private_tightens_loose_files_and_leaves_private_ones() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key");
        fs::write(&path, "k").expect("seed");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(ensure_private(&path).expect("tighten"));
        assert_eq!(
            fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
            0o600
        );
        assert!(!ensure_private(&path).expect("again"));
        assert!(!ensure_private(&dir.path().join("missing")).expect("missing"));
    }

    #[cfg(unix)]
    #[test]
    fn rewriting_a_loose_file_makes_it_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key");
        fs::write(&path, "old").expect("seed");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private(&path, "new").expect("write");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read_to_string(&path).expect("read"), "new");
        let leftovers = fs::read_dir(dir.path()).expect("ls").count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
