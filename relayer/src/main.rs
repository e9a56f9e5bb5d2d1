//! `chimera`: the relayer for inference traffic and the ICS-27 controller
//! client for LUNC users.
//!
//! `relay`, `create`, `keys`, `config` and `status` run the IBC relayer
//! (library `chimera_relayer`); `packet`, `ack` and `fetch` check packets,
//! decode acknowledgements and download outputs with the same code the host
//! runs; `ica` is the ICS-27 controller client (`chimera_relayer::ica`);
//! `fees` reads the host's fee records (`chimera.fees.v1.Query`); `ui`
//! serves the web app (`ui.rs`, `relayer/web`).

mod edge;
mod fees_cli;
mod ica_cli;
mod ops;
mod ui;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chimera_packets::{AckError, Acknowledgement, InferencePacketData, Limits};
use chimera_relayer::keys::KeysCommand;
use clap::{Parser, Subcommand};
use sha2::{Digest, Sha256};

/// Chimera's IBC relayer and interchain-account client: carries inference
/// requests between Terra Classic (or any Cosmos chain) and the Chimera host,
/// and lets a LUNC account run models on the host over ICS-27.
///
/// Exit codes: 0 success, 1 the checked input is invalid, a chain refused a
/// step, or an I/O error, 2 a usage mistake, 3 the config is invalid.
#[derive(Parser, Debug)]
#[command(name = "chimera", version, propagate_version = true)]
struct Cli {
    /// The relayer's config file (TOML, like Hermes's).
    #[arg(long, global = true, env = "CHIMERA_CONFIG", default_value = "chimera.toml")]
    config: PathBuf,
    /// Log as JSON lines (for log shippers) instead of text.
    #[arg(long, global = true)]
    json_logs: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the version.
    Version,
    /// Check the config file and explain every mistake in it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage the relayer's keys (24-word mnemonics, 0600 files).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create IBC clients, connections and channels.
    #[command(subcommand)]
    Create(ops::CreateCommand),
    /// Update an IBC client by hand.
    #[command(subcommand)]
    Update(ops::UpdateCommand),
    /// Relay packets, acknowledgements, timeouts and handshakes between
    /// the configured chains until SIGTERM/SIGINT.
    Relay(ops::RelayArgs),
    /// One-shot summary: chains, relayer balances, clients and their
    /// expiry, channels and pending packets.
    Status,
    /// Work with `inference` packet data (JSON).
    #[command(subcommand)]
    Packet(PacketCommand),
    /// Work with acknowledgements.
    #[command(subcommand)]
    Ack(AckCommand),
    /// Download an inference output from any host node's BlobService and
    /// check it against its commitment (the SHA-256 in the result ack).
    /// Writes FILE only if every byte verifies; exit 1 on a mismatch.
    Fetch {
        /// The output's SHA-256 (64 hex digits): `commitment.sha256` of the ack.
        sha256: String,
        /// A host node's BlobService (gRPC), e.g. http://127.0.0.1:9091.
        #[arg(long, env = "CHIMERA_BLOB_NODE")]
        node: String,
        /// Where to write the verified output; `-` writes standard output.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Interchain accounts for LUNC users (ICS-27).
    ///
    /// Register an account on the Chimera host from Terra Classic, fund it,
    /// run models through it and read the results. A typical session:
    /// `register`, `fund --amount 1000000uluna`, `infer --model digits-ddpm
    /// --prompt 7 --wait --out seven.png`. Every command names the two chains
    /// of the config with --controller (Terra) and --host (Chimera); a
    /// relayer (`chimera relay` or Hermes) must run between them. See
    /// docs/users.md.
    #[command(subcommand)]
    Ica(Box<ica_cli::IcaCommand>),
    /// Read the Chimera host's fee records from any node's gRPC.
    ///
    /// `params` (prices and the split of each fee), `totals` (collected,
    /// paid, burned and community amounts per denom) and `executors` (each
    /// validator's earnings, faults and exclusion). Needs no config and no
    /// key: `chimera fees totals --node http://127.0.0.1:9090`. Add --json
    /// for scripts. See docs/users.md.
    #[command(subcommand)]
    Fees(fees_cli::FeesCommand),
    /// Serve the web app: models, jobs, outputs verified in the browser,
    /// validators and fee totals of a Chimera host.
    ///
    /// Serves the built app (relayer/web/dist; `scripts/setup web` builds
    /// it) and a read-only JSON API over chimerad's gRPC, on loopback by
    /// default: `chimera ui --host-grpc http://127.0.0.1:9090`, then open
    /// http://127.0.0.1:8090/. Outputs are fetched from --blob-node and
    /// passed to the page unchecked: the page hashes them against the
    /// commitment on chain and says "verified" or "verification failed".
    /// Runs until SIGTERM/SIGINT (exit 0); exit 1 when it cannot start, 2 on
    /// a usage mistake. See docs/ui.md.
    Ui(ui::UiArgs),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Parse and check the config; list every problem (exit 3) or print
    /// a summary of the chains (exit 0).
    Validate,
}

#[derive(Subcommand, Debug)]
enum PacketCommand {
    /// Decode and validate packet data as the host would on receipt; print
    /// its canonical bytes and their SHA-256, or the error acknowledgement
    /// the host would write.
    Check {
        /// File holding the packet data; `-` reads standard input.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum AckCommand {
    /// Decode acknowledgement bytes: the agreed result, or the error code.
    Decode {
        /// File holding the acknowledgement; `-` reads standard input.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::try_parse().unwrap_or_else(|e| exit_on_usage_error(e));
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Version => println!("chimera {}", env!("CARGO_PKG_VERSION")),
        Command::Config(ConfigCommand::Validate) => return ops::validate(&cli.config),
        Command::Keys(cmd) => return ops::keys(&cli.config, cmd),
        Command::Create(cmd) => return ops::create(&cli.config, cli.json_logs, cmd),
        Command::Update(cmd) => return ops::update(&cli.config, cli.json_logs, cmd),
        Command::Relay(args) => return ops::relay(&cli.config, cli.json_logs, args),
        Command::Status => return ops::status(&cli.config, cli.json_logs),
        Command::Fetch { sha256, node, out } => fetch(&sha256, &node, &out)?,
        Command::Ica(cmd) => return Ok(ica_cli::run(&cli.config, cli.json_logs, *cmd)),
        Command::Fees(cmd) => return Ok(fees_cli::run(cmd)),
        Command::Ui(args) => return Ok(ui::run(args, cli.json_logs)),
        Command::Packet(PacketCommand::Check { file }) => {
            let bytes = read_input(&file)?;
            match InferencePacketData::decode_and_validate(&bytes, &Limits::default()) {
                Ok(data) => {
                    let canonical = data.to_bytes();
                    println!("{}", String::from_utf8_lossy(&canonical));
                    eprintln!(
                        "valid: {} canonical bytes, sha256 {}{}",
                        canonical.len(),
                        hex::encode(Sha256::digest(&canonical)),
                        if canonical == bytes {
                            ""
                        } else {
                            " (input was not canonical)"
                        }
                    );
                }
                Err(e) => {
                    eprintln!("invalid: {}", AckError::from(&e));
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Command::Ack(AckCommand::Decode { file }) => {
            let bytes = read_input(&file)?;
            match Acknowledgement::from_bytes(&bytes).context("cannot decode acknowledgement")? {
                Acknowledgement::Result(r) => {
                    println!("{}", String::from_utf8_lossy(&r.to_bytes()));
                    eprintln!(
                        "result: job {} agreed by {}/{} voting power at height {}",
                        r.job_id, r.quorum.agreeing_power, r.quorum.total_power, r.quorum.height
                    );
                }
                Acknowledgement::Error(e) => println!("{e}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `chimera fetch`: [`fetch_blob`] on a runtime of its own.
fn fetch(sha256: &str, node: &str, out: &std::path::Path) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(fetch_blob(sha256, node, out, None))
}

/// Downloads blob `sha256` from the BlobService at `node` into a temporary
/// file beside `out` and renames it into place only once the bytes hash to
/// `sha256` (and, if given, are `size` bytes long), so a failed or forged
/// download never leaves a file that looks like the output. `chimera fetch`
/// and `chimera ica fetch` share it.
async fn fetch_blob(
    sha256: &str,
    node: &str,
    out: &std::path::Path,
    size: Option<u64>,
) -> anyhow::Result<()> {
    use chimera_host::blob::{BlobClient, BlobHash};
    let hash: BlobHash = sha256
        .parse()
        .map_err(|e| anyhow::anyhow!("{sha256:?} is not a SHA-256: {e}"))?;
    let wrong_size = |got: u64| match size {
        Some(want) if want != got => Some(anyhow::anyhow!(
            "fetching {hash} from {node}: the blob has {got} bytes, the acknowledgement commits to {want}"
        )),
        _ => None,
    };
    let mut client = BlobClient::connect(node).await?;
    if out.as_os_str() == "-" {
        let bytes = client.get_bytes(&hash).await?;
        if let Some(e) = wrong_size(bytes.len() as u64) {
            return Err(e);
        }
        use std::io::Write;
        std::io::stdout()
            .write_all(&bytes)
            .context("writing standard output")?;
        return Ok(());
    }
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = partial_path(dir);
    let mut file = tokio::fs::File::create(&tmp)
        .await
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let got = client.get_to(&hash, &mut file).await;
    drop(file);
    match got {
        Ok(info) if wrong_size(info.size).is_some() => {
            let _ = std::fs::remove_file(&tmp);
            Err(wrong_size(info.size).expect("checked"))
        }
        Ok(info) => {
            std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!(
                "verified {} bytes, sha256 {hash}, into {}",
                info.size,
                out.display()
            );
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(anyhow::Error::new(e).context(format!("fetching {hash} from {node}")))
        }
    }
}

/// The temporary name a download goes to before it verifies.
fn partial_path(dir: &std::path::Path) -> PathBuf {
    let name = format!(".chimera-fetch-{}.part", std::process::id());
    dir.join(name)
}

fn read_input(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
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
    // clap puts the missing arguments on the lines after the first; keep
    // them, on one line, up to the usage block.
    let text = e.render().to_string();
    let line = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!(
        "{} (see --help)",
        if line.is_empty() {
            "error: invalid arguments"
        } else {
            &line
        }
    );
    std::process::exit(2)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
