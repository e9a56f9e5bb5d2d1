//! `chimera ica ...` at the binary's edge: parse, connect, call
//! `chimera_relayer::ica`, print, and turn failures into one line and an
//! exit code (0 ok, 1 a chain step or a check failed, 2 a usage mistake, 3 a
//! bad config).

use std::path::{Path, PathBuf};

use crate::edge::one_line;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use chimera_packets::{DType, InputEncoding, Params};
use chimera_relayer::chain::Chain;
use chimera_relayer::config::{duration, Config};
use chimera_relayer::ica::{
    self, AckOutcome, IcaAccount, IcaPath, InferRequest, InvalidRequest, PacketState,
};
use chimera_relayer::keys::KeyStore;
use chimera_relayer::telemetry::Metrics;
use clap::{Args, Subcommand, ValueEnum};
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::ibc::core::channel::v1::Order;
use serde_json::json;

/// Which chains and which account every `chimera ica` command works on.
#[derive(Args, Debug, Clone)]
pub struct Route {
    /// Chain id of the controller in the config: the Terra Classic chain
    /// where your LUNC account signs (e.g. columbus-5).
    #[arg(long, env = "CHIMERA_ICA_CONTROLLER")]
    controller: String,
    /// Chain id of the Chimera host in the config, where the interchain
    /// account lives and the models run.
    #[arg(long, env = "CHIMERA_ICA_HOST")]
    host: String,
    /// Connection id on the controller that leads to the host (default: the
    /// one OPEN connection whose client tracks --host).
    #[arg(long)]
    connection: Option<String>,
    /// Key (in the key store) that owns the account and signs on the
    /// controller (default: the controller's `key` in the config). Import a
    /// Terra Station mnemonic with `chimera keys import --chain <controller>`.
    #[arg(long)]
    key: Option<String>,
}

/// `chimera ica ...`.
#[derive(Subcommand, Debug)]
pub enum IcaCommand {
    /// Create your interchain account on the host (once).
    ///
    /// Sends MsgRegisterInterchainAccount from your key on the controller (Terra),
    /// then waits until a relayer (`chimera relay` or Hermes) has completed
    /// the ICS-27 channel handshake and the host has created the account;
    /// prints its address (chimera1...). Sends nothing if the account's
    /// channel is already OPEN, or while a handshake is under way; after an
    /// ordered channel CLOSED (a packet timed out) it reopens a channel to
    /// the same account.
    Register(RegisterArgs),
    /// Print your interchain account's address on the host.
    ///
    /// Exit 1 if you have none yet (run `chimera ica register`).
    Address(AddressArgs),
    /// Send coins to your interchain account (for request fees).
    ///
    /// Sends coins from your key on the controller to your interchain account
    /// over ICS-20 (MsgTransfer on the controller, relayed to the host), and
    /// wait until they arrive as an ibc/... voucher; the host takes request
    /// fees (`infer --fee`) from this balance. Prints the voucher denom and
    /// the new balance.
    Fund(FundArgs),
    /// Run a model on the host through your interchain account.
    ///
    /// Sends MsgSendTx on the controller carrying MsgRunInference (signed by the
    /// interchain account on the host). Prints the packet's sequence; with
    /// --wait follows it until the validators' result comes back (tens of
    /// seconds) and, with --out, downloads and verifies the output.
    Infer(InferArgs),
    /// Where a request's packet is, and its result.
    ///
    /// Says whether the packet is pending on the controller, received on the
    /// host (job running), acknowledged on the host, acknowledged back on
    /// the controller, or timed out, and decodes the result (job, output
    /// SHA-256 and size, model hash, voting power) or the error. The ack is
    /// read from the controller's MsgAcknowledgement tx, else from the
    /// host's write_acknowledgement event.
    Status(StatusArgs),
    /// Download a request's output and verify it.
    ///
    /// Downloads the output from a host node's BlobService and checks it
    /// against the SHA-256 and size in the acknowledgement; writes FILE
    /// only if every byte verifies (exit 1 naming both hashes otherwise).
    Fetch(FetchArgs),
}

