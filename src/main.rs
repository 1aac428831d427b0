//! The `stepgraph` binary: parse the command line, set up logging, run the command.

use clap::Parser;

/// mimalloc instead of the system allocator: a GraphQL response is thousands of small
/// allocations (values, maps, strings) made and freed across worker threads, where glibc's
/// malloc spent about a fifth of the server's CPU under load (see docs/PERFORMANCE.md). The
/// `override` feature makes it the C allocator too, so SQLite (which allocates per statement
/// on sqlx's connection threads) no longer contends on glibc's arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let thp = no_transparent_huge_pages();
    let cli = stepgraph::cli::Cli::parse();
    // One thread: the main thread runs every task (tokio's current-thread scheduler), with
    // no hand-offs between threads and no work stealing; measured 5-10% less CPU per request
    // than a multi-thread runtime with one worker (docs/PERFORMANCE.md).
    let mut builder = match cli.worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(threads) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(usize::from(threads));
            builder
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Traces (the `OTEL_*` environment) before logging, whose subscriber carries their layer;
    // the exporter's requests run on the runtime.
    let (traces, layer) = match stepgraph::telemetry::from_env(runtime.handle().clone()) {
        Ok(stepgraph::telemetry::Setup::On(traces, layer)) => (Some(traces), Some(layer)),
        Ok(stepgraph::telemetry::Setup::Off) => (None, None),
        Err(err) => {
            eprintln!("error: {err:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let pool_waits = stepgraph::cli::reports_pool_waits(&cli);
    stepgraph::cli::init_logging_with(&cli.log, cli.log_format, layer, pool_waits);
    if let Err(err) = thp {
        tracing::debug!(error = %err, "transparent huge pages stay on");
    }
    let result = runtime.block_on(stepgraph::cli::run(cli));
    if let Some(traces) = traces {
        // The last export is a task on the runtime, awaited from the SDK's thread: shut down
        // from a blocking thread while this one drives the runtime (on the current-thread
        // scheduler nothing else would).
        let shutdown = runtime.spawn_blocking(move || traces.shutdown());
        let _ = runtime.block_on(shutdown);
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Turns transparent huge pages off for this process, before the runtime's threads start.
///
/// Why: mimalloc reserves its arenas as one large mapping and asks for huge pages on it, so
/// where the kernel honours that (`madvise` mode, Debian's default), each thread's first
/// small allocations made a whole 2 MiB page resident: on SQLite, with eight sqlx connection
/// threads, the server sat at 105-110 MB under load instead of 65 (docs/PERFORMANCE.md), for
/// no measurable speed. This is what `MIMALLOC_ALLOW_THP=0` does, which mimalloc reads
/// before `main` and so cannot be set from here.
#[cfg(target_os = "linux")]
fn no_transparent_huge_pages() -> std::io::Result<()> {
    rustix::thread::disable_transparent_huge_pages(true).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn no_transparent_huge_pages() -> std::io::Result<()> {
    Ok(())
}
