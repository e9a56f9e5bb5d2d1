//! ICS-20 fungible token transfer on port `transfer`: ibc-rs's transfer
//! callbacks over our bank, with ibc-go's conventions so balances look the
//! same as on any SDK chain.
//!
//! - Tokens whose trace does not start with the packet's source port and
//!   channel leave by escrow into the channel's escrow account (the SDK's
//!   `GetEscrowAddress`: the first 20 bytes of
//!   `sha256("ics20-1" ‖ 0x00 ‖ "{port}/{channel}")`) and come back by
//!   unescrow; others are vouchers, burnt on the way out.
//! - Vouchers are minted as `ibc/{HASH}`, `HASH` the upper-case hex SHA-256
//!   of the full trace (`transfer/channel-0/uluna`), and the trace is kept
//!   under `transfer/denomTrace/{HASH}` ([`denom_trace_committed`]), so
//!   `MsgTransfer` of `ibc/{HASH}` is resolved to its trace as ibc-go does
//!   ([`resolve_denom`]) and `Query/DenomTrace` can answer.
//! - A receive whose app callback fails writes an error acknowledgement and
//!   none of the callback's state changes (ibc-go's cached context).

use ::ibc::apps::transfer::context::{TokenTransferExecutionContext, TokenTransferValidationContext};
use ::ibc::apps::transfer::module as cb;
use ::ibc::apps::transfer::types::error::TokenTransferError;
use ::ibc::apps::transfer::types::packet::PacketData;
use ::ibc::apps::transfer::types::{
    is_receiver_chain_source, Memo, PrefixedCoin, PrefixedDenom, TracePrefix, VERSION,
};
use ::ibc::core::channel::types::acknowledgement::{Acknowledgement, AcknowledgementStatus};
use ::ibc::core::channel::types::channel::{Counterparty, Order};
use ::ibc::core::channel::types::error::ChannelError;
use ::ibc::core::channel::types::packet::Packet;
use ::ibc::core::channel::types::Version;
use ::ibc::core::host::types::error::HostError;
use ::ibc::core::host::types::identifiers::{ChannelId, ConnectionId, PortId};
use ::ibc::core::router::module::Module;
use ::ibc::core::router::types::module::ModuleExtras;
use ::ibc::primitives::Signer;
use ibc_proto::ibc::applications::transfer::v1::DenomTrace;
use prost::Message;
use sha2::{Digest, Sha256};

use super::context::SharedRef;
use super::keys;
use crate::chain::address::Address;
use crate::chain::bank;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::state::{Snapshot, StateError};

/// The ICS-20 port.
pub const PORT: &str = "transfer";

/// The SDK's ICS-20 escrow account of `port`/`channel` (ibc-go
/// `types.GetEscrowAddress`).
pub fn escrow_address(port: &str, channel: &str) -> Address {
    let mut h = Sha256::new();
    h.update(VERSION.as_bytes());
    h.update([0u8]);
    h.update(format!("{port}/{channel}").as_bytes());
    let sum = h.finalize();
    Address::from_slice(&sum[..20]).expect("20 bytes")
}

/// The upper-case hex SHA-256 of a full denom trace (ibc-go
/// `DenomTrace.Hash().String()`).
pub fn trace_hash(full_path: &str) -> String {
    hex::encode_upper(Sha256::digest(full_path.as_bytes()))
}

/// The bank denom of an ICS-20 denom: the base denom for native tokens,
/// `ibc/{HASH}` for anything with a trace.
pub fn bank_denom(d: &PrefixedDenom) -> String {
    if d.trace_path.is_empty() {
        d.base_denom.to_string()
    } else {
        format!("ibc/{}", trace_hash(&d.to_string()))
    }
}

/// `DenomTrace {path, base_denom}` of a prefixed denom.
pub fn denom_trace_of(d: &PrefixedDenom) -> DenomTrace {
    DenomTrace {
        path: d.trace_path.to_string(),
        base_denom: d.base_denom.to_string(),
    }
}

/// The full path `{path}/{base_denom}` of a trace (`base_denom` alone
/// without a path), as ibc-go's `GetFullDenomPath`.
pub fn full_path(t: &DenomTrace) -> String {
    if t.path.is_empty() {
        t.base_denom.clone()
    } else {
        format!("{}/{}", t.path, t.base_denom)
    }
}

