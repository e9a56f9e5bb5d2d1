//! Hermes 1.11 between chimerad and real chains, as an operator runs it
//! (chain config from `docs/operators.md`: proof specs, store prefix `ibc`,
//! gas in `uchim`, CometBFT 0.38 RPC). Terra Classic v3.4.0 ↔ chimerad: both
//! clients (Terra's client of chimerad holds our proof specs), a connection,
//! an ICS-20 channel, `uluna` to chimerad as `ibc/…` and back, `uchim` to
//! Terra, and a timeout refund each way. chimerad ↔ chimerad: the same on
//! two chimerad chains. Every step is named in the output; a failure says
//! which steps passed, the error, and the relevant Hermes and chimerad log
//! lines. Needs `terrad`, `cometbft` and `hermes` from `scripts/setup` and a
//! built chimerad (`cargo build -p chimera-host --bin chimerad`).

use std::fmt::Display;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chimera_e2e::bank;
use chimera_e2e::chimera::{self, chimera_address, ChimeraNet};
use chimera_e2e::devnet::{
    self, chimera_config, open_transfer_path, start_terra_and_chimera, terra_config, StepRunner,
};
use chimera_e2e::hermes::{
    self, escrow_address, ibc_denom, FtTransfer, Hermes, HermesChain, RECIPIENT_MNEMONIC, TRANSFER_PORT,
};
use chimera_e2e::keys;
use chimera_e2e::ports;
use chimera_e2e::rpc;
use chimera_e2e::terra::{self, TerraLocalnet};

const WAIT: Duration = devnet::WAIT;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// One chain as the ICS-20 flow sees it.
struct Side {
    id: String,
    rpc: SocketAddr,
    grpc: String,
    prefix: &'static str,
    native: &'static str,
    user: String,
    recipient: String,
    /// Logs worth showing when a step fails (chimerad's).
    logs: Vec<PathBuf>,
}

impl Side {
    fn terra(net: &TerraLocalnet) -> Self {
        Side {
            id: net.chain_id().into(),
            rpc: net.rpc_addr(),
            grpc: net.grpc_url(),
            prefix: keys::TERRA_PREFIX,
            native: terra::DENOM,
            user: keys::USER_ADDRESS.into(),
            recipient: keys::terra_address(RECIPIENT_MNEMONIC).unwrap().to_string(),
            logs: vec![],
        }
    }

    fn chimera(net: &ChimeraNet) -> Self {
        let home = net.home(0).unwrap();
        Side {
            id: net.chain_id().into(),
            rpc: net.rpc_addr(0).unwrap(),
            grpc: format!("http://{}", ports::loopback(net.ports(0).unwrap().grpc)),
            prefix: chimera::CHIMERA_PREFIX,
            native: chimera::DENOM,
            user: chimera_address(keys::USER_MNEMONIC).unwrap().to_string(),
            recipient: chimera_address(RECIPIENT_MNEMONIC).unwrap().to_string(),
            logs: vec![home.join(chimera::CHIMERAD_LOG), home.join(chimera::COMETBFT_LOG)],
        }
    }

    fn balance(&self, address: &str, denom: &str) -> u128 {
        block_on(bank::balance(&self.grpc, address, denom))
            .unwrap_or_else(|e| panic!("{}: balance of {address}: {e}", self.id))
    }

    fn height(&self) -> u64 {
        rpc::status(self.rpc).map(|s| s.latest_height).unwrap_or(0)
    }
}

/// The steps of one run: what passed (with timings), and on failure a
/// report of how far it got.
struct Steps {
    started: Instant,
    passed: Vec<String>,
    /// Findings that do not stop the run (health-check warnings).
    notes: Vec<String>,
    logs: Vec<PathBuf>,
}

impl Steps {
    fn new(logs: Vec<PathBuf>) -> Self {
        Steps {
            started: Instant::now(),
            passed: vec![],
            notes: vec![],
            logs,
        }
    }

