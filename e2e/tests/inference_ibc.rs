//! Inference over IBC between two chimerad chains, relayed by Hermes 1.11:
//! chain A (requester) sends `MsgRequestInference` for `digits-ddpm` (the
//! prompt "7") over an `inference` channel (UNORDERED,
//! `chimera-inference-1`); chain B (host) records the job, its validator
//! runs the model after commit and reports in its vote extension, B's
//! FinalizeBlock writes the asynchronous acknowledgement once the quorum
//! agrees; Hermes relays it back and A's request ends with
//! `inference_request_done` (completed, the output's hash). The PNG is
//! fetched from B's BlobService and checked against that hash. Then a
//! request for an unregistered model gets B's synchronous error ack
//! (`unknown_model`) and ends failed on A. Every step is printed with its
//! time; blocks and seconds from send to ack are reported. Needs
//! `cometbft` and `hermes` from `scripts/setup` and a built chimerad
//! (`cargo build -p chimera-host --bin chimerad`).

use std::fmt::Display;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chimera_e2e::chimera::{
    self, chimera_address, chimera_signing_key, required_fee, sign_messages, BankSend, ChimeraNet, DENOM,
};
use chimera_e2e::devnet::{self, chimera_config};
use chimera_e2e::hermes::{ibc_denom, RECIPIENT_MNEMONIC};
use chimera_e2e::hermes::{Hermes, HermesChain};
use chimera_e2e::inference::{
    self, blob_get_blocking, broadcast_commit, decode_png, request_inference_msg, sha256, wait_for_event,
    Event, Found, Job, GOLDEN_SEVEN, PNG_SIGNATURE,
};
use chimera_e2e::keys;
use chimera_e2e::relayer::{rt, transfer, user_chain, ChimeraRelayer, Relayer, Transfer};

/// How long one relayed request may take, send to ack.
const ACK_WAIT: Duration = Duration::from_secs(180);

/// Gas for `MsgRequestInference` (packet commitment, request record).
const REQUEST_GAS: u64 = 400_000;

fn require_binaries() {
    for b in ["cometbft", "hermes"] {
        chimera_e2e::bins::find_binary(b).unwrap_or_else(|e| panic!("{e}"));
    }
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
}

/// Named steps with timings; a failure reports how far the run got and
/// the relevant Hermes and chimerad log lines.
struct Steps {
    started: Instant,
    passed: Vec<String>,
    logs: Vec<PathBuf>,
}

impl Steps {
    fn run<R: Relayer, T, E: Display>(
        &mut self,
        relayer: &mut R,
        name: &str,
        f: impl FnOnce(&mut R) -> Result<T, E>,
    ) -> T {
        let t = Instant::now();
        match f(relayer) {
            Ok(v) => {
                let line = format!(
                    "[{:>6.1?}] ok   {name} ({:.1?})",
                    self.started.elapsed(),
                    t.elapsed()
                );
                eprintln!("{line}");
                self.passed.push(line);
                v
            }
            Err(e) => self.fail(relayer, name, &e.to_string()),
        }
    }

    fn fail<R: Relayer>(&self, relayer: &mut R, name: &str, error: &str) -> ! {
        let mut report = format!(
            "\n==== inference over IBC ({}) stopped at step: {name} (after {:.1?}) ====\nsteps passed:\n{}\n\
             ---- error ----\n{error}\n",
            relayer.label(),
            self.started.elapsed(),
            self.passed.join("\n")
        );
        let errors = relayer.problems(15);
        if !errors.is_empty() {
            report += &format!(
                "---- {} ERROR/WARN lines ----\n{}\n",
                relayer.label(),
                errors.join("\n")
            );
        }
        for log in &self.logs {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| {
                    let l = l.to_ascii_lowercase();
                    l.contains("error") || l.contains("warn") || l.contains("panic") || l.contains("job")
                })
                .collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            report += &format!(
                "---- {} (error/warn/job lines, last 15) ----\n{}\n",
                log.display(),
                tail.join("\n")
            );
        }
        report += &format!(
            "---- {} home (kept): {} ----\n",
            relayer.label(),
            relayer.keep().display()
        );
        panic!("{report}");
    }
}

/// One chain: its RPC, gRPC and logs.
struct Side {
    id: String,
    rpc: SocketAddr,
    grpc: String,
}

