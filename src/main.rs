//! The `stepgraph` binary: parse the command line, set up logging, run the command.

use clap::Parser;

/// mimalloc instead of the system allocator: a GraphQL response is thousands of small
/// allocations (values, maps, strings) made and freed across worker threads, where glibc's
/// malloc spent about a fifth of the server's CPU under load (see docs/PERFORMANCE.md). The
/// `override` feature makes it the C allocator too, so SQLite (which allocates per statement
/// on sqlx's connection threads) no longer contends on glibc's arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = stepgraph::cli::Cli::parse();
    stepgraph::cli::init_logging(&cli.log);
    match stepgraph::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
