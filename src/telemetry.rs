//! Traces out of the process: OpenTelemetry's SDK and its OTLP exporter, configured only by
//! the standard `OTEL_*` environment variables, and off unless an OTLP endpoint is named
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=
//! true` or `OTEL_TRACES_EXPORTER=none` turn it off again).
//!
//! What is read where: the endpoint, headers, timeout and compression by `opentelemetry-otlp`;
//! the sampler (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`; parent-based always-on by
//! default), the batch settings (`OTEL_BSP_*`) and the resource (`OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`; the service is `stepgraph` unless they name one) by the SDK.
//! Only OTLP over HTTP with protobuf is built in: gRPC would add tonic and its HTTP/2 stack to
//! every build for a transport every collector also serves over HTTP (port 4318), so another
//! protocol is refused at startup with that advice rather than ignored.
//!
//! Why not async-graphql's own OpenTelemetry extension: it makes a span per resolved field
//! (thousands on a nested list, where the cost is), knows nothing of the HTTP request, the
//! loaders or SQL, and pins its own `opentelemetry` version. The spans here come from
//! `tracing` (`tracing-opentelemetry`), which the server already uses for its logs, so a log
//! line and its span share their ids.
//!
//! The exporter sends over the server's own HTTP client (reqwest, already built for `sync
//! outreach`), on the server's runtime: `opentelemetry-otlp`'s bundled clients are a second
//! reqwest version or a blocking client with a runtime of its own.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The exporter's pipeline, flushed and stopped by [`Traces::shutdown`].
pub struct Traces {
    provider: SdkTracerProvider,
}

/// What [`from_env`] found.
pub enum Setup {
    /// No endpoint is configured (or traces were turned off).
    Off,
    /// Traces go to the configured endpoint through this layer.
    On(Traces, Layer),
}

/// The layer that turns `tracing` spans into OpenTelemetry spans.
pub type Layer = tracing_opentelemetry::OpenTelemetryLayer<
    tracing_subscriber::Registry,
    opentelemetry_sdk::trace::Tracer,
>;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Whether the environment asks for traces.
pub fn wanted() -> bool {
    let endpoint = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .is_some();
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let no_exporter = env("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
    endpoint && !disabled && !no_exporter
}

/// The trace pipeline the `OTEL_*` environment describes; the exporter's requests run on
/// `runtime`.
pub fn from_env(runtime: tokio::runtime::Handle) -> anyhow::Result<Setup> {
    if !wanted() {
        return Ok(Setup::Off);
    }
    if let Some(exporter) = env("OTEL_TRACES_EXPORTER")
        && !exporter.eq_ignore_ascii_case("otlp")
    {
        anyhow::bail!(
            "OTEL_TRACES_EXPORTER={exporter} is not supported: stepgraph exports traces over \
             OTLP (`otlp`), or `none`"
        );
    }
    for var in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Some(protocol) = env(var)
            && protocol != "http/protobuf"
        {
            anyhow::bail!(
                "{var}={protocol} is not supported: stepgraph sends traces over OTLP/HTTP with \
                 protobuf (`http/protobuf`); point the endpoint at the collector's HTTP \
                 receiver (port 4318 by default)"
            );
        }
    }
    let timeout = env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
        .or_else(|| env("OTEL_EXPORTER_OTLP_TIMEOUT"))
        .and_then(|ms| ms.parse::<u64>().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis);
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the OTLP HTTP client: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(Client { client, runtime })
        .build()
        .map_err(|e| anyhow::anyhow!("cannot set up the OTLP trace exporter: {e}"))?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    let named = env("OTEL_SERVICE_NAME").is_some()
        || env("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|a| a.contains("service.name="));
    if !named {
        resource = resource.with_service_name("stepgraph");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = provider.tracer("stepgraph");
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_level(false)
        .with_target(false)
        // No busy/idle time per span: two clock reads on every poll of a traced future.
        .with_tracked_inactivity(false);
    Ok(Setup::On(Traces { provider }, layer))
}

impl Traces {
    /// Sends the spans still queued and stops the exporter (at exit; the runtime must still
    /// run, since the last export goes over it).
    pub fn shutdown(self) {
        if let Err(err) = self.provider.shutdown() {
            tracing::warn!(error = %err, "the last traces could not be sent");
        }
    }
}

/// `opentelemetry-http`'s client over reqwest: each export is a task on the server's runtime,
/// awaited from the SDK's export thread.
#[derive(Debug)]
struct Client {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

type Export<'a> = Pin<
    Box<
        dyn Future<Output = Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError>>
            + Send
            + 'a,
    >,
>;

impl opentelemetry_http::HttpClient for Client {
    // The trait is declared with `async_trait`; this is the signature it expands to.
    fn send_bytes<'a, 'b>(&'a self, request: http::Request<bytes::Bytes>) -> Export<'b>
    where
        'a: 'b,
        Self: 'b,
    {
        let client = self.client.clone();
        let task = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let mut out = http::Response::builder().status(response.status());
            if let Some(headers) = out.headers_mut() {
                *headers = response.headers().clone();
            }
            let body = response.bytes().await?;
            Ok::<_, opentelemetry_http::HttpError>(out.body(body)?)
        });
        Box::pin(async move { task.await? })
    }
}
