//! The devnet behind the README's main command (`scripts/devnet`): a
//! single-validator chimerad host chain, a Terra Classic localnet, Hermes
//! 1.11 between them (clients, connection, ICS-20 channel, `hermes start`),
//! and one real `uluna` transfer from Terra to chimerad that shows up there
//! as an `ibc/…` voucher. Inference over IBC comes later.
//!
//! The chain set-up and the path-opening steps here are the ones
//! `tests/hermes_chimera.rs` runs, so the devnet is what the interop test
//! proves.

use std::fmt::Display;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::bank;
use crate::chimera::{self, chimera_address, ChimeraNet, ChimeraNetConfig};
use crate::hermes::{
    self, ibc_denom, Ends, FtTransfer, Hermes, HermesChain, RELAYER_MNEMONIC, TRANSFER_PORT,
};
use crate::keys;
use crate::ports;
use crate::terra::{self, GenesisAccount, TerraConfig, TerraLocalnet};

/// How long one relaying wait may take.
pub const WAIT: Duration = Duration::from_secs(90);

/// The devnet's chimerad chain id.
pub const CHIMERA_CHAIN_ID: &str = chimera::DEFAULT_CHAIN_ID;

/// `uluna` sent from Terra to chimerad by [`run`].
pub const TRANSFER_AMOUNT: u128 = 1_000_000;

/// The Terra localnet Hermes relays for: the default user plus a funded
/// relayer key.
pub fn terra_config() -> TerraConfig {
    TerraConfig {
        chain_id: terra::DEFAULT_CHAIN_ID.into(),
        accounts: vec![
            GenesisAccount::user(),
            GenesisAccount {
                name: hermes::RELAYER_KEY.into(),
                mnemonic: RELAYER_MNEMONIC.into(),
                amount: terra::DEFAULT_GENESIS_AMOUNT,
            },
        ],
        ..TerraConfig::default()
    }
}

/// A single-validator chimerad localnet with the relayer funded in `uchim`.
pub fn chimera_config(chain_id: &str) -> ChimeraNetConfig {
    let mut config = ChimeraNetConfig {
        chain_id: chain_id.into(),
        ..ChimeraNetConfig::default()
    };
    let relayer = chimera_address(RELAYER_MNEMONIC)
        .expect("the relayer mnemonic is valid")
        .to_string();
    config.accounts.push((
        relayer,
        format!("{}{}", chimera::DEFAULT_GENESIS_AMOUNT, chimera::DENOM),
    ));
    config
}

/// Starts the Terra localnet and the chimerad localnet side by side.
pub fn start_terra_and_chimera(
    terra: TerraConfig,
    chimera: ChimeraNetConfig,
) -> Result<(TerraLocalnet, ChimeraNet)> {
    std::thread::scope(|s| {
        let t = s.spawn(|| TerraLocalnet::start(terra));
        let c = s.spawn(|| ChimeraNet::start(chimera));
        let t = t.join().map_err(|_| anyhow!("Terra start-up panicked"))?;
        let c = c.join().map_err(|_| anyhow!("chimerad start-up panicked"))?;
        Ok((
            t.context("starting the Terra Classic localnet")?,
            c.context("starting the chimerad localnet")?,
        ))
    })
}

/// Runs named steps against a [`Hermes`]: the interop test reports (and
/// panics) its way, the devnet prints progress and returns the error.
pub trait StepRunner {
    /// Runs `f` as the step `name`.
    fn step<T, E: Display>(
        &mut self,
        hermes: &mut Hermes,
        name: &str,
        f: impl FnOnce(&mut Hermes) -> Result<T, E>,
    ) -> Result<T>;
}

/// An open ICS-20 path between chains `a` and `b`.
#[derive(Debug, Clone)]
pub struct TransferPath {
    /// `a`'s client of `b`.
    pub client_a: String,
    /// `b`'s client of `a`.
    pub client_b: String,
    /// The connection ids on both sides.
    pub connection: Ends,
    /// The transfer channel ids on both sides.
    pub channel: Ends,
}