impl Side {
    fn new(net: &ChimeraNet) -> Self {
        Side {
            id: net.chain_id().into(),
            rpc: net.rpc_addr(0).unwrap(),
            grpc: format!("http://127.0.0.1:{}", net.ports(0).unwrap().grpc),
        }
    }
}

fn logs(net: &ChimeraNet) -> Vec<PathBuf> {
    let home = net.home(0).unwrap();
    vec![home.join(chimera::CHIMERAD_LOG), home.join(chimera::COMETBFT_LOG)]
}

/// What one request went through: its send on A, its job on B, its ack on
/// A.
struct Relayed {
    sequence: u64,
    sent_height: u64,
    sent_at: Instant,
    done: Found,
}

/// Signs and commits `MsgRequestInference` of `job` from A's user over
/// `channel`; returns the packet sequence and the send height.
fn send_request(
    net: &ChimeraNet,
    channel: &str,
    job: &Job,
    timeout: Duration,
) -> Result<(u64, u64, Instant), String> {
    let key = chimera_signing_key(keys::USER_MNEMONIC).unwrap();
    let user = chimera_address(keys::USER_MNEMONIC).unwrap();
    let acc = net
        .account(0, &user)
        .map_err(|e| e.to_string())?
        .ok_or("A's user has no account")?;
    let send = BankSend {
        to: user.clone(),
        amount: 0,
        denom: DENOM.into(),
        fee: required_fee(REQUEST_GAS),
        gas_limit: REQUEST_GAS,
        account_number: acc.account_number,
        sequence: acc.sequence,
        memo: String::new(),
    };
    let timeout = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + timeout;
    let msg = request_inference_msg(user.as_ref(), channel, job, timeout.as_nanos() as u64);
    let tx = sign_messages(&key, net.chain_id(), vec![msg], &send).map_err(|e| e.to_string())?;
    let sent_at = Instant::now();
    let r = broadcast_commit(net.rpc_addr(0).unwrap(), &tx)?;
    if !r.is_ok() {
        return Err(format!("MsgRequestInference refused: {r:?}"));
    }
    let sequence = r
        .event("send_packet")
        .ok_or_else(|| format!("no send_packet event: {:?}", r.events))?
        .get("packet_sequence")
        .parse()
        .map_err(|e| format!("packet_sequence: {e}"))?;
    eprintln!(
        "         MsgRequestInference {} in A's block {} (gas {} of {}), packet sequence {sequence}",
        job.model, r.height, r.gas_used, r.gas_wanted
    );
    Ok((sequence, r.height, sent_at))
}

/// Sends `job` over `channel` and waits for A's `inference_request_done`
/// of its packet.
fn request_and_wait(a: &ChimeraNet, channel: &str, job: &Job) -> Result<Relayed, String> {
    let (sequence, sent_height, sent_at) = send_request(a, channel, job, Duration::from_secs(600))?;
    let seq = sequence.to_string();
    let done = wait_for_event(a.rpc_addr(0).unwrap(), sent_height, ACK_WAIT, |e: &Event| {
        e.kind == "inference_request_done" && e.get("sequence") == seq && e.get("source_channel") == channel
    })
    .map_err(|e| format!("packet {sequence}: no inference_request_done on A: {e}"))?;
    Ok(Relayed {
        sequence,
        sent_height,
        sent_at,
        done,
    })
}

#[test]
fn hermes_relays_inference_requests_and_async_acks_between_two_chimerad_chains() {
    require_binaries();
    let started = Instant::now();
    let (a_net, b_net) = start_chains();
    eprintln!("[{:?}] chains A and B up", started.elapsed());
    let (a, b) = (Side::new(&a_net), Side::new(&b_net));
    let mut hermes = Hermes::new(vec![
        HermesChain::chimera(&a_net).unwrap(),
        HermesChain::chimera(&b_net).unwrap(),
    ])
    .expect("hermes set-up (config validate, keys add)");
    let mut steps = Steps {
        started,
        passed: vec![],
        logs: logs(&a_net).into_iter().chain(logs(&b_net)).collect(),
    };

    let client_a = steps.run(&mut hermes, "create client on A of B", |h| {
        h.create_client(&a.id, &b.id)
    });
    let client_b = steps.run(&mut hermes, "create client on B of A", |h| {
        h.create_client(&b.id, &a.id)
    });
    let connection = steps.run(&mut hermes, "create connection", |h| {
        h.create_connection(&a.id, &client_a, &client_b)
    });
    let channel = steps.run(&mut hermes, "create inference channel (unordered)", |h| {
        h.create_channel(
            &a.id,
            &connection.a,
            inference::PORT,
            inference::VERSION,
            "unordered",
        )
    });
    eprintln!(
        "         channel {}/{} on A <-> {}/{} on B",
        inference::PORT,
        channel.a,
        inference::PORT,
        channel.b
    );
    steps.run(&mut hermes, "hermes start", |h| h.start(devnet::WAIT));
    scenario(&mut hermes, &mut steps, &a_net, &b_net, &channel.a);
}

