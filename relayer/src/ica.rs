//! The ICS-27 controller client a Terra Classic (LUNC) user runs: register
//! an interchain account on the Chimera host, fund it over ICS-20, send
//! `MsgRunInference` through it, follow the packet, and read the result out
//! of the acknowledgement (`docs/protocol.md` §5, DESIGN §3 "ICS-27").
//!
//! Terra Classic v3.4 runs ibc-go v7.4.1's controller without an
//! authentication module, so the user signs `MsgRegisterInterchainAccount`
//! and `MsgSendTx` directly; a relayer (`chimera relay` or Hermes) completes
//! the channel handshake and carries packets and acknowledgements. The host
//! acknowledges a `MsgRunInference` asynchronously, once its validators'
//! quorum agrees on the output (tens of seconds).
//!
//! Everything here is a library function over connected [`Chain`]s, so the
//! `chimera ica` commands and the e2e tests run the same code:
//!
//! - paths and accounts: [`resolve_path`], [`interchain_account`],
//!   [`account`], [`register`], [`wait_for_account`];
//! - funding: [`parse_coin`], [`transfer_channel`], [`fund`];
//! - requests: [`InferRequest`], [`build_infer`], [`send_tx_msg`],
//!   [`send_infer`], [`models`], [`executor_keys`];
//! - outcomes: [`packet_ref`], [`packet_status`], [`find_ack`],
//!   [`decode_ack`], [`follow`].
//!
//! Progress lines ("waiting for a relayer ...") go to a caller-supplied
//! [`Progress`] callback; the CLI prints them on stderr.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use chimera_packets::ica::{self as pica, IcaError, Metadata};
use chimera_packets::proto::{self as cproto, MsgRunInferenceResponse};
use chimera_packets::{InferencePacketData, Input, InputEncoding, Limits, Params};
use cosmrs::rpc::Client;
use cosmrs::Any;
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::ibc::applications::interchain_accounts::controller::v1 as ctrl;
use ibc_proto::ibc::applications::interchain_accounts::v1 as icav1;
use ibc_proto::ibc::applications::transfer::v1 as transfer;
use ibc_proto::ibc::core::channel::v1 as ch;
use ibc_proto::ibc::core::connection::v1 as co;
use prost::Message;
use rand_core::{CryptoRng, RngCore};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::debug;

use crate::chain::{Chain, ChainResult};
use crate::events::{self, IbcEvent};
use crate::light::any;
use crate::query::all_pages;

pub use chimera_packets::ica::{Encoding, CONTROLLER_PORT_PREFIX, HOST_PORT};

/// The ICS-20 port.
pub const TRANSFER_PORT: &str = "transfer";

/// Default relative timeout of an ICA packet (`chimera ica infer --timeout`).
pub const DEFAULT_PACKET_TIMEOUT: Duration = Duration::from_secs(600);

/// Relative timeout of the ICS-20 transfer [`fund`] sends.
pub const FUND_TIMEOUT: Duration = Duration::from_secs(600);

/// How often waiting functions poll the chains.
pub const POLL: Duration = Duration::from_secs(1);

/// How often a waiting function repeats its progress line when nothing
/// changed.
const REMIND: Duration = Duration::from_secs(15);

/// Polls [`follow`] waits for the controller's index to show the tx that
/// removed a packet commitment before it decides without it.
const GONE_POLLS: u32 = 10;

/// Where progress lines go (the CLI: stderr).
pub type Progress<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// A progress sink that drops every line.
pub fn quiet(_: &str) {}

/// A request the user got wrong (bad model input, too long a memo, a
/// parameter key the host would refuse): the CLI exits 2 on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRequest(pub String);

// ---------------------------------------------------------------------------
// Paths and accounts
// ---------------------------------------------------------------------------

/// The controller port of `owner`: `icacontroller-<owner>`.
pub fn controller_port(owner: &str) -> String {
    format!("{CONTROLLER_PORT_PREFIX}{owner}")
}

/// One owner's route to the host: the controller connection and its
/// counterparty on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IcaPath {
    /// The owner on the controller (`terra1...`): the key that signs.
    pub owner: String,
    /// The connection on the controller (Terra) to the host.
    pub connection_id: String,
    /// Its counterparty connection on the host (Chimera).
    pub host_connection_id: String,
    /// `icacontroller-<owner>`.
    pub port_id: String,
}

impl IcaPath {
    /// The path of `owner` over `connection_id` (whose counterparty on the
    /// host is `host_connection_id`).
    pub fn new(owner: &str, connection_id: &str, host_connection_id: &str) -> IcaPath {
        IcaPath {
            owner: owner.into(),
            connection_id: connection_id.into(),
            host_connection_id: host_connection_id.into(),
            port_id: controller_port(owner),
        }
    }
}

/// The ICA path of `controller`'s signing key to the host `host_chain_id`.
///
/// With `connection` given, checks that it is OPEN and that its client
/// tracks `host_chain_id`; without, finds the one OPEN connection on the
/// controller whose client tracks the host, and fails naming the candidates
/// if there are none or several.
pub async fn resolve_path(
    controller: &Chain,
    host_chain_id: &str,
    connection: Option<&str>,
) -> anyhow::Result<IcaPath> {
    let owner = controller.address.clone();
    if let Some(id) = connection {
        let c = controller.connection(id).await?;
        if c.state != co::State::Open as i32 {
            bail!(
                "{id} on {} is not OPEN ({}): finish its handshake first (`chimera create connection`)",
                controller.id(),
                conn_state_name(c.state)
            );
        }
        let tracks = controller.client(&c.client_id).await?.chain_id;
        if tracks != host_chain_id {
            bail!(
                "{id} on {} goes to {tracks:?} (its client {} tracks it), not to {host_chain_id:?}",
                controller.id(),
                c.client_id
            );
        }
        let host_conn = c.counterparty.map(|cp| cp.connection_id).unwrap_or_default();
        return Ok(IcaPath::new(&owner, id, &host_conn));
    }
    // One ClientStates query, not one query per connection (Terra mainnet
    // has hundreds).
    let tracking: std::collections::BTreeSet<String> = controller
        .clients()
        .await?
        .into_iter()
        .filter(|(_, info)| info.chain_id == host_chain_id)
        .map(|(id, _)| id)
        .collect();
    debug!(clients = ?tracking, host = host_chain_id, "clients of the host on the controller");
    let mut found: Vec<_> = controller
        .connections()
        .await?
        .into_iter()
        .filter(|c| c.state == co::State::Open as i32 && tracking.contains(&c.client_id))
        .collect();
    match found.len() {
        0 => bail!(
            "no OPEN connection on {} goes to {host_chain_id}: create one (`chimera create connection --a {} --b {host_chain_id}`) or name one with --connection",
            controller.id(),
            controller.id()
        ),
        1 => {
            let c = found.remove(0);
            let host_conn = c.counterparty.map(|cp| cp.connection_id).unwrap_or_default();
            Ok(IcaPath::new(&owner, &c.id, &host_conn))
        }
        _ => bail!(
            "several OPEN connections on {} go to {host_chain_id} ({}): pick one with --connection",
            controller.id(),
            found.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The interchain account address (`chimera1...`) the controller records
/// for `owner` on `connection_id`, or `None` if it has none yet (the
/// handshake never finished).
pub async fn interchain_account(
    controller: &Chain,
    owner: &str,
    connection_id: &str,
) -> ChainResult<Option<String>> {
    let mut q = ctrl::query_client::QueryClient::new(controller.grpc());
    match q
        .interchain_account(ctrl::QueryInterchainAccountRequest {
            owner: owner.into(),
            connection_id: connection_id.into(),
        })
        .await
    {
        Ok(r) => Ok(Some(r.into_inner().address).filter(|a| !a.is_empty())),
        // ibc-go answers a missing account with ErrInterchainAccountNotFound
        // (gRPC code Unknown or NotFound, depending on the version).
        Err(s) if s.code() == tonic::Code::NotFound || s.message().contains("not found") => Ok(None),
        Err(s) => Err(controller.grpc_err("InterchainAccount", s.message())),
    }
}

/// The channels of `port` on `connection_id`, oldest first.
pub async fn ica_channels(
    controller: &Chain,
    port: &str,
    connection_id: &str,
) -> ChainResult<Vec<ch::IdentifiedChannel>> {
    let mut out = all_pages(|page| async move {
        let r = ch::query_client::QueryClient::new(controller.grpc())
            .connection_channels(ch::QueryConnectionChannelsRequest {
                connection: connection_id.into(),
                pagination: Some(page),
            })
            .await
            .map_err(|e| controller.grpc_err(format!("ConnectionChannels({connection_id})"), e.message()))?
            .into_inner();
        let of_port = r.channels.into_iter().filter(|c| c.port_id == port).collect();
        Ok((of_port, r.pagination))
    })
    .await?;
    out.sort_by_key(|c| channel_number(&c.channel_id));
    Ok(out)
}

fn channel_number(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

/// A channel state's name (`OPEN`, `CLOSED`, ...).
pub fn channel_state_name(state: i32) -> &'static str {
    match ch::State::try_from(state) {
        Ok(ch::State::Init) => "INIT",
        Ok(ch::State::Tryopen) => "TRYOPEN",
        Ok(ch::State::Open) => "OPEN",
        Ok(ch::State::Closed) => "CLOSED",
        Ok(ch::State::Flushing) => "FLUSHING",
        Ok(ch::State::Flushcomplete) => "FLUSHCOMPLETE",
        _ => "UNINITIALIZED",
    }
}

fn conn_state_name(state: i32) -> &'static str {
    match co::State::try_from(state) {
        Ok(co::State::Init) => "INIT",
        Ok(co::State::Tryopen) => "TRYOPEN",
        Ok(co::State::Open) => "OPEN",
        _ => "UNINITIALIZED",
    }
}

fn order_name(order: i32) -> &'static str {
    match ch::Order::try_from(order) {
        Ok(ch::Order::Ordered) => "ORDERED",
        Ok(ch::Order::Unordered) => "UNORDERED",
        _ => "NONE",
    }
}

/// An owner's interchain account as the controller knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IcaAccount {
    /// The owner on the controller.
    pub owner: String,
    /// The controller connection.
    pub connection_id: String,
    /// `icacontroller-<owner>`.
    pub port_id: String,
    /// The channel that matters: the OPEN one, else the newest of the port
    /// on this connection; `None` if the owner never registered.
    pub channel_id: Option<String>,
    /// That channel's state (`OPEN`, `INIT`, `CLOSED`, ...).
    pub channel_state: Option<String>,
    /// That channel's ordering (`ORDERED` on ibc-go < v7.5).
    pub ordering: Option<String>,
    /// The host's end of that channel (`icahost/<channel>`).
    pub host_channel_id: Option<String>,
    /// The account on the host (`chimera1...`), once a handshake finished.
    pub address: Option<String>,
    /// `CosmosTx` encoding of that channel (from its version metadata).
    pub encoding: Option<String>,
}

