//! The Rust side of `tests/smtp_sink.py`: starts the loopback SMTP server (aiosmtpd) and reads
//! what it received. Shared by the SMTP adapter's tests and the end-to-end tests.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code; each suite uses a different part"
)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `tests/smtp_sink.py`, found from the crate being tested upwards (the workspace root holds it).
fn sink_script() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let script = dir.join("tests").join("smtp_sink.py");
        if script.exists() {
            return script;
        }
        assert!(
            dir.pop(),
            "no tests/smtp_sink.py above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
}

/// Whether a tool this test needs is there; under CI its absence is a failure.
pub fn available(what: &str, check: &mut std::process::Command) -> bool {
    let ok = check
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{what} is missing (.ci/run installs it)"
        );
        eprintln!("skipped: {what} is missing");
    }
    ok
}

pub fn aiosmtpd() -> bool {
    available(
        "Python's aiosmtpd",
        std::process::Command::new("python3").args(["-c", "import aiosmtpd"]),
    )
}

/// A scratch directory removed at the end.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("auth-smtp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate for 127.0.0.1: (certificate, key) PEM paths.
pub fn certificate(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = available(
        "the openssl tool",
        std::process::Command::new("openssl").args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ]),
    );
    made.then_some((cert, key))
}

/// A running SMTP sink.
pub struct Sink {
    pub port: u16,
    dir: PathBuf,
    _child: Child,
}

impl Sink {
    pub async fn start(dir: &Path, extra: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mail = dir.join("mail");
        std::fs::create_dir_all(&mail).unwrap();
        let mut child = Command::new("python3")
            .arg(sink_script())
            .arg(&mail)
            .arg(port.to_string())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP sink");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP sink did not start in time")
            .unwrap();
        assert_eq!(ready.as_deref(), Some("ready"));
        Self {
            port,
            dir: mail,
            _child: child,
        }
    }

    /// The messages received so far.
    pub fn received(&self) -> Vec<Value> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
            .collect()
    }
}
