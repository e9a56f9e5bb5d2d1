//! The ICS-27 host as ibc-rs sees it: one [`Module`] on port `icahost`.
//! Handshake rules live in [`super::channel`], packet execution in
//! [`super::execute`]; this file adapts them to ibc-rs's callbacks over the
//! IBC message's shared state.

use ::ibc::core::channel::types::acknowledgement::Acknowledgement as IbcAck;
use ::ibc::core::channel::types::channel::{Counterparty, Order};
use ::ibc::core::channel::types::error::ChannelError;
use ::ibc::core::channel::types::packet::Packet;
use ::ibc::core::channel::types::Version;
use ::ibc::core::host::types::identifiers::{ChannelId, ConnectionId, PortId};
use ::ibc::core::router::module::Module;
use ::ibc::core::router::types::module::ModuleExtras;
use ::ibc::primitives::Signer;

use super::channel::{self, Checked};
use super::execute::{self, Received, Refusal};
use crate::ibc::context::SharedRef;

/// ibc-rs's module id of the ICS-27 host.
pub const MODULE_ID: &str = "icahost";

/// The ICS-27 host over one IBC message's shared state.
pub struct IcaHostModule {
    shared: SharedRef,
}

impl std::fmt::Debug for IcaHostModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IcaHostModule")
    }
}

impl IcaHostModule {
    pub fn new(shared: SharedRef) -> IcaHostModule {
        IcaHostModule { shared }
    }

    fn open_try(
        &self,
        order: Order,
        connection_hops: &[ConnectionId],
        port_id: &PortId,
        counterparty: &Counterparty,
        version: &Version,
        execute: bool,
    ) -> Result<Version, ChannelError> {
        settle(self.shared.borrow_mut().with_ctx(|ctx| {
            channel::open_try(
                ctx,
                order,
                connection_hops,
                port_id,
                counterparty,
                version,
                execute,
            )
        }))
    }

    fn open_confirm(
        &self,
        port_id: &PortId,
        channel_id: &ChannelId,
        execute: bool,
    ) -> Result<(), ChannelError> {
        settle(
            self.shared
                .borrow_mut()
                .with_ctx(|ctx| channel::open_confirm(ctx, port_id, channel_id, execute)),
        )
    }
}

/// A handshake step's answer for ibc-rs: a fault (already remembered by
/// the shared state, which fails the tx) becomes an app error too.
fn settle<T>(r: Checked<T>) -> Result<T, ChannelError> {
    r.unwrap_or_else(|e| Err(channel::refuse(e.to_string())))
}

impl Module for IcaHostModule {
    fn on_chan_open_init_validate(
        &self,
        _order: Order,
        _connection_hops: &[ConnectionId],
        _port_id: &PortId,
        _channel_id: &ChannelId,
        _counterparty: &Counterparty,
        _version: &Version,
    ) -> Result<Version, ChannelError> {
        Err(channel::refuse_host_initiated())
    }

    fn on_chan_open_init_execute(
        &mut self,
        _order: Order,
        _connection_hops: &[ConnectionId],
        _port_id: &PortId,
        _channel_id: &ChannelId,
        _counterparty: &Counterparty,
        _version: &Version,
    ) -> Result<(ModuleExtras, Version), ChannelError> {
        Err(channel::refuse_host_initiated())
    }

    fn on_chan_open_try_validate(
        &self,
        order: Order,
        connection_hops: &[ConnectionId],
        port_id: &PortId,
        _channel_id: &ChannelId,
        counterparty: &Counterparty,
        counterparty_version: &Version,
    ) -> Result<Version, ChannelError> {
        self.open_try(
            order,
            connection_hops,
            port_id,
            counterparty,
            counterparty_version,
            false,
        )
    }

    fn on_chan_open_try_execute(
        &mut self,
        order: Order,
        connection_hops: &[ConnectionId],
        port_id: &PortId,
        _channel_id: &ChannelId,
        counterparty: &Counterparty,
        counterparty_version: &Version,
    ) -> Result<(ModuleExtras, Version), ChannelError> {
        let v = self.open_try(
            order,
            connection_hops,
            port_id,
            counterparty,
            counterparty_version,
            true,
        )?;
        Ok((ModuleExtras::empty(), v))
    }