impl IcaAccount {
    /// Whether packets can be sent now: an OPEN channel and a known address.
    pub fn is_open(&self) -> bool {
        self.channel_state.as_deref() == Some("OPEN") && self.address.is_some()
    }

    /// The channel's `CosmosTx` encoding (proto3 when the metadata does not
    /// say, as ibc-go v7 before proto3json).
    pub fn tx_encoding(&self) -> Result<Encoding, IcaError> {
        match self.encoding.as_deref() {
            None | Some("") => Ok(Encoding::Proto3),
            Some(e) => e.parse(),
        }
    }
}

/// What the controller holds for `path`: the account address and the
/// channel that carries its packets (see [`IcaAccount::channel_id`]).
pub async fn account(controller: &Chain, path: &IcaPath) -> ChainResult<IcaAccount> {
    let channels = ica_channels(controller, &path.port_id, &path.connection_id).await?;
    let chosen = channels
        .iter()
        .rev()
        .find(|c| c.state == ch::State::Open as i32)
        .or_else(|| channels.last());
    let address = interchain_account(controller, &path.owner, &path.connection_id).await?;
    let metadata = chosen.and_then(|c| Metadata::from_json(c.version.as_bytes()).ok());
    Ok(IcaAccount {
        owner: path.owner.clone(),
        connection_id: path.connection_id.clone(),
        port_id: path.port_id.clone(),
        channel_id: chosen.map(|c| c.channel_id.clone()),
        channel_state: chosen.map(|c| channel_state_name(c.state).to_string()),
        ordering: chosen.map(|c| order_name(c.ordering).to_string()),
        host_channel_id: chosen
            .and_then(|c| c.counterparty.as_ref())
            .map(|cp| cp.channel_id.clone())
            .filter(|c| !c.is_empty()),
        address: address.or_else(|| {
            metadata
                .as_ref()
                .map(|m| m.address.clone())
                .filter(|a| !a.is_empty())
        }),
        encoding: metadata.map(|m| m.encoding).filter(|e| !e.is_empty()),
    })
}

/// `MsgRegisterInterchainAccount{owner, connection_id, version, ordering}`
/// with the version metadata the controller proposes
/// ([`Metadata::new_controller`]). `ordering` `None` leaves the field 0, as
/// ibc-go v7.4 (Terra Classic v3.4) requires: it refuses the unknown field;
/// ibc-go ≥ v7.5 takes `ORDERED` or `UNORDERED`.
pub fn register_msg(path: &IcaPath, encoding: Encoding, ordering: Option<ch::Order>) -> Any {
    let version = Metadata::new_controller(&path.connection_id, &path.host_connection_id, encoding).to_json();
    any(&ctrl::MsgRegisterInterchainAccount {
        owner: path.owner.clone(),
        connection_id: path.connection_id.clone(),
        version: String::from_utf8_lossy(&version).into_owned(),
        ordering: ordering.map_or(0, |o| o as i32),
    })
}

/// What [`register`] was asked for.
#[derive(Debug, Clone)]
pub struct RegisterOptions {
    /// `CosmosTx` encoding of the new channel; `None`: proto3, or the
    /// encoding of the closed channel being reopened.
    pub encoding: Option<Encoding>,
    /// Channel ordering; `None` leaves the choice to the controller (see
    /// [`register_msg`]).
    pub ordering: Option<ch::Order>,
    /// How long to wait for a relayer to finish the handshake.
    pub wait: Duration,
    /// Send a registration even while a channel of the port is in INIT or
    /// TRYOPEN (a handshake no relayer will finish: ibc-go then opens
    /// whichever channel completes first).
    pub resend: bool,
}

/// Registers `path`'s interchain account and waits until it is usable.
///
/// - An OPEN channel with an address: nothing is sent; returns it.
/// - A handshake already under way (a channel in INIT/TRYOPEN): nothing is
///   sent; waits for it.
/// - Otherwise sends `MsgRegisterInterchainAccount` on the controller (also
///   after a CLOSED channel: ibc-go reopens a channel to the same account,
///   with the same metadata, so the closed channel's encoding is reused),
///   then waits (polling every second) until a relayer — `chimera relay` or
///   Hermes — has completed the handshake and the controller returns the
///   address.
pub async fn register(
    controller: &Chain,
    path: &IcaPath,
    opts: &RegisterOptions,
    progress: Progress<'_>,
) -> anyhow::Result<IcaAccount> {
    let channels = ica_channels(controller, &path.port_id, &path.connection_id).await?;
    let now = account(controller, path).await?;
    if now.is_open() {
        progress(&format!(
            "{} already has an interchain account over {} ({}), channel {} is OPEN: nothing sent",
            path.owner,
            path.connection_id,
            now.address.as_deref().unwrap_or_default(),
            now.channel_id.as_deref().unwrap_or_default()
        ));
        return Ok(now);
    }
    let pending = channels
        .iter()
        .rev()
        .find(|c| c.state == ch::State::Init as i32 || c.state == ch::State::Tryopen as i32);
    if let (Some(c), false) = (pending, opts.resend) {
        progress(&format!(
            "a handshake is already under way on {} ({}): not sending another registration",
            c.channel_id,
            channel_state_name(c.state)
        ));
        return wait_for_account(controller, path, opts.wait, progress).await;
    }
    let closed = channels
        .iter()
        .rev()
        .find(|c| c.state == ch::State::Closed as i32);
    let previous = closed.and_then(|c| Metadata::from_json(c.version.as_bytes()).ok());
    let encoding = match (opts.encoding, previous.as_ref().and_then(|m| m.encoding().ok())) {
        (Some(want), Some(prev)) if want != prev => {
            return Err(InvalidRequest(format!(
                "the closed channel {} used encoding {prev}; ibc-go reopens an account's channel only with the same metadata: drop --encoding or pass --encoding {prev}",
                closed.map(|c| c.channel_id.as_str()).unwrap_or_default()
            ))
            .into())
        }
        (Some(want), _) => want,
        (None, Some(prev)) => prev,
        (None, None) => Encoding::Proto3,
    };
    if let Some(c) = closed {
        progress(&format!(
            "channel {} of {} is CLOSED (an ordered channel closes when a packet times out): registering again reopens a channel to the same account",
            c.channel_id, path.port_id
        ));
    }
    let msg = register_msg(path, encoding, opts.ordering);
    let out = controller.send(vec![msg]).await.map_err(|e| {
        let text = e.to_string();
        let lower = text.to_lowercase();
        if opts.ordering.is_some() && (lower.contains("unknownfield") || lower.contains("unknown field")) {
            anyhow!("{text} (this controller's ibc-go is older than v7.5 and does not know `ordering`: drop --ordering; its ICA channels are ORDERED)")
        } else {
            anyhow::Error::new(e)
        }
    })?;
    let channel = events::parse(&out.events)
        .0
        .into_iter()
        .find_map(|e| match e {
            IbcEvent::Channel(s) if s.port == path.port_id => Some(s.channel),
            _ => None,
        })
        .unwrap_or_else(|| "a new channel".into());
    progress(&format!(
        "MsgRegisterInterchainAccount in {} block {} (tx {}): {channel} is INIT, encoding {encoding}",
        controller.id(),
        out.height,
        out.hash
    ));
    wait_for_account(controller, path, opts.wait, progress).await
}