/// One denom trace at a committed version, by hash (with or without `ibc/`).
pub fn denom_trace_committed(snap: &Snapshot, hash: &str) -> Result<Option<DenomTrace>, StateError> {
    let hash = hash.strip_prefix("ibc/").unwrap_or(hash).to_ascii_uppercase();
    snap.get(&keys::denom_trace(&hash))?
        .map(|b| {
            DenomTrace::decode(b.as_slice()).map_err(|e| StateError::Corrupt(format!("denom trace: {e}")))
        })
        .transpose()
}

/// Every denom trace at the latest version, keyed by hash.
pub fn denom_traces_committed(snap: &Snapshot) -> Result<Vec<(String, DenomTrace)>, StateError> {
    snap.prefix(keys::DENOM_TRACE_PREFIX)?
        .into_iter()
        .map(|(k, v)| {
            let hash = String::from_utf8_lossy(&k[keys::DENOM_TRACE_PREFIX.len()..]).into_owned();
            DenomTrace::decode(v.as_slice())
                .map(|t| (hash, t))
                .map_err(|e| StateError::Corrupt(format!("denom trace: {e}")))
        })
        .collect()
}

/// ibc-go's `MsgTransfer` denom resolution: `ibc/{HASH}` becomes the full
/// trace it stands for, so the packet carries the path and the voucher is
/// burnt (or escrowed) rather than treated as a native token named `ibc/…`.
pub fn resolve_denom(ctx: &mut Ctx, denom: &str) -> Result<String, TxError> {
    let Some(hash) = denom.strip_prefix("ibc/") else {
        return Ok(denom.to_string());
    };
    let b = ctx
        .get(&keys::denom_trace(&hash.to_ascii_uppercase()))?
        .ok_or_else(|| TxError::InvalidCoins(format!("denomination trace not found: {denom}")))?;
    let t = DenomTrace::decode(b.as_slice()).map_err(|e| TxError::Internal(format!("denom trace: {e}")))?;
    Ok(full_path(&t))
}

/// Coins of ICS-20 packets are 256-bit; our bank holds 128-bit amounts.
fn amount(coin: &PrefixedCoin) -> Result<u128, HostError> {
    let a = coin.amount.to_string();
    a.parse::<u128>()
        .map_err(|_| HostError::invalid_state(format!("amount {a} does not fit 128 bits")))
}

fn tx_err(e: TxError) -> HostError {
    HostError::invalid_state(e.to_string())
}

fn app_err(e: TokenTransferError) -> ChannelError {
    ChannelError::AppSpecific {
        description: e.to_string(),
    }
}

/// The transfer app: ibc-rs's callbacks with our bank behind them.
pub struct Transfer {
    shared: SharedRef,
}

impl std::fmt::Debug for Transfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transfer")
    }
}

impl Transfer {
    /// The app over the message's shared state.
    pub fn new(shared: SharedRef) -> Transfer {
        Transfer { shared }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Ctx) -> Result<T, TxError>) -> Result<T, HostError> {
        self.shared.borrow_mut().with_ctx(f).map_err(tx_err)
    }

    fn require_balance(&self, who: &Address, coin: &PrefixedCoin) -> Result<(), HostError> {
        let denom = bank_denom(&coin.denom);
        let want = amount(coin)?;
        let have = self.with(|c| bank::balance(c, who, &denom))?;
        if have < want {
            return Err(HostError::invalid_state(format!(
                "insufficient funds: {who} has {have}{denom}, needs {want}{denom}"
            )));
        }
        Ok(())
    }

    /// Hands coins received by the fees pool (the executor part of a
    /// contract-route fee, `crate::fees::settle::pay_remote`) to the fees
    /// module, with the bank denom they arrived as. A storage or gas fault
    /// is kept in `Shared::fault` and fails the message.
    fn fees_received(&self, packet: &Packet) {
        let Ok(data) = serde_json::from_slice::<PacketData>(&packet.data) else {
            return;
        };
        if data.receiver.as_ref() != crate::fees::store::pool_account().to_string() {
            return;
        }
        let mut denom = data.token.denom.clone();
        if is_receiver_chain_source(packet.port_id_on_a.clone(), packet.chan_id_on_a.clone(), &denom) {
            denom.remove_trace_prefix(&TracePrefix::new(
                packet.port_id_on_a.clone(),
                packet.chan_id_on_a.clone(),
            ));
        } else {
            denom.add_trace_prefix(TracePrefix::new(
                packet.port_id_on_b.clone(),
                packet.chan_id_on_b.clone(),
            ));
        }
        let Ok(amount) = data.token.amount.to_string().parse::<u128>() else {
            return;
        };
        let memo = data.memo.as_ref().to_string();
        let mut s = self.shared.borrow_mut();
        let mut events = Vec::new();
        let _ = s.with_ctx(|c| {
            crate::fees::settle::pay_remote(c, &memo, &bank_denom(&denom), amount, &mut events)
        });
        s.events.extend(events);
    }

    /// Tells the fees module how one of its sends ended (a no-op for any
    /// other packet). A storage or gas fault is kept in `Shared::fault`
    /// and fails the message.
    fn fees_outcome(&self, packet: &Packet, delivered: bool) {
        let channel = packet.chan_id_on_a.to_string();
        let sequence = packet.seq_on_a.value();
        let _ = self.with(|c| crate::fees::send::on_transfer_outcome(c, &channel, sequence, delivered));
    }

    fn move_coins(&mut self, from: &Address, to: &Address, coin: &PrefixedCoin) -> Result<(), HostError> {
        let coins = [(bank_denom(&coin.denom), amount(coin)?)];
        let mut s = self.shared.borrow_mut();
        let mut events = Vec::new();
        s.with_ctx(|c| bank::send(c, from, to, &coins, &mut events))
            .map_err(tx_err)?;
        s.events.extend(events);
        Ok(())
    }
}

