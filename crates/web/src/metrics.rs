//! Prometheus metrics. Labels are bounded: the route template (never the concrete path,
//! which holds ids), the method and the status code.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use std::sync::Mutex;

use careloop_engine::figures::Figures;
use jiff::{SignedDuration, Timestamp};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// A department's key (or `none`, the general queue) and a priority: admin-defined
/// keys, never a patient's data.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    department: String,
    priority: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TimingLabels {
    department: String,
    priority: &'static str,
    quantile: &'static str,
}

type Seconds = Family<TimingLabels, Gauge<f64, AtomicU64>>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool: Family<PoolLabels, Gauge>,
    open: Family<QueueLabels, Gauge>,
    overdue: Family<QueueLabels, Gauge>,
    first_response: Seconds,
    resolution: Seconds,
    /// When the inbox's figures were last read: at most once in [`INBOX_EVERY`].
    inbox_read_at: Mutex<Option<Timestamp>>,
}

/// How often a scrape reads the inbox's figures again; scrapes between reuse them.
const INBOX_EVERY: SignedDuration = SignedDuration::from_secs(10);

/// What a scrape does with the inbox's figures.
pub enum Inbox<'a> {
    /// Read afresh.
    Read(&'a Figures),
    /// Could not be read: they are left out rather than shown stale.
    Failed,
    /// Read lately: the last are shown.
    Kept,
}

/// Latency buckets from 1 ms to about 8 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("careloop");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        let open = Family::<QueueLabels, Gauge>::default();
        let overdue = Family::<QueueLabels, Gauge>::default();
        let first_response = Seconds::default();
        let resolution = Seconds::default();
        registry.register(
            "inbox_conversations_open",
            "Conversations open, pending or snoozed, by department and priority",
            open.clone(),
        );
        registry.register(
            "inbox_conversations_overdue",
            "Open conversations whose first answer is overdue, by department and priority",
            overdue.clone(),
        );
        registry.register(
            "inbox_first_response_seconds",
            "Time to the first answer over the last 7 days (quantiles 0.5 and 0.9)",
            first_response.clone(),
        );
        registry.register(
            "inbox_resolution_seconds",
            "Time from opening to resolving over the last 7 days (quantiles 0.5 and 0.9)",
            resolution.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state, and the pool's maximum",
            pool.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            pool,
            open,
            overdue,
            first_response,
            resolution,
            inbox_read_at: Mutex::new(None),
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Whether a scrape at `now` should read the inbox's figures again; if so, the
    /// next within [`INBOX_EVERY`] will not.
    pub fn inbox_due(&self, now: Timestamp) -> bool {
        let Ok(mut last) = self.inbox_read_at.lock() else {
            return true;
        };
        let due = last.is_none_or(|at| now.duration_since(at) >= INBOX_EVERY || now < at);
        if due {
            *last = Some(now);
        }
        due
    }

    /// The text exposition, with the pool figures and the inbox's as of now.
    pub fn render(&self, pool: careloop_store::PoolStats, inbox: Inbox<'_>) -> String {
        match inbox {
            Inbox::Read(figures) => self.set_inbox(figures),
            Inbox::Failed => self.set_inbox(&Figures::none()),
            Inbox::Kept => {}
        }
        let set = |state, value: u32| {
            self.pool
                .get_or_create(&PoolLabels { state })
                .set(i64::from(value));
        };
        set("idle", pool.idle);
        set("in_use", pool.size.saturating_sub(pool.idle));
        set("max", pool.max);
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Metrics {
    fn set_inbox(&self, figures: &Figures) {
        let department = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".to_owned());
        self.open.clear();
        self.overdue.clear();
        for row in &figures.backlog {
            let labels = QueueLabels {
                department: department(&row.department),
                priority: row.priority.name(),
            };
            self.open.get_or_create(&labels).set(row.open);
            self.overdue.get_or_create(&labels).set(row.overdue);
        }
        for (family, timings) in [
            (&self.first_response, &figures.first_response),
            (&self.resolution, &figures.resolution),
        ] {
            family.clear();
            for timing in timings {
                for (quantile, value) in [("0.5", timing.median), ("0.9", timing.p90)] {
                    family
                        .get_or_create(&TimingLabels {
                            department: department(&timing.department),
                            priority: timing.priority.name(),
                            quantile,
                        })
                        .set(value.as_secs_f64());
                }
            }
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
