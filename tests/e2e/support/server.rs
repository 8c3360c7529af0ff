//! Runs the real `auth-engine` binary: one process per test, in its own temporary directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::http::{PreparedPost, Reply};
use super::webhook::WebhookSink;

const BINARY: &str = env!("CARGO_BIN_EXE_auth-engine");
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const CLI_TIMEOUT: Duration = Duration::from_secs(60);
const LISTENING_MARKER: &str = "listening on http://";

/// The JWT `iss` every test server is configured with.
pub const PUBLIC_URL: &str = "http://auth.test";
/// base64 of 32 fixed bytes, so `apps create` and every `serve` of one test agree on the key.
pub const MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A fresh working directory, removed when the last process using it is gone.
#[derive(Debug)]
pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    pub fn create() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("auth-engine-e2e-{}-{n}", std::process::id()));
        // A crashed earlier run with the same pid may have left this name behind.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join("data")).expect("create the test directory");
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The credentials `auth-engine apps create --json` prints.
#[derive(Debug, Clone)]
pub struct AppCreds {
    pub app_id: String,
    pub app_secret: String,
    pub app_slug: String,
    pub jwt_public_key: String,
}

impl AppCreds {
    /// `fields` plus this app's `app_id` and `app_secret`.
    pub fn body(&self, fields: Value) -> Value {
        let mut body = serde_json::json!({ "app_id": self.app_id, "app_secret": self.app_secret });
        if let (Some(map), Value::Object(extra)) = (body.as_object_mut(), fields) {
            map.extend(extra);
        }
        body
    }
}

#[derive(Debug)]
pub struct TestServerBuilder {
    env: BTreeMap<String, String>,
}

impl TestServerBuilder {
    /// Sets (or overrides) one environment variable of the server process.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn postgres(self, database_url: &str) -> Self {
        self.env("AUTH_DATABASE_URL", database_url)
    }

    /// Delivers codes to `sink` instead of printing them.
    pub fn webhook(self, sink: &WebhookSink) -> Self {
        self.env("AUTH_NOTIFIER", "webhook")
            .env("AUTH_WEBHOOK_URL", sink.url())
    }

    pub async fn start(self) -> TestServer {
        TestServer::spawn(Arc::new(TestDir::create()), self.env).await
    }

    /// Runs the binary with `args` in a fresh directory and waits for it to exit by itself.
    pub async fn run_to_exit(self, args: &[&str], within: Duration) -> Output {
        let dir = TestDir::create();
        let mut command = command(dir.path(), &self.env, args);
        let output = tokio::time::timeout(within, command.output())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "`auth-engine {}` did not exit within {within:?}",
                    args.join(" ")
                )
            })
            .expect("run auth-engine");
        drop(dir);
        output
    }
}

/// One running `auth-engine serve` process. Killed on drop.
#[derive(Debug)]
pub struct TestServer {
    dir: Arc<TestDir>,
    env: BTreeMap<String, String>,
    child: Child,
    base_url: String,
    logs: Arc<Mutex<String>>,
    drains: Vec<JoinHandle<()>>,
    client: reqwest::Client,
}

impl TestServer {
    pub fn builder() -> TestServerBuilder {
        let env = [
            ("AUTH_LISTEN_ADDR", "127.0.0.1:0"),
            ("AUTH_PUBLIC_URL", PUBLIC_URL),
            ("AUTH_MASTER_KEY", MASTER_KEY),
            ("AUTH_ENV", "development"),
            ("AUTH_NOTIFIER", "console"),
            ("NO_COLOR", "1"),
        ];
        TestServerBuilder {
            env: env
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    async fn spawn(dir: Arc<TestDir>, env: BTreeMap<String, String>) -> Self {
        let mut child = command(dir.path(), &env, &["serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn auth-engine serve");
        let logs = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = oneshot::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let drains = vec![
            tokio::spawn(drain(stdout, Arc::clone(&logs), Some(ready_tx))),
            tokio::spawn(drain(stderr, Arc::clone(&logs), None)),
        ];
        let base_url = match tokio::time::timeout(STARTUP_TIMEOUT, ready_rx).await {
            Ok(Ok(url)) => url,
            Ok(Err(_)) => {
                let status = child.wait().await;
                for drain in drains {
                    let _ = drain.await;
                }
                let logs = logs.lock().expect("logs lock").clone();
                panic!("auth-engine serve exited ({status:?}) before listening; output:\n{logs}");
            }
            Err(_) => {
                let logs = logs.lock().expect("logs lock").clone();
                panic!(
                    "auth-engine serve did not report listening within {STARTUP_TIMEOUT:?}; output:\n{logs}"
                );
            }
        };
        Self {
            dir,
            env,
            child,
            base_url,
            logs,
            drains,
            client: http_client(),
        }
    }

    /// Starts another process with the same directory, database and configuration.
    pub async fn start_sibling(&self) -> TestServer {
        self.start_sibling_with(&[]).await
    }

    /// Starts another process with the same directory and database, and `changed` in its
    /// configuration.
    pub async fn start_sibling_with(&self, changed: &[(&str, &str)]) -> TestServer {
        Self::spawn(Arc::clone(&self.dir), self.env_with(changed)).await
    }

    /// This process's configuration with `changed` in it.
    fn env_with(&self, changed: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        for (key, value) in changed {
            env.insert((*key).to_owned(), (*value).to_owned());
        }
        env
    }

    /// Kills the process and waits until it is gone and its output is fully captured.
    pub async fn stop(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        for drain in self.drains.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        }
    }

    /// Asks the process to stop (SIGTERM), as a service manager does, and waits for it to exit by
    /// itself: its exit status, or `None` if it was still running after 30 s (it is killed then).
    pub async fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let pid = self.pid().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status().await;
        let exited = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        self.stop().await;
        exited.ok().and_then(Result::ok)
    }

    /// The process id of the engine.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The directory the process runs in; its SQLite database is `data/auth-engine.db` there.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The value this process was given for the environment variable `key`, if any.
    pub fn configured(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(String::as_str)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("logs lock").clone()
    }

    pub async fn create_app(&self, name: &str, slug: &str) -> AppCreds {
        let args = ["apps", "create", "--name", name, "--slug", slug, "--json"];
        let mut command = command(self.dir.path(), &self.env, &args);
        let output = tokio::time::timeout(CLI_TIMEOUT, command.output())
            .await
            .expect("`auth-engine apps create` did not finish in time")
            .expect("run auth-engine apps create");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "apps create failed: {}\n{stdout}\n{stderr}",
            output.status
        );
        let json = parse_json_object(&stdout)
            .unwrap_or_else(|| panic!("apps create printed no JSON object:\n{stdout}\n{stderr}"));
        let field = |name: &str| {
            json[name]
                .as_str()
                .unwrap_or_else(|| panic!("apps create JSON lacks {name}: {json}"))
                .to_owned()
        };
        AppCreds {
            app_id: field("app_id"),
            app_secret: field("app_secret"),
            app_slug: field("app_slug"),
            jwt_public_key: field("jwt_public_key"),
        }
    }

