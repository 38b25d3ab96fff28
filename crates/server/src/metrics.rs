//! Prometheus metrics: submissions received and rejected (by finding code), request
//! latency, and receipt → durable latency.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use dossier::{Finding, Spec};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::App;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
    spec: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
    result: String,
}

pub struct Metrics {
    registry: Registry,
    received: Family<KindLabels, Counter>,
    rejected: Family<CodeLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
    durable: Histogram,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("healthbook");
        let received = Family::<KindLabels, Counter>::default();
        let rejected = Family::<CodeLabels, Counter>::default();
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let durable = latency_histogram();
        registry.register(
            "submissions_received",
            "Submissions stored, by kind, spec and result",
            received.clone(),
        );
        registry.register(
            "findings_rejected",
            "Error findings of rejected submissions, by code",
            rejected.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Request handling time",
            latency.clone(),
        );
        registry.register(
            "receipt_to_durable_seconds",
            "From receipt to the durable commit of a submission",
            durable.clone(),
        );
        Metrics {
            registry,
            received,
            rejected,
            latency,
            durable,
        }
    }

    pub(crate) fn request(&self, endpoint: &str, result: &str, took: Duration) {
        self.latency
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.into(),
                result: result.into(),
            })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn ingested(
        &self,
        kind: &str,
        spec: Spec,
        accepted: bool,
        findings: &[Finding],
        ms: i64,
    ) {
        let result = if accepted { "accepted" } else { "rejected" };
        self.received
            .get_or_create(&KindLabels {
                kind: kind.into(),
                spec: spec.code().into(),
                result: result.into(),
            })
            .inc();
        if !accepted {
            for f in findings.iter().filter(|f| f.is_error()) {
                self.rejected
                    .get_or_create(&CodeLabels {
                        code: f.code.clone(),
                    })
                    .inc();
            }
        }
        self.durable.observe(ms.max(0) as f64 / 1000.0);
    }
}

pub(crate) async fn render(State(app): State<Arc<App>>) -> Response {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &app.metrics.registry).is_err() {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "metrics").into_response();
    }
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
