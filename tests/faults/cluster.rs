//! A PostgreSQL cluster of the test's own on a private loopback port: the shared server on 5432 is
//! never stopped, frozen or reconfigured. `initdb` refuses to run as root, so when the tests run as
//! root the cluster belongs to the `postgres` user. Every wait is bounded; the cluster is stopped
//! and removed on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::process::Command;

/// The longest any one cluster command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Whether commands run as the `postgres` user (the tests run as root).
    as_postgres: bool,
    /// Server settings (`name=value`) beyond the defaults, given at every start.
    settings: Vec<String>,
}

/// The newest installed PostgreSQL's binaries.
fn binaries() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|status| {
            status
                .lines()
                .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

impl Cluster {
    /// Creates and starts a cluster, or `None` (with a note) where PostgreSQL is not installed,
    /// except under `CI=true`, where that is a failure.
    pub async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// [`Cluster::start`] with server `settings` (`name=value`), e.g. a preloaded library.
    pub async fn start_with(settings: &[&str]) -> Option<Self> {
        let Some(bin) = binaries() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI needs PostgreSQL's server binaries under /usr/lib/postgresql"
            );
            eprintln!("skipped: PostgreSQL's server binaries are not installed");
            return None;
        };
        let mut cluster = Self::empty(bin).await;
        cluster.settings = settings.iter().map(|&setting| setting.to_owned()).collect();
        let data = cluster.data().display().to_string();
        cluster
            .pg(
                "initdb",
                &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
            )
            .await;
        cluster.pg_ctl_start().await;
        Some(cluster)
    }

    /// A directory and a port for a cluster, owned by whoever will run it; no data yet.
    async fn empty(bin: PathBuf) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let dir = std::env::temp_dir().join(format!(
            "auth-engine-faults-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres: is_root(),
            settings: Vec::new(),
        };
        if cluster.as_postgres {
            cluster
                .run("chown", &["postgres", &cluster.dir.display().to_string()])
                .await;
        }
        cluster
    }

    /// A hot standby of this cluster on a port of its own, streaming synchronously: from now on
    /// a commit here returns only once the standby has it, so a promotion loses none.
    pub async fn start_standby(&self) -> Self {
        let standby = Self::empty(self.bin.clone()).await;
        let data = standby.data().display().to_string();
        self.client(
            "pg_basebackup",
            &["-D", &data, "-R", "-X", "stream", "--no-sync"],
        )
        .await;
        standby.pg_ctl_start().await;
        self.sql("ALTER SYSTEM SET synchronous_standby_names = '*'")
            .await;
        self.sql("SELECT pg_reload_conf()").await;
        let patience = std::time::Instant::now() + COMMAND_TIMEOUT;
        while self
            .sql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")
            .await
            .trim()
            != "1"
        {
            assert!(
                std::time::Instant::now() < patience,
                "the standby never became synchronous"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        standby
    }

    /// Promotes this standby to a primary and waits until it takes writes.
    pub async fn promote(&self) {
        let data = self.data().display().to_string();
        self.pg("pg_ctl", &["-D", &data, "-w", "-t", "30", "promote"])
            .await;
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the server has written to its log so far.
    #[allow(
        dead_code,
        reason = "the budgets suite reads plans from it; the fault cases do not"
    )]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// One statement through `psql` on the `postgres` database: its unaligned output.
    pub async fn sql(&self, statement: &str) -> String {
        self.sql_in("postgres", statement).await
    }

    /// One statement through `psql` on `database`: its unaligned output.
    pub async fn sql_in(&self, database: &str, statement: &str) -> String {
        let output = self
            .client("psql", &["-At", "-d", database, "-c", statement])
            .await;
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs one of PostgreSQL's client programs against this server, as its owner.
    async fn client(&self, program: &str, args: &[&str]) -> Output {
        let port = self.port.to_string();
        let mut all = vec!["-h", "127.0.0.1", "-p", &port, "-U", "postgres"];
        all.extend_from_slice(args);
        self.pg(program, &all).await
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// An admin URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts (again) on the same port and waits until it accepts connections.
    pub async fn pg_ctl_start(&self) {
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        for setting in &self.settings {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let data = self.data().display().to_string();
        let log = self.dir.join("log").display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "30", "start",
            ],
        )
        .await;
    }

    /// Stops the server at once (as if it crashed).
    pub async fn stop(&self) {
        let data = self.data().display().to_string();
        self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            .await;
    }

    /// Pauses the postmaster and every backend (SIGSTOP): connections stay open, nothing answers.
    pub async fn freeze(&self) {
        self.signal("-STOP").await;
    }

    /// Resumes them (SIGCONT).
    pub async fn thaw(&self) {
        self.signal("-CONT").await;
    }

    async fn signal(&self, signal: &str) {
        let mut pids = vec![self.postmaster()];
        pids.extend(children_of(pids[0]));
        let mut args = vec![signal.to_owned()];
        args.extend(pids.iter().map(u32::to_string));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run("kill", &args).await;
    }

    fn postmaster(&self) -> u32 {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .expect("the cluster is running");
        pid_file
            .lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .expect("the postmaster's pid")
    }

    /// Runs one of PostgreSQL's programs, as the cluster's owner; it must succeed.
    async fn pg(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program).display().to_string();
        if self.as_postgres {
            let quoted: Vec<String> = std::iter::once(path.as_str())
                .chain(args.iter().copied())
                .map(|arg| format!("'{}'", arg.replace('\'', r"'\''")))
                .collect();
            self.run("su", &["postgres", "-c", &quoted.join(" ")]).await
        } else {
            self.run(&path, args).await
        }
    }

    async fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut command = Command::new(program);
        command.args(args).current_dir(&self.dir).kill_on_drop(true);
        let output = tokio::time::timeout(COMMAND_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| panic!("`{program} {}` did not finish in time", args.join(" ")))
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            output.status.success(),
            "`{program} {}` failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

/// The processes whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .collect()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields after it follow the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Synchronous on purpose: drop cannot await. Thaw first, or the stop would wait forever.
        let Ok(postmaster) = std::fs::read_to_string(self.data().join("postmaster.pid")) else {
            let _ = std::fs::remove_dir_all(&self.dir);
            return;
        };
        if let Some(pid) = postmaster.lines().next().map(str::trim) {
            let mut pids = vec![pid.to_owned()];
            if let Ok(parent) = pid.parse() {
                pids.extend(children_of(parent).iter().map(u32::to_string));
            }
            let _ = std::process::Command::new("kill")
                .arg("-CONT")
                .args(&pids)
                .status();
            let _ = std::process::Command::new("kill")
                .arg("-QUIT")
                .arg(pid)
                .status();
        }
        // Files still open in exiting processes go with them; Linux lets the names go now.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