/// Waits (polling every second, at most `within`) until `path` has an OPEN
/// channel and an address on the controller; the handshake is a relayer's
/// work, so the progress lines say so.
pub async fn wait_for_account(
    controller: &Chain,
    path: &IcaPath,
    within: Duration,
    progress: Progress<'_>,
) -> anyhow::Result<IcaAccount> {
    let start = Instant::now();
    let mut last_state = String::new();
    let mut last_line = Instant::now();
    progress(&format!(
        "waiting up to {}s for a relayer (`chimera relay` or Hermes) to complete the channel handshake over {} and the host to create the account",
        within.as_secs(),
        path.connection_id
    ));
    loop {
        let acct = account(controller, path).await?;
        if acct.is_open() {
            progress(&format!(
                "channel {} is OPEN after {}s: the interchain account is {}",
                acct.channel_id.as_deref().unwrap_or_default(),
                start.elapsed().as_secs(),
                acct.address.as_deref().unwrap_or_default()
            ));
            return Ok(acct);
        }
        let state = format!(
            "{} {}",
            acct.channel_id.as_deref().unwrap_or("(no channel)"),
            acct.channel_state.as_deref().unwrap_or("")
        );
        if state != last_state || last_line.elapsed() >= REMIND {
            progress(&format!(
                "  {}s: {state} on {}; waiting for a relayer",
                start.elapsed().as_secs(),
                controller.id()
            ));
            last_state = state.clone();
            last_line = Instant::now();
        }
        if start.elapsed() >= within {
            bail!(
                "the ICA channel handshake did not finish within {}s ({} on {}): is a relayer (`chimera relay` or Hermes) running between {} and the host? Run `chimera ica register` again to keep waiting (it sends nothing while a handshake is under way), or with --resend to start a new handshake",
                within.as_secs(),
                state.trim(),
                controller.id(),
                controller.id()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

// ---------------------------------------------------------------------------
// Funding
// ---------------------------------------------------------------------------

/// Parses one coin, `1000000uluna` or `100ibc/27394FB0...`: a positive
/// decimal amount followed by a Cosmos SDK denom (a letter, then 2 to 127 of
/// letters, digits, `/ : . _ -`).
pub fn parse_coin(s: &str) -> Result<Coin, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (amount, denom) = s.split_at(split);
    if amount.is_empty() {
        return Err(format!(
            "{s:?} is not a coin: write the amount then the denom, e.g. 1000000uluna"
        ));
    }
    let n: u128 = amount
        .parse()
        .map_err(|_| format!("{s:?}: the amount {amount} is too large"))?;
    if n == 0 {
        return Err(format!("{s:?}: the amount must be positive"));
    }
    if denom.is_empty() {
        return Err(format!("{s:?}: no denom after the amount, e.g. 1000000uluna"));
    }
    let mut d = denom.chars();
    if matches!(d.next(), Some('e' | 'E')) && d.next().is_some_and(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{s:?}: write the amount in full (no exponent), e.g. 1000000uluna"
        ));
    }
    let denom_ok = denom.len() >= 3
        && denom.len() <= 128
        && denom.starts_with(|c: char| c.is_ascii_alphabetic())
        && denom
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | ':' | '.' | '_' | '-'));
    if !denom_ok {
        return Err(format!(
            "{s:?}: {denom:?} is not a denom (a letter, then 2 to 127 letters, digits or / : . _ -), e.g. 1000000uluna"
        ));
    }
    Ok(Coin {
        denom: denom.into(),
        amount: n.to_string(),
    })
}

/// Parses a comma-separated list of coins (`100uchim,5ibc/AB...`); denoms
/// must not repeat.
pub fn parse_coins(s: &str) -> Result<Vec<Coin>, String> {
    let mut out: Vec<Coin> = Vec::new();
    for part in s.split(',') {
        let c = parse_coin(part)?;
        if out.iter().any(|o| o.denom == c.denom) {
            return Err(format!("{s:?}: {} is listed twice", c.denom));
        }
        out.push(c);
    }
    // The SDK's Coins are sorted by denom.
    out.sort_by(|a, b| a.denom.cmp(&b.denom));
    Ok(out)
}

/// The ICS-20 voucher denom of a full denom path: `ibc/` and the upper-case
/// hex SHA-256 of `path` (e.g. `transfer/channel-0/uluna`).
pub fn ibc_denom(path: &str) -> String {
    format!("ibc/{}", hex::encode_upper(Sha256::digest(path.as_bytes())))
}

/// The denom that arrives on the receiving chain when `full` (a full denom
/// path on the sender: `uluna`, or `transfer/channel-1/uchim`) is sent over
/// `src_port/src_channel` to `dst_port/dst_channel` (ICS-20: a token going
/// back towards its source loses a hop; any other gains one).
pub fn received_denom(
    src_port: &str,
    src_channel: &str,
    dst_port: &str,
    dst_channel: &str,
    full: &str,
) -> String {
    match full.strip_prefix(&format!("{src_port}/{src_channel}/")) {
        Some(rest) => {
            let parts: Vec<&str> = rest.split('/').collect();
            if parts.len() >= 3 && parts[1].starts_with("channel-") {
                ibc_denom(rest)
            } else {
                rest.to_string()
            }
        }
        None => ibc_denom(&format!("{dst_port}/{dst_channel}/{full}")),
    }
}