fn account(signer: &Signer) -> Result<Address, HostError> {
    Address::parse(signer.as_ref()).map_err(|e| HostError::invalid_state(format!("invalid address: {e}")))
}

impl TokenTransferValidationContext for Transfer {
    type AccountId = Address;

    fn sender_account(&self, sender: &Signer) -> Result<Address, HostError> {
        account(sender)
    }

    fn receiver_account(&self, receiver: &Signer) -> Result<Address, HostError> {
        account(receiver)
    }

    fn get_port(&self) -> Result<PortId, HostError> {
        Ok(PortId::transfer())
    }

    fn can_send_coins(&self) -> Result<(), HostError> {
        Ok(())
    }

    fn can_receive_coins(&self) -> Result<(), HostError> {
        Ok(())
    }

    fn escrow_coins_validate(
        &self,
        from: &Address,
        _port: &PortId,
        _channel: &ChannelId,
        coin: &PrefixedCoin,
        _memo: &Memo,
    ) -> Result<(), HostError> {
        self.require_balance(from, coin)
    }

    fn unescrow_coins_validate(
        &self,
        _to: &Address,
        port: &PortId,
        channel: &ChannelId,
        coin: &PrefixedCoin,
    ) -> Result<(), HostError> {
        self.require_balance(&escrow_address(port.as_str(), channel.as_str()), coin)
    }

    fn mint_coins_validate(&self, _account: &Address, coin: &PrefixedCoin) -> Result<(), HostError> {
        amount(coin)?;
        bank::validate_denom(&bank_denom(&coin.denom)).map_err(tx_err)
    }

    fn burn_coins_validate(
        &self,
        account: &Address,
        coin: &PrefixedCoin,
        _memo: &Memo,
    ) -> Result<(), HostError> {
        self.require_balance(account, coin)
    }

    fn denom_hash_string(&self, denom: &PrefixedDenom) -> Option<String> {
        (!denom.trace_path.is_empty()).then(|| trace_hash(&denom.to_string()))
    }
}

impl TokenTransferExecutionContext for Transfer {
    fn escrow_coins_execute(
        &mut self,
        from: &Address,
        port: &PortId,
        channel: &ChannelId,
        coin: &PrefixedCoin,
        _memo: &Memo,
    ) -> Result<(), HostError> {
        let escrow = escrow_address(port.as_str(), channel.as_str());
        self.move_coins(from, &escrow, coin)
    }

    fn unescrow_coins_execute(
        &mut self,
        to: &Address,
        port: &PortId,
        channel: &ChannelId,
        coin: &PrefixedCoin,
    ) -> Result<(), HostError> {
        let escrow = escrow_address(port.as_str(), channel.as_str());
        self.move_coins(&escrow, to, coin)
    }

    fn mint_coins_execute(&mut self, account: &Address, coin: &PrefixedCoin) -> Result<(), HostError> {
        let denom = bank_denom(&coin.denom);
        let n = amount(coin)?;
        let trace = (!coin.denom.trace_path.is_empty()).then(|| {
            (
                keys::denom_trace(&trace_hash(&coin.denom.to_string())),
                denom_trace_of(&coin.denom),
            )
        });
        self.with(|c| {
            if let Some((key, trace)) = trace {
                if c.get(&key)?.is_none() {
                    c.put(key, trace.encode_to_vec())?;
                }
            }
            bank::mint(c, account, &denom, n)
        })
    }