/// `CosmosTx` encoding of the account's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodingArg {
    /// Protobuf (every ibc-go controller).
    Proto3,
    /// Proto3 JSON (ibc-go ≥ v7.3; readable packets).
    Proto3json,
}

/// Ordering of the account's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderingArg {
    /// Packets in order; a timeout closes the channel (ibc-go < v7.5 always).
    Ordered,
    /// Packets in any order; a timeout leaves the channel open (ibc-go ≥
    /// v7.5 controllers only: Terra Classic v3.4 refuses it).
    Unordered,
}

/// `chimera ica register`.
#[derive(Args, Debug)]
pub struct RegisterArgs {
    #[command(flatten)]
    route: Route,
    /// Encoding of the transactions the channel carries (default proto3, or
    /// the closed channel's when reopening).
    #[arg(long, value_enum)]
    encoding: Option<EncodingArg>,
    /// Channel ordering. Leave it out on Terra Classic v3.4 (ibc-go v7.4:
    /// always ordered, and it refuses the field).
    #[arg(long, value_enum)]
    ordering: Option<OrderingArg>,
    /// How long to wait for a relayer to finish the handshake.
    #[arg(long, default_value = "120s", value_parser = parse_wait)]
    wait: Duration,
    /// Send a new registration even though a channel of yours is still in
    /// INIT/TRYOPEN (a handshake no relayer finished).
    #[arg(long)]
    resend: bool,
    /// Print {"owner","connection_id","port_id","channel_id","address"}.
    #[arg(long)]
    json: bool,
}

/// `chimera ica address`.
#[derive(Args, Debug)]
pub struct AddressArgs {
    #[command(flatten)]
    route: Route,
    /// Print the account, its channel and encoding as JSON.
    #[arg(long)]
    json: bool,
}

/// `chimera ica fund`.
#[derive(Args, Debug)]
pub struct FundArgs {
    #[command(flatten)]
    route: Route,
    /// Coins to send, amount then denom: 1000000uluna.
    #[arg(long, value_parser = ica::parse_coin)]
    amount: Coin,
    /// The ICS-20 `transfer` channel on the controller (default: the one
    /// OPEN transfer channel on the connection).
    #[arg(long)]
    channel: Option<String>,
    /// How long to wait for the coins to arrive on the host.
    #[arg(long, default_value = "60s", value_parser = parse_wait)]
    wait: Duration,
    /// Print the transfer and the balances as JSON.
    #[arg(long)]
    json: bool,
}

/// Fee coins, comma-separated.
#[derive(Debug, Clone)]
pub struct Coins(Vec<Coin>);