/// The OPEN ICS-20 channel on `connection_id` (or the named one, which
/// must be an OPEN `transfer` channel on it).
pub async fn transfer_channel(
    controller: &Chain,
    connection_id: &str,
    channel: Option<&str>,
) -> anyhow::Result<ch::IdentifiedChannel> {
    let open: Vec<_> = ica_channels(controller, TRANSFER_PORT, connection_id)
        .await?
        .into_iter()
        .filter(|c| c.state == ch::State::Open as i32)
        .collect();
    if let Some(id) = channel {
        return open.into_iter().find(|c| c.channel_id == id).ok_or_else(|| {
            anyhow!(
                "{id} is not an OPEN `transfer` channel on {connection_id} of {}",
                controller.id()
            )
        });
    }
    match open.len() {
        0 => bail!(
            "no OPEN `transfer` channel on {connection_id} of {}: create one (`chimera create channel --port-a transfer --port-b transfer --channel-version ics20-1 ...`) or name one with --channel",
            controller.id()
        ),
        1 => Ok(open.into_iter().next().expect("one channel")),
        _ => bail!(
            "several OPEN `transfer` channels on {connection_id} of {} ({}): pick one with --channel",
            controller.id(),
            open.iter().map(|c| c.channel_id.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Every balance of `address` on `chain`, by denom.
pub async fn balances(chain: &Chain, address: &str) -> ChainResult<BTreeMap<String, u128>> {
    use cosmrs::proto::cosmos::bank::v1beta1::{query_client::QueryClient, QueryAllBalancesRequest};
    let balances = all_pages(|page| async move {
        let r = QueryClient::new(chain.grpc())
            .all_balances(QueryAllBalancesRequest {
                address: address.into(),
                pagination: Some(page),
                ..Default::default()
            })
            .await
            .map_err(|e| chain.grpc_err("AllBalances", e.message()))?
            .into_inner();
        let parsed = r.balances.into_iter().map(|c| {
            let n = c
                .amount
                .parse::<u128>()
                .map_err(|e| chain.garbage("AllBalances", e))?;
            Ok((c.denom, n))
        });
        Ok((parsed.collect::<ChainResult<Vec<_>>>()?, r.pagination))
    })
    .await?;
    Ok(balances.into_iter().collect())
}

/// The full denom path of `denom` on `chain`: itself, or for an `ibc/...`
/// voucher its trace (`transfer/channel-1/uchim`) from the transfer module.
async fn full_denom_path(chain: &Chain, denom: &str) -> Option<String> {
    let Some(hash) = denom.strip_prefix("ibc/") else {
        return Some(denom.to_string());
    };
    let mut q = transfer::query_client::QueryClient::new(chain.grpc());
    let t = q
        .denom_trace(transfer::QueryDenomTraceRequest { hash: hash.into() })
        .await
        .ok()?
        .into_inner()
        .denom_trace?;
    Some(if t.path.is_empty() {
        t.base_denom
    } else {
        format!("{}/{}", t.path, t.base_denom)
    })
}

/// What [`fund`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Funded {
    /// The transfer's tx on the controller.
    pub tx_hash: String,
    /// Its block.
    pub height: u64,
    /// The `transfer` channel used on the controller.
    pub channel_id: String,
    /// Its counterparty on the host.
    pub host_channel_id: String,
    /// The packet's sequence.
    pub sequence: Option<u64>,
    /// The interchain account that received the coins.
    pub address: String,
    /// The denom the coins arrived as on the host (`ibc/...`).
    pub voucher: String,
    /// The account's balance of `voucher` before.
    pub before: u128,
    /// Its balance once the coins arrived.
    pub after: u128,
}

/// `MsgTransfer` of `coin` from `owner` over `transfer/<channel>` to
/// `receiver`, timing out `timeout_timestamp_ns` (absolute, ns since the
/// epoch).
pub fn transfer_msg(
    owner: &str,
    channel: &str,
    coin: &Coin,
    receiver: &str,
    timeout_timestamp_ns: u64,
) -> Any {
    any(&transfer::MsgTransfer {
        source_port: TRANSFER_PORT.into(),
        source_channel: channel.into(),
        token: Some(coin.clone()),
        sender: owner.into(),
        receiver: receiver.into(),
        timeout_height: None,
        timeout_timestamp: timeout_timestamp_ns,
        memo: String::new(),
    })
}

/// Sends `coin` from the owner on the controller to its interchain account
/// on the host over ICS-20 (`channel`, or the one OPEN `transfer` channel on
/// the account's connection), timing out [`FUND_TIMEOUT`] after the
/// host's latest block time, then waits (at most `within`) until the host's
/// bank shows the voucher balance grown by the amount (a relayer carries the
/// packet). The host escrows `MsgRunInference` fees from this balance.
pub async fn fund(
    controller: &Chain,
    host: &Chain,
    account: &IcaAccount,
    coin: &Coin,
    channel: Option<&str>,
    within: Duration,
    progress: Progress<'_>,
) -> anyhow::Result<Funded> {
    let address = account
        .address
        .as_deref()
        .ok_or_else(|| anyhow!("{}", not_open_text(controller, account)))?;
    let chan = transfer_channel(controller, &account.connection_id, channel).await?;
    let cp = chan.counterparty.clone().unwrap_or_default();
    let amount: u128 = coin.amount.parse().context("coin amount")?;
    let voucher = match full_denom_path(controller, &coin.denom).await {
        Some(full) => Some(received_denom(
            TRANSFER_PORT,
            &chan.channel_id,
            &cp.port_id,
            &cp.channel_id,
            &full,
        )),
        None => None,
    };
    let before = balances(host, address).await?;
    let (_, host_time) = host.latest().await?;
    let timeout = (host_time.unix_timestamp_nanos().max(0) as u128 + FUND_TIMEOUT.as_nanos()) as u64;
    let msg = transfer_msg(&account.owner, &chan.channel_id, coin, address, timeout);
    let out = controller.send(vec![msg]).await?;
    let sequence = events::parse(&out.events).0.into_iter().find_map(|e| match e {
        IbcEvent::SendPacket(p) if p.source_channel == chan.channel_id => Some(p.sequence),
        _ => None,
    });
    progress(&format!(
        "MsgTransfer of {}{} to {address} in {} block {} (tx {}, {}/{} sequence {}); waiting up to {}s for a relayer to deliver it to {}",
        coin.amount,
        coin.denom,
        controller.id(),
        out.height,
        out.hash,
        TRANSFER_PORT,
        chan.channel_id,
        sequence.map_or("?".into(), |s| s.to_string()),
        within.as_secs(),
        host.id()
    ));
    let start = Instant::now();
    let mut last_line = Instant::now();
    loop {
        let now = balances(host, address).await?;
        let arrived = match &voucher {
            Some(v) => {
                let (b, a) = (
                    before.get(v).copied().unwrap_or(0),
                    now.get(v).copied().unwrap_or(0),
                );
                (a >= b.saturating_add(amount)).then(|| (v.clone(), b, a))
            }
            // Unknown trace: the denom whose balance grew by the amount.
            None => now.iter().find_map(|(d, &a)| {
                let b = before.get(d).copied().unwrap_or(0);
                (a >= b.saturating_add(amount)).then(|| (d.clone(), b, a))
            }),
        };
        if let Some((voucher, before, after)) = arrived {
            progress(&format!(
                "arrived on {} after {}s: {address} holds {after}{voucher}",
                host.id(),
                start.elapsed().as_secs()
            ));
            return Ok(Funded {
                tx_hash: out.hash,
                height: out.height,
                channel_id: chan.channel_id,
                host_channel_id: cp.channel_id,
                sequence,
                address: address.into(),
                voucher,
                before,
                after,
            });
        }
        if start.elapsed() >= within {
            bail!(
                "the transfer (tx {}) did not reach {address} on {} within {}s: is a relayer running on {}/{}? It times out {}s after it was sent and is then refunded",
                out.hash,
                host.id(),
                within.as_secs(),
                TRANSFER_PORT,
                chan.channel_id,
                FUND_TIMEOUT.as_secs()
            );
        }
        if last_line.elapsed() >= REMIND {
            progress(&format!("  {}s: not arrived yet", start.elapsed().as_secs()));
            last_line = Instant::now();
        }
        tokio::time::sleep(POLL).await;
    }
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// One unary call of a `chimera.inference.v1.Query` method (no generated
/// tonic client exists for it: `chimera-packets` stays wasm-clean).
async fn unary<Req, Resp>(chain: &Chain, path: &'static str, req: Req) -> Result<Resp, tonic::Status>
where
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    let mut g = tonic::client::Grpc::new(chain.grpc());
    g.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(format!("not ready: {e}")))?;
    g.unary(
        tonic::Request::new(req),
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        tonic::codec::ProstCodec::<Req, Resp>::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

/// The host's model registry (`chimera.inference.v1.Query/Models`).
pub async fn models(host: &Chain) -> ChainResult<Vec<cproto::Model>> {
    unary::<_, cproto::QueryModelsResponse>(
        host,
        "/chimera.inference.v1.Query/Models",
        cproto::QueryModelsRequest {},
    )
    .await
    .map(|r| r.models)
    .map_err(|s| host.grpc_err("inference Models", s.message()))
}

/// Every validator's published X25519 executor key on the host
/// (`chimera.inference.v1.Query/ExecutorKeys`), as (validator, key).
pub async fn executor_keys(host: &Chain) -> anyhow::Result<Vec<(String, [u8; 32])>> {
    let r = unary::<_, cproto::QueryExecutorKeysResponse>(
        host,
        "/chimera.inference.v1.Query/ExecutorKeys",
        cproto::QueryExecutorKeysRequest {},
    )
    .await
    .map_err(|s| host.grpc_err("inference ExecutorKeys", s.message()))?;
    r.keys
        .into_iter()
        .map(|k| {
            let key: [u8; 32] = k.x25519_public_key.as_slice().try_into().map_err(|_| {
                anyhow!(
                    "{}: executor key of {} has {} bytes, not 32",
                    host.id(),
                    k.validator,
                    k.x25519_public_key.len()
                )
            })?;
            Ok((k.validator, key))
        })
        .collect()
}

/// Whether a registry task reads a tensor (`classify`) or text (the rest:
/// `diffusion` prompts, `generate`, `embed`), as `chimerad infer` maps
/// `--prompt` through the model's manifest.
pub fn task_takes_text(task: &str) -> bool {
    task != "classify"
}

/// What to run through the interchain account: the fields of
/// `MsgRunInference` besides the signer.
#[derive(Debug, Clone, PartialEq)]
pub struct InferRequest {
    /// Registry id on the host, e.g. `digits-ddpm`.
    pub model: String,
    /// The plaintext input (a prompt's UTF-8 bytes for text models).
    pub input: Vec<u8>,
    /// How the executor reads it.
    pub encoding: InputEncoding,
    /// Seed and `extra` parameters.
    pub params: Params,
    /// The most the account pays; escrowed from its host balance.
    pub fee: Vec<Coin>,
    /// `MsgRunInference.memo` (at most 1024 bytes).
    pub memo: String,
}

impl InferRequest {
    /// A text-prompt request (`digits-ddpm`, `tiny-lm`, `minilm-l6`): the
    /// prompt's UTF-8 bytes with the text encoding, as `chimerad infer
    /// --prompt` does.
    pub fn text(model: &str, prompt: &str, seed: u64) -> InferRequest {
        InferRequest {
            model: model.into(),
            input: prompt.as_bytes().to_vec(),
            encoding: InputEncoding::Text,
            params: Params {
                seed,
                extra: BTreeMap::new(),
            },
            fee: Vec::new(),
            memo: String::new(),
        }
    }
}

/// `MsgRunInference{signer: ica_address, ...}` as an `Any`, validated as the
/// host validates it on receipt (model id, sizes, parameters, encoding).
/// With `seal_to`, the input is sealed to those executor keys
/// (`docs/protocol.md` §6) with randomness from `rng`; the model id is bound
/// into the ciphertext.
pub fn build_infer<R: RngCore + CryptoRng>(
    ica_address: &str,
    req: &InferRequest,
    seal_to: Option<&[[u8; 32]]>,
    rng: &mut R,
) -> Result<Any, InvalidRequest> {
    let (input, sealed) = match seal_to {
        Some(keys) => {
            if keys.is_empty() {
                return Err(InvalidRequest(
                    "cannot encrypt: the host has no executor keys registered".into(),
                ));
            }
            let (ct, env) = chimera_packets::sealed::seal(&req.input, &req.model, keys, rng)
                .map_err(|e| InvalidRequest(format!("cannot seal the input: {e}")))?;
            (ct, Some(env))
        }
        None => (req.input.clone(), None),
    };
    let data = InferencePacketData {
        model: req.model.clone(),
        input: Input::Inline(input),
        encoding: req.encoding.clone(),
        params: req.params.clone(),
        requester: ica_address.into(),
        receiver: None,
        memo: req.memo.clone(),
        sealed,
        output_key: None,
    };
    data.validate(&Limits::default())
        .map_err(|e| InvalidRequest(format!("the host would refuse this request: {e}")))?;
    Ok(Any {
        type_url: pica::MSG_RUN_INFERENCE_TYPE_URL.into(),
        value: data.to_msg(req.fee.clone()).encode_to_vec(),
    })
}

/// `MsgSendTx{owner, connection_id, packet_data, relative_timeout}` carrying
/// `msgs` in a `CosmosTx` of the channel's `encoding`, and the packet bytes
/// the controller will send for it ([`chimera_packets::ica::packet_data`]:
/// the sorted-key JSON of `InterchainAccountPacketData`). Refuses what the
/// controller refuses (no messages, a memo over 256 bytes, a zero timeout).
pub fn send_tx_msg(
    path: &IcaPath,
    msgs: &[Any],
    encoding: Encoding,
    memo: &str,
    relative_timeout: Duration,
) -> Result<(Any, Vec<u8>), InvalidRequest> {
    let wire = pica::packet_data(msgs, encoding, memo).map_err(|e| InvalidRequest(e.to_string()))?;
    let data = pica::build_cosmos_tx(msgs, encoding).map_err(|e| InvalidRequest(e.to_string()))?;
    let ns = u64::try_from(relative_timeout.as_nanos())
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            InvalidRequest(format!(
                "timeout {relative_timeout:?} must be positive and below 584 years"
            ))
        })?;
    let msg = ctrl::MsgSendTx {
        owner: path.owner.clone(),
        connection_id: path.connection_id.clone(),
        packet_data: Some(icav1::InterchainAccountPacketData {
            r#type: icav1::Type::ExecuteTx as i32,
            data,
            memo: memo.into(),
        }),
        relative_timeout: ns,
    };
    Ok((any(&msg), wire))
}

/// A packet the controller sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentPacket {
    /// Its sequence on the channel.
    pub sequence: u64,
    /// `icacontroller-<owner>`.
    pub source_port: String,
    /// The ICA channel on the controller.
    pub source_channel: String,
    /// `icahost`.
    pub destination_port: String,
    /// The channel on the host.
    pub destination_channel: String,
    /// Absolute timeout, ns since the epoch (host clock).
    pub timeout_timestamp: u64,
    /// The `MsgSendTx` tx on the controller.
    pub tx_hash: String,
    /// Its block.
    pub height: u64,
}

/// Sends `msgs` through `path`'s interchain account ([`send_tx_msg`] with
/// the account's channel encoding and `relative_timeout`), waits for the tx
/// to commit on the controller, and returns the packet its `send_packet`
/// event describes. Fails if the account's channel is not OPEN.
pub async fn send_infer(
    controller: &Chain,
    path: &IcaPath,
    account: &IcaAccount,
    msgs: &[Any],
    memo: &str,
    relative_timeout: Duration,
) -> anyhow::Result<SentPacket> {
    if !account.is_open() {
        bail!("{}", not_open_text(controller, account));
    }
    let encoding = account
        .tx_encoding()
        .map_err(|e| anyhow!("the ICA channel's version metadata: {e}"))?;
    let (msg, wire) = send_tx_msg(path, msgs, encoding, memo, relative_timeout)?;
    let out = controller.send(vec![msg]).await?;
    let packet = events::parse(&out.events)
        .0
        .into_iter()
        .find_map(|e| match e {
            IbcEvent::SendPacket(p) if p.source_port == path.port_id => Some(p),
            _ => None,
        })
        .ok_or_else(|| {
            anyhow!(
                "{}: tx {} committed in block {} but has no send_packet event of {}",
                controller.id(),
                out.hash,
                out.height,
                path.port_id
            )
        })?;
    if packet.data != wire {
        debug!(
            sent = %String::from_utf8_lossy(&packet.data),
            expected = %String::from_utf8_lossy(&wire),
            "the controller's packet bytes differ from chimera-packets' (JSON formatting)"
        );
    }
    Ok(SentPacket {
        sequence: packet.sequence,
        source_port: packet.source_port,
        source_channel: packet.source_channel,
        destination_port: packet.destination_port,
        destination_channel: packet.destination_channel,
        timeout_timestamp: packet.timeout_timestamp,
        tx_hash: out.hash,
        height: out.height,
    })
}

/// One line saying why `account` cannot send and what to do.
pub fn not_open_text(controller: &Chain, account: &IcaAccount) -> String {
    match (&account.channel_id, account.channel_state.as_deref()) {
        (None, _) => format!(
            "{} has no interchain account over {} on {}: run `chimera ica register` first",
            account.owner,
            account.connection_id,
            controller.id()
        ),
        (Some(c), Some("CLOSED")) => format!(
            "the ICA channel {c} on {} is CLOSED (an ordered channel closes when a packet times out): run `chimera ica register` to reopen it",
            controller.id()
        ),
        (Some(c), state) => format!(
            "the ICA channel {c} on {} is {}, not OPEN: wait for a relayer to finish the handshake (`chimera ica register` waits for it)",
            controller.id(),
            state.unwrap_or("?")
        ),
    }
}

// ---------------------------------------------------------------------------
// Acknowledgements and packet status
// ---------------------------------------------------------------------------

/// What an ICS-27 acknowledgement says.
#[derive(Debug, Clone, PartialEq)]
pub enum AckOutcome {
    /// `{"result": ...}`: the tx ran on the host.
    Result {
        /// The `MsgRunInferenceResponse`s, in message order.
        responses: Vec<MsgRunInferenceResponse>,
        /// Type URLs of the other message responses (e.g. a `MsgSend`'s).
        other: Vec<String>,
    },
    /// `{"error": ...}`: ibc-go's deterministic text and its ABCI code.
    Error {
        /// `ABCI code: N: error handling packet: see events for details`.
        text: String,
        /// `N`, when the text has ibc-go's form.
        abci_code: Option<u32>,
    },
}

impl AckOutcome {
    /// JSON for `--json` output: `{"result":[...]}` or `{"error":...}`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            AckOutcome::Result { responses, other } => serde_json::json!({
                "result": responses.iter().map(response_json).collect::<Vec<_>>(),
                "other_responses": other,
            }),
            AckOutcome::Error { text, abci_code } => serde_json::json!({
                "error": text, "abci_code": abci_code,
            }),
        }
    }
}

