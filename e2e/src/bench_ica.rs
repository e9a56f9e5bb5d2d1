//! `chimera ica infer` end to end, measured: a Terra Classic account's
//! request over ICS-27 to a one-validator chimerad, from the `MsgSendTx`
//! broadcast to the verified output, split into its stages:
//!
//! 1. Terra inclusion: broadcast until the tx is in a block;
//! 2. relay to the host: that Terra block until chimerad's block holding
//!    `MsgRecvPacket` (block times);
//! 3. execution: that block until chimerad's block writing the
//!    acknowledgement (model run, vote extensions, quorum);
//! 4. the ack's way back: that block until Terra's `MsgAcknowledgement`;
//! 5. fetch: the output from the node's BlobService, re-hashed.
//!
//! Peers in the same run, on the same chains: the same model and prompt as
//! a local `MsgRunInference` on chimerad (model + quorum, no IBC), and an
//! ICS-20 round trip Terra → chimerad → ack (IBC, no model), so the report
//! says what the ICA route adds to each.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use chimera_relayer::ica::{self as rica, InferRequest, RegisterOptions};
use ibc_proto::cosmos::base::v1beta1::Coin;

use crate::chimera;
use crate::devnet::{chimera_config, start_terra_and_chimera, terra_config};
use crate::hermes::HermesChain;
use crate::inference::{submit_job, wait_job, Job};
use crate::keys;
use crate::relayer::{rt, transfer, user_chain, ChimeraRelayer, Transfer};
use crate::terra;

/// What to run.
#[derive(Debug, Clone)]
pub struct IcaBenchConfig {
    /// Measured requests per route (after one warm-up each).
    pub requests: usize,
    /// Zoo model id.
    pub model: String,
    /// Its text prompt.
    pub prompt: String,
    /// The chimerad binary (None: the harness default).
    pub chimerad: Option<PathBuf>,
}

impl Default for IcaBenchConfig {
    fn default() -> Self {
        Self {
            requests: 10,
            model: "digits-ddpm".into(),
            prompt: "7".into(),
            chimerad: None,
        }
    }
}

/// One ICA request's stages (seconds) and blocks.
#[derive(Debug, Clone, Default)]
pub struct IcaSample {
    pub inclusion: f64,
    pub relay: f64,
    pub execution: f64,
    pub ack_back: f64,
    pub fetch: f64,
    /// Broadcast to verified output (local clock).
    pub total: f64,
    /// Terra blocks from the `MsgSendTx` block to the `MsgAcknowledgement` block.
    pub terra_blocks: u64,
    /// chimerad blocks from `MsgRecvPacket` to the acknowledgement.
    pub host_blocks: u64,
}

impl IcaSample {
    /// Broadcast to verified output by block times (stages 2–4) and the
    /// local clock (1 and 5), without the follower's polling delay.
    pub fn stages(&self) -> f64 {
        self.inclusion + self.relay + self.execution + self.ack_back + self.fetch
    }
}

/// A peer's sample: seconds and blocks (on its one measured chain).
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerSample {
    pub seconds: f64,
    pub blocks: u64,
}