/// `chimera ica infer`.
#[derive(Args, Debug)]
pub struct InferArgs {
    #[command(flatten)]
    route: Route,
    /// Registry id of the model on the host (digits-ddpm, tiny-lm,
    /// minilm-l6, digits-cnn; see docs/models.md).
    #[arg(long)]
    model: String,
    /// Text prompt (a sentence for tiny-lm/minilm-l6, a digit 0-9 for
    /// digits-ddpm).
    #[arg(long, conflicts_with = "input", required_unless_present = "input")]
    prompt: Option<String>,
    /// Input file instead of --prompt: text for text models, raw
    /// little-endian tensor bytes for tensor models (of the dtype and shape
    /// the host's registry records, or --tensor).
    #[arg(long)]
    input: Option<PathBuf>,
    /// The input is a tensor of DTYPE and SHAPE, e.g. f32:1x8x8 for
    /// digits-cnn (default: what the host's registry records for the model).
    #[arg(long, value_parser = parse_tensor, requires = "input")]
    tensor: Option<InputEncoding>,
    /// Seed of the executors' RNG (same request + seed = same output).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A model parameter KEY=VALUE (repeatable), e.g. max_tokens=32.
    #[arg(long = "param", value_parser = parse_kv)]
    params: Vec<(String, String)>,
    /// Seal the input to the host validators' executor keys (read from the
    /// host), so it is not readable on either chain.
    #[arg(long)]
    encrypt: bool,
    /// The most the request may cost, taken from the interchain account's
    /// host balance (escrowed, refunded on failure): e.g. 100ibc/27394FB0...
    /// (see `chimera ica fund`). Comma-separate several coins.
    #[arg(long, value_parser = parse_fee)]
    fee: Option<Coins>,
    /// Packet timeout, relative: it must reach the host within this (an
    /// ordered channel closes on a timeout). The job's run time does not
    /// count: once received it always gets an answer.
    #[arg(long, default_value = "10m", value_parser = parse_timeout)]
    timeout: Duration,
    /// Memo of the MsgRunInference (at most 1024 bytes).
    #[arg(long, default_value = "")]
    memo: String,
    /// Follow the packet until its acknowledgement is back on the
    /// controller, printing each stage (optionally at most this long).
    #[arg(long, num_args = 0..=1, default_missing_value = "30m", value_parser = parse_wait, value_name = "MAX")]
    wait: Option<Duration>,
    /// With --wait: download the output into FILE and verify it.
    #[arg(long, requires = "wait")]
    out: Option<PathBuf>,
    /// A host node's BlobService for --out (default: the host's grpc in the
    /// config).
    #[arg(long, env = "CHIMERA_BLOB_NODE")]
    node: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Which packet `status` and `fetch` look at.
#[derive(Args, Debug)]
pub struct PacketArgs {
    #[command(flatten)]
    route: Route,
    /// The packet's sequence (`chimera ica infer` printed it).
    #[arg(long)]
    sequence: u64,
    /// The ICA channel on the controller (default: your account's channel).
    #[arg(long)]
    channel: Option<String>,
}

/// `chimera ica status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    packet: PacketArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `chimera ica fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    #[command(flatten)]
    packet: PacketArgs,
    /// Which MsgRunInference of the packet (0 = the first).
    #[arg(long, default_value_t = 0)]
    index: usize,
    /// Where to write the verified output; `-` writes standard output.
    #[arg(long, short)]
    out: PathBuf,
    /// A host node's BlobService (default: the host's grpc in the config).
    #[arg(long, env = "CHIMERA_BLOB_NODE")]
    node: Option<String>,
}

fn parse_wait(s: &str) -> Result<Duration, String> {
    duration::parse(s)
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = duration::parse(s)?;
    if d.is_zero() {
        return Err(format!("{s:?}: the timeout must be positive, e.g. 10m"));
    }
    Ok(d)
}

fn parse_fee(s: &str) -> Result<Coins, String> {
    ica::parse_coins(s).map(Coins)
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

/// `f32:1x8x8` → a tensor encoding.
fn parse_tensor(s: &str) -> Result<InputEncoding, String> {
    let (dtype, shape) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not DTYPE:SHAPE, e.g. f32:1x8x8"))?;
    let dtype = DType::from_name(dtype)
        .ok_or_else(|| format!("{s:?}: unknown dtype {dtype:?} (bool u8 i8 i16 i32 i64 f16 bf16 f32 f64)"))?;
    let shape = shape
        .split(['x', ','])
        .map(|d| d.parse::<u32>().ok().filter(|&n| n > 0))
        .collect::<Option<Vec<u32>>>()
        .ok_or_else(|| format!("{s:?}: the shape is dimensions ≥ 1 joined by x, e.g. 1x8x8"))?;
    Ok(InputEncoding::Tensor { dtype, shape })
}

/// Runs one `chimera ica` command; prints its own errors.
pub fn run(config: &Path, json_logs: bool, cmd: IcaCommand) -> ExitCode {
    init_logs(json_logs);
    let config_file = config;
    let config = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(3);
        }
    };
    let store = KeyStore::open(&config.key_store_dir(config_file));
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(dispatch(&config, &store, cmd)) {
        Ok(code) => code,
        Err(e) => {
            let usage = e.chain().any(|c| c.downcast_ref::<InvalidRequest>().is_some());
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// Logs at `warn` unless `RUST_LOG` says otherwise: stderr carries the
/// progress lines.
fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        let _ = b.json().try_init();
    } else {
        let _ = b.try_init();
    }
}