/// JSON of one response: job id, model hash, output commitment, quorum.
pub fn response_json(r: &MsgRunInferenceResponse) -> serde_json::Value {
    let o = r.output.clone().unwrap_or_default();
    let q = r.quorum.unwrap_or_default();
    serde_json::json!({
        "job_id": r.job_id.to_string(),
        "model_hash": hex::encode(&r.model_hash),
        "output": { "sha256": hex::encode(&o.sha256), "size": o.size.to_string(), "encoding": o.encoding },
        "quorum": { "height": q.height.to_string(), "agreeing_power": q.agreeing_power.to_string(),
                    "total_power": q.total_power.to_string() },
    })
}

/// One line for a response: `job 7: output sha256 d013… (9 bytes, png),
/// model c7c5…, agreed by 30/40 voting power at host height 1234`.
pub fn response_line(r: &MsgRunInferenceResponse) -> String {
    let o = r.output.clone().unwrap_or_default();
    let q = r.quorum.unwrap_or_default();
    format!(
        "job {}: output sha256 {} ({} bytes, {}), model {}, agreed by {}/{} voting power at host height {}",
        r.job_id,
        hex::encode(&o.sha256),
        o.size,
        if o.encoding.is_empty() { "?" } else { &o.encoding },
        hex::encode(&r.model_hash),
        q.agreeing_power,
        q.total_power,
        q.height
    )
}

/// Decodes ICS-27 acknowledgement bytes: the `MsgRunInferenceResponse`s of
/// a success ack, or the text and ABCI code of an error ack; anything else
/// is an error.
pub fn decode_ack(ack: &[u8]) -> Result<AckOutcome, IcaError> {
    match pica::msg_responses_from_ack(ack) {
        Ok(anys) => {
            let mut responses = Vec::new();
            let mut other = Vec::new();
            for a in anys {
                if a.type_url == pica::MSG_RUN_INFERENCE_RESPONSE_TYPE_URL {
                    responses.push(MsgRunInferenceResponse::decode(a.value.as_slice()).map_err(|e| {
                        IcaError::Proto {
                            what: "MsgRunInferenceResponse".into(),
                            reason: e.to_string(),
                        }
                    })?);
                } else {
                    other.push(a.type_url);
                }
            }
            Ok(AckOutcome::Result { responses, other })
        }
        Err(IcaError::ErrorAck(text)) => Ok(AckOutcome::Error {
            abci_code: pica::error_ack_code(&text),
            text,
        }),
        Err(e) => Err(e),
    }
}

/// A packet of an ICA channel, with both ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacketRef {
    /// `icacontroller-<owner>`.
    pub port_id: String,
    /// The channel on the controller.
    pub channel_id: String,
    /// `icahost`.
    pub host_port_id: String,
    /// The channel on the host.
    pub host_channel_id: String,
    /// The sequence.
    pub sequence: u64,
}

impl From<&SentPacket> for PacketRef {
    fn from(p: &SentPacket) -> Self {
        PacketRef {
            port_id: p.source_port.clone(),
            channel_id: p.source_channel.clone(),
            host_port_id: p.destination_port.clone(),
            host_channel_id: p.destination_channel.clone(),
            sequence: p.sequence,
        }
    }
}

/// Packet `sequence` of `port/channel` on the controller, with the host's
/// end read from the channel.
pub async fn packet_ref(
    controller: &Chain,
    port: &str,
    channel: &str,
    sequence: u64,
) -> anyhow::Result<PacketRef> {
    let end = controller.channel(port, channel).await?;
    let cp = end.counterparty.unwrap_or_default();
    if cp.channel_id.is_empty() {
        bail!(
            "{port}/{channel} on {} has no counterparty channel yet ({})",
            controller.id(),
            channel_state_name(end.state)
        );
    }
    Ok(PacketRef {
        port_id: port.into(),
        channel_id: channel.into(),
        host_port_id: cp.port_id,
        host_channel_id: cp.channel_id,
        sequence,
    })
}

/// An acknowledgement found on a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundAck {
    /// The chain it was read on.
    pub chain_id: String,
    /// Its block there.
    pub height: u64,
    /// The tx that carried it (on the controller: the relayer's
    /// `MsgAcknowledgement`; on the host: the recv tx of a synchronous ack,
    /// none for an asynchronous one written in FinalizeBlock).
    pub tx_hash: Option<String>,
    /// The acknowledgement bytes.
    #[serde(serialize_with = "as_text")]
    pub ack: Vec<u8>,
}

fn as_text<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

async fn tx_search(chain: &Chain, query: &str) -> ChainResult<Vec<cosmrs::rpc::endpoint::tx::Response>> {
    let q: cosmrs::rpc::query::Query = query.parse().map_err(|e| chain.garbage("query", e))?;
    let f = chain
        .rpc()
        .tx_search(q, false, 1, 100, cosmrs::rpc::Order::Ascending);
    match tokio::time::timeout(chain.config.rpc_timeout, f).await {
        Ok(Ok(r)) => Ok(r.txs),
        Ok(Err(e)) => Err(chain.rpc_err("tx_search", crate::chain::rpc_error_text(&e))),
        Err(_) => Err(chain.rpc_err("tx_search", "no answer in time")),
    }
}

/// The acknowledgement of packet `sequence` sent on `channel` as the
/// controller received it: the `MsgAcknowledgement` inside the tx that
/// emitted `acknowledge_packet` for it (found with `tx_search`; needs the
/// controller's tx indexer).
pub async fn ack_on_controller(
    controller: &Chain,
    channel: &str,
    sequence: u64,
) -> ChainResult<Option<FoundAck>> {
    let q = format!(
        "acknowledge_packet.packet_src_channel='{channel}' AND acknowledge_packet.packet_sequence='{sequence}'"
    );
    for tx in tx_search(controller, &q).await? {
        if tx.tx_result.code.is_err() {
            continue;
        }
        if let Some(ack) = acknowledgement_in_tx(&tx.tx, channel, sequence) {
            return Ok(Some(FoundAck {
                chain_id: controller.id().into(),
                height: tx.height.value(),
                tx_hash: Some(tx.hash.to_string()),
                ack,
            }));
        }
    }
    Ok(None)
}

/// The acknowledgement bytes of packet (`channel`, `sequence`) among the
/// `MsgAcknowledgement`s of a raw tx.
pub fn acknowledgement_in_tx(tx: &[u8], channel: &str, sequence: u64) -> Option<Vec<u8>> {
    use cosmrs::proto::cosmos::tx::v1beta1::{TxBody, TxRaw};
    let raw = TxRaw::decode(tx).ok()?;
    let body = TxBody::decode(raw.body_bytes.as_slice()).ok()?;
    body.messages.iter().find_map(|m| {
        if m.type_url != "/ibc.core.channel.v1.MsgAcknowledgement" {
            return None;
        }
        let msg = ch::MsgAcknowledgement::decode(m.value.as_slice()).ok()?;
        let p = msg.packet?;
        (p.source_channel == channel && p.sequence == sequence).then_some(msg.acknowledgement)
    })
}

