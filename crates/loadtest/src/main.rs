//! `room-load`: what one room of N participants costs the media engine.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use regroup_loadtest::{run, BenchConfig, LayerChoice, Report};

/// Room sizes a sweep runs, from a 1:1 session to the engine's room limit.
const SWEEP: [usize; 4] = [2, 4, 8, 16];

#[derive(Parser)]
#[command(about = "Measure the engine's CPU for one room of synthetic WebRTC participants")]
struct Args {
    /// People in the room (the engine allows at most 16).
    #[arg(short = 'n', long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(2..=16))]
    participants: u8,
    /// Length of the measuring window.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Media flowing before the window opens, so bandwidth estimates and layers settle.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Publish the camera as three simulcast layers (q/h/f); off: one full layer.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    simulcast: bool,
    /// Simulcast layer cap per subscriber: `app` applies the web app's grid rule.
    #[arg(long, value_enum, default_value_t = Layer::App)]
    layer: Layer,
    /// Engine worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Run 2, 4, 8 and 16 participants one after another and print a table.
    #[arg(long)]
    sweep: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Layer {
    App,
    Any,
    Q,
    H,
    F,
}

impl From<Layer> for LayerChoice {
    fn from(l: Layer) -> LayerChoice {
        match l {
            Layer::App => LayerChoice::App,
            Layer::Any => LayerChoice::Uncapped,
            Layer::Q => LayerChoice::Max(0),
            Layer::H => LayerChoice::Max(1),
            Layer::F => LayerChoice::Max(2),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = |participants| BenchConfig {
        simulcast: args.simulcast,
        layer: args.layer.into(),
        workers: args.workers,
        warmup: Duration::from_secs(args.warmup),
        window: Duration::from_secs(args.seconds),
        ..BenchConfig::new(participants)
    };
    let sizes = if args.sweep {
        SWEEP.to_vec()
    } else {
        vec![args.participants as usize]
    };
    let mut reports = Vec::new();
    for n in sizes {
        match run(&config(n)) {
            Ok(report) => {
                println!("{report}\n");
                reports.push(report);
            }
            Err(e) => {
                eprintln!("{n} participants: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    }
    if reports.len() > 1 {
        println!("{}", Report::header());
        for r in &reports {
            println!("{}", r.row());
        }
    }
    ExitCode::SUCCESS
}
