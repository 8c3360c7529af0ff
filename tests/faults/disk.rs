//! A small file system of the suite's own (tmpfs, mounted by root), to fill up or make read-only
//! underneath a running engine. Unmounted on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Debug)]
pub struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `megabytes`, or `None` (with a note) where this process may not mount,
    /// except under `CI=true`, where that is a failure.
    pub fn mount(megabytes: u32) -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let dir = std::env::temp_dir().join(format!(
            "auth-engine-disk-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the mount point");
        let size = format!("size={megabytes}m,mode=0700");
        if !run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &size,
                "tmpfs",
                &dir.display().to_string(),
            ],
        ) {
            let _ = std::fs::remove_dir(&dir);
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI runs the fault suite as root, which may mount a tmpfs"
            );
            eprintln!("skipped: this process may not mount a file system (run as root)");
            return None;
        }
        Some(Self { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Fills every free byte with a ballast file; [`Self::free`] removes it.
    pub fn fill(&self) {
        use std::io::Write as _;
        let mut ballast = std::fs::File::create(self.ballast()).expect("create the ballast");
        let chunk = vec![0x5a_u8; 64 * 1024];
        // tmpfs has no reserved blocks: writing stops exactly when the disk is full.
        while ballast.write_all(&chunk).is_ok() {}
        let small = [0x5a_u8; 512];
        while ballast.write_all(&small).is_ok() {}
        while ballast.write_all(&small[..1]).is_ok() {}
    }

    pub fn free(&self) {
        std::fs::remove_file(self.ballast()).expect("remove the ballast");
    }

    /// Remounts the file system read-only (`false`) or writable again (`true`).
    pub fn writable(&self, writable: bool) {
        let options = if writable { "remount,rw" } else { "remount,ro" };
        assert!(
            run("mount", &["-o", options, &self.dir.display().to_string()]),
            "mount -o {options}"
        );
    }

    fn ballast(&self) -> PathBuf {
        self.dir.join("ballast")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: an engine process still holding files there must not keep the mount alive.
        run("umount", &["-l", &self.dir.display().to_string()]);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn run(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|output| output.status.success())
}
