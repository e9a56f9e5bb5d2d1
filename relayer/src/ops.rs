//! The relayer's subcommands at the binary's edge: load the config and keys,
//! connect, run, and turn failures into one clear line and an exit code.

use std::path::Path;

use crate::edge::init_logs;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chimera_relayer::chain::Chain;
use chimera_relayer::config::Config;
use chimera_relayer::handshake;
use chimera_relayer::keys::{KeyStore, KeysCommand};
use chimera_relayer::relay::Link;
use chimera_relayer::telemetry::{self, Health, Metrics};
use clap::{Args, Subcommand, ValueEnum};
use ibc_proto::ibc::core::channel::v1::Order;
use serde_json::json;
use tokio::sync::watch;
use tracing::info;

/// Exit code of an invalid config.
const CONFIG_INVALID: u8 = 3;

/// `chimera create ...`.
#[derive(Subcommand, Debug)]
pub enum CreateCommand {
    /// A 07-tendermint client of `--reference` on `--host`.
    Client {
        /// Chain that holds the client.
        #[arg(long)]
        host: String,
        /// Chain the client tracks.
        #[arg(long)]
        reference: String,
    },
    /// A connection between `--a` and `--b` (new clients unless given).
    Connection {
        /// Chain that starts the handshake.
        #[arg(long)]
        a: String,
        /// The other chain.
        #[arg(long)]
        b: String,
        /// Existing client of b on a.
        #[arg(long)]
        client_a: Option<String>,
        /// Existing client of a on b.
        #[arg(long)]
        client_b: Option<String>,
        /// Connection delay, seconds.
        #[arg(long, default_value_t = 0)]
        delay: u64,
    },
    /// A channel between any two ports (ICS-20 `transfer`, ICS-27
    /// `icahost`, `inference`, or a CosmWasm `wasm.<addr>` port). Without
    /// `--connection-a` it creates clients and a connection first.
    Channel {
        /// Chain that starts the handshake.
        #[arg(long)]
        a: String,
        /// The other chain.
        #[arg(long)]
        b: String,
        /// Connection on a (default: a new one).
        #[arg(long)]
        connection_a: Option<String>,
        /// Port on a.
        #[arg(long)]
        port_a: String,
        /// Port on b.
        #[arg(long)]
        port_b: String,
        /// Channel version (`ics20-1`, `chimera-inference-1`, ICA JSON
        /// metadata, ...).
        #[arg(long)]
        channel_version: String,
        /// Channel ordering.
        #[arg(long, value_enum, default_value_t = Ordering::Unordered)]
        order: Ordering,
    },
}

/// `chimera update ...`.
#[derive(Subcommand, Debug)]
pub enum UpdateCommand {
    /// Move a client to its chain's latest height (operators refresh an idle
    /// client by hand; `relay` does it by itself).
    Client {
        /// Chain that holds the client.
        #[arg(long)]
        host: String,
        /// The client id on `host`.
        #[arg(long)]
        client: String,
    },
}

/// Channel ordering on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Ordering {
    /// Packets in any order (ICS-20, inference).
    Unordered,
    /// Packets in sequence order (ICS-27 before ibc-go v8).
    Ordered,
}

/// `chimera relay`.
#[derive(Args, Debug)]
pub struct RelayArgs {
    /// Relay only between these two chains (default: every pair in the
    /// config).
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    chains: Option<Vec<String>>,
}

fn load(path: &Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(CONFIG_INVALID)
    })
}

/// `chimera config validate`.
pub fn validate(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = KeyStore::open(&config.key_store_dir(path));
    let mut missing = 0;
    for c in &config.chains {
        match store.get(&c.id, &c.key) {
            Ok(k) => println!(
                "{}: rpc {} grpc {} key {:?} ({})",
                c.id, c.rpc, c.grpc, c.key, k.address
            ),
            Err(e) => {
                missing += 1;
                println!("{}: rpc {} grpc {} key {:?}: {e}", c.id, c.rpc, c.grpc, c.key);
            }
        }
    }
    if missing > 0 {
        eprintln!("config is valid, but {missing} chain(s) have no usable key (see above)");
        return Ok(ExitCode::from(CONFIG_INVALID));
    }
    eprintln!("config is valid: {} chain(s)", config.chains.len());
    Ok(ExitCode::SUCCESS)
}

/// `chimera keys ...`: works without a config file when `--coin-type` and
/// `--prefix` are given.
pub fn keys(path: &Path, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let (dir, chains) = if path.exists() {
        let config = match load(path) {
            Ok(c) => c,
            Err(code) => return Ok(code),
        };
        let chains = config
            .chains
            .iter()
            .map(|c| (c.id.clone(), c.coin_type, c.account_prefix.clone()))
            .collect();
        (config.key_store_dir(path), chains)
    } else {
        (
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .join("keys"),
            Vec::new(),
        )
    };
    chimera_relayer::keys::run(cmd, &KeyStore::open(&dir), &chains)?;
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")
}