/// Two chimerad chains, A (requester) and B (host), each with one validator.
fn start_chains() -> (ChimeraNet, ChimeraNet) {
    std::thread::scope(|s| {
        let a = s.spawn(|| ChimeraNet::start(chimera_config("chimera-req-a")).expect("chimerad A"));
        let b = s.spawn(|| ChimeraNet::start(chimera_config("chimera-host-b")).expect("chimerad B"));
        (a.join().unwrap(), b.join().unwrap())
    })
}

/// The same flow with `chimera relay`: `chimera create channel` opens the
/// clients, connection and `inference` channel; then the scenario.
#[test]
fn chimera_relay_relays_inference_requests_and_async_acks_between_two_chimerad_chains() {
    require_binaries();
    let started = Instant::now();
    let (a_net, b_net) = start_chains();
    eprintln!("[{:?}] chains A and B up", started.elapsed());
    let mut relayer = ChimeraRelayer::new(vec![
        HermesChain::chimera(&a_net).unwrap(),
        HermesChain::chimera(&b_net).unwrap(),
    ])
    .expect("chimera relayer set-up (keys import)");
    let mut steps = Steps {
        started,
        passed: vec![],
        logs: logs(&a_net).into_iter().chain(logs(&b_net)).collect(),
    };
    let (a_id, b_id) = (a_net.chain_id().to_string(), b_net.chain_id().to_string());
    let (chan_a, chan_b, conn_a) = steps.run(
        &mut relayer,
        "chimera create channel (clients, connection, inference channel)",
        |r| {
            r.create_channel(
                &a_id,
                &b_id,
                inference::PORT,
                inference::PORT,
                inference::VERSION,
                None,
            )
        },
    );
    eprintln!(
        "         channel {}/{chan_a} on A <-> {}/{chan_b} on B",
        inference::PORT,
        inference::PORT
    );
    steps.run(&mut relayer, "chimera relay", |r| r.start_relaying(devnet::WAIT));
    scenario(&mut relayer, &mut steps, &a_net, &b_net, &chan_a);

    // ICS-20 on the same connection, both ways, between the two chimerads.
    let (ac, bc) = (relayer.chains[0].clone(), relayer.chains[1].clone());
    let (tr_a, tr_b, _) = steps.run(
        &mut relayer,
        "chimera create channel: transfer on the same connection",
        |r| r.create_channel(&a_id, &b_id, "transfer", "transfer", "ics20-1", Some(&conn_a)),
    );
    steps.run(&mut relayer, "chimera relay again", |r| {
        r.start_relaying(devnet::WAIT)
    });
    let users = tempfile::tempdir().unwrap();
    let ua = user_chain(&ac, keys::USER_MNEMONIC, chimera::CHIMERA_COIN_TYPE, users.path());
    let ub = user_chain(&bc, keys::USER_MNEMONIC, chimera::CHIMERA_COIN_TYPE, users.path());
    let to = chimera_address(RECIPIENT_MNEMONIC).unwrap().to_string();
    for (from, chan, grpc, their_chan) in [
        (&ua, &tr_a, &bc.grpc_addr, &tr_b),
        (&ub, &tr_b, &ac.grpc_addr, &tr_a),
    ] {
        let name = format!(
            "uchim {} → {} arrives",
            from.id(),
            if from.id() == a_id { &b_id } else { &a_id }
        );
        steps.run(&mut relayer, &name, |_| {
            transfer(
                from,
                &Transfer {
                    channel: chan,
                    denom: DENOM,
                    amount: 4242,
                    receiver: &to,
                    count: 1,
                    timeout_height: 0,
                },
            );
            let voucher = ibc_denom(&format!("transfer/{their_chan}/{DENOM}"));
            let start = Instant::now();
            loop {
                if rt()
                    .block_on(chimera_e2e::bank::balance(grpc, &to, &voucher))
                    .map_err(|e| e.to_string())?
                    == 4242
                {
                    return Ok::<_, String>(());
                }
                if start.elapsed() > ACK_WAIT {
                    return Err("voucher did not arrive".into());
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        });
    }
    steps.run(&mut relayer, "relaying stopped", |r| r.stop_relaying());
}

/// A "7" relayed both ways with B's asynchronous ack, the PNG checked, and
/// an unknown model's synchronous error ack, over `channel` on A.
fn scenario<R: Relayer>(
    relayer: &mut R,
    steps: &mut Steps,
    a_net: &ChimeraNet,
    b_net: &ChimeraNet,
    channel_a: &str,
) {
    let started = steps.started;
    let (a, b) = (Side::new(a_net), Side::new(b_net));
    // A "7" from the diffusion model, relayed both ways.
    let b_from = inference::height(b.rpc);
    let job = Job::digits_ddpm('7', 42);
    let good = steps.run(
        relayer,
        "digits-ddpm \"7\": request on A, job on B, ack back on A",
        |_| request_and_wait(a_net, channel_a, &job),
    );
    let ev = good.done.event.clone();
    let a_blocks = good.done.height - good.sent_height;
    let secs = good.done.seen - good.sent_at;
    let user = chimera_address(keys::USER_MNEMONIC).unwrap().to_string();
    let on_b = |kind: &'static str| {
        let user = user.clone();
        wait_for_event(b.rpc, b_from, Duration::from_secs(10), move |e: &Event| {
            e.kind == kind && e.get("requester") == user && e.get("model") == "digits-ddpm"
        })
    };
    let (b_job, b_result) = (on_b("inference_job"), on_b("inference_result"));
    eprintln!(
        "         packet {}: sent in A's block {}, ack in A's block {} ({a_blocks} A blocks, {secs:.2?}); \
         on B: job in block {}, result in block {} ({} B blocks)",
        good.sequence,
        good.sent_height,
        good.done.height,
        b_job.as_ref().map_or(0, |f| f.height),
        b_result.as_ref().map_or(0, |f| f.height),
        match (&b_job, &b_result) {
            (Ok(j), Ok(r)) => (r.height - j.height).to_string(),
            _ => "?".into(),
        }
    );
    eprintln!("         inference_request_done: {:?}", ev.attributes);
    if let Ok(r) = &b_result {
        eprintln!("         B's inference_result: {:?}", r.event.attributes);
    }
    steps.run(relayer, "A's request completed with B's result", |_| {
        if !good.done.in_tx {
            return Err("inference_request_done is not an event of the relayer's tx".to_string());
        }
        if ev.get("status") != "completed" {
            return Err(format!("status {:?}: {ev:?}", ev.get("status")));
        }
        if ev.get("output_sha256").len() != 64 || ev.get("job_id").is_empty() {
            return Err(format!("no output hash or job id: {ev:?}"));
        }
        match &b_result {
            Ok(r) if r.event.get("output_sha256") == ev.get("output_sha256") => Ok(()),
            Ok(r) => Err(format!("B's inference_result says {:?}", r.event)),
            Err(e) => Err(format!("B's inference_result: {e}")),
        }
    });
    let png = steps.run(relayer, "PNG from B's BlobService matches the ack's hash", |_| {
        let want = hex::decode(ev.get("output_sha256")).map_err(|e| e.to_string())?;
        let blob = blob_get_blocking(&b.grpc, &want)?;
        if sha256(&blob.data).as_slice() != want.as_slice() {
            return Err(format!(
                "served {} bytes hash to {}",
                blob.data.len(),
                hex::encode(sha256(&blob.data))
            ));
        }
        if blob.data.len() < 8 || blob.data[..8] != PNG_SIGNATURE {
            return Err(format!(
                "not a PNG: starts {}",
                hex::encode(&blob.data[..blob.data.len().min(8)])
            ));
        }
        eprintln!(
            "         {} bytes, encoding {:?}, signature {}",
            blob.data.len(),
            blob.info_encoding,
            hex::encode(&blob.data[..8])
        );
        Ok::<_, String>(blob.data)
    });
    steps.run(
        relayer,
        "the PNG is canonical: 32×32 gray, an upscaled 8×8",
        |_| {
            let p = decode_png(&png)?;
            if (p.width, p.height, p.color_type, p.bit_depth) != (32, 32, 0, 8) {
                return Err(format!("{p:?}"));
            }
            if p.chunks != ["IHDR", "IDAT", "IEND"] {
                return Err(format!("chunks {:?}", p.chunks));
            }
            let small: Vec<Vec<u8>> = (0..8)
                .map(|y| (0..8).map(|x| p.rows[y * 4][x * 4]).collect())
                .collect();
            for y in 0..32 {
                for x in 0..32 {
                    if p.rows[y][x] != small[y / 4][x / 4] {
                        return Err(format!("pixel ({x},{y}) is not its 4×4 block's"));
                    }
                }
            }
            let max_diff = small
                .iter()
                .flatten()
                .zip(GOLDEN_SEVEN.iter().flatten())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap_or(0);
            eprintln!(
                "         8×8 image (max |diff| to docs/models.md's golden \"7\", seed 42: {max_diff}):"
            );
            for row in &small {
                eprintln!("           {row:>3?}");
            }
            // The executor's sampling is specified exactly (docs/models.md);
            // allow one step of the image sketch's 16 levels for other CPUs.
            if max_diff > 17 {
                return Err(format!(
                    "the 8×8 image differs from the golden \"7\" by up to {max_diff}"
                ));
            }
            Ok::<_, String>(())
        },
    );

    // An unregistered model: B refuses the packet with a synchronous error
    // ack, which ends the request failed on A.
    let nope = Job {
        model: "nope".into(),
        ..Job::digits_ddpm('7', 1)
    };
    let bad = steps.run(relayer, "model \"nope\": error ack back on A", |_| {
        request_and_wait(a_net, channel_a, &nope)
    });
    let bad_ev = &bad.done.event;
    eprintln!(
        "         packet {}: sent in A's block {}, ack in A's block {} ({} A blocks, {:.2?}): {:?}",
        bad.sequence,
        bad.sent_height,
        bad.done.height,
        bad.done.height - bad.sent_height,
        bad.done.seen - bad.sent_at,
        bad_ev.attributes
    );
    steps.run(relayer, "A's request failed with unknown_model", |_| {
        if bad_ev.get("status") != "failed" || !bad_ev.get("error").contains("unknown_model") {
            return Err(format!("{bad_ev:?}"));
        }
        Ok(())
    });
    // A request that cannot arrive in time: nobody relays while its 4 s
    // timeout passes; once relaying resumes, the relayer proves on B that
    // it never arrived (MsgTimeout on A) and A ends it failed, refunded.
    steps.run(relayer, "relaying stopped", |r| r.stop_relaying());
    let (seq, sent_height, _) = steps.run(relayer, "request with a 4 s timeout while nobody relays", |_| {
        send_request(
            a_net,
            channel_a,
            &Job::digits_ddpm('3', 5),
            Duration::from_secs(4),
        )
    });
    std::thread::sleep(Duration::from_secs(6));
    steps.run(relayer, "relaying resumed", |r| r.start_relaying(devnet::WAIT));
    steps.run(
        relayer,
        "the expired request timed out on A (failed: timeout)",
        |_| {
            let s = seq.to_string();
            let done = wait_for_event(a.rpc, sent_height, ACK_WAIT, |e: &Event| {
                e.kind == "inference_request_done"
                    && e.get("sequence") == s
                    && e.get("source_channel") == channel_a
            })?;
            let ev = &done.event;
            if ev.get("status") != "failed" || !ev.get("error").starts_with("timeout") {
                return Err(format!("{ev:?}"));
            }
            eprintln!("         packet {seq}: {:?}", ev.attributes);
            Ok(())
        },
    );
    steps.run(relayer, "the relayer still runs; both chains make blocks", |h| {
        if !h.running() {
            return Err(format!("{} exited:\n{}", h.label(), h.problems(20).join("\n")));
        }
        let (ha, hb) = (inference::height(a.rpc), inference::height(b.rpc));
        std::thread::sleep(Duration::from_secs(2));
        if inference::height(a.rpc) <= ha || inference::height(b.rpc) <= hb {
            return Err("a chain stopped".to_string());
        }
        h.stop_relaying()
    });
    eprintln!("[{:?}] done", started.elapsed());
}
