use clap::Parser;
use regroup::cli::Cli;

// glibc's allocator was a fifth of the server's CPU under load (listing
// clients allocates per row and per field); mimalloc's thread-local free
// lists cost a fraction of that. See docs/benchmarks.md, "Web".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
