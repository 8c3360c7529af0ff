//! What the load and scale benchmarks share: a server set up for a load of new people from one
//! address, the three flows an app's users run, and a phase that runs one of them for a fixed time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::support::{Harness, TestServer, unique_phone};

/// Unmeasured time at the start of each phase, the same work as the measured part.
pub const WARM_UP: Duration = Duration::from_secs(1);

/// What one phase measured: the latency of each operation that began and ended in its window.
pub struct Phase {
    window: Duration,
    latencies: Vec<Duration>,
    /// How long sealing what the phase wrote to the audit log took after it ended.
    sealed_after: Option<Duration>,
    /// CPU time the engine process, every PostgreSQL process and this driver used during the window.
    cpu: Cpu,
}

/// CPU time (user and system) used by the engine process, by PostgreSQL's processes and by this
/// driver, which shares the machine's cores with them.
#[derive(Clone, Copy, Default)]
pub struct Cpu {
    engine: Duration,
    postgres: Duration,
    driver: Duration,
}

impl Cpu {
    /// What they have used so far, from `/proc` (zero where there is none).
    fn used(engine_pid: u32) -> Self {
        let mut used = Self {
            engine: ticks(&format!("/proc/{engine_pid}/stat"), WITH_CHILDREN)
                .map_or(Duration::ZERO, |(_, t)| t),
            postgres: Duration::ZERO,
            // Not its children: they are the servers and the CLI runs that seal between phases.
            driver: ticks("/proc/self/stat", ALONE).map_or(Duration::ZERO, |(_, t)| t),
        };
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            if let Some(("postgres", time)) =
                ticks(&entry.path().join("stat").to_string_lossy(), WITH_CHILDREN)
                    .as_ref()
                    .map(|(c, t)| (c.as_str(), *t))
            {
                used.postgres += time;
            }
        }
        used
    }

    fn since(self, earlier: Self) -> Self {
        Self {
            engine: self.engine.saturating_sub(earlier.engine),
            postgres: self.postgres.saturating_sub(earlier.postgres),
            driver: self.driver.saturating_sub(earlier.driver),
        }
    }
}

/// `stat` fields to add up: utime and stime, then cutime and cstime (its ended children's).
const ALONE: usize = 2;
const WITH_CHILDREN: usize = 4;

/// A process's command name and the CPU time it (and its ended children, with `WITH_CHILDREN`) has
/// used, from its `stat` file. The children count for PostgreSQL, whose connections and
/// autovacuum workers that end during a window would otherwise take their time with them.
fn ticks(stat_path: &str, fields: usize) -> Option<(String, Duration)> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    let (head, rest) = stat.rsplit_once(") ")?;
    let command = head.split_once(" (")?.1.to_owned();
    // After the command: state, then 10 fields, then utime, stime, cutime and cstime, in clock
    // ticks (1/100 s).
    let mut total = 0;
    for field in rest.split_whitespace().skip(11).take(fields) {
        total += field.parse::<u64>().ok()?;
    }
    Some((command, Duration::from_millis(total * 10)))
}

impl Phase {
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.window.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }

    /// Seals what the phase left waiting before the next phase begins, so each phase pays for
    /// its own records and no phase for another's; the time it took is reported beside it.
    async fn then_sealed(mut self, on: &Harness) -> Self {
        let started = Instant::now();
        let sealed = on.server.run_cli(&["audit", "seal"]).await;
        assert!(sealed.status.success(), "audit seal: {sealed:?}");
        self.sealed_after = Some(started.elapsed());
        self
    }
}

/// What one client holds between operations: its newest tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    pub refresh: String,
    pub access: String,
}

/// `clients` clients, each running `operation` back to back for the warm-up and then `window`;
/// every operation must succeed. Returns the phase and each client's tokens at the end.
pub async fn measure<F, Fut>(
    engine_pid: u32,
    clients: &[Tokens],
    window: Duration,
    operation: F,
) -> (Phase, Vec<Tokens>)
where
    F: Fn(Tokens) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Tokens> + Send,
{
    let measured_from = Instant::now() + WARM_UP;
    let end = measured_from + window;
    let mut tasks = JoinSet::new();
    for tokens in clients.iter().cloned() {
        let operation = operation.clone();
        tasks.spawn(async move {
            let mut tokens = tokens;
            let mut latencies = Vec::new();
            loop {
                let begun = Instant::now();
                if begun >= end {
                    break;
                }
                tokens = operation(tokens).await;
                let ended = Instant::now();
                if begun >= measured_from && ended <= end {
                    latencies.push(ended - begun);
                }
            }
            (latencies, tokens)
        });
    }
    tokio::time::sleep_until(measured_from.into()).await;
    let before = Cpu::used(engine_pid);
    tokio::time::sleep_until(end.into()).await;
    let cpu = Cpu::used(engine_pid).since(before);
    let mut latencies = Vec::new();
    let mut held = Vec::with_capacity(clients.len());
    while let Some(joined) = tasks.join_next().await {
        let (some, tokens) = joined.unwrap();
        latencies.extend(some);
        held.push(tokens);
    }
    latencies.sort();
    (
        Phase {
            window,
            latencies,
            sealed_after: None,
            cpu,
        },
        held,
    )
}

