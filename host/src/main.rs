//! `chimerad`: the Chimera host chain node.
//!
//! `init`, `testnet` and `start` run the host chain (the ABCI 2.0 app with
//! CometBFT 0.38 as a supervised child; `chimera_host::node`); the executor
//! and blob-store subcommands work without a chain.

use clap::{Parser, Subcommand};

// executor subcommands: infer, models, bench (host/src/cli)
mod cli;

/// The Chimera host chain node: an ABCI++ application on CometBFT 0.38 that
/// runs ML inference requests arriving over IBC and acknowledges them with a
/// commitment to the output agreed by a quorum of validators.
#[derive(Parser, Debug)]
#[command(name = "chimerad", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the version and the protocol this node speaks.
    Version {
        /// Also print the IBC port, channel version and limits, as JSON.
        #[arg(long)]
        long: bool,
    },
    // node subcommands (host/src/node)
    /// Create a node home: CometBFT keys, config and genesis for a new chain,
    /// and config/chimerad.toml.
    Init(chimera_host::node::cli::InitArgs),
    /// Create N validator homes on 127.0.0.1 sharing one genesis, wired as
    /// persistent peers.
    Testnet(chimera_host::node::cli::TestnetArgs),
    /// Run a node: serve ABCI and run `cometbft start` as a child until
    /// SIGINT or SIGTERM.
    Start(chimera_host::node::cli::StartArgs),
    // executor subcommands
    /// Run a registry model locally on one input and print the output's
    /// commitment (sha256, size, encoding) and sketch.
    Infer(cli::infer::InferArgs),
    /// The model registry: `list`, `verify` (hashes and loading).
    Models {
        #[command(subcommand)]
        cmd: cli::models::ModelsCmd,
    },
    /// Latency (batch 1) and throughput (concurrent clients) per model.
    Bench(cli::bench::BenchArgs),
    // blob store subcommands (host/src/blob)
    /// The blob store: serve it over gRPC; put, get, stat; gc, pin, fsck.
    Blob {
        #[command(subcommand)]
        cmd: chimera_host::blob::cli::BlobCommand,
    },
}

fn main() {
    let cli = Cli::try_parse().unwrap_or_else(|e| exit_on_usage_error(e));
    match cli.command {
        Command::Version { long } => {
            if long {
                println!("{}", version_json());
            } else {
                println!("chimerad {}", env!("CARGO_PKG_VERSION"));
            }
        }
        // node subcommands
        Command::Init(a) => std::process::exit(chimera_host::node::cli::run_init(a)),
        Command::Testnet(a) => std::process::exit(chimera_host::node::cli::run_testnet(a)),
        Command::Start(a) => std::process::exit(chimera_host::node::cli::run_start(a)),
        // executor subcommands
        Command::Infer(a) => std::process::exit(cli::infer::run(a)),
        Command::Models { cmd } => std::process::exit(cli::models::run(cmd)),
        Command::Bench(a) => std::process::exit(cli::bench::run(a)),
        // blob store subcommands
        Command::Blob { cmd } => std::process::exit(chimera_host::blob::cli::run(cmd)),
    }
}

fn version_json() -> String {
    use chimera_packets::limits;
    serde_json::json!({
        "name": "chimerad",
        "version": env!("CARGO_PKG_VERSION"),
        "inference_port": chimera_packets::PORT_ID,
        "inference_channel_version": chimera_packets::CHANNEL_VERSION,
        "ica_host_port": chimera_packets::ica::HOST_PORT,
        "max_packet_bytes": limits::MAX_PACKET_BYTES,
        "max_inline_input_bytes": limits::DEFAULT_MAX_INLINE_INPUT,
    })
    .to_string()
}

/// `--help` and `--version` print in full; a usage mistake prints one line
/// saying what is wrong and exits 2.
fn exit_on_usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind::{DisplayHelp, DisplayHelpOnMissingArgumentOrSubcommand, DisplayVersion};
    if matches!(
        e.kind(),
        DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit()
    }
    let text = e.render().to_string();
    eprintln!(
        "{} (see --help)",
        text.lines().next().unwrap_or("error: invalid arguments")
    );
    std::process::exit(2)
}
