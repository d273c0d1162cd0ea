//! `room-load`: what one room of N participants costs the media engine;
//! `room-load compare`: the same room against the engine in its own
//! process, Janus and a plain UDP relay.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use regroup_loadtest::compare::{self, CompareConfig, Target};
use regroup_loadtest::{markdown, run, BenchConfig, LayerChoice, Report};

/// Room sizes a sweep runs, from a 1:1 session to the engine's room limit.
const SWEEP: [usize; 4] = [2, 4, 8, 16];

#[derive(Parser)]
#[command(about = "Measure the engine's CPU for one room of synthetic WebRTC participants")]
#[command(args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
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

#[derive(Subcommand)]
enum Cmd {
    /// Run the same room against regroup (the engine in its own process),
    /// janus (VideoRoom) and relay (plain UDP), print JSON lines and write
    /// the table and chart into a Markdown file.
    Compare(CompareArgs),
}

#[derive(clap::Args)]
struct CompareArgs {
    /// Targets, comma-separated: regroup, janus, relay.
    #[arg(long, value_delimiter = ',', default_value = "regroup,janus,relay")]
    targets: Vec<String>,
    /// Room sizes, comma-separated (2 to 16).
    #[arg(long, value_delimiter = ',', default_value = "2,4,8,16")]
    sizes: Vec<usize>,
    /// Runs per target and size; the table gives the median.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Length of each measuring window.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Media flowing before each window opens.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Engine worker threads (regroup).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Room size for the "how many rooms fit" search; 0 skips the search.
    #[arg(long, default_value_t = 4)]
    capacity_room: usize,
    /// Most rooms the search tries (the relay fitted 64 rooms of 4 on an
    /// Intel Xeon with its CPU at half a core).
    #[arg(long, default_value_t = 256)]
    capacity_max_rooms: usize,
    /// Media address for Janus and its peers: not loopback (Janus skips
    /// it) and not the machine's own; scripts/bench-sfu makes one in a
    /// network namespace.
    #[arg(long)]
    janus_ip: Option<std::net::IpAddr>,
    /// Markdown file whose compare section is (re)written, e.g. docs/benchmarks.md;
    /// the chart goes beside it as benchmarks-sfu.svg.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Marks the written section as a short run, with this explanation.
    #[arg(long)]
    short_run: Option<String>,
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
    if let Some(Cmd::Compare(c)) = args.command {
        return match compare_main(c) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("room-load compare: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
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

fn compare_main(c: CompareArgs) -> anyhow::Result<()> {
    let targets = c
        .targets
        .iter()
        .map(|t| Target::parse(t).ok_or_else(|| anyhow::anyhow!("unknown target {t:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if targets.contains(&Target::Janus) && c.janus_ip.is_none() {
        anyhow::bail!(
            "janus needs --janus-ip: a media address other than loopback (Janus skips it) and \
             the machine's own (benchmarks stay off it). scripts/bench-sfu makes one in a \
             network namespace; or leave janus out with --targets regroup,relay"
        );
    }
    if let Some(bad) = c.sizes.iter().find(|n| !(2..=16).contains(*n)) {
        anyhow::bail!("room size {bad} is outside 2 to 16 (the engine's room limit)");
    }
    let cfg = CompareConfig {
        targets,
        sizes: c.sizes,
        repeats: c.repeats,
        base: BenchConfig {
            warmup: Duration::from_secs(c.warmup),
            window: Duration::from_secs(c.seconds),
            workers: c.workers,
            janus_ip: c.janus_ip,
            ..BenchConfig::new(2)
        },
        capacity_room: (c.capacity_room >= 2).then_some(c.capacity_room),
        capacity_max_rooms: c.capacity_max_rooms.max(1),
    };
    let chart_file = "benchmarks-sfu.svg".to_owned();
    let command = markdown::shown_command(std::env::args().collect());
    let mut facts = markdown::RunFacts::gather(command, c.short_run, chart_file.clone());
    facts.load_start = regroup_loadtest::load_average();
    eprintln!(
        "room-load compare: about {} min before the capacity search",
        compare::estimate(&cfg).as_secs() / 60 + 1
    );
    let outcome = compare::run(&cfg, |s| {
        print!("{}", regroup_loadtest::control::to_line(s))
    })?;
    facts.load_end = regroup_loadtest::load_average();
    for f in &outcome.failures {
        eprintln!("failed: {f}");
    }
    println!("\n{}", markdown::table(&outcome.medians));
    if let Some(out) = c.out {
        let names: Vec<&str> = cfg.targets.iter().map(|t| t.name()).collect();
        let svg = regroup_loadtest::chart_svg(&outcome.medians, &names)?;
        let dir = out.parent().unwrap_or(std::path::Path::new("."));
        std::fs::write(dir.join(&chart_file), svg)?;
        let doc = std::fs::read_to_string(&out).unwrap_or_default();
        let section = markdown::section(&cfg, &outcome, &facts);
        std::fs::write(&out, markdown::splice(&doc, &section))?;
        eprintln!(
            "wrote {} and {}",
            out.display(),
            dir.join(&chart_file).display()
        );
    }
    Ok(())
}