    /// Runs `auth-engine ARGS…` (an operator command) on this server's directory, database and
    /// configuration, and waits for it to exit. The caller judges the exit status and output.
    pub async fn run_cli(&self, args: &[&str]) -> Output {
        self.run_cli_with(&[], args).await
    }

    /// Like [`Self::run_cli`], with some environment variables set otherwise.
    pub async fn run_cli_with(&self, changed: &[(&str, &str)], args: &[&str]) -> Output {
        let mut command = command(self.dir.path(), &self.env_with(changed), args);
        tokio::time::timeout(CLI_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| panic!("`auth-engine {}` did not finish in time", args.join(" ")))
            .expect("run auth-engine")
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::from_request(self.client.get(self.url(path))).await
    }

    pub async fn get_with_bearer(&self, path: &str, token: &str) -> Reply {
        Reply::from_request(self.client.get(self.url(path)).bearer_auth(token)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        Reply::from_request(self.client.post(self.url(path)).json(body)).await
    }

    /// A POST that arrives through a reverse proxy which forwarded it for `client`.
    pub async fn post_forwarded(&self, path: &str, body: &Value, client: &str) -> Reply {
        let request = self
            .client
            .post(self.url(path))
            .header("x-forwarded-for", client)
            .json(body);
        Reply::from_request(request).await
    }

    /// A POST ready to be fired later, e.g. from many tasks at once.
    pub fn prepare_post(&self, path: &str, body: Value) -> PreparedPost {
        PreparedPost {
            client: self.client.clone(),
            url: self.url(path),
            body,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn command(dir: &Path, env: &BTreeMap<String, String>, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command.args(args).current_dir(dir).kill_on_drop(true);
    // Only the test decides the configuration: drop whatever the developer's shell exports.
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("AUTH_")) {
            command.env_remove(key);
        }
    }
    command.envs(env);
    command
}

/// Copies every line of `reader` into `logs`, and reports the listening URL once it appears.
async fn drain<R: AsyncRead + Unpin>(
    reader: R,
    logs: Arc<Mutex<String>>,
    mut ready: Option<oneshot::Sender<String>>,
) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if let Some(url) = listening_url(&text)
            && let Some(ready) = ready.take()
        {
            let _ = ready.send(url);
        }
        let mut logs = logs.lock().expect("logs lock");
        logs.push_str(&text);
        if !text.ends_with('\n') {
            logs.push('\n');
        }
    }
}

/// `auth-engine listening on http://127.0.0.1:PORT` → `http://127.0.0.1:PORT`.
fn listening_url(line: &str) -> Option<String> {
    let start = line.find(LISTENING_MARKER)? + LISTENING_MARKER.len();
    let address: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '\x1b' && *c != '/')
        .collect();
    let port: u16 = address.rsplit_once(':')?.1.parse().ok()?;
    Some(format!("http://127.0.0.1:{port}"))
}

/// The JSON object a CLI printed, tolerating log lines around it.
fn parse_json_object(stdout: &str) -> Option<Value> {
    let whole = serde_json::from_str::<Value>(stdout.trim())
        .ok()
        .filter(Value::is_object);
    whole.or_else(|| {
        stdout
            .lines()
            .filter(|line| line.trim_start().starts_with('{'))
            .find_map(|line| {
                serde_json::from_str::<Value>(line.trim())
                    .ok()
                    .filter(Value::is_object)
            })
    })
}

/// One HTTP client per server: pooled connections must not outlive the runtime of the test.
fn http_client() -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    // reqwest is built with `rustls-no-provider`; it needs a process-wide provider even for http://.
    PROVIDER.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("build the HTTP client")
}