/// What [`run`] measured.
#[derive(Debug, Clone, Default)]
pub struct IcaBenchReport {
    pub ica: Vec<IcaSample>,
    /// Local `MsgRunInference`: commit of the tx to `inference_result`.
    pub local: Vec<PeerSample>,
    /// ICS-20 Terra → chimerad: broadcast to the ack back on Terra.
    pub ics20: Vec<PeerSample>,
    pub model: String,
    pub prompt: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn max(v: impl Iterator<Item = f64>) -> f64 {
    v.fold(f64::NAN, f64::max)
}

impl IcaBenchReport {
    /// Markdown tables for docs/benchmarks.md.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let col = |f: &dyn Fn(&IcaSample) -> f64| {
            let v: Vec<f64> = self.ica.iter().map(f).collect();
            (median(v.clone()), max(v.into_iter()))
        };
        let _ = writeln!(
            s,
            "`{}` \"{}\", {} requests per route (after one warm-up each)\n",
            self.model,
            self.prompt,
            self.ica.len()
        );
        let _ = writeln!(s, "| ICA stage | median s | max s |\n|---|---:|---:|");
        type Stage<'a> = (&'a str, &'a dyn Fn(&IcaSample) -> f64);
        let rows: [Stage; 7] = [
            ("Terra inclusion (broadcast → block)", &|x| x.inclusion),
            ("relay to chimerad (Terra block → MsgRecvPacket block)", &|x| {
                x.relay
            }),
            ("execution + quorum (→ ack written)", &|x| x.execution),
            ("ack back (→ Terra MsgAcknowledgement block)", &|x| x.ack_back),
            ("fetch + verify output", &|x| x.fetch),
            ("**sum of the stages**", &|x| x.stages()),
            ("total by the local clock (the CLI polls every 1 s)", &|x| x.total),
        ];
        for (name, f) in rows {
            let (m, x) = col(f);
            let _ = writeln!(s, "| {name} | {m:.2} | {x:.2} |");
        }
        let tb: Vec<f64> = self.ica.iter().map(|x| x.terra_blocks as f64).collect();
        let hb: Vec<f64> = self.ica.iter().map(|x| x.host_blocks as f64).collect();
        let lb: Vec<f64> = self.local.iter().map(|x| x.blocks as f64).collect();
        let ls: Vec<f64> = self.local.iter().map(|x| x.seconds).collect();
        let is: Vec<f64> = self.ics20.iter().map(|x| x.seconds).collect();
        let ib: Vec<f64> = self.ics20.iter().map(|x| x.blocks as f64).collect();
        let total = median(self.ica.iter().map(|x| x.stages()).collect());
        let _ = writeln!(
            s,
            "\n| blocks (median / max) | ICA request | peer |\n|---|---:|---:|\n\
             | Terra: MsgSendTx block → MsgAcknowledgement block | {:.0} / {:.0} | ICS-20 round trip: {:.0} / {:.0} |\n\
             | chimerad: MsgRecvPacket → ack written | {:.0} / {:.0} | local MsgRunInference → result: {:.0} / {:.0} |",
            median(tb.clone()),
            max(tb.into_iter()),
            median(ib.clone()),
            max(ib.into_iter()),
            median(hb.clone()),
            max(hb.into_iter()),
            median(lb.clone()),
            max(lb.into_iter()),
        );
        let _ = writeln!(
            s,
            "\n| peer, same chains, same run | median s | ICA sum of stages ÷ peer |\n|---|---:|---:|\n\
             | local `MsgRunInference` on chimerad (model + quorum, no IBC) | {:.2} | {:.2}× |\n\
             | ICS-20 round trip Terra → chimerad → ack (IBC, no model) | {:.2} | {:.2}× |",
            median(ls.clone()),
            total / median(ls),
            median(is.clone()),
            total / median(is),
        );
        s
    }
}

