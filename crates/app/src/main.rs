use clap::Parser;
use regroup::cli::Cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    regroup::telemetry::init();
    match Cli::parse().run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
