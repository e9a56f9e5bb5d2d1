//! The `inference` IBC application as ibc-rs sees it: one [`Module`] on port
//! `inference` that is both the host side (receive a request, record a job,
//! acknowledge later) and the requester side (settle a sent request on its
//! acknowledgement or timeout).

use ::ibc::core::channel::types::acknowledgement::Acknowledgement as IbcAck;
use ::ibc::core::channel::types::channel::{Counterparty, Order};
use ::ibc::core::channel::types::error::ChannelError;
use ::ibc::core::channel::types::packet::Packet;
use ::ibc::core::channel::types::Version;
use ::ibc::core::host::types::identifiers::{ChannelId, ConnectionId, PortId};
use ::ibc::core::router::module::Module;
use ::ibc::core::router::types::module::ModuleExtras;
use ::ibc::primitives::Signer;
use chimera_packets::{AckError, Acknowledgement, InferencePacketData};
use ibc_proto::ibc::core::channel::v1::Packet as RawPacket;
use prost::Message;

use super::jobs::{self, Origin};
use super::params::InferenceParams;
use super::{channel, requester};
use crate::chain::error::TxError;
use crate::chain::params::StateParams;
use crate::ibc::context::SharedRef;

/// ibc-rs's module id of the app.
pub const MODULE_ID: &str = "inference";

/// The app over one IBC message's shared state.
pub struct InferenceModule {
    shared: SharedRef,
}

impl std::fmt::Debug for InferenceModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InferenceModule")
    }
}

fn host_err(e: TxError) -> ChannelError {
    ChannelError::AppSpecific {
        description: e.to_string(),
    }
}

impl InferenceModule {
    pub fn new(shared: SharedRef) -> InferenceModule {
        InferenceModule { shared }
    }

    /// The host side of a received packet: `None` when a job was recorded
    /// (the ack comes with the quorum), an error ack otherwise. A gas or
    /// storage fault is remembered by the shared state and ends the tx.
    fn receive(&self, packet: &Packet) -> Option<AckError> {
        let mut shared = self.shared.borrow_mut();
        let mut events = Vec::new();
        let r = shared.with_ctx(|ctx| {
            let params = InferenceParams::load(ctx.state)?;
            let data = match InferencePacketData::decode_and_validate(&packet.data, &params.limits()) {
                Ok(d) => d,
                Err(e) => return Ok(Err(AckError::from(&e))),
            };
            let origin = Origin::Packet {
                port: packet.port_id_on_b.to_string(),
                channel: packet.chan_id_on_b.to_string(),
                sequence: packet.seq_on_a.value(),
                packet: RawPacket::from(packet.clone()).encode_to_vec(),
            };
            jobs::admit(ctx, &params, &data, origin, &mut events)
        });
        shared.events.extend(events);
        match r {
            Ok(Ok(_job)) => None,
            Ok(Err(refusal)) => Some(refusal),
            // The fault is in `shared.fault` and fails the whole tx; the
            // ack written here is never committed.
            Err(e) => Some(AckError::new(
                chimera_packets::ErrorCode::InvalidPacket,
                e.to_string(),
            )),
        }
    }

    fn settle(&self, packet: &Packet, ack: Option<&[u8]>) -> Result<(), ChannelError> {
        let mut shared = self.shared.borrow_mut();
        let mut events = Vec::new();
        let channel = packet.chan_id_on_a.to_string();
        let seq = packet.seq_on_a.value();
        let r = shared.with_ctx(|ctx| match ack {
            Some(ack) => requester::on_ack(ctx, &channel, seq, ack, &mut events),
            None => requester::on_timeout(ctx, &channel, seq, &mut events),
        });
        shared.events.extend(events);
        r.map_err(host_err)
    }
}

/// The ibc-rs acknowledgement of a Chimera ack (never empty).
pub fn ibc_ack(ack: &Acknowledgement) -> IbcAck {
    IbcAck::try_from(ack.to_bytes()).expect("a Chimera acknowledgement is never empty")
}

impl Module for InferenceModule {
    fn on_chan_open_init_validate(
        &self,
        order: Order,
        _connection_hops: &[ConnectionId],
        _port_id: &PortId,
        _channel_id: &ChannelId,
        counterparty: &Counterparty,
        version: &Version,
    ) -> Result<Version, ChannelError> {
        channel::open_init(order, counterparty, version)
    }

    fn on_chan_open_init_execute(
        &mut self,
        order: Order,
        _connection_hops: &[ConnectionId],
        _port_id: &PortId,
        _channel_id: &ChannelId,
        counterparty: &Counterparty,
        version: &Version,
    ) -> Result<(ModuleExtras, Version), ChannelError> {
        Ok((
            ModuleExtras::empty(),
            channel::open_init(order, counterparty, version)?,
        ))
    }

    fn on_chan_open_try_validate(
        &self,
        order: Order,
        _connection_hops: &[ConnectionId],
        _port_id: &PortId,
        _channel_id: &ChannelId,
        counterparty: &Counterparty,
        counterparty_version: &Version,
    ) -> Result<Version, ChannelError> {
        channel::open_try(order, counterparty, counterparty_version)
    }

    fn on_chan_open_try_execute(
        &mut self,
        order: Order,
        _connection_hops: &[ConnectionId],
        _port_id: &PortId,
        _channel_id: &ChannelId,
        counterparty: &Counterparty,
        counterparty_version: &Version,
    ) -> Result<(ModuleExtras, Version), ChannelError> {
        Ok((
            ModuleExtras::empty(),
            channel::open_try(order, counterparty, counterparty_version)?,
        ))
    }

    fn on_chan_open_ack_validate(
        &self,
        _port_id: &PortId,
        _channel_id: &ChannelId,
        counterparty_version: &Version,
    ) -> Result<(), ChannelError> {
        channel::open_ack(counterparty_version)
    }

    fn on_chan_close_init_validate(
        &self,
        _port_id: &PortId,
        _channel_id: &ChannelId,
    ) -> Result<(), ChannelError> {
        channel::close_init()
    }

    fn on_recv_packet_execute(
        &mut self,
        packet: &Packet,
        _relayer: &Signer,
    ) -> (ModuleExtras, Option<IbcAck>) {
        self.shared.borrow_mut().begin_nested();
        let refusal = self.receive(packet);
        self.shared.borrow_mut().end_nested(refusal.is_none());
        let ack = refusal.map(|e| ibc_ack(&Acknowledgement::Error(e)));
        (ModuleExtras::empty(), ack)
    }

    fn on_acknowledgement_packet_validate(
        &self,
        _packet: &Packet,
        _acknowledgement: &IbcAck,
        _relayer: &Signer,
    ) -> Result<(), ChannelError> {
        Ok(())
    }

    fn on_acknowledgement_packet_execute(
        &mut self,
        packet: &Packet,
        acknowledgement: &IbcAck,
        _relayer: &Signer,
    ) -> (ModuleExtras, Result<(), ChannelError>) {
        (
            ModuleExtras::empty(),
            self.settle(packet, Some(acknowledgement.as_ref())),
        )
    }

    fn on_timeout_packet_validate(&self, _packet: &Packet, _relayer: &Signer) -> Result<(), ChannelError> {
        Ok(())
    }

    fn on_timeout_packet_execute(
        &mut self,
        packet: &Packet,
        _relayer: &Signer,
    ) -> (ModuleExtras, Result<(), ChannelError>) {
        (ModuleExtras::empty(), self.settle(packet, None))
    }
}