/// Both clients, a connection and a transfer channel between `a` and `b`,
/// then `hermes start` relaying them. `after_client_on_a` runs once `a`
/// holds its client of `b` (to inspect it).
pub fn open_transfer_path<S: StepRunner>(
    steps: &mut S,
    hermes: &mut Hermes,
    a: &str,
    b: &str,
    after_client_on_a: impl FnOnce(&mut S, &mut Hermes, &str) -> Result<()>,
) -> Result<TransferPath> {
    let client_a = steps.step(hermes, &format!("create client on {a} of {b}"), |h| {
        h.create_client(a, b)
    })?;
    after_client_on_a(steps, hermes, &client_a)?;
    let client_b = steps.step(hermes, &format!("create client on {b} of {a}"), |h| {
        h.create_client(b, a)
    })?;
    let connection = steps.step(hermes, "create connection", |h| {
        h.create_connection(a, &client_a, &client_b)
    })?;
    let channel = steps.step(hermes, "create transfer channel", |h| {
        h.create_transfer_channel(a, &connection.a)
    })?;
    steps.step(hermes, "hermes start", |h| h.start(WAIT))?;
    Ok(TransferPath {
        client_a,
        client_b,
        connection,
        channel,
    })
}

/// The devnet's progress: one line per step.
struct Progress {
    started: Instant,
}

impl StepRunner for Progress {
    fn step<T, E: Display>(
        &mut self,
        hermes: &mut Hermes,
        name: &str,
        f: impl FnOnce(&mut Hermes) -> Result<T, E>,
    ) -> Result<T> {
        let t = Instant::now();
        match f(hermes) {
            Ok(v) => {
                eprintln!(
                    "[{:>6.1?}] ok   {name} ({:.1?})",
                    self.started.elapsed(),
                    t.elapsed()
                );
                Ok(v)
            }
            Err(e) => {
                let errors: Vec<String> = hermes.log_lines_with("ERROR").into_iter().take(10).collect();
                bail!(
                    "devnet step failed: {name}: {e}\nhermes home (kept): {}\n{}",
                    hermes.keep_home().display(),
                    errors.join("\n")
                )
            }
        }
    }
}

/// Starts the devnet, makes one transfer, prints its status; then stops
/// it, or with `keep_running` waits for Ctrl-C first (homes are kept).
/// Needs a multi-threaded tokio runtime.
/// What the devnet's inference request showed.
struct Inferred {
    job_id: u64,
    model: String,
    blocks: u64,
    height: u64,
    agreeing: String,
    total: String,
    sha256: String,
    size: usize,
    saved: PathBuf,
}

/// Gas of the devnet's `MsgRunInference` (its input is a few bytes).
const INFERENCE_GAS: u64 = 400_000;

/// One real inference request on chimerad: `MsgRunInference` of
/// `digits-ddpm` for "7" from the user, the quorum's `inference_result`,
/// and the PNG fetched from the node's BlobService, checked against the
/// commitment and saved next to the node's home.
///
/// Why here: the main job shows the whole host path (job, executor, vote
/// extensions, quorum, blob) on the devnet. Terra Classic accounts reach it
/// through ICA (#8) or the contract (#9) once those land.
fn run_inference(net: &ChimeraNet, home: &std::path::Path) -> Result<Inferred> {
    use crate::inference::{blob_get_blocking, sha256, submit_job, wait_job, Job};
    let job = Job::digits_ddpm('7', 42);
    let (sent, id) = submit_job(net, 0, &job, INFERENCE_GAS).map_err(|e| anyhow!("MsgRunInference: {e}"))?;
    let found = wait_job(net, 0, sent, id, WAIT).map_err(|e| {
        anyhow!(
            "job {id}: {e}; see {}",
            home.join(chimera::CHIMERAD_LOG).display()
        )
    })?;
    let ev = &found.event;
    if ev.get("status") != "completed" {
        bail!("job {id} failed: {}", ev.get("error"));
    }
    let want = hex::decode(ev.get("output_sha256")).context("output_sha256")?;
    let grpc = format!("http://{}", ports::loopback(net.ports(0)?.grpc));
    let blob = blob_get_blocking(&grpc, &want).map_err(|e| anyhow!("BlobService: {e}"))?;
    if sha256(&blob.data).as_slice() != want.as_slice() {
        bail!("job {id}: the served output does not hash to its commitment");
    }
    let saved = home.join(format!("job-{id}.png"));
    std::fs::write(&saved, &blob.data).with_context(|| format!("writing {}", saved.display()))?;
    Ok(Inferred {
        job_id: id,
        model: job.model.clone(),
        blocks: found.height - sent,
        height: found.height,
        agreeing: ev.get("agreeing_power").to_string(),
        total: ev.get("total_power").to_string(),
        sha256: ev.get("output_sha256").to_string(),
        size: blob.data.len(),
        saved,
    })
}

