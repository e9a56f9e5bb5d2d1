//! The `icahost` channel handshake, as ibc-go v7's host keeper: only a
//! controller opens (`OpenTry` here), the version metadata is checked and
//! completed with the interchain account's address, the account is created
//! on first use and reused when a controller re-opens after its channel
//! closed, and nobody closes from this end.

use ::ibc::core::channel::types::channel::{Counterparty, Order};
use ::ibc::core::channel::types::error::ChannelError;
use ::ibc::core::channel::types::Version;
use ::ibc::core::host::types::identifiers::{ChannelId, ConnectionId, PortId};
use ::ibc::core::host::types::path::{ChannelEndPath, ConnectionPath};
use chimera_packets::ica::{self, Metadata};
use ibc_proto::ibc::core::channel::v1::{Channel as RawChannel, State as RawState};
use ibc_proto::ibc::core::connection::v1::ConnectionEnd as RawConnectionEnd;
use prost::Message;
use tracing::info;

use super::params::IcaHostParams;
use super::store;
use crate::chain::address::Address;
use crate::chain::auth;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::chain::params::StateParams;

/// Why a handshake step is refused: ibc-rs's app error, carrying ibc-go's
/// error text.
pub fn refuse(description: impl Into<String>) -> ChannelError {
    ChannelError::AppSpecific {
        description: description.into(),
    }
}

/// A stored channel end, as ibc-go's protobuf.
pub fn channel_end(ctx: &mut Ctx, port: &str, channel: &str) -> Result<Option<RawChannel>, TxError> {
    let port: PortId = port
        .parse()
        .map_err(|e| TxError::Internal(format!("port {port}: {e}")))?;
    let channel: ChannelId = channel
        .parse()
        .map_err(|e| TxError::Internal(format!("channel {channel}: {e}")))?;
    let key = ChannelEndPath::new(&port, &channel).to_string().into_bytes();
    ctx.get(&key)?
        .map(|b| RawChannel::decode(b.as_slice()).map_err(|e| TxError::Internal(format!("channel end: {e}"))))
        .transpose()
}

fn counterparty_connection(ctx: &mut Ctx, connection: &ConnectionId) -> Result<Option<String>, TxError> {
    let key = ConnectionPath::new(connection).to_string().into_bytes();
    ctx.get(&key)?
        .map(|b| {
            RawConnectionEnd::decode(b.as_slice())
                .map(|c| c.counterparty.map(|cp| cp.connection_id).unwrap_or_default())
                .map_err(|e| TxError::Internal(format!("connection end: {e}")))
        })
        .transpose()
}

/// `OnChanOpenInit` / `OnChanOpenAck`: a host never starts a handshake.
pub fn refuse_host_initiated() -> ChannelError {
    refuse("invalid message sent to channel end: channel handshake must be initiated by controller chain")
}

/// `OnChanCloseInit`: a host's user may not close an account's channel.
pub fn refuse_close() -> ChannelError {
    refuse("invalid message sent to channel end: user cannot close channel")
}

/// A handshake step's answer: `Err` is a fault (gas, storage) that ends
/// the tx; `Ok(Err(..))` a refusal.
pub type Checked<T> = Result<Result<T, ChannelError>, TxError>;

fn host_disabled(ctx: &mut Ctx) -> Result<Option<ChannelError>, TxError> {
    Ok((!IcaHostParams::load(ctx.state)?.host_enabled).then(|| refuse("host submodule is disabled")))
}

macro_rules! refused {
    ($e:expr) => {
        return Ok(Err($e))
    };
}

