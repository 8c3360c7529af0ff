//! Prometheus metrics: requests and latency per route, codes sent per channel, refresh reuse.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters since the process started. Each process exposes its own; Prometheus sums them.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (route pattern, status) → count.
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// route pattern → (seconds, count).
    latency: Mutex<BTreeMap<String, (f64, u64)>>,
    otp_sent_sms: AtomicU64,
    otp_sent_email: AtomicU64,
    refresh_reuse_detected: AtomicU64,
}

impl Metrics {
    pub(crate) fn record_request(&self, route: &str, status: u16, elapsed: Duration) {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *requests.entry((route.to_owned(), status)).or_default() += 1;
        drop(requests);
        let mut latency = self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = latency.entry(route.to_owned()).or_default();
        entry.0 += elapsed.as_secs_f64();
        entry.1 += 1;
    }

    pub(crate) fn otp_sent(&self, channel: auth_domain::Channel) {
        let counter = match channel {
            auth_domain::Channel::Sms => &self.otp_sent_sms,
            auth_domain::Channel::Email => &self.otp_sent_email,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn refresh_reuse_detected(&self) {
        self.refresh_reuse_detected.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every counter.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP auth_http_requests_total HTTP requests by route pattern and status.\n",
        );
        out.push_str("# TYPE auth_http_requests_total counter\n");
        for ((route, status), count) in self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "auth_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP auth_http_request_duration_seconds Time to answer, by route pattern.\n",
        );
        out.push_str("# TYPE auth_http_request_duration_seconds summary\n");
        for (route, (seconds, count)) in self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "auth_http_request_duration_seconds_sum{{route=\"{route}\"}} {seconds}"
            );
            let _ = writeln!(
                out,
                "auth_http_request_duration_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        out.push_str("# HELP auth_otp_sent_total Codes handed to a delivery channel.\n");
        out.push_str("# TYPE auth_otp_sent_total counter\n");
        let _ = writeln!(
            out,
            "auth_otp_sent_total{{channel=\"sms\"}} {}",
            self.otp_sent_sms.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "auth_otp_sent_total{{channel=\"email\"}} {}",
            self.otp_sent_email.load(Ordering::Relaxed)
        );
        out.push_str("# HELP auth_refresh_reuse_detected_total Rotated refresh tokens presented after the grace window.\n");
        out.push_str("# TYPE auth_refresh_reuse_detected_total counter\n");
        let _ = writeln!(
            out,
            "auth_refresh_reuse_detected_total {}",
            self.refresh_reuse_detected.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_prometheus_text_format() {
        let metrics = Metrics::default();
        metrics.record_request("/auth/refresh", 200, Duration::from_millis(5));
        metrics.record_request("/auth/refresh", 200, Duration::from_millis(7));
        metrics.otp_sent(auth_domain::Channel::Email);
        metrics.refresh_reuse_detected();
        let text = metrics.render();
        assert!(
            text.contains("auth_http_requests_total{route=\"/auth/refresh\",status=\"200\"} 2\n")
        );
        assert!(
            text.contains("auth_http_request_duration_seconds_count{route=\"/auth/refresh\"} 2\n")
        );
        assert!(text.contains("auth_otp_sent_total{channel=\"email\"} 1\n"));
        assert!(text.contains("auth_otp_sent_total{channel=\"sms\"} 0\n"));
        assert!(text.contains("auth_refresh_reuse_detected_total 1\n"));
    }
}
