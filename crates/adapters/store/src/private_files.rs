//! The SQLite database holds every secret's hash and every audit record: only the engine's own user
//! may read it. The file, its WAL and shared-memory files are 0600; a directory the engine creates
//! for it, and the default `./data`, are 0700.

use std::io;
use std::path::Path;

/// The default data directory, which the engine owns whoever created it.
const DEFAULT_DATA_DIR: &str = "data";

/// Makes `database`'s directory and file private before SQLite opens it.
///
/// # Errors
/// The file system's refusal.
pub(crate) fn prepare(database: &Path) -> io::Result<()> {
    let parent = database
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    if let Some(parent) = parent {
        let owned = !parent.exists() || is_default_data_dir(parent);
        create_private_dir(parent)?;
        if owned {
            set_mode(parent, 0o700)?;
        }
    }
    create_private_file(database)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        let path = Path::new(&name);
        if path.exists() {
            set_mode(path, 0o600)?;
        }
    }
    Ok(())
}

/// How an existing database file can be opened: read-only when the file system, or the file's
/// permissions, refuse writing it (a backup on read-only storage). `None` when it does not exist.
pub(crate) fn read_only(database: &Path) -> Option<ReadOnly> {
    match std::fs::OpenOptions::new().write(true).open(database) {
        Ok(_) => Some(ReadOnly::No),
        Err(error) if error.kind() == io::ErrorKind::ReadOnlyFilesystem => Some(ReadOnly::Storage),
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => Some(ReadOnly::File),
        Err(_) => None,
    }
}

/// Whether, and why, a database file cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadOnly {
    No,
    /// Only this process may not write it: another may, so it is read as a live database.
    File,
    /// Nobody can write it: it is read as immutable, without the locks and WAL index SQLite would
    /// otherwise have to create beside it.
    Storage,
}

fn is_default_data_dir(dir: &Path) -> bool {
    let trimmed = dir.strip_prefix(".").unwrap_or(dir);
    trimmed == Path::new(DEFAULT_DATA_DIR)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Creates the file with mode 0600 if it does not exist yet; an existing file is left as it is.
fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_database_and_its_new_directory_are_private() {
        let root = std::env::temp_dir().join(format!("auth-store-private-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let database = root.join("nested").join("auth.db");
        std::fs::create_dir_all(&root).unwrap();

        prepare(&database).unwrap();

        assert_eq!(mode(&database), 0o600);
        assert_eq!(mode(database.parent().unwrap()), 0o700);
        // A directory the engine did not create is not its to change.
        assert_ne!(
            mode(&root) & 0o077,
            0,
            "the test's own directory was tightened"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn only_the_default_data_directory_is_owned_when_it_exists() {
        assert!(is_default_data_dir(Path::new("./data")));
        assert!(is_default_data_dir(Path::new("data")));
        assert!(!is_default_data_dir(Path::new("/var/lib")));
        assert!(!is_default_data_dir(Path::new("./data/x")));
    }
}
