//! Prometheus metrics of one blob store (its own `Registry`, so several
//! stores — tests, a node with two homes — never collide).

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

#[derive(Clone)]
pub struct BlobMetrics {
    registry: Registry,
    pub put_bytes: IntCounter,
    pub get_bytes: IntCounter,
    /// `result` = `created` | `existing`.
    pub puts: IntCounterVec,
    pub gets: IntCounter,
    pub blobs: IntGauge,
    pub stored_bytes: IntGauge,
    /// `op` (put, get, stat, pin, unpin, gc, open) and `kind` (`BlobError::kind`).
    pub errors: IntCounterVec,
    pub gc_removed: IntCounter,
    pub recovered_partial_writes: IntCounter,
}

impl BlobMetrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(format!("chimera_blob_{name}"), help).expect("metric");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(format!("chimera_blob_{name}"), help).expect("metric");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        let vec = |name: &str, help: &str, labels: &[&str]| {
            let v =
                IntCounterVec::new(Opts::new(format!("chimera_blob_{name}"), help), labels).expect("metric");
            registry.register(Box::new(v.clone())).expect("register");
            v
        };
        BlobMetrics {
            put_bytes: counter("put_bytes_total", "Bytes received by completed puts."),
            get_bytes: counter("get_bytes_total", "Bytes returned by reads, after verification."),
            puts: vec("puts_total", "Completed puts, by result.", &["result"]),
            gets: counter("gets_total", "Reads started."),
            blobs: gauge("blobs", "Blobs stored."),
            stored_bytes: gauge("stored_bytes", "Bytes of all stored blobs."),
            errors: vec(
                "errors_total",
                "Failed operations, by operation and kind.",
                &["op", "kind"],
            ),
            gc_removed: counter("gc_removed_total", "Blobs removed by garbage collection."),
            recovered_partial_writes: counter(
                "recovered_partial_writes_total",
                "Unfinished writes found and discarded when the store was opened.",
            ),
            registry,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn error(&self, op: &str, err: &super::BlobError) {
        self.errors.with_label_values(&[op, err.kind()]).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        use prometheus::Encoder;
        let mut buf = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding");
        String::from_utf8(buf).expect("utf-8")
    }
}

impl Default for BlobMetrics {
    fn default() -> Self {
        Self::new()
    }
}