    fn run<T, E: Display>(
        &mut self,
        hermes: &mut Hermes,
        name: &str,
        f: impl FnOnce(&mut Hermes) -> Result<T, E>,
    ) -> T {
        let t = Instant::now();
        match f(hermes) {
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
            Err(e) => self.fail(hermes, name, &e.to_string()),
        }
    }

    fn fail(&self, hermes: &Hermes, name: &str, error: &str) -> ! {
        let mut report = format!(
            "\n==== interop stopped at step: {name} (after {:.1?}) ====\nsteps passed:\n{}\n\
             ---- error ----\n{error}\n",
            self.started.elapsed(),
            self.passed.join("\n")
        );
        if !self.notes.is_empty() {
            report += &format!("---- notes ----\n{}\n", self.notes.join("\n"));
        }
        let errors: Vec<String> = hermes
            .log_lines_with("ERROR")
            .into_iter()
            .chain(hermes.log_lines_with("WARN"))
            .take(15)
            .collect();
        if !errors.is_empty() {
            report += &format!("---- hermes start ERROR/WARN lines ----\n{}\n", errors.join("\n"));
        }
        for log in &self.logs {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| {
                    let l = l.to_ascii_lowercase();
                    l.contains("error") || l.contains("warn") || l.contains("panic") || l.contains("unknown")
                })
                .collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            report += &format!(
                "---- {} (error/warn lines, last 15) ----\n{}\n",
                log.display(),
                tail.join("\n")
            );
        }
        report += &format!("---- hermes home (kept): {} ----\n", hermes.home().display());
        panic!("{report}");
    }

    /// Waits until `address` on `side` holds exactly `want` of `denom`.
    fn wait_balance(
        &mut self,
        hermes: &mut Hermes,
        name: &str,
        side: &Side,
        address: &str,
        denom: &str,
        want: u128,
    ) {
        let deadline = Instant::now() + WAIT;
        self.run(hermes, name, |_| loop {
            let got = side.balance(address, denom);
            if got == want {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{}: {address} holds {got}{denom}, expected {want} (waited {WAIT:?})",
                    side.id
                ));
            }
            std::thread::sleep(Duration::from_millis(300));
        });
    }
}

/// The shared path-opening steps report (and panic) the test's way.
impl StepRunner for Steps {
    fn step<T, E: Display>(
        &mut self,
        hermes: &mut Hermes,
        name: &str,
        f: impl FnOnce(&mut Hermes) -> Result<T, E>,
    ) -> anyhow::Result<T> {
        Ok(self.run(hermes, name, f))
    }
}

fn check(cond: bool, what: String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what)
    }
}