    fn burn_coins_execute(
        &mut self,
        account: &Address,
        coin: &PrefixedCoin,
        _memo: &Memo,
    ) -> Result<(), HostError> {
        let denom = bank_denom(&coin.denom);
        let n = amount(coin)?;
        self.with(|c| bank::burn(c, account, &denom, n))
    }
}

/// `Module` channel callbacks that take only the port and channel: each
/// `validate, execute` pair calls ibc-app-transfer's functions of the same
/// names and maps their errors with [`app_err`].
macro_rules! channel_callbacks {
    ($($validate:ident, $execute:ident;)*) => {$(
        fn $validate(&self, port_id: &PortId, channel_id: &ChannelId) -> Result<(), ChannelError> {
            cb::$validate(self, port_id, channel_id).map_err(app_err)
        }

        fn $execute(
            &mut self,
            port_id: &PortId,
            channel_id: &ChannelId,
        ) -> Result<ModuleExtras, ChannelError> {
            cb::$execute(self, port_id, channel_id).map_err(app_err)
        }
    )*};
}

impl Module for Transfer {
    fn on_chan_open_init_validate(
        &self,
        order: Order,
        connection_hops: &[ConnectionId],
        port_id: &PortId,
        channel_id: &ChannelId,
        counterparty: &Counterparty,
        version: &Version,
    ) -> Result<Version, ChannelError> {
        cb::on_chan_open_init_validate(
            self,
            order,
            connection_hops,
            port_id,
            channel_id,
            counterparty,
            version,
        )
        .map_err(app_err)?;
        Ok(Version::new(VERSION.to_string()))
    }

    fn on_chan_open_init_execute(
        &mut self,
        order: Order,
        connection_hops: &[ConnectionId],
        port_id: &PortId,
        channel_id: &ChannelId,
        counterparty: &Counterparty,
        version: &Version,
    ) -> Result<(ModuleExtras, Version), ChannelError> {
        cb::on_chan_open_init_execute(
            self,
            order,
            connection_hops,
            port_id,
            channel_id,
            counterparty,
            version,
        )
        .map_err(app_err)
    }

    fn on_chan_open_try_validate(
        &self,
        order: Order,
        connection_hops: &[ConnectionId],
        port_id: &PortId,
        channel_id: &ChannelId,
        counterparty: &Counterparty,
        counterparty_version: &Version,
    ) -> Result<Version, ChannelError> {
        cb::on_chan_open_try_validate(
            self,
            order,
            connection_hops,
            port_id,
            channel_id,
            counterparty,
            counterparty_version,
        )
        .map_err(app_err)?;
        Ok(Version::new(VERSION.to_string()))
    }

    fn on_chan_open_try_execute(
        &mut self,
        order: Order,
        connection_hops: &[ConnectionId],
        port_id: &PortId,
        channel_id: &ChannelId,
        counterparty: &Counterparty,
        counterparty_version: &Version,
    ) -> Result<(ModuleExtras, Version), ChannelError> {
        cb::on_chan_open_try_execute(
            self,
            order,
            connection_hops,
            port_id,
            channel_id,
            counterparty,
            counterparty_version,
        )
        .map_err(app_err)
    }

    fn on_chan_open_ack_validate(
        &self,
        port_id: &PortId,
        channel_id: &ChannelId,
        counterparty_version: &Version,
    ) -> Result<(), ChannelError> {
        cb::on_chan_open_ack_validate(self, port_id, channel_id, counterparty_version).map_err(app_err)
    }

    fn on_chan_open_ack_execute(
        &mut self,
        port_id: &PortId,
        channel_id: &ChannelId,
        counterparty_version: &Version,
    ) -> Result<ModuleExtras, ChannelError> {
        cb::on_chan_open_ack_execute(self, port_id, channel_id, counterparty_version).map_err(app_err)
    }

    channel_callbacks! {
        on_chan_open_confirm_validate, on_chan_open_confirm_execute;
        on_chan_close_init_validate, on_chan_close_init_execute;
        on_chan_close_confirm_validate, on_chan_close_confirm_execute;
    }

    fn on_recv_packet_execute(
        &mut self,
        packet: &Packet,
        _relayer: &Signer,
    ) -> (ModuleExtras, Option<Acknowledgement>) {
        self.shared.borrow_mut().begin_nested();
        let (extras, ack) = cb::on_recv_packet_execute(self, packet);
        let ok =
            serde_json::from_slice::<AcknowledgementStatus>(ack.as_ref()).is_ok_and(|a| a.is_successful());
        if ok {
            self.fees_received(packet);
        }
        self.shared.borrow_mut().end_nested(ok);
        let ack = if ok { ack } else { escaped_error_ack(&ack) };
        (extras, Some(ack))
    }