/// `OnChanOpenTry`: checks the order, port and metadata, refuses a second
/// open channel for the same account, and returns the version with the
/// account's address. With `execute`, creates the account when it is new
/// (ibc-go `createInterchainAccount`); without, writes nothing.
#[allow(clippy::too_many_arguments)]
pub fn open_try(
    ctx: &mut Ctx,
    order: Order,
    connection_hops: &[ConnectionId],
    port: &PortId,
    counterparty: &Counterparty,
    counterparty_version: &Version,
    execute: bool,
) -> Checked<Version> {
    if let Some(e) = host_disabled(ctx)? {
        refused!(e);
    }
    // ibc-go < v7.5 opens ORDERED channels only, later versions may open
    // UNORDERED ones: both are served.
    if !matches!(order, Order::Ordered | Order::Unordered) {
        refused!(refuse("invalid channel ordering: expected ORDERED or UNORDERED"));
    }
    if port.as_str() != ica::HOST_PORT {
        refused!(refuse(format!(
            "invalid host port: expected {}, got {port}",
            ica::HOST_PORT
        )));
    }
    let metadata = match Metadata::from_json(counterparty_version.as_str().as_bytes()) {
        Ok(m) => m,
        Err(e) => refused!(refuse(format!(
            "unknown data type: cannot unmarshal ICS-27 interchain accounts metadata: {e}"
        ))),
    };
    let Some(connection) = connection_hops.first() else {
        refused!(refuse("the channel has no connection hop"));
    };
    let Some(cp_connection) = counterparty_connection(ctx, connection)? else {
        refused!(refuse(format!("connection {connection} not found")));
    };
    if let Err(e) = metadata.validate_for_host(connection.as_str(), &cp_connection) {
        refused!(refuse(e.to_string()));
    }
    let controller_port = counterparty.port_id().as_str();

    if let Some(active) = store::active_channel(ctx, connection.as_str(), controller_port)? {
        let previous = channel_end(ctx, port.as_str(), &active)?
            .ok_or_else(|| TxError::Internal(format!("active channel {active} has no channel end")))?;
        if previous.state == RawState::Open as i32 {
            refused!(refuse(format!(
                "active channel already set for this owner: existing active channel {active} for portID {port} is already OPEN"
            )));
        }
        if !same_account_terms(&previous.version, &metadata) {
            refused!(refuse(
                "invalid interchain accounts version: previous active channel metadata does not match provided version",
            ));
        }
    }

    let address = match store::account(ctx, connection.as_str(), controller_port)? {
        Some(a) => {
            if execute {
                info!(address = %a, connection = %connection, port = controller_port, "reopening interchain account");
            }
            a
        }
        None => {
            let (app_hash, data_hash) = crate::ibc::host::header_hashes(ctx.state, ctx.height)?;
            let raw =
                ica::interchain_account_address(connection.as_str(), controller_port, &app_hash, &data_hash);
            let a = Address::from(raw);
            if auth::get(ctx, &a)?.is_some() {
                refused!(refuse(format!(
                    "account already exist: existing account for newly generated interchain account address {a}"
                )));
            }
            if execute {
                auth::get_or_create(ctx, &a)?;
                store::put_account(ctx, connection.as_str(), controller_port, &a)?;
                info!(address = %a, connection = %connection, port = controller_port, "created interchain account");
            }
            a
        }
    };
    Ok(Ok(Version::new(
        String::from_utf8(metadata.with_address(&address.to_string()).to_json())
            .expect("metadata JSON is UTF-8"),
    )))
}

/// ibc-go `IsPreviousMetadataEqual`: a re-opened channel keeps its
/// version, connections, encoding and tx type.
fn same_account_terms(previous_version: &str, metadata: &Metadata) -> bool {
    let Ok(prev) = Metadata::from_json(previous_version.as_bytes()) else {
        return false;
    };
    prev.version == metadata.version
        && prev.controller_connection_id == metadata.controller_connection_id
        && prev.host_connection_id == metadata.host_connection_id
        && prev.encoding == metadata.encoding
        && prev.tx_type == metadata.tx_type
}

/// `OnChanOpenConfirm`: the channel becomes its account's active channel.
pub fn open_confirm(ctx: &mut Ctx, port: &PortId, channel: &ChannelId, execute: bool) -> Checked<()> {
    if let Some(e) = host_disabled(ctx)? {
        refused!(e);
    }
    let Some(end) = channel_end(ctx, port.as_str(), channel.as_str())? else {
        refused!(refuse(format!("channel not found: {channel} on port {port}")));
    };
    if execute {
        let connection = end.connection_hops.first().cloned().unwrap_or_default();
        let controller_port = end.counterparty.map(|c| c.port_id).unwrap_or_default();
        store::set_active_channel(ctx, &connection, &controller_port, channel.as_str())?;
    }
    Ok(Ok(()))
}