pub async fn run(keep_running: bool) -> Result<()> {
    let started = Instant::now();
    let mut progress = Progress { started };
    let (mut terra_net, mut chimera_net) = tokio::task::block_in_place(|| {
        start_terra_and_chimera(terra_config(), chimera_config(CHIMERA_CHAIN_ID))
    })?;
    eprintln!("[{:>6.1?}] ok   terrad and chimerad up", started.elapsed());
    let mut relayer = tokio::task::block_in_place(|| {
        Hermes::new(vec![
            HermesChain::terra(&terra_net),
            HermesChain::chimera(&chimera_net)?,
        ])
        .context("hermes set-up (config validate, keys add)")
    })?;
    let (terra_id, chimera_id) = (
        terra_net.chain_id().to_string(),
        chimera_net.chain_id().to_string(),
    );
    let path = tokio::task::block_in_place(|| {
        open_transfer_path(&mut progress, &mut relayer, &terra_id, &chimera_id, |_, _, _| {
            Ok(())
        })
    })?;

    // Terra → chimerad: uluna escrowed on Terra, minted on chimerad.
    let chimera_grpc = format!("http://{}", ports::loopback(chimera_net.ports(0)?.grpc));
    let chimera_user = chimera_address(keys::USER_MNEMONIC)?.to_string();
    let terra_user = keys::USER_ADDRESS.to_string();
    let voucher = ibc_denom(&format!("{TRANSFER_PORT}/{}/{}", path.channel.b, terra::DENOM));
    let transfer = FtTransfer {
        src_chain: terra_id.clone(),
        dst_chain: chimera_id.clone(),
        src_channel: path.channel.a.clone(),
        amount: TRANSFER_AMOUNT,
        denom: terra::DENOM.into(),
        key_name: "user".into(),
        receiver: chimera_user.clone(),
        timeout_height_offset: 1_000,
        timeout_seconds: 0,
    };
    let sent = tokio::task::block_in_place(|| {
        progress.step(
            &mut relayer,
            &format!(
                "ft-transfer {TRANSFER_AMOUNT}{} {terra_id} -> {chimera_id}",
                terra::DENOM
            ),
            |h| h.ft_transfer(&transfer),
        )
    })?;
    let t = Instant::now();
    let deadline = t + WAIT;
    let voucher_balance = loop {
        let got = bank::balance(&chimera_grpc, &chimera_user, &voucher)
            .await
            .with_context(|| format!("{chimera_id}: balance of {chimera_user}"))?;
        if got >= TRANSFER_AMOUNT {
            break got;
        }
        if Instant::now() > deadline {
            bail!(
                "{chimera_id}: {chimera_user} holds {got}{voucher} after {WAIT:?}, expected {TRANSFER_AMOUNT}; \
                 hermes log: {}",
                relayer.keep_home().join(hermes::HERMES_LOG).display()
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    eprintln!(
        "[{:>6.1?}] ok   {voucher} arrives on {chimera_id} ({:.1?})",
        started.elapsed(),
        t.elapsed()
    );
    let terra_user_uluna = terra_net.balance(&terra_user, terra::DENOM).await?;
    let chimera_user_uchim = bank::balance(&chimera_grpc, &chimera_user, chimera::DENOM).await?;
    let escrow = hermes::escrow_address(TRANSFER_PORT, &path.channel.a, keys::TERRA_PREFIX)?;
    let escrowed = terra_net.balance(&escrow, terra::DENOM).await?;

    let chimera_home = chimera_net.home(0)?.to_path_buf();
    let inferred = tokio::task::block_in_place(|| run_inference(&chimera_net, &chimera_home))?;
    eprintln!(
        "[{:>6.1?}] ok   job {} ({}) agreed in {} blocks; {} bytes from BlobService hash to the commitment",
        started.elapsed(),
        inferred.job_id,
        inferred.model,
        inferred.blocks,
        inferred.size
    );
    let logs: Vec<PathBuf> = vec![
        chimera_home.join(chimera::CHIMERAD_LOG),
        chimera_home.join(chimera::COMETBFT_LOG),
        terra_net.log_path().to_path_buf(),
        relayer.home().join(hermes::HERMES_LOG),
        relayer.home().join(hermes::COMMANDS_LOG),
    ];
    println!("Chimera devnet is up ({:.1}s)", started.elapsed().as_secs_f64());
    println!("  chimerad     chain id {chimera_id} (1 validator)");
    println!("    RPC        {}", chimera_net.rpc_url(0)?);
    println!("    gRPC       {chimera_grpc}");
    println!("    home       {}", chimera_home.display());
    println!("  Terra        chain id {terra_id}");
    println!("    RPC        {}", terra_net.rpc_url());
    println!("    gRPC       {}", terra_net.grpc_url());
    println!("    REST       {}", terra_net.rest_url());
    println!("    home       {}", terra_net.home().display());
    println!("  Hermes       {}", relayer.binary().display());
    println!("    config     {}", relayer.config_path().display());
    println!(
        "    clients    {} on {terra_id}, {} on {chimera_id}",
        path.client_a, path.client_b
    );
    println!(
        "    connection {} on {terra_id}, {} on {chimera_id}",
        path.connection.a, path.connection.b
    );
    println!(
        "    channel    {TRANSFER_PORT}/{} on {terra_id} <-> {TRANSFER_PORT}/{} on {chimera_id}",
        path.channel.a, path.channel.b
    );
    println!(
        "  transfer     {TRANSFER_AMOUNT}{} {terra_id} -> {chimera_id} (packet {}, sent at height {})",
        terra::DENOM,
        sent.sequence,
        sent.height
    );
    println!(
        "    voucher    {voucher} (= {TRANSFER_PORT}/{}/{})",
        path.channel.b,
        terra::DENOM
    );
    println!(
        "    {chimera_id} user {chimera_user}: {voucher_balance}{voucher}, {chimera_user_uchim}{}",
        chimera::DENOM
    );
    println!(
        "    {terra_id} user {terra_user}: {terra_user_uluna}{}",
        terra::DENOM
    );
    println!("    {terra_id} escrow {escrow}: {escrowed}{}", terra::DENOM);
    println!(
        "  inference    job {} {} by {chimera_user}: {}/{} power agreed at height {}",
        inferred.job_id, inferred.model, inferred.agreeing, inferred.total, inferred.height
    );
    println!(
        "    output     sha256 {} ({} bytes, verified)",
        inferred.sha256, inferred.size
    );
    println!("    saved      {}", inferred.saved.display());
    println!("  logs");
    for log in &logs {
        println!("    {}", log.display());
    }

    if keep_running {
        chimera_net.keep_root();
        terra_net.keep_home();
        relayer.keep_home();
        println!("running; Ctrl-C stops Hermes, chimerad and terrad (homes kept)");
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        println!("stopping");
    }
    let stop_started = Instant::now();
    tokio::task::block_in_place(|| -> Result<()> {
        relayer.stop()?;
        chimera_net.stop()?;
        terra_net.stop()?;
        Ok(())
    })?;
    println!(
        "stopped Hermes, chimerad and terrad in {:.1}s",
        stop_started.elapsed().as_secs_f64()
    );
    Ok(())
}