    fn on_acknowledgement_packet_validate(
        &self,
        packet: &Packet,
        acknowledgement: &Acknowledgement,
        relayer: &Signer,
    ) -> Result<(), ChannelError> {
        cb::on_acknowledgement_packet_validate(self, packet, acknowledgement, relayer).map_err(app_err)
    }

    fn on_acknowledgement_packet_execute(
        &mut self,
        packet: &Packet,
        acknowledgement: &Acknowledgement,
        relayer: &Signer,
    ) -> (ModuleExtras, Result<(), ChannelError>) {
        let (extras, r) = cb::on_acknowledgement_packet_execute(self, packet, acknowledgement, relayer);
        if r.is_ok() {
            let delivered = serde_json::from_slice::<AcknowledgementStatus>(acknowledgement.as_ref())
                .is_ok_and(|a| a.is_successful());
            self.fees_outcome(packet, delivered);
        }
        (extras, r.map_err(app_err))
    }

    fn on_timeout_packet_validate(&self, packet: &Packet, relayer: &Signer) -> Result<(), ChannelError> {
        cb::on_timeout_packet_validate(self, packet, relayer).map_err(app_err)
    }

    fn on_timeout_packet_execute(
        &mut self,
        packet: &Packet,
        relayer: &Signer,
    ) -> (ModuleExtras, Result<(), ChannelError>) {
        let (extras, r) = cb::on_timeout_packet_execute(self, packet, relayer);
        if r.is_ok() {
            self.fees_outcome(packet, false);
        }
        (extras, r.map_err(app_err))
    }
}

/// ibc-rs writes an ICS-20 error ack as `{"error":"<text>"}` without
/// escaping the text, and its texts quote addresses and denoms: the bytes
/// are then not JSON, ibc-go cannot unmarshal them ("cannot unmarshal ICS-20
/// transfer packet acknowledgement"), and the packet can never be
/// acknowledged or refunded. Re-encodes the same text as proper JSON (the
/// same bytes when there was nothing to escape).
pub fn escaped_error_ack(ack: &Acknowledgement) -> Acknowledgement {
    let raw = String::from_utf8_lossy(ack.as_ref());
    let text = raw
        .strip_prefix(r#"{"error":""#)
        .and_then(|r| r.strip_suffix(r#""}"#))
        .unwrap_or(&raw);
    let bytes = serde_json::to_vec(&serde_json::json!({ "error": text })).expect("a JSON string encodes");
    Acknowledgement::try_from(bytes).expect("an error ack is never empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_acks_are_json_ibc_go_can_read() {
        let broken =
            Acknowledgement::try_from(br#"{"error":"invalid receiver "chimera1qy": bad checksum"}"#.to_vec())
                .unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(broken.as_ref()).is_err());
        let fixed = escaped_error_ack(&broken);
        let v: serde_json::Value = serde_json::from_slice(fixed.as_ref()).unwrap();
        assert_eq!(v["error"], r#"invalid receiver "chimera1qy": bad checksum"#);
        let plain = Acknowledgement::try_from(br#"{"error":"no funds"}"#.to_vec()).unwrap();
        assert_eq!(
            escaped_error_ack(&plain).as_ref(),
            plain.as_ref(),
            "nothing to escape, same bytes"
        );
    }

    #[test]
    fn escrow_address_matches_the_sdk() {
        // `gaiad query ibc-transfer escrow-address transfer channel-141`,
        // as ibc-rs's own test vector.
        let a = escrow_address("transfer", "channel-141");
        assert_eq!(
            Address::encode_with("cosmos", a.as_bytes()),
            "cosmos1x54ltnyg88k0ejmk8ytwrhd3ltm84xehrnlslf"
        );
    }

    #[test]
    fn voucher_denoms_hash_the_full_trace() {
        // The well-known ATOM voucher on Osmosis: transfer/channel-0/uatom.
        let d: PrefixedDenom = "transfer/channel-0/uatom".parse().unwrap();
        assert_eq!(
            bank_denom(&d),
            "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2"
        );
        assert_eq!(full_path(&denom_trace_of(&d)), "transfer/channel-0/uatom");
        let native: PrefixedDenom = "uchim".parse().unwrap();
        assert_eq!(bank_denom(&native), "uchim");
    }
}
