//! The `stepgraph` binary: parse the command line, set up logging, run the command.

use clap::Parser;

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
