//! One serving process per SQLite file. SQLite takes one writer at a time; two engines serving one
//! file would refuse each other's writes (`database is locked`) under load. The serving engine holds
//! an exclusive lock on `<database>.serve.lock`, which names its pid; operator commands take no such
//! lock and share the file, waiting their turn for writes. The lock is the operating system's, so a
//! killed engine leaves nothing to clean up.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

/// Held for as long as the engine serves.
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
}

/// Where the lock of the SQLite database at `database` lives.
fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".serve.lock");
    PathBuf::from(name)
}

/// Claims `database` for this process.
///
/// # Errors
/// A message naming the file and the pid of the engine that serves it already, or why the lock
/// file could not be used.
pub fn claim(database: &Path) -> Result<ServeLock, String> {
    let path = lock_path(database);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::wiring::create_private_dir(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another auth-engine".to_owned()
            } else {
                format!("another auth-engine (pid {holder})")
            };
            return Err(format!(
                "{who} is serving the SQLite database {}; one process serves a SQLite file. Operator commands (apps, audit, migrate) work against it as it runs; to run several engines, use PostgreSQL",
                database.display()
            ));
        }
        Err(TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", path.display()));
        }
    }
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "{}", std::process::id()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(ServeLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_names_the_first_holders_pid() {
        let dir = std::env::temp_dir().join(format!("serve-lock-{}", std::process::id()));
        let database = dir.join("auth.db");

        let first = claim(&database).unwrap();
        let second = claim(&database).unwrap_err();
        drop(first);
        let third = claim(&database);

        assert!(
            second.contains(&format!("pid {}", std::process::id())),
            "{second}"
        );
        assert!(second.contains(&database.display().to_string()), "{second}");
        assert!(third.is_ok(), "the lock was not released: {third:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
