//! The service's Prometheus metrics (`GET /metrics`), all named `coredump_service_*`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A request's route and status, for the latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route pattern (`/coredumps/{key}`), not the path, to bound the label's values.
    pub route: String,
    /// The HTTP method.
    pub method: String,
    /// The answer's status code.
    pub status: u16,
}

/// One outcome label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    result: &'static str,
}

/// The metrics, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    dumps: Counter,
    received_bytes: Counter,
    stored_bytes: Counter,
    symbolizations: Family<Outcome, Counter>,
    sentry: Family<Outcome, Counter>,
    sentry_queued: Gauge,
    latency: Family<RequestLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("coredump_service");
        let dumps = Counter::default();
        registry.register(
            "dumps_received",
            "Core dumps received and stored",
            dumps.clone(),
        );
        let received_bytes = Counter::default();
        registry.register(
            "dump_bytes_received",
            "Bytes of core dumps received, decompressed",
            received_bytes.clone(),
        );
        let stored_bytes = Counter::default();
        registry.register(
            "dump_bytes_stored",
            "Bytes of core dumps stored, compressed",
            stored_bytes.clone(),
        );
        let symbolizations = Family::<Outcome, Counter>::default();
        registry.register(
            "symbolizations",
            "Dumps symbolized at intake, by result (symbolized: with source lines; unsymbolized: names or indices only)",
            symbolizations.clone(),
        );
        let sentry = Family::<Outcome, Counter>::default();
        registry.register(
            "sentry_events",
            "Events forwarded to Sentry, by result (sent, failed: will be retried, rejected: given up)",
            sentry.clone(),
        );
        let sentry_queued = Gauge::default();
        registry.register(
            "sentry_queued",
            "Events waiting to be sent to Sentry by this instance",
            sentry_queued.clone(),
        );
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        registry.register(
            "request_duration_seconds",
            "HTTP request latency, by route, method and status",
            latency.clone(),
        );
        Metrics {
            registry,
            dumps,
            received_bytes,
            stored_bytes,
            symbolizations,
            sentry,
            sentry_queued,
            latency,
        }
    }
}

impl Metrics {
    /// A dump of `size` bytes was stored in `stored` bytes.
    pub fn dump_received(&self, size: u64, stored: u64) {
        self.dumps.inc();
        self.received_bytes.inc_by(size);
        self.stored_bytes.inc_by(stored);
    }

    /// A dump was symbolized at intake, with lines or not.
    pub fn symbolized(&self, with_lines: bool) {
        let result = if with_lines {
            "symbolized"
        } else {
            "unsymbolized"
        };
        self.symbolizations.get_or_create(&Outcome { result }).inc();
    }

    /// A Sentry send ended: `sent`, `failed` (to be retried) or `rejected`.
    pub fn sentry(&self, result: &'static str) {
        self.sentry.get_or_create(&Outcome { result }).inc();
    }

    /// Events waiting for Sentry in this instance.
    pub fn set_sentry_queued(&self, queued: usize) {
        self.sentry_queued.set(queued as i64);
    }

    /// A request was answered after `seconds`.
    pub fn request(&self, labels: RequestLabels, seconds: f64) {
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}