/// The controller block whose tx timed packet `sequence` of `channel` out
/// (`timeout_packet` event), if any.
pub async fn timeout_on_controller(
    controller: &Chain,
    channel: &str,
    sequence: u64,
) -> ChainResult<Option<u64>> {
    let q = format!(
        "timeout_packet.packet_src_channel='{channel}' AND timeout_packet.packet_sequence='{sequence}'"
    );
    Ok(tx_search(controller, &q)
        .await?
        .into_iter()
        .find(|t| t.tx_result.code.is_ok())
        .map(|t| t.height.value()))
}

/// Whether the host stores an acknowledgement (commitment) for the packet.
async fn host_has_ack(host: &Chain, p: &PacketRef) -> ChainResult<bool> {
    let mut q = ch::query_client::QueryClient::new(host.grpc());
    match q
        .packet_acknowledgement(ch::QueryPacketAcknowledgementRequest {
            port_id: p.host_port_id.clone(),
            channel_id: p.host_channel_id.clone(),
            sequence: p.sequence,
        })
        .await
    {
        Ok(r) => Ok(!r.into_inner().acknowledgement.is_empty()),
        Err(s) if s.code() == tonic::Code::NotFound || s.message().contains("not found") => Ok(false),
        Err(s) => Err(host.grpc_err("PacketAcknowledgement", s.message())),
    }
}

/// The acknowledgement the host wrote for the packet, from its
/// `write_acknowledgement` event (tx events for a synchronous error ack,
/// FinalizeBlock events for the asynchronous result).
pub async fn ack_on_host(host: &Chain, p: &PacketRef) -> ChainResult<Option<FoundAck>> {
    let q = format!(
        "write_acknowledgement.packet_dst_channel='{}' AND write_acknowledgement.packet_sequence='{}'",
        p.host_channel_id, p.sequence
    );
    for (height, evs) in host.search_events(&q).await? {
        for e in events::parse(&evs).0 {
            if let IbcEvent::WriteAck(pk, ack) = e {
                if pk.destination_channel == p.host_channel_id && pk.sequence == p.sequence {
                    return Ok(Some(FoundAck {
                        chain_id: host.id().into(),
                        height,
                        tx_hash: None,
                        ack,
                    }));
                }
            }
        }
    }
    Ok(None)
}

/// The reason the host gave for an error acknowledgement: the `error`
/// attribute of its `ics27_packet` event (ibc-go keeps only the ABCI code in
/// the ack itself and puts the detail in events), found beside the
/// packet's `write_acknowledgement`.
pub async fn error_detail(host: &Chain, p: &PacketRef) -> ChainResult<Option<String>> {
    let q = format!(
        "write_acknowledgement.packet_dst_channel='{}' AND write_acknowledgement.packet_sequence='{}'",
        p.host_channel_id, p.sequence
    );
    let attr = |e: &tendermint::abci::Event, key: &str| {
        e.attributes
            .iter()
            .find(|a| a.key_bytes() == key.as_bytes())
            .and_then(|a| a.value_str().ok())
            .map(str::to_string)
    };
    for (_, evs) in host.search_events(&q).await? {
        let mut errors: Vec<String> = evs
            .iter()
            .filter(|e| e.kind == "ics27_packet")
            .filter(|e| attr(e, "host_channel_id").as_deref() == Some(p.host_channel_id.as_str()))
            .filter_map(|e| attr(e, "error"))
            .collect();
        errors.dedup();
        if errors.len() == 1 {
            return Ok(errors.pop());
        }
    }
    Ok(None)
}

/// The host block that received the packet and the job id it recorded
/// (any `job_id` attribute among that tx's events), from `recv_packet`.
pub async fn recv_on_host(host: &Chain, p: &PacketRef) -> ChainResult<Option<(u64, Option<u64>)>> {
    let q = format!(
        "recv_packet.packet_dst_channel='{}' AND recv_packet.packet_sequence='{}'",
        p.host_channel_id, p.sequence
    );
    Ok(host.search_events(&q).await?.into_iter().next().map(|(h, evs)| {
        let job = evs
            .iter()
            .flat_map(|e| e.attributes.iter())
            .find(|a| a.key_bytes() == b"job_id")
            .and_then(|a| a.value_str().ok())
            .and_then(|v| v.parse().ok());
        (h, job)
    }))
}

/// The send_packet of (`channel`, `sequence`) on the controller, with its
/// block.
pub async fn sent_on_controller(
    controller: &Chain,
    channel: &str,
    sequence: u64,
) -> ChainResult<Option<(u64, ch::Packet)>> {
    let q =
        format!("send_packet.packet_src_channel='{channel}' AND send_packet.packet_sequence='{sequence}'");
    for (h, evs) in controller.search_events(&q).await? {
        for e in events::parse(&evs).0 {
            if let IbcEvent::SendPacket(pk) = e {
                if pk.source_channel == channel && pk.sequence == sequence {
                    return Ok(Some((h, pk)));
                }
            }
        }
    }
    Ok(None)
}

/// The acknowledgement of a packet: as Terra received it
/// ([`ack_on_controller`]), else as the host wrote it ([`ack_on_host`]: the
/// same bytes, available before a relayer carries them back).
pub async fn find_ack(controller: &Chain, host: &Chain, p: &PacketRef) -> anyhow::Result<Option<FoundAck>> {
    if let Some(a) = ack_on_controller(controller, &p.channel_id, p.sequence).await? {
        return Ok(Some(a));
    }
    if host_has_ack(host, p).await? {
        return Ok(ack_on_host(host, p).await?);
    }
    Ok(None)
}

/// Where a packet is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketState {
    /// Committed on the controller, not received on the host.
    Pending {
        /// The controller block that sent it, if found.
        sent_height: Option<u64>,
        /// Whether the host's clock has passed its timeout (it will be timed
        /// out on the controller once a relayer proves it; an ordered
        /// channel then closes).
        timeout_passed: bool,
    },
    /// Received on the host; the job runs and the ack waits for quorum.
    Received {
        /// Host block of the receipt, if found.
        height: Option<u64>,
        /// The host job, if its event was found.
        job_id: Option<u64>,
    },
    /// The host wrote the acknowledgement; no relayer carried it back yet.
    AckOnHost(FoundAck),
    /// The controller received the acknowledgement.
    Acknowledged(FoundAck),
    /// Timed out on the controller (refunded; an ordered channel closed).
    TimedOut {
        /// Controller block of the timeout.
        height: Option<u64>,
    },
    /// No commitment on the controller and no trace of an ack or a timeout
    /// (never sent, or the indexers pruned it).
    Unknown,
}

impl PacketState {
    /// Short name for JSON: `pending`, `received`, `acknowledged_on_host`,
    /// `acknowledged`, `timed_out`, `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            PacketState::Pending { .. } => "pending",
            PacketState::Received { .. } => "received",
            PacketState::AckOnHost(_) => "acknowledged_on_host",
            PacketState::Acknowledged(_) => "acknowledged",
            PacketState::TimedOut { .. } => "timed_out",
            PacketState::Unknown => "unknown",
        }
    }

    /// The acknowledgement, when one was found.
    pub fn ack(&self) -> Option<&FoundAck> {
        match self {
            PacketState::AckOnHost(a) | PacketState::Acknowledged(a) => Some(a),
            _ => None,
        }
    }
}

/// Where packet `p` is: pending on the controller, received on the host,
/// acknowledged on the host, acknowledged back on the controller (with the
/// ack bytes read from the controller's `MsgAcknowledgement`, or the host's
/// event), or timed out.
pub async fn packet_status(controller: &Chain, host: &Chain, p: &PacketRef) -> anyhow::Result<PacketState> {
    let committed = !controller
        .unreceived_acks(&p.port_id, &p.channel_id, vec![p.sequence])
        .await?
        .is_empty();
    if !committed {
        if let Some(a) = ack_on_controller(controller, &p.channel_id, p.sequence).await? {
            return Ok(PacketState::Acknowledged(a));
        }
        if let Some(h) = timeout_on_controller(controller, &p.channel_id, p.sequence).await? {
            return Ok(PacketState::TimedOut { height: Some(h) });
        }
        // Acknowledged but the controller's indexer does not have the tx:
        // the host's event holds the same bytes.
        if host_has_ack(host, p).await? {
            if let Some(a) = ack_on_host(host, p).await? {
                return Ok(PacketState::Acknowledged(a));
            }
        }
        // Sent, commitment gone, never received on the host: timed out.
        let received = host
            .unreceived_packets(&p.host_port_id, &p.host_channel_id, vec![p.sequence])
            .await?
            .is_empty();
        if !received
            && sent_on_controller(controller, &p.channel_id, p.sequence)
                .await?
                .is_some()
        {
            return Ok(PacketState::TimedOut { height: None });
        }
        return Ok(PacketState::Unknown);
    }
    let received = host
        .unreceived_packets(&p.host_port_id, &p.host_channel_id, vec![p.sequence])
        .await?
        .is_empty();
    if !received {
        let sent = sent_on_controller(controller, &p.channel_id, p.sequence)
            .await
            .ok()
            .flatten();
        let (_, host_time) = host.latest().await?;
        let now = host_time.unix_timestamp_nanos().max(0) as u128;
        let timeout_passed = sent
            .as_ref()
            .is_some_and(|(_, pk)| pk.timeout_timestamp != 0 && now >= pk.timeout_timestamp as u128);
        return Ok(PacketState::Pending {
            sent_height: sent.map(|(h, _)| h),
            timeout_passed,
        });
    }
    if host_has_ack(host, p).await? {
        if let Some(a) = ack_on_host(host, p).await? {
            return Ok(PacketState::AckOnHost(a));
        }
    }
    let recv = recv_on_host(host, p).await.ok().flatten();
    Ok(PacketState::Received {
        height: recv.map(|(h, _)| h),
        job_id: recv.and_then(|(_, j)| j),
    })
}