fn progress(line: &str) {
    eprintln!("{line}");
}

/// The connected chains and the owner's path.
struct Conn {
    controller: Arc<Chain>,
    host: Arc<Chain>,
    path: IcaPath,
}

async fn connect(config: &Config, store: &KeyStore, route: &Route) -> anyhow::Result<Conn> {
    let ids = config
        .chains
        .iter()
        .map(|c| c.id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let find = |id: &str, what: &str| {
        config
            .chain(id)
            .ok_or_else(|| anyhow!("no chain {id:?} in the config for {what} (chains: {ids})"))
    };
    let ccfg = find(&route.controller, "--controller")?;
    let hcfg = find(&route.host, "--host")?;
    if ccfg.id == hcfg.id {
        return Err(InvalidRequest(format!(
            "--controller and --host both name {}: the controller is your Terra chain, the host is Chimera",
            ccfg.id
        ))
        .into());
    }
    let key_name = route.key.clone().unwrap_or_else(|| ccfg.key.clone());
    let key = store.get(&ccfg.id, &key_name)?;
    let metrics = Metrics::new();
    let controller = Chain::connect(ccfg.clone(), &key, metrics.clone()).await?;
    // Nothing is signed on the host: the owner's key only stands in for the
    // signer `Chain` needs.
    let host = Chain::connect(hcfg.clone(), &key, metrics).await?;
    let path = ica::resolve_path(&controller, host.id(), route.connection.as_deref()).await?;
    Ok(Conn {
        controller,
        host,
        path,
    })
}

async fn dispatch(config: &Config, store: &KeyStore, cmd: IcaCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        IcaCommand::Register(a) => register(&connect(config, store, &a.route).await?, &a).await,
        IcaCommand::Address(a) => address(&connect(config, store, &a.route).await?, &a).await,
        IcaCommand::Fund(a) => fund(&connect(config, store, &a.route).await?, &a).await,
        IcaCommand::Infer(a) => infer(&connect(config, store, &a.route).await?, a).await,
        IcaCommand::Status(a) => status(&connect(config, store, &a.packet.route).await?, &a).await,
        IcaCommand::Fetch(a) => fetch(&connect(config, store, &a.packet.route).await?, &a).await,
    }
}

fn account_json(a: &IcaAccount) -> serde_json::Value {
    json!({
        "owner": a.owner, "connection_id": a.connection_id, "port_id": a.port_id,
        "channel_id": a.channel_id, "address": a.address,
    })
}