/// A server with its own app and database; its sealer runs every `seal_interval_ms`. Every limit
/// a load of new people from one address would meet is raised out of the way.
pub async fn start(database_url: Option<&str>, seal_interval_ms: &str) -> Arc<Harness> {
    let mut builder = TestServer::builder()
        .env("AUTH_LOG", "warn")
        .env("AUTH_AUDIT_SEAL_INTERVAL_MS", seal_interval_ms)
        .env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")
        .env("AUTH_OTP_SENDS_PER_IP_PER_HOUR", "1000000")
        .env("AUTH_OTP_VERIFIES_PER_IP_PER_HOUR", "1000000")
        .env("AUTH_SMS_GLOBAL_DAILY_CAP", "100000000")
        .env("AUTH_APP_SMS_PER_DAY_MAX", SMS_PER_DAY);
    if let Some(url) = database_url {
        builder = builder.postgres(url);
    }
    let harness = Harness::start_with(builder).await;
    let slug = harness.app.app_slug.clone();
    let args = [
        "apps",
        "configure",
        "--slug",
        &slug,
        "--sms-per-day",
        SMS_PER_DAY,
    ];
    let configured = harness.server.run_cli(&args).await;
    assert!(configured.status.success(), "{configured:?}");
    Arc::new(harness)
}

/// The app's daily SMS cap (and its ceiling): more codes than any run sends.
const SMS_PER_DAY: &str = "1000000";

/// One login of a new person: send-otp, the code from the sink, verify-otp.
pub async fn login(harness: Arc<Harness>) -> Tokens {
    let (otp_request_id, code) = harness.request_code(&unique_phone()).await;
    let verified = harness.verify_otp(&otp_request_id, &code).await;
    assert_eq!(verified.status, 200, "verify-otp under load: {verified:?}");
    Tokens {
        refresh: verified.str("refresh_token"),
        access: verified.str("access_token"),
    }
}

/// `clients` new people logging in, each again as soon as the last login ended.
pub async fn logins(on: &Arc<Harness>, clients: usize, window: Duration) -> (Phase, Vec<Tokens>) {
    let harness = Arc::clone(on);
    let pid = on.server.pid();
    let (phase, held) = measure(pid, &vec![Tokens::default(); clients], window, move |_| {
        login(Arc::clone(&harness))
    })
    .await;
    (phase.then_sealed(on).await, held)
}

/// Each client refreshing its newest token back to back.
pub async fn refreshes(
    on: &Arc<Harness>,
    held: &[Tokens],
    window: Duration,
) -> (Phase, Vec<Tokens>) {
    let harness = Arc::clone(on);
    let (phase, held) = measure(on.server.pid(), held, window, move |tokens| {
        let on = Arc::clone(&harness);
        async move {
            let refreshed = on.refresh(&tokens.refresh).await;
            assert_eq!(refreshed.status, 200, "refresh under load: {refreshed:?}");
            Tokens {
                refresh: refreshed.str("refresh_token"),
                access: refreshed.str("access_token"),
            }
        }
    })
    .await;
    (phase.then_sealed(on).await, held)
}

/// Each client asking `me` with its newest access token back to back.
pub async fn mes(on: &Arc<Harness>, held: &[Tokens], window: Duration) -> Phase {
    let harness = Arc::clone(on);
    let (phase, _) = measure(on.server.pid(), held, window, move |tokens| {
        let on = Arc::clone(&harness);
        async move {
            let answered = on.me(&tokens.access).await;
            assert_eq!(answered.status, 200, "me under load: {answered:?}");
            tokens
        }
    })
    .await;
    phase
}

/// What `on`'s server logged at warning level or worse, as one line per kind (named `name`): a run
/// whose every operation succeeded may still have replaced connections or retried.
pub fn warnings(name: &str, on: &Harness) -> Vec<String> {
    let logs = on.server.logs();
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for line in logs
        .lines()
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
    {
        // Without the timestamp, so repeats of one warning count as one kind.
        let kind = line
            .split_once(' ')
            .map_or(line, |(_, rest)| rest)
            .to_owned();
        match kinds.iter_mut().find(|(seen, _)| *seen == kind) {
            Some((_, count)) => *count += 1,
            None => kinds.push((kind, 1)),
        }
    }
    kinds
        .into_iter()
        .map(|(kind, count)| format!("{name}: {count} × {kind}"))
        .collect()
}

/// Each phase's measured time: `LOAD_SECS`, or 10 seconds.
pub fn window() -> Duration {
    Duration::from_secs(
        std::env::var("LOAD_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10),
    )
}

/// One line of a report: what was measured, its rate and latencies.
pub fn line(backend: &str, name: &str, phase: &Phase) -> String {
    let sealed = phase.sealed_after.map_or(String::new(), |took| {
        format!("   then sealed in {:.2} s", took.as_secs_f64())
    });
    let operations = phase.latencies.len().max(1) as f64;
    let per_operation = |time: Duration| time.as_secs_f64() * 1000.0 / operations;
    format!(
        "{backend:<9} {name:<15} {:>8.0} ops/s   p50 {:>7.2} ms   p99 {:>7.2} ms   \
         cpu/op engine {:.3} ms postgres {:.3} ms driver {:.3} ms{sealed}",
        phase.per_second(),
        phase.percentile(0.50).as_secs_f64() * 1000.0,
        phase.percentile(0.99).as_secs_f64() * 1000.0,
        per_operation(phase.cpu.engine),
        per_operation(phase.cpu.postgres),
        per_operation(phase.cpu.driver),
    )
}