// ---------------------------------------------------------------------------
// Following a packet
// ---------------------------------------------------------------------------

/// One stage of a packet's trip: a block on a chain, and its time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    /// The chain.
    pub chain_id: String,
    /// The block, when known.
    pub height: Option<u64>,
    /// Its block time (RFC 3339), when known.
    pub time: Option<String>,
    /// Seconds since the previous stage (block times; local clock when a
    /// block time is unknown).
    pub seconds: Option<f64>,
}

/// What [`follow`] saw.
#[derive(Debug, Clone, Serialize)]
pub struct FollowReport {
    /// The packet.
    pub packet: PacketRef,
    /// Included on the controller.
    pub sent: Stage,
    /// Received on the host.
    pub received: Option<Stage>,
    /// The host job id.
    pub job_id: Option<u64>,
    /// Acknowledgement written on the host.
    pub host_ack: Option<Stage>,
    /// Acknowledgement (or timeout) back on the controller.
    pub back: Option<Stage>,
    /// The acknowledgement, unless the packet timed out.
    pub ack: Option<FoundAck>,
    /// Whether the packet timed out.
    pub timed_out: bool,
}

impl FollowReport {
    /// The decoded acknowledgement.
    pub fn outcome(&self) -> Option<Result<AckOutcome, IcaError>> {
        self.ack.as_ref().map(|a| decode_ack(&a.ack))
    }
}

async fn block_time(chain: &Chain, height: u64) -> Option<tendermint::Time> {
    let h = tendermint::block::Height::try_from(height).ok()?;
    let c = tokio::time::timeout(chain.config.rpc_timeout, chain.rpc().commit(h))
        .await
        .ok()?
        .ok()?;
    Some(c.signed_header.header.time)
}

/// Builds a stage at `height` on `chain`, timed against `prev`.
async fn stage(
    chain: &Chain,
    height: Option<u64>,
    prev: Option<&(Option<tendermint::Time>, Instant)>,
) -> (Stage, (Option<tendermint::Time>, Instant)) {
    let time = match height {
        Some(h) => block_time(chain, h).await,
        None => None,
    };
    let seconds = prev.map(|(pt, pi)| match (pt, time) {
        (Some(a), Some(b)) => (b.unix_timestamp_nanos() - a.unix_timestamp_nanos()) as f64 / 1e9,
        _ => pi.elapsed().as_secs_f64(),
    });
    (
        Stage {
            chain_id: chain.id().into(),
            height,
            time: time.map(|t| t.to_rfc3339()),
            seconds,
        },
        (time, Instant::now()),
    )
}