async fn register(c: &Conn, a: &RegisterArgs) -> anyhow::Result<ExitCode> {
    let opts = ica::RegisterOptions {
        encoding: a.encoding.map(|e| match e {
            EncodingArg::Proto3 => ica::Encoding::Proto3,
            EncodingArg::Proto3json => ica::Encoding::Proto3Json,
        }),
        ordering: a.ordering.map(|o| match o {
            OrderingArg::Ordered => Order::Ordered,
            OrderingArg::Unordered => Order::Unordered,
        }),
        wait: a.wait,
        resend: a.resend,
    };
    let acct = ica::register(&c.controller, &c.path, &opts, &progress).await?;
    if a.json {
        println!("{}", account_json(&acct));
    } else {
        println!("{}", acct.address.unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}

async fn address(c: &Conn, a: &AddressArgs) -> anyhow::Result<ExitCode> {
    let acct = ica::account(&c.controller, &c.path).await?;
    let Some(addr) = acct.address.clone() else {
        bail!("{}", ica::not_open_text(&c.controller, &acct));
    };
    if a.json {
        let mut j = account_json(&acct);
        j["channel_state"] = json!(acct.channel_state);
        j["host_channel_id"] = json!(acct.host_channel_id);
        j["encoding"] = json!(acct.encoding);
        j["ordering"] = json!(acct.ordering);
        println!("{j}");
    } else {
        println!("{addr}");
        if !acct.is_open() {
            eprintln!("note: {}", ica::not_open_text(&c.controller, &acct));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn fund(c: &Conn, a: &FundArgs) -> anyhow::Result<ExitCode> {
    let acct = ica::account(&c.controller, &c.path).await?;
    let f = ica::fund(
        &c.controller,
        &c.host,
        &acct,
        &a.amount,
        a.channel.as_deref(),
        a.wait,
        &progress,
    )
    .await?;
    if a.json {
        println!(
            "{}",
            json!({
                "tx_hash": f.tx_hash, "height": f.height, "channel_id": f.channel_id,
                "host_channel_id": f.host_channel_id, "sequence": f.sequence, "address": f.address,
                "voucher": f.voucher, "before": f.before.to_string(), "balance": f.after.to_string(),
            })
        );
    } else {
        println!("{} {}", f.voucher, f.after);
    }
    Ok(ExitCode::SUCCESS)
}

/// The input encoding of `model`: `--tensor`, else what the host's registry
/// records of its manifest's input (dtype and shape for a tensor), else
/// what its task reads (registries older than that record: text for prompt
/// models; a tensor needs --tensor).
async fn input_encoding(c: &Conn, a: &InferArgs) -> anyhow::Result<InputEncoding> {
    let task = match ica::models(&c.host).await {
        Ok(list) => match list.iter().find(|m| m.id == a.model) {
            Some(m) if a.tensor.is_none() => match registered_input(m) {
                Some(InputEncoding::Tensor { .. }) if a.input.is_none() => {
                    return Err(InvalidRequest(format!(
                        "{} reads a tensor ({}), not a prompt: give --input FILE with its raw little-endian bytes",
                        a.model,
                        tensor_text(m)
                    ))
                    .into())
                }
                Some(encoding) => return Ok(encoding),
                None => Some(m.task.clone()),
            },
            Some(m) => Some(m.task.clone()),
            None => bail!(
                "model {:?} is not registered on {} (registered: {})",
                a.model,
                c.host.id(),
                list.iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(", ")
            ),
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the host's model registry; assuming a text input");
            None
        }
    };
    if let Some(t) = &a.tensor {
        return Ok(t.clone());
    }
    match task {
        Some(task) if !ica::task_takes_text(&task) => Err(InvalidRequest(format!(
            "{} is a {task} model and reads a tensor: give --input FILE --tensor DTYPE:SHAPE (e.g. f32:1x8x8 for digits-cnn)",
            a.model
        ))
        .into()),
        _ => Ok(InputEncoding::Text),
    }
}

/// `f32[1, 8, 8], 256 bytes`: a registered tensor input, for messages.
fn tensor_text(m: &chimera_packets::proto::Model) -> String {
    m.input.as_ref().map_or_else(String::new, |i| {
        format!("{}{:?}, {} bytes", i.dtype, i.shape, i.max_bytes)
    })
}

/// The input the chain's registry entry declares, when it declares one.
fn registered_input(m: &chimera_packets::proto::Model) -> Option<InputEncoding> {
    let i = m.input.as_ref()?;
    match i.encoding.as_str() {
        "text" => Some(InputEncoding::Text),
        "tensor" => Some(InputEncoding::Tensor {
            dtype: chimera_packets::DType::from_name(&i.dtype)?,
            shape: i.shape.clone(),
        }),
        _ => None,
    }
}

async fn infer(c: &Conn, a: InferArgs) -> anyhow::Result<ExitCode> {
    let acct = ica::account(&c.controller, &c.path).await?;
    if !acct.is_open() {
        bail!("{}", ica::not_open_text(&c.controller, &acct));
    }
    let address = acct.address.clone().unwrap_or_default();
    let encoding = input_encoding(c, &a).await?;
    let input = match (&a.prompt, &a.input) {
        (Some(p), _) => p.as_bytes().to_vec(),
        (None, Some(f)) => std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?,
        (None, None) => unreachable!("clap requires --prompt or --input"),
    };
    let mut extra = std::collections::BTreeMap::new();
    for (k, v) in &a.params {
        if extra.insert(k.clone(), v.clone()).is_some() {
            return Err(InvalidRequest(format!("--param {k} is given twice")).into());
        }
    }
    let req = InferRequest {
        model: a.model.clone(),
        input,
        encoding,
        params: Params { seed: a.seed, extra },
        fee: a.fee.clone().map(|c| c.0).unwrap_or_default(),
        memo: a.memo.clone(),
    };
    let keys = if a.encrypt {
        let keys = ica::executor_keys(&c.host).await?;
        progress(&format!(
            "sealing the input to {} executor key(s) read from {}",
            keys.len(),
            c.host.id()
        ));
        Some(keys.into_iter().map(|(_, k)| k).collect::<Vec<_>>())
    } else {
        None
    };
    let msg = ica::build_infer(&address, &req, keys.as_deref(), &mut rand_core::OsRng)?;
    let sent = ica::send_infer(&c.controller, &c.path, &acct, &[msg], "", a.timeout).await?;
    let sent_json = json!({
        "sequence": sent.sequence, "port_id": sent.source_port, "channel_id": sent.source_channel,
        "host_port_id": sent.destination_port, "host_channel_id": sent.destination_channel,
        "tx_hash": sent.tx_hash, "height": sent.height, "interchain_account": address,
        "timeout_timestamp": sent.timeout_timestamp.to_string(),
    });
    let Some(within) = a.wait else {
        if a.json {
            println!("{sent_json}");
        } else {
            println!("{}", sent.sequence);
            eprintln!(
                "sent in {} block {} (tx {}); follow it with `chimera ica status --sequence {}`",
                c.controller.id(),
                sent.height,
                sent.tx_hash,
                sent.sequence
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    if !a.json {
        println!("{}", sent.sequence);
    }
    let report = ica::follow(&c.controller, &c.host, &sent, within, &progress).await?;
    let outcome = report
        .outcome()
        .transpose()
        .map_err(|e| anyhow!("the acknowledgement does not decode: {e}"))?;
    let detail = match &outcome {
        Some(AckOutcome::Error { .. }) => ica::error_detail(&c.host, &report.packet).await.ok().flatten(),
        _ => None,
    };
    if !a.json {
        print_summary(&report, outcome.as_ref(), detail.as_deref());
    }
    let mut failed = report.timed_out;
    let mut fetched = None;
    match &outcome {
        Some(AckOutcome::Result { responses, .. }) => {
            if let Some(out) = &a.out {
                let r = responses
                    .first()
                    .ok_or_else(|| anyhow!("the result acknowledgement holds no MsgRunInferenceResponse"))?;
                let node = a.node.clone().unwrap_or_else(|| c.host.config.grpc.clone());
                fetch_output(r, &node, out).await?;
                fetched = Some(out.display().to_string());
            }
        }
        Some(AckOutcome::Error { .. }) => failed = true,
        None => {}
    }
    if a.json {
        println!(
            "{}",
            json!({
                "sent": sent_json, "follow": report,
                "outcome": outcome.as_ref().map(AckOutcome::to_json), "detail": detail, "out": fetched,
            })
        );
    }
    if report.timed_out {
        eprintln!(
            "error: packet {} timed out before it reached the host; the fee was not spent",
            sent.sequence
        );
    } else if let Some(AckOutcome::Error { text, .. }) = &outcome {
        eprintln!(
            "error: the host refused the request: {text}{}",
            detail.as_deref().map_or(String::new(), |d| format!(" ({d})"))
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_summary(r: &ica::FollowReport, outcome: Option<&AckOutcome>, detail: Option<&str>) {
    let p = &r.packet;
    println!(
        "packet {}: {}/{} -> {}/{}",
        p.sequence, p.port_id, p.channel_id, p.host_port_id, p.host_channel_id
    );
    let line = |what: &str, s: &ica::Stage, extra: String| {
        println!(
            "  {what:<10} {} block {}{extra}{}",
            s.chain_id,
            s.height.map_or("?".into(), |h| h.to_string()),
            s.seconds.map_or(String::new(), |x| format!("  (+{x:.1} s)"))
        );
    };
    line("included", &r.sent, String::new());
    if let Some(s) = &r.received {
        line(
            "received",
            s,
            r.job_id.map_or(String::new(), |j| format!(" (job {j})")),
        );
    }
    if let Some(s) = &r.host_ack {
        line("acked", s, String::new());
    }
    if let Some(s) = &r.back {
        line(if r.timed_out { "timed out" } else { "back" }, s, String::new());
    }
    let total: f64 = [&r.received, &r.host_ack, &r.back]
        .iter()
        .filter_map(|s| s.as_ref().and_then(|s| s.seconds))
        .sum();
    println!("  total      {total:.1} s");
    if let Some(o) = outcome {
        print_outcome(o, detail);
    }
}

/// The result lines (`result: job N: ...`) or the refusal with the host's
/// reason.
fn print_outcome(outcome: &AckOutcome, detail: Option<&str>) {
    match outcome {
        AckOutcome::Result { responses, other } => {
            for resp in responses {
                println!("result: {}", ica::response_line(resp));
            }
            if !other.is_empty() {
                println!("other responses: {}", other.join(", "));
            }
        }
        AckOutcome::Error { text, abci_code } => {
            println!(
                "refused: {text}{}",
                abci_code.map_or(String::new(), |c| format!(" (ABCI code {c})"))
            );
            if let Some(d) = detail {
                println!("host says: {d}");
            }
        }
    }
}

/// Downloads the output `r` commits to and verifies its SHA-256 and size
/// (`chimera fetch`'s code).
async fn fetch_output(
    r: &chimera_packets::proto::MsgRunInferenceResponse,
    node: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let o = r
        .output
        .as_ref()
        .ok_or_else(|| anyhow!("job {}: the response has no output commitment", r.job_id))?;
    crate::fetch_blob(&hex::encode(&o.sha256), node, out, Some(o.size)).await?;
    Ok(())
}

/// The packet `--sequence` names: on `--channel`, or on the account's channel.
async fn packet(c: &Conn, a: &PacketArgs) -> anyhow::Result<ica::PacketRef> {
    let channel = match a.channel.as_deref() {
        Some(ch) => ch.to_string(),
        None => {
            let acct = ica::account(&c.controller, &c.path).await?;
            acct.channel_id.clone().ok_or_else(|| {
                anyhow!(
                    "{} (or name the channel with --channel)",
                    ica::not_open_text(&c.controller, &acct)
                )
            })?
        }
    };
    ica::packet_ref(&c.controller, &c.path.port_id, &channel, a.sequence).await
}

async fn status(c: &Conn, a: &StatusArgs) -> anyhow::Result<ExitCode> {
    let p = packet(c, &a.packet).await?;
    let state = ica::packet_status(&c.controller, &c.host, &p).await?;
    let outcome = state.ack().map(|f| ica::decode_ack(&f.ack));
    let detail = match &outcome {
        Some(Ok(AckOutcome::Error { .. })) => ica::error_detail(&c.host, &p).await.ok().flatten(),
        _ => None,
    };
    if a.json {
        let mut j = json!({
            "sequence": p.sequence, "port_id": p.port_id, "channel_id": p.channel_id,
            "host_port_id": p.host_port_id, "host_channel_id": p.host_channel_id,
            "state": state.name(),
        });
        match &state {
            PacketState::Pending {
                sent_height,
                timeout_passed,
            } => {
                j["sent_height"] = json!(sent_height);
                j["timeout_passed"] = json!(timeout_passed);
            }
            PacketState::Received { height, job_id } => {
                j["host_height"] = json!(height);
                j["job_id"] = json!(job_id.map(|n| n.to_string()));
            }
            PacketState::TimedOut { height } => j["height"] = json!(height),
            PacketState::AckOnHost(f) | PacketState::Acknowledged(f) => j["ack"] = json!(f),
            PacketState::Unknown => {}
        }
        match &outcome {
            Some(Ok(o)) => {
                j["outcome"] = o.to_json();
                j["detail"] = json!(detail);
            }
            Some(Err(e)) => j["outcome"] = json!({ "malformed": e.to_string() }),
            None => {}
        }
        println!("{j}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "packet {}: {}/{} -> {}/{}",
        p.sequence, p.port_id, p.channel_id, p.host_port_id, p.host_channel_id
    );
    let (ctrl, host) = (c.controller.id(), c.host.id());
    match &state {
        PacketState::Pending {
            sent_height,
            timeout_passed,
        } => {
            println!(
                "pending: committed on {ctrl}{}, not yet received on {host}",
                sent_height.map_or(String::new(), |h| format!(" (sent in block {h})"))
            );
            if *timeout_passed {
                println!("its timeout has passed on {host}: a relayer will time it out on {ctrl} (an ordered channel then closes)");
            }
        }
        PacketState::Received { height, job_id } => println!(
            "received on {host}{}{}; waiting for the validators' quorum",
            height.map_or(String::new(), |h| format!(" at {h}")),
            job_id.map_or(String::new(), |j| format!(" (job {j})"))
        ),
        PacketState::AckOnHost(f) => println!(
            "acknowledged on {host} at {}; not yet relayed back to {ctrl}",
            f.height
        ),
        PacketState::Acknowledged(f) => println!(
            "acknowledged: ack back on {ctrl}{}",
            if f.chain_id == ctrl {
                format!(" at {}", f.height)
            } else {
                format!(" (bytes read from {host} block {})", f.height)
            }
        ),
        PacketState::TimedOut { height } => println!(
            "timed out{}: it never reached the host, so nothing ran and no fee was taken; an ordered channel is now CLOSED (`chimera ica register` reopens it)",
            height.map_or(String::new(), |h| format!(" on {ctrl} at {h}"))
        ),
        PacketState::Unknown => println!(
            "unknown: no commitment on {ctrl} and no ack or timeout found (never sent on this channel, or the nodes' tx indexers do not have it)"
        ),
    }
    match outcome {
        Some(Ok(o)) => print_outcome(&o, detail.as_deref()),
        Some(Err(e)) => println!("malformed acknowledgement: {e}"),
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

async fn fetch(c: &Conn, a: &FetchArgs) -> anyhow::Result<ExitCode> {
    let p = packet(c, &a.packet).await?;
    let found = ica::find_ack(&c.controller, &c.host, &p).await?.ok_or_else(|| {
        anyhow!(
            "packet {} on {} has no acknowledgement yet: `chimera ica status --sequence {}` shows where it is",
            p.sequence,
            p.channel_id,
            p.sequence
        )
    })?;
    let responses = match ica::decode_ack(&found.ack).map_err(|e| anyhow!("the acknowledgement: {e}"))? {
        AckOutcome::Result { responses, .. } => responses,
        AckOutcome::Error { text, .. } => {
            let detail = ica::error_detail(&c.host, &p).await.ok().flatten();
            bail!(
                "packet {} was refused by the host: {text}{}",
                p.sequence,
                detail.map_or(String::new(), |d| format!(" ({d})"))
            )
        }
    };
    let n = responses.len();
    let r = responses.get(a.index).ok_or_else(|| {
        anyhow!(
            "the acknowledgement holds {n} MsgRunInferenceResponse(s); --index {} is out of range",
            a.index
        )
    })?;
    let node = a.node.clone().unwrap_or_else(|| c.host.config.grpc.clone());
    fetch_output(r, &node, &a.out).await?;
    Ok(ExitCode::SUCCESS)
}