/// Starts Terra Classic and chimerad, opens the ICS-20 path with `chimera
/// create channel`, runs `chimera relay`, registers and funds the user's
/// interchain account, then measures `config.requests` ICA requests and
/// the two peers. Blocking; needs a multi-threaded caller (uses [`rt`]).
pub fn run(config: &IcaBenchConfig) -> Result<IcaBenchReport> {
    let mut cc_config = chimera_config(chimera::DEFAULT_CHAIN_ID);
    cc_config.chimerad = config.chimerad.clone();
    let (_terra_net, chimera_net) = start_terra_and_chimera(terra_config(), cc_config)?;
    let tc = HermesChain::terra(&_terra_net);
    let cc = HermesChain::chimera(&chimera_net)?;
    let mut relayer = ChimeraRelayer::new(vec![tc.clone(), cc.clone()])?;
    let (chan_t, _, _) = relayer.create_channel(&tc.id, &cc.id, "transfer", "transfer", "ics20-1", None)?;
    relayer.start(Duration::from_secs(120))?;
    let users = tempfile::tempdir()?;
    let terra_user = user_chain(&tc, keys::USER_MNEMONIC, keys::TERRA_COIN_TYPE, users.path());
    let host = user_chain(&cc, keys::USER_MNEMONIC, chimera::CHIMERA_COIN_TYPE, users.path());
    let quiet: rica::Progress = &rica::quiet;

    let path = rt().block_on(rica::resolve_path(&terra_user, &cc.id, None))?;
    let opts = RegisterOptions {
        encoding: None,
        ordering: None,
        wait: Duration::from_secs(120),
        resend: false,
    };
    let account = rt().block_on(rica::register(&terra_user, &path, &opts, quiet))?;
    let coin = Coin {
        denom: terra::DENOM.into(),
        amount: "5000000".into(),
    };
    let funded = rt().block_on(rica::fund(
        &terra_user,
        &host,
        &account,
        &coin,
        None,
        Duration::from_secs(120),
        quiet,
    ))?;
    let address = account.address.clone().context("registered account")?;
    let grpc = cc.grpc_addr.clone();

    let mut report = IcaBenchReport {
        model: config.model.clone(),
        prompt: config.prompt.clone(),
        ..Default::default()
    };
    for i in 0..=config.requests {
        let mut req = InferRequest::text(&config.model, &config.prompt, 1000 + i as u64);
        req.fee = vec![Coin {
            denom: funded.voucher.clone(),
            amount: "1000".into(),
        }];
        let msg =
            rica::build_infer(&address, &req, None, &mut rand_core::OsRng).map_err(|e| anyhow!("{e}"))?;
        let t0 = Instant::now();
        let sent = rt().block_on(rica::send_infer(
            &terra_user,
            &path,
            &account,
            &[msg],
            "",
            Duration::from_secs(600),
        ))?;
        let inclusion = t0.elapsed().as_secs_f64();
        let follow = rt().block_on(rica::follow(
            &terra_user,
            &host,
            &sent,
            Duration::from_secs(300),
            quiet,
        ))?;
        let responses = match follow.outcome() {
            Some(Ok(rica::AckOutcome::Result { responses, .. })) => responses,
            other => bail!("request {i}: {other:?}"),
        };
        let out = responses
            .first()
            .and_then(|r| r.output.clone())
            .context("a MsgRunInferenceResponse with an output")?;
        let t_fetch = Instant::now();
        let data = rt().block_on(async {
            let mut c = chimera_host::blob::BlobClient::connect(&grpc).await?;
            let hash = chimera_host::blob::BlobHash::from_slice(&out.sha256)?;
            anyhow::Ok(c.get_bytes(&hash).await?)
        })?;
        if data.len() as u64 != out.size {
            bail!("request {i}: {} bytes served, {} committed", data.len(), out.size);
        }
        let fetch = t_fetch.elapsed().as_secs_f64();
        let h = |st: &Option<rica::Stage>| st.as_ref().and_then(|s| s.height).unwrap_or_default();
        let secs = |st: &Option<rica::Stage>| st.as_ref().and_then(|s| s.seconds).unwrap_or(f64::NAN);
        let sample = IcaSample {
            inclusion,
            relay: secs(&follow.received),
            execution: secs(&follow.host_ack),
            ack_back: secs(&follow.back),
            fetch,
            total: t0.elapsed().as_secs_f64(),
            terra_blocks: h(&follow.back).saturating_sub(sent.height),
            host_blocks: h(&follow.host_ack).saturating_sub(h(&follow.received)),
        };
        if i > 0 {
            report.ica.push(sample);
        }
    }

    for i in 0..=config.requests {
        let job = Job::text(&config.model, &config.prompt, 2000 + i as u64);
        let t0 = Instant::now();
        let (height, id) =
            submit_job(&chimera_net, 0, &job, 400_000).map_err(|e| anyhow!("local job: {e}"))?;
        let found =
            wait_job(&chimera_net, 0, height, id, Duration::from_secs(120)).map_err(|e| anyhow!("{e}"))?;
        if i > 0 {
            report.local.push(PeerSample {
                seconds: t0.elapsed().as_secs_f64(),
                blocks: found.height - height,
            });
        }
    }

    let receiver = chimera::chimera_address(keys::USER_MNEMONIC)?.to_string();
    for i in 0..=config.requests {
        let t0 = Instant::now();
        let sent = transfer(
            &terra_user,
            &Transfer {
                channel: &chan_t,
                denom: terra::DENOM,
                amount: 1,
                receiver: &receiver,
                count: 1,
                timeout_height: 0,
            },
        );
        let acked = wait_cleared(&terra_user, &chan_t)?;
        if i > 0 {
            report.ics20.push(PeerSample {
                seconds: t0.elapsed().as_secs_f64(),
                blocks: acked.saturating_sub(sent),
            });
        }
    }
    drop(relayer);
    drop(chimera_net);
    Ok(report)
}

/// Waits until Terra holds no commitment on `transfer/<channel>` (the
/// transfer's ack is back); returns Terra's height then.
fn wait_cleared(terra: &chimera_relayer::chain::Chain, channel: &str) -> Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if rt()
            .block_on(terra.packet_commitments("transfer", channel))?
            .is_empty()
        {
            return Ok(rt().block_on(terra.latest())?.0);
        }
        if Instant::now() > deadline {
            bail!("the ICS-20 packet on {channel} was not acknowledged within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
