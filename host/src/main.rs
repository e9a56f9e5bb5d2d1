//! `chimerad`: the Chimera host chain node.
//!
//! Today it reports its version and the protocol it speaks; `init` and
//! `start` (the ABCI++ app behind CometBFT) arrive with the host-chain issue.

use clap::{Parser, Subcommand};

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