    fn on_chan_open_ack_validate(
        &self,
        _port_id: &PortId,
        _channel_id: &ChannelId,
        _counterparty_version: &Version,
    ) -> Result<(), ChannelError> {
        Err(channel::refuse_host_initiated())
    }

    fn on_chan_open_confirm_validate(
        &self,
        port_id: &PortId,
        channel_id: &ChannelId,
    ) -> Result<(), ChannelError> {
        self.open_confirm(port_id, channel_id, false)
    }

    fn on_chan_open_confirm_execute(
        &mut self,
        port_id: &PortId,
        channel_id: &ChannelId,
    ) -> Result<ModuleExtras, ChannelError> {
        self.open_confirm(port_id, channel_id, true)?;
        Ok(ModuleExtras::empty())
    }

    fn on_chan_close_init_validate(
        &self,
        _port_id: &PortId,
        _channel_id: &ChannelId,
    ) -> Result<(), ChannelError> {
        Err(channel::refuse_close())
    }

    fn on_recv_packet_execute(
        &mut self,
        packet: &Packet,
        _relayer: &Signer,
    ) -> (ModuleExtras, Option<IbcAck>) {
        let mut shared = self.shared.borrow_mut();
        let chain_id = shared.chain_id.clone();
        shared.begin_nested();
        let mut events = Vec::new();
        let r = shared.with_ctx(|ctx| execute::receive(ctx, &chain_id, packet, &mut events));
        let outcome = match r {
            Ok(Ok(received)) => Ok(received),
            Ok(Err(refusal)) => Err(refusal),
            // The fault is in `shared.fault` and fails the relayer's tx;
            // this ack is never committed.
            Err(e) => Err(Refusal {
                code: e.code(),
                text: e.to_string(),
            }),
        };
        shared.end_nested(outcome.is_ok());
        let ack = match outcome {
            Ok(Received::Done(ack)) => {
                shared.events.extend(events);
                Some(ack)
            }
            Ok(Received::Waiting(_)) => {
                shared.events.extend(events);
                None
            }
            Err(refusal) => {
                // The messages' events go with their writes.
                let host_channel = packet.chan_id_on_b.to_string();
                shared
                    .events
                    .push(execute::ack_event(&host_channel, Some(&refusal)));
                Some(refusal.ack())
            }
        };
        let ack = ack.map(|a| IbcAck::try_from(a).expect("an ICS-27 ack is never empty"));
        (ModuleExtras::empty(), ack)
    }

    fn on_acknowledgement_packet_validate(
        &self,
        _packet: &Packet,
        _acknowledgement: &IbcAck,
        _relayer: &Signer,
    ) -> Result<(), ChannelError> {
        Err(channel::refuse(
            "invalid message sent to channel end: cannot receive acknowledgement on a host channel end, a host chain does not send a packet over the channel",
        ))
    }

    fn on_acknowledgement_packet_execute(
        &mut self,
        _packet: &Packet,
        _acknowledgement: &IbcAck,
        _relayer: &Signer,
    ) -> (ModuleExtras, Result<(), ChannelError>) {
        (
            ModuleExtras::empty(),
            Err(channel::refuse("a host chain does not send packets")),
        )
    }

    fn on_timeout_packet_validate(&self, _packet: &Packet, _relayer: &Signer) -> Result<(), ChannelError> {
        Err(channel::refuse(
            "invalid message sent to channel end: cannot cause a packet timeout on a host channel end, a host chain does not send a packet over the channel",
        ))
    }

    fn on_timeout_packet_execute(
        &mut self,
        _packet: &Packet,
        _relayer: &Signer,
    ) -> (ModuleExtras, Result<(), ChannelError>) {
        (
            ModuleExtras::empty(),
            Err(channel::refuse("a host chain does not send packets")),
        )
    }
}