/// Clients, connection, channel, then ICS-20 both ways and a timeout each
/// way between `a` and `b`, relayed by Hermes. `after_client_on_a` runs once
/// `a` holds its client of `b` (to inspect it).
fn ics20_both_ways(
    hermes: &mut Hermes,
    steps: &mut Steps,
    a: &Side,
    b: &Side,
    after_client_on_a: impl FnOnce(&mut Steps, &mut Hermes, &str),
) {
    let unhealthy = steps.run(hermes, "hermes health-check", |h| h.health_check());
    for (chain, reason) in &unhealthy {
        let note = format!("hermes health-check: {chain} unhealthy: {reason}");
        eprintln!("         {note}");
        steps.notes.push(note);
    }
    let chan = open_transfer_path(steps, hermes, &a.id, &b.id, |steps, hermes, client| {
        after_client_on_a(steps, hermes, client);
        Ok(())
    })
    .expect("the test's steps panic on failure")
    .channel;

    let escrow_a = escrow_address(TRANSFER_PORT, &chan.a, a.prefix).unwrap();
    let escrow_b = escrow_address(TRANSFER_PORT, &chan.b, b.prefix).unwrap();
    let a_on_b = ibc_denom(&format!("{TRANSFER_PORT}/{}/{}", chan.b, a.native));
    let b_on_a = ibc_denom(&format!("{TRANSFER_PORT}/{}/{}", chan.a, b.native));
    let transfer =
        |src: &Side, dst: &Side, channel: &str, amount: u128, denom: &str, receiver: &str, offset: u64| {
            FtTransfer {
                src_chain: src.id.clone(),
                dst_chain: dst.id.clone(),
                src_channel: channel.into(),
                amount,
                denom: denom.into(),
                key_name: "user".into(),
                receiver: receiver.into(),
                timeout_height_offset: offset,
                timeout_seconds: 0,
            }
        };

    // a → b, native: escrowed on a, minted on b.
    let user_a0 = a.balance(&a.user, a.native);
    steps.run(
        hermes,
        &format!("ft-transfer 1000000{} {} -> {}", a.native, a.id, b.id),
        |h| h.ft_transfer(&transfer(a, b, &chan.a, 1_000_000, a.native, &b.user, 1_000)),
    );
    steps.wait_balance(
        hermes,
        &format!("{a_on_b} arrives on {}", b.id),
        b,
        &b.user,
        &a_on_b,
        1_000_000,
    );
    steps.run(hermes, "escrow and sender on a", |_| {
        let user_a1 = a.balance(&a.user, a.native);
        check(
            a.balance(&escrow_a, a.native) == 1_000_000,
            format!("escrow {escrow_a} on {}", a.id),
        )?;
        check(
            user_a0 - user_a1 > 1_000_000,
            format!("sender paid {} (amount + fee expected)", user_a0 - user_a1),
        )
    });

    // b → a, the voucher back to an unfunded account.
    steps.run(
        hermes,
        &format!("ft-transfer 400000 voucher {} -> {}", b.id, a.id),
        |h| h.ft_transfer(&transfer(b, a, &chan.b, 400_000, &a_on_b, &a.recipient, 1_000)),
    );
    steps.wait_balance(
        hermes,
        &format!("{} returns on {}", a.native, a.id),
        a,
        &a.recipient,
        a.native,
        400_000,
    );
    steps.run(hermes, "voucher burnt on b, escrow released on a", |_| {
        check(
            b.balance(&b.user, &a_on_b) == 600_000,
            format!("voucher left on {}", b.id),
        )?;
        check(
            a.balance(&escrow_a, a.native) == 600_000,
            format!("escrow on {}", a.id),
        )
    });

    // b → a, native.
    steps.run(
        hermes,
        &format!("ft-transfer 250000{} {} -> {}", b.native, b.id, a.id),
        |h| h.ft_transfer(&transfer(b, a, &chan.b, 250_000, b.native, &a.recipient, 1_000)),
    );
    steps.wait_balance(
        hermes,
        &format!("{b_on_a} arrives on {}", a.id),
        a,
        &a.recipient,
        &b_on_a,
        250_000,
    );
    steps.run(hermes, "escrow on b", |_| {
        check(
            b.balance(&escrow_b, b.native) == 250_000,
            format!("escrow {escrow_b} on {}", b.id),
        )
    });

    // Timeouts, relaying stopped: a → b times out on b (b proves
    // non-receipt), b → a times out on a (a proves non-receipt).
    steps.run(hermes, "stop hermes", |h| h.stop());
    for (src, dst, channel, denom, escrow) in [
        (a, b, &chan.a, a.native, &escrow_a),
        (b, a, &chan.b, b.native, &escrow_b),
    ] {
        let escrow0 = src.balance(escrow, denom);
        let sent = steps.run(
            hermes,
            &format!("ft-transfer 5000{denom} {} -> {} timing out", src.id, dst.id),
            |h| h.ft_transfer(&transfer(src, dst, channel, 5_000, denom, &dst.recipient, 3)),
        );
        let user1 = src.balance(&src.user, denom);
        steps.run(
            hermes,
            &format!("{} past timeout height {}", dst.id, sent.timeout_height),
            |_| {
                let deadline = Instant::now() + WAIT;
                while dst.height() <= sent.timeout_height {
                    if Instant::now() > deadline {
                        return Err(format!("{} stuck at {}", dst.id, dst.height()));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Ok(())
            },
        );
        let out = steps.run(
            hermes,
            &format!("tx packet-recv {} -> {} (timeout)", src.id, dst.id),
            |h| h.packet_recv(&dst.id, &src.id, channel),
        );
        eprintln!("         events: {:?}", hermes::event_names(&out.result));
        steps.run(hermes, &format!("refund on {}", src.id), |_| {
            check(
                hermes::find_key(&out.result, "TimeoutPacket").is_some(),
                format!("no TimeoutPacket event: {}", out.result),
            )?;
            let user2 = src.balance(&src.user, denom);
            check(
                user2 == user1 + 5_000,
                format!("sender {user1} -> {user2}, expected +5000"),
            )?;
            check(
                src.balance(escrow, denom) == escrow0,
                format!("escrow changed on {}", src.id),
            )
        });
    }
}

/// `hermes start` follows every chimerad chain in `chains` with both event
/// source modes: push (WebSocket `/websocket`) and pull (`/block_results`
/// polling); proven by Hermes's `ws_events_total` telemetry (new blocks
/// count as events). Each mode runs in its own Hermes home.
fn check_event_sources(steps: &mut Steps, hermes: &mut Hermes, chains: &[HermesChain]) {
    let modes = [
        (
            "push",
            hermes::EventSource::Push {
                batch_delay: Duration::from_millis(200),
            },
        ),
        (
            "pull",
            hermes::EventSource::Pull {
                interval: Duration::from_millis(500),
            },
        ),
    ];
    let ids: Vec<String> = chains
        .iter()
        .filter(|c| c.proof_specs.is_some())
        .map(|c| c.id.clone())
        .collect();
    // Both modes run side by side: Hermes exports telemetry only every
    // ~10 s, so waiting for one after the other would double the wait.
    let mut running = Vec::new();
    for (mode, source) in modes {
        let chains: Vec<HermesChain> = chains
            .iter()
            .cloned()
            .map(|mut c| {
                if c.proof_specs.is_some() {
                    c.event_source = source.clone();
                }
                c
            })
            .collect();
        let h = steps.run(
            hermes,
            &format!("hermes start ({mode} mode for chimerad)"),
            |_| {
                let mut h = Hermes::new(chains)?;
                h.start(WAIT).map(|()| h)
            },
        );
        running.push((mode, h));
    }
    for (mode, mut h) in running {
        steps.run(hermes, &format!("hermes follows {ids:?} ({mode} mode)"), |_| {
            for id in &ids {
                // Any count proves blocks arrived.
                let n = h.wait_for_events(id, 1.0, WAIT)?;
                eprintln!("         {n} events from {id} in {mode} mode");
            }
            h.stop()
        });
    }
}

fn require_binaries() {
    for b in ["terrad", "cometbft", "hermes"] {
        chimera_e2e::bins::find_binary(b).unwrap_or_else(|e| panic!("{e}"));
    }
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
}

/// The proof specs Terra stored in its client of chimerad are ours.
fn check_stored_specs(steps: &mut Steps, hermes: &mut Hermes, terra: &TerraLocalnet, client: &str) {
    steps.run(
        hermes,
        "Terra's client of chimerad holds chimerad's proof specs",
        |_| {
            let out = terra
                .terrad_command(&["query", "ibc", "client", "state", client, "--output", "json"])
                .map_err(|e| e.to_string())?;
            let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
            let cs = &v["client_state"];
            let specs = cs["proof_specs"]
                .as_array()
                .ok_or(format!("no proof_specs: {out}"))?;
            let want: serde_json::Value = serde_json::from_str(hermes::CHIMERA_PROOF_SPECS_JSON).unwrap();
            check(specs.len() == 2, format!("{} specs", specs.len()))?;
            for (i, (got, want)) in specs.iter().zip(want.as_array().unwrap()).enumerate() {
                let pairs = [
                    (&got["leaf_spec"]["prefix"], &want["leafSpec"]["prefix"]),
                    (&got["leaf_spec"]["prehash_key"], &want["leafSpec"]["prehashKey"]),
                    (&got["inner_spec"]["child_size"], &want["innerSpec"]["childSize"]),
                    (&got["max_depth"], &want["maxDepth"]),
                ];
                for (g, w) in pairs {
                    let g = g.as_str().map(str::to_string).unwrap_or_else(|| g.to_string());
                    let w = w.as_str().map(str::to_string).unwrap_or_else(|| w.to_string());
                    let w = if w == "null" { "NO_HASH".to_string() } else { w };
                    check(g == w, format!("spec {i}: stored {g}, expected {w}: {out}"))?;
                }
            }
            check(
                specs[0]["inner_spec"]["empty_child"] == want[0]["innerSpec"]["emptyChild"],
                format!("spec 0 empty_child: {out}"),
            )?;
            check(
                cs["unbonding_period"] == "1814400s",
                format!(
                    "unbonding period {} (chimerad's staking params say 21 days)",
                    cs["unbonding_period"]
                ),
            )?;
            eprintln!(
                "         stored: trusting_period {}, unbonding_period {}, latest_height {}",
                cs["trusting_period"], cs["unbonding_period"], cs["latest_height"]["revision_height"]
            );
            Ok::<_, String>(())
        },
    );
}

#[test]
fn hermes_relays_ics20_between_terra_and_chimerad() {
    require_binaries();
    let started = Instant::now();
    let (terra, net) =
        start_terra_and_chimera(terra_config(), chimera_config(devnet::CHIMERA_CHAIN_ID)).expect("localnets");
    eprintln!("[{:?}] terrad and chimerad up", started.elapsed());
    let mut hermes = Hermes::new(vec![
        HermesChain::terra(&terra),
        HermesChain::chimera(&net).unwrap(),
    ])
    .expect("hermes set-up (config validate, keys add)");
    eprintln!("hermes config:\n{}", hermes.config_toml());
    let (a, b) = (Side::terra(&terra), Side::chimera(&net));
    let mut steps = Steps::new(b.logs.clone());
    let chains = [HermesChain::terra(&terra), HermesChain::chimera(&net).unwrap()];
    check_event_sources(&mut steps, &mut hermes, &chains);
    ics20_both_ways(&mut hermes, &mut steps, &a, &b, |steps, hermes, client| {
        check_stored_specs(steps, hermes, &terra, client)
    });
    eprintln!("[{:?}] done", started.elapsed());
}

#[test]
fn hermes_relays_ics20_between_two_chimerad_chains() {
    require_binaries();
    let started = Instant::now();
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| ChimeraNet::start(chimera_config("chimera-a")).expect("chimerad localnet a"));
        let y = s.spawn(|| ChimeraNet::start(chimera_config("chimera-b")).expect("chimerad localnet b"));
        (x.join().unwrap(), y.join().unwrap())
    });
    eprintln!("[{:?}] two chimerad localnets up", started.elapsed());
    let mut hermes = Hermes::new(vec![
        HermesChain::chimera(&x).unwrap(),
        HermesChain::chimera(&y).unwrap(),
    ])
    .expect("hermes set-up (config validate, keys add)");
    let (a, b) = (Side::chimera(&x), Side::chimera(&y));
    let mut steps = Steps::new(a.logs.iter().chain(&b.logs).cloned().collect());
    let chains = [
        HermesChain::chimera(&x).unwrap(),
        HermesChain::chimera(&y).unwrap(),
    ];
    check_event_sources(&mut steps, &mut hermes, &chains);
    ics20_both_ways(&mut hermes, &mut steps, &a, &b, |_, _, _| {});
    eprintln!("[{:?}] done", started.elapsed());
}