/// The config, keys and connected chains a command needs.
struct Session {
    config: Config,
    metrics: Metrics,
}

impl Session {
    fn open(path: &Path) -> Result<(Session, KeyStore), ExitCode> {
        let config = load(path)?;
        let store = KeyStore::open(&config.key_store_dir(path));
        Ok((
            Session {
                config,
                metrics: Metrics::new(),
            },
            store,
        ))
    }

    async fn chain(&self, store: &KeyStore, id: &str) -> anyhow::Result<Arc<Chain>> {
        let c = self
            .config
            .chain(id)
            .with_context(|| format!("no chain {id:?} in the config (chains: {})", self.ids()))?;
        let key = store.get(id, &c.key)?;
        Chain::connect(c.clone(), &key, self.metrics.clone()).await
    }

    fn ids(&self) -> String {
        self.config
            .chains
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `chimera create ...`: prints one JSON line with the new identifiers.
pub fn create(path: &Path, json_logs: bool, cmd: CreateCommand) -> anyhow::Result<ExitCode> {
    init_logs(json_logs);
    let (session, store) = match Session::open(path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    runtime()?.block_on(async {
        let out = match cmd {
            CreateCommand::Client { host, reference } => {
                let h = session.chain(&store, &host).await?;
                let r = session.chain(&store, &reference).await?;
                let id = handshake::create_client(&h, &r).await?;
                json!({ "host": host, "reference": reference, "client_id": id })
            }
            CreateCommand::Connection {
                a,
                b,
                client_a,
                client_b,
                delay,
            } => {
                let ca = session.chain(&store, &a).await?;
                let cb = session.chain(&store, &b).await?;
                let (conn_a, conn_b, client_a, client_b) =
                    connection(&ca, &cb, client_a, client_b, delay).await?;
                json!({ "a": { "chain": a, "client_id": client_a, "connection_id": conn_a },
                        "b": { "chain": b, "client_id": client_b, "connection_id": conn_b } })
            }
            CreateCommand::Channel {
                a,
                b,
                connection_a,
                port_a,
                port_b,
                channel_version: version,
                order,
            } => {
                let ca = session.chain(&store, &a).await?;
                let cb = session.chain(&store, &b).await?;
                let conn_a = match connection_a {
                    Some(c) => c,
                    None => connection(&ca, &cb, None, None, 0).await?.0,
                };
                let ordering = match order {
                    Ordering::Unordered => Order::Unordered,
                    Ordering::Ordered => Order::Ordered,
                };
                let (chan_a, chan_b) =
                    handshake::create_channel(&ca, &cb, &conn_a, &port_a, &port_b, &version, ordering)
                        .await?;
                json!({ "a": { "chain": a, "connection_id": conn_a, "port_id": port_a, "channel_id": chan_a },
                        "b": { "chain": b, "port_id": port_b, "channel_id": chan_b }, "version": version })
            }
        };
        println!("{out}");
        Ok(ExitCode::SUCCESS)
    })
}

async fn connection(
    a: &Chain,
    b: &Chain,
    client_a: Option<String>,
    client_b: Option<String>,
    delay_secs: u64,
) -> anyhow::Result<(String, String, String, String)> {
    let client_a = match client_a {
        Some(c) => c,
        None => handshake::create_client(a, b).await?,
    };
    let client_b = match client_b {
        Some(c) => c,
        None => handshake::create_client(b, a).await?,
    };
    let (conn_a, conn_b) =
        handshake::create_connection(a, b, &client_a, &client_b, delay_secs * 1_000_000_000).await?;
    Ok((conn_a, conn_b, client_a, client_b))
}

/// `chimera update client`: prints the client and its new height.
pub fn update(path: &Path, json_logs: bool, cmd: UpdateCommand) -> anyhow::Result<ExitCode> {
    init_logs(json_logs);
    let (session, store) = match Session::open(path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let UpdateCommand::Client { host, client } = cmd;
    runtime()?.block_on(async {
        let h = session.chain(&store, &host).await?;
        let tracked = h.client(&client).await?.chain_id;
        let src = session
            .chain(&store, &tracked)
            .await
            .with_context(|| format!("{client} on {host} tracks {tracked:?}"))?;
        let (height, update) = handshake::prepare(&src, &h, &client, 0).await?;
        if let Some(u) = update {
            h.send(vec![u]).await?;
        }
        println!(
            "{}",
            json!({ "host": host, "client_id": client, "tracks": tracked, "height": height })
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// `chimera relay`.
pub fn relay(path: &Path, json_logs: bool, args: RelayArgs) -> anyhow::Result<ExitCode> {
    init_logs(json_logs);
    let (session, store) = match Session::open(path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let ids: Vec<String> = match &args.chains {
        Some(v) => v.clone(),
        None => session.config.chains.iter().map(|c| c.id.clone()).collect(),
    };
    if ids.len() < 2 {
        eprintln!(
            "error: relaying needs at least two chains (config has: {})",
            session.ids()
        );
        return Ok(ExitCode::from(2));
    }
    runtime()?.block_on(async {
        let mut chains = Vec::new();
        for id in &ids {
            chains.push(session.chain(&store, id).await?);
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let health = Health::new(Duration::from_secs(30));
        let mut tasks = Vec::new();
        if session.config.telemetry.enabled {
            let listener = tokio::net::TcpListener::bind(&session.config.telemetry.listen)
                .await
                .with_context(|| {
                    format!("telemetry: cannot listen on {}", session.config.telemetry.listen)
                })?;
            info!(addr = %listener.local_addr()?, "metrics on /metrics, health on /health");
            tasks.push(tokio::spawn({
                let (m, h, s) = (session.metrics.clone(), health.clone(), stop_rx.clone());
                async move {
                    let _ = telemetry::serve(listener, m, h, s).await;
                }
            }));
        }
        for c in &chains {
            let _ = c.fee_balance().await;
        }
        for i in 0..chains.len() {
            for j in i + 1..chains.len() {
                let link = Link::new(chains[i].clone(), chains[j].clone());
                let (cfg, h, s) = (session.config.relay.clone(), health.clone(), stop_rx.clone());
                tasks.push(tokio::spawn(link.run(cfg, h, s)));
            }
        }
        // Balances for the metric, every 30 s.
        let balance_chains = chains.clone();
        let mut stop_b = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                    _ = stop_b.changed() => return,
                }
                for c in &balance_chains {
                    let _ = c.fee_balance().await;
                }
            }
        }));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: finishing the current round, then stopping"),
            _ = tokio::signal::ctrl_c() => info!("SIGINT: finishing the current round, then stopping"),
        }
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(70), t).await;
        }
        info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// `chimera status`: one JSON document.
pub fn status(path: &Path, json_logs: bool) -> anyhow::Result<ExitCode> {
    init_logs(json_logs);
    let (session, store) = match Session::open(path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    runtime()?.block_on(async {
        let mut chains = Vec::new();
        let mut ok = true;
        for c in &session.config.chains {
            let chain = match session.chain(&store, &c.id).await {
                Ok(ch) => ch,
                Err(e) => {
                    ok = false;
                    chains.push(json!({ "chain": c.id, "error": format!("{e:#}") }));
                    continue;
                }
            };
            let st = chain_status(&chain, &session).await;
            ok &= st.get("error").is_none();
            chains.push(st);
        }
        println!("{}", serde_json::to_string_pretty(&json!({ "chains": chains }))?);
        Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
    })
}

async fn chain_status(chain: &Chain, session: &Session) -> serde_json::Value {
    let (height, time) = match chain.latest().await {
        Ok(v) => v,
        Err(e) => return json!({ "chain": chain.id(), "error": e.to_string() }),
    };
    let balance = chain.fee_balance().await.ok();
    let mut channels = Vec::new();
    for c in chain.channels().await.unwrap_or_default() {
        let pending = chain
            .packet_commitments(&c.port_id, &c.channel_id)
            .await
            .map(|v| v.len())
            .ok();
        channels.push(json!({
            "port": c.port_id, "channel": c.channel_id, "state": c.state,
            "counterparty": c.counterparty.map(|cp| format!("{}/{}", cp.port_id, cp.channel_id)),
            "unacknowledged_packets": pending,
        }));
    }
    let mut clients = Vec::new();
    // Clients on this chain of the other configured chains, with the time
    // left before they expire.
    for (id, info) in chain.clients().await.unwrap_or_default() {
        if info.chain_id == chain.id() || session.config.chain(&info.chain_id).is_none() {
            continue;
        }
        let updated = chain
            .consensus_time(
                &id,
                chimera_relayer::chain::revision_of(&info.chain_id),
                info.latest,
            )
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
        let expires_in = updated + info.trusting_period_secs as i64 - time.unix_timestamp();
        clients.push(
            json!({ "client": id, "tracks": info.chain_id, "latest_height": info.latest,
                             "expires_in_secs": expires_in, "frozen": info.frozen }),
        );
    }
    json!({
        "chain": chain.id(), "height": height, "time": time.to_string(),
        "relayer": chain.address, "balance": balance.map(|b| format!("{b}{}", chain.config.gas_price.denom)),
        "clients": clients, "channels": channels,
    })
}