/// Follows a sent packet (polling every second, at most `within`) through
/// its stages, with a progress line each: "included in <controller> block
/// H", "received on <host> at H (job N)", "acknowledged on <host> at H",
/// "ack back on <controller> at H" (or "timed out"). Returns when the
/// acknowledgement (or timeout) is back on the controller; fails after
/// `within` naming the last stage reached.
pub async fn follow(
    controller: &Chain,
    host: &Chain,
    sent: &SentPacket,
    within: Duration,
    progress: Progress<'_>,
) -> anyhow::Result<FollowReport> {
    let p = PacketRef::from(sent);
    let start = Instant::now();
    let (sent_stage, mut prev) = stage(controller, Some(sent.height), None).await;
    progress(&format!(
        "included in {} block {} (tx {}), sequence {} on {}",
        controller.id(),
        sent.height,
        sent.tx_hash,
        sent.sequence,
        sent.source_channel
    ));
    let mut report = FollowReport {
        packet: p.clone(),
        sent: sent_stage,
        received: None,
        job_id: None,
        host_ack: None,
        back: None,
        ack: None,
        timed_out: false,
    };
    let mut last = "waiting for a relayer to deliver it to the host".to_string();
    let mut last_line = Instant::now();
    // Polls since the commitment left the controller with no ack or
    // timeout tx found there (its tx indexer lags, or is off).
    let mut gone_polls = 0u32;
    loop {
        // Done on the controller?
        let committed = !controller
            .unreceived_acks(&p.port_id, &p.channel_id, vec![p.sequence])
            .await?
            .is_empty();
        let received = report.received.is_some()
            || host
                .unreceived_packets(&p.host_port_id, &p.host_channel_id, vec![p.sequence])
                .await?
                .is_empty();
        if received && report.received.is_none() {
            let recv = recv_on_host(host, &p).await.ok().flatten();
            let (s, t) = stage(host, recv.map(|(h, _)| h), Some(&prev)).await;
            prev = t;
            report.job_id = recv.and_then(|(_, j)| j);
            progress(&format!(
                "received on {} at {}{}",
                host.id(),
                recv.map_or("?".into(), |(h, _)| h.to_string()),
                report.job_id.map_or(String::new(), |j| format!(" (job {j})"))
            ));
            report.received = Some(s);
            last = "received on the host; waiting for the validators' quorum".into();
        }
        if received && report.host_ack.is_none() && host_has_ack(host, &p).await? {
            let found = ack_on_host(host, &p).await?;
            let (s, t) = stage(host, found.as_ref().map(|a| a.height), Some(&prev)).await;
            prev = t;
            progress(&format!(
                "acknowledged on {} at {}",
                host.id(),
                found.as_ref().map_or("?".into(), |a| a.height.to_string())
            ));
            if report.job_id.is_none() {
                if let Some(Ok(AckOutcome::Result { responses, .. })) =
                    found.as_ref().map(|a| decode_ack(&a.ack))
                {
                    report.job_id = responses.first().map(|r| r.job_id);
                }
            }
            report.host_ack = Some(s);
            report.ack = found;
            last = "acknowledged on the host; waiting for a relayer to carry the ack back".into();
        }
        if !committed {
            if let Some(a) = ack_on_controller(controller, &p.channel_id, p.sequence).await? {
                let (s, _) = stage(controller, Some(a.height), Some(&prev)).await;
                progress(&format!("ack back on {} at {}", controller.id(), a.height));
                report.back = Some(s);
                report.ack = Some(a);
                return Ok(report);
            }
            if let Some(h) = timeout_on_controller(controller, &p.channel_id, p.sequence).await? {
                let (s, _) = stage(controller, Some(h), Some(&prev)).await;
                progress(&format!(
                    "timed out: {} processed the timeout at {h} (nothing ran on the host; an ordered channel is now CLOSED)",
                    controller.id()
                ));
                report.back = Some(s);
                report.timed_out = true;
                return Ok(report);
            }
            // The controller's indexer lags or is off. The commitment is
            // gone, so the packet is done: acknowledged (the host's ack is
            // the same bytes) or, never received, timed out.
            gone_polls += 1;
            if gone_polls >= GONE_POLLS {
                if report.ack.is_some() {
                    progress(&format!(
                        "ack back on {} (its tx is not in {}'s index; the ack was read on {})",
                        controller.id(),
                        controller.id(),
                        host.id()
                    ));
                } else if report.received.is_none() {
                    progress(&format!(
                        "timed out: the packet left {} without reaching {} (the timeout tx is not in the index)",
                        controller.id(),
                        host.id()
                    ));
                    report.timed_out = true;
                } else {
                    bail!(
                        "packet {} left {} but neither its ack nor a timeout is found on either chain",
                        p.sequence,
                        controller.id()
                    );
                }
                let (s, _) = stage(controller, None, Some(&prev)).await;
                report.back = Some(s);
                return Ok(report);
            }
        }
        if start.elapsed() >= within {
            bail!(
                "packet {} on {} not back within {}s: {last}; `chimera ica status --sequence {}` shows where it is",
                p.sequence,
                p.channel_id,
                within.as_secs(),
                p.sequence
            );
        }
        if last_line.elapsed() >= REMIND {
            progress(&format!("  {}s: {last}", start.elapsed().as_secs()));
            last_line = Instant::now();
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chimera_packets::ica::{decode_packet_data, error_ack, success_ack};
    use chimera_packets::sealed::executor_keypair_from_seed;

    /// A 32-byte host account address, as the ICA host gives.
    fn ica_address() -> String {
        cosmrs::AccountId::new("chimera", &[7u8; 32]).unwrap().to_string()
    }

    fn path() -> IcaPath {
        IcaPath::new(
            "terra1x46rqay4d3cssq8gxxvqz8xt6nwlz4td20k38v",
            "connection-0",
            "connection-3",
        )
    }

    /// What `e2e/src/inference.rs` `run_inference_msg(signer,
    /// &Job::digits_ddpm('7', 42))` writes with its hand-rolled protobuf
    /// writer: signer (1), model (2), input{inline "7"} (3),
    /// encoding{text{}} (4), params{seed 42} (5); empty memo and no fee are
    /// omitted.
    fn e2e_digits_ddpm_bytes(signer: &str) -> Vec<u8> {
        let mut b = vec![0x0a, signer.len() as u8];
        b.extend_from_slice(signer.as_bytes());
        b.extend_from_slice(&[0x12, 0x0b]);
        b.extend_from_slice(b"digits-ddpm");
        b.extend_from_slice(&hex::decode("1a030a0137" /* input */).unwrap());
        b.extend_from_slice(&hex::decode("22020a00" /* encoding */).unwrap());
        b.extend_from_slice(&hex::decode("2a02082a" /* params */).unwrap());
        b
    }

    #[test]
    fn digits_ddpm_msg_matches_the_e2e_encoding() {
        let signer = ica_address();
        let any = build_infer(
            &signer,
            &InferRequest::text("digits-ddpm", "7", 42),
            None,
            &mut rand_core::OsRng,
        )
        .unwrap();
        assert_eq!(any.type_url, "/chimera.inference.v1.MsgRunInference");
        assert_eq!(any.value, e2e_digits_ddpm_bytes(&signer));
        // prost reads it back and writes the same bytes.
        let msg = cproto::MsgRunInference::decode(any.value.as_slice()).unwrap();
        assert_eq!(msg.signer, signer);
        assert_eq!(msg.params.as_ref().unwrap().seed, 42);
        assert_eq!(msg.encode_to_vec(), any.value);
    }

    #[test]
    fn packet_data_round_trips_in_both_encodings() {
        let mut req = InferRequest::text("tiny-lm", "Once upon a time", 9);
        req.params.extra.insert("max_tokens".into(), "16".into());
        req.fee =
            parse_coins("100ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2").unwrap();
        req.memo = "from LUNC".into();
        let msg = build_infer(&ica_address(), &req, None, &mut rand_core::OsRng).unwrap();
        for enc in [Encoding::Proto3, Encoding::Proto3Json] {
            let (send, wire) = send_tx_msg(
                &path(),
                std::slice::from_ref(&msg),
                enc,
                "ica memo",
                Duration::from_secs(600),
            )
            .unwrap();
            assert_eq!(
                send.type_url,
                "/ibc.applications.interchain_accounts.controller.v1.MsgSendTx"
            );
            let back = decode_packet_data(&wire, enc).unwrap();
            assert_eq!(back.messages, vec![msg.clone()], "{enc}");
            assert_eq!(back.memo, "ica memo");
            let tx = ctrl::MsgSendTx::decode(send.value.as_slice()).unwrap();
            assert_eq!(tx.owner, path().owner);
            assert_eq!(tx.connection_id, "connection-0");
            assert_eq!(tx.relative_timeout, 600_000_000_000);
            let pd = tx.packet_data.unwrap();
            assert_eq!(pd.r#type, icav1::Type::ExecuteTx as i32);
            assert_eq!(pica::decode_cosmos_tx(&pd.data, enc).unwrap(), vec![msg.clone()]);
        }
        // The controller's own limits.
        let long = "m".repeat(257);
        assert!(send_tx_msg(
            &path(),
            std::slice::from_ref(&msg),
            Encoding::Proto3,
            &long,
            Duration::from_secs(1)
        )
        .is_err());
        assert!(send_tx_msg(&path(), &[msg], Encoding::Proto3, "", Duration::ZERO).is_err());
    }

    #[test]
    fn a_sealed_input_opens_with_the_executor_secret() {
        let (secret, public) = executor_keypair_from_seed([3u8; 32]);
        let (_, other) = executor_keypair_from_seed([4u8; 32]);
        let req = InferRequest::text("tiny-lm", "a private prompt", 1);
        let any = build_infer(
            &ica_address(),
            &req,
            Some(&[public, other]),
            &mut rand_core::OsRng,
        )
        .unwrap();
        let msg = cproto::MsgRunInference::decode(any.value.as_slice()).unwrap();
        let Some(cproto::input::Source::Inline(ct)) = msg.input.unwrap().source else {
            panic!("inline input")
        };
        assert_ne!(ct, req.input);
        let env = chimera_packets::SealedEnvelope::try_from(msg.sealed.as_ref().unwrap()).unwrap();
        assert_eq!(env.recipients.len(), 2);
        assert_eq!(env.open(&ct, "tiny-lm", &secret).unwrap(), req.input);
        assert!(
            env.open(&ct, "digits-ddpm", &secret).is_err(),
            "bound to the model"
        );
        assert!(build_infer(&ica_address(), &req, Some(&[]), &mut rand_core::OsRng).is_err());
    }

    #[test]
    fn requests_the_host_would_refuse_are_refused_here() {
        let mut req = InferRequest::text("digits-ddpm", "7", 1);
        req.params.extra.insert("Bad-Key".into(), "1".into());
        let e = build_infer(&ica_address(), &req, None, &mut rand_core::OsRng).unwrap_err();
        assert!(e.0.contains("Bad-Key"), "{e}");
        let mut req = InferRequest::text("digits-ddpm", "", 1);
        req.input.clear();
        assert!(build_infer(&ica_address(), &req, None, &mut rand_core::OsRng).is_err());
    }

    fn response() -> MsgRunInferenceResponse {
        MsgRunInferenceResponse {
            job_id: 7,
            model_hash: vec![0xc7; 32],
            output: Some(cproto::OutputCommitment {
                sha256: vec![0xd0; 32],
                size: 9,
                encoding: "png".into(),
            }),
            quorum: Some(cproto::Quorum {
                height: 1234,
                agreeing_power: 30,
                total_power: 40,
            }),
        }
    }

    #[test]
    fn success_and_error_acks_decode() {
        let r = response();
        let ack = success_ack(&[
            Any {
                type_url: pica::MSG_RUN_INFERENCE_RESPONSE_TYPE_URL.into(),
                value: r.encode_to_vec(),
            },
            Any {
                type_url: "/cosmos.bank.v1beta1.MsgSendResponse".into(),
                value: vec![],
            },
        ]);
        let AckOutcome::Result { responses, other } = decode_ack(&ack).unwrap() else {
            panic!("a result")
        };
        assert_eq!(responses, vec![r.clone()]);
        assert_eq!(other, vec!["/cosmos.bank.v1beta1.MsgSendResponse".to_string()]);
        let line = response_line(&r);
        assert!(
            line.contains(&"d0".repeat(32)) && line.contains("9 bytes, png") && line.contains("30/40"),
            "{line}"
        );
        let j = AckOutcome::Result { responses, other }.to_json();
        assert_eq!(j["result"][0]["job_id"], "7");
        assert_eq!(j["result"][0]["output"]["size"], "9");

        let err = error_ack(5);
        assert_eq!(
            decode_ack(&err).unwrap(),
            AckOutcome::Error {
                text: "ABCI code: 5: error handling packet: see events for details".into(),
                abci_code: Some(5),
            }
        );
        assert!(decode_ack(b"{}").is_err());
        assert!(decode_ack(b"not json").is_err());
    }

    #[test]
    fn ack_bytes_come_out_of_a_relayers_tx() {
        use cosmrs::proto::cosmos::tx::v1beta1::{TxBody, TxRaw};
        let ack = success_ack(&[]);
        let msg = |seq: u64, chan: &str| {
            any(&ch::MsgAcknowledgement {
                packet: Some(ch::Packet {
                    sequence: seq,
                    source_port: "icacontroller-terra1x".into(),
                    source_channel: chan.into(),
                    ..Default::default()
                }),
                acknowledgement: format!("{seq}{chan}").into_bytes(),
                ..Default::default()
            })
        };
        let mut body = TxBody {
            messages: vec![msg(3, "channel-5"), msg(4, "channel-4")],
            ..Default::default()
        };
        body.messages.push(Any {
            type_url: "/ibc.core.channel.v1.MsgAcknowledgement".into(),
            value: ch::MsgAcknowledgement {
                packet: Some(ch::Packet {
                    sequence: 4,
                    source_channel: "channel-5".into(),
                    ..Default::default()
                }),
                acknowledgement: ack.clone(),
                ..Default::default()
            }
            .encode_to_vec(),
        });
        let raw = TxRaw {
            body_bytes: body.encode_to_vec(),
            ..Default::default()
        }
        .encode_to_vec();
        assert_eq!(acknowledgement_in_tx(&raw, "channel-5", 4), Some(ack));
        assert_eq!(
            acknowledgement_in_tx(&raw, "channel-5", 3),
            Some(b"3channel-5".to_vec())
        );
        assert_eq!(acknowledgement_in_tx(&raw, "channel-9", 3), None);
        assert_eq!(acknowledgement_in_tx(b"garbage", "channel-5", 3), None);
    }

    #[test]
    fn coins_parse_or_say_why_not() {
        let c = parse_coin("1000000uluna").unwrap();
        assert_eq!((c.amount.as_str(), c.denom.as_str()), ("1000000", "uluna"));
        let v = parse_coin("5ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2").unwrap();
        assert!(v.denom.starts_with("ibc/"));
        for bad in [
            "", "uluna", "0uluna", "10", "10 uluna", "10u", "10-uluna", "1e6uluna", "10uluna!",
        ] {
            assert!(parse_coin(bad).is_err(), "{bad:?}");
        }
        let cs = parse_coins("5uusd,10uluna").unwrap();
        assert_eq!(cs[0].denom, "uluna");
        assert!(parse_coins("5uluna,6uluna").is_err());
    }

    #[test]
    fn voucher_denoms_follow_ics20() {
        // ibc-go's well-known: transfer/channel-0/uatom.
        assert_eq!(
            ibc_denom("transfer/channel-0/uatom"),
            "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2"
        );
        // Sent over transfer/channel-1 to the counterparty's transfer/channel-0.
        let received = |full| received_denom("transfer", "channel-1", "transfer", "channel-0", full);
        assert_eq!(received("uatom"), ibc_denom("transfer/channel-0/uatom"));
        // Going back to its source unwinds a hop.
        assert_eq!(received("transfer/channel-1/uchim"), "uchim");
        assert_eq!(
            received("transfer/channel-1/transfer/channel-9/uosmo"),
            ibc_denom("transfer/channel-9/uosmo")
        );
    }

    #[test]
    fn registration_carries_the_controller_metadata() {
        let any = register_msg(&path(), Encoding::Proto3Json, None);
        let m = ctrl::MsgRegisterInterchainAccount::decode(any.value.as_slice()).unwrap();
        assert_eq!(m.ordering, 0, "ibc-go v7.4 refuses a set ordering");
        assert_eq!(
            m.version,
            r#"{"version":"ics27-1","controller_connection_id":"connection-0","host_connection_id":"connection-3","address":"","encoding":"proto3json","tx_type":"sdk_multi_msg"}"#
        );
        let m = ctrl::MsgRegisterInterchainAccount::decode(
            register_msg(&path(), Encoding::Proto3, Some(ch::Order::Unordered))
                .value
                .as_slice(),
        )
        .unwrap();
        assert_eq!(m.ordering, ch::Order::Unordered as i32);
        assert_eq!(
            path().port_id,
            "icacontroller-terra1x46rqay4d3cssq8gxxvqz8xt6nwlz4td20k38v"
        );
    }
}
