//! IBC events out of a block's results: the packets a chain sent, the
//! acknowledgements it wrote (including the asynchronous ones chimerad writes
//! from FinalizeBlock, blocks after the packet arrived), and the channel
//! handshake steps a counterparty must answer.

use ibc_proto::ibc::core::channel::v1::Packet;
use ibc_proto::ibc::core::client::v1::Height;
use tendermint::abci::Event;

/// One IBC event the relayer acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum IbcEvent {
    /// `send_packet`: a packet to deliver to the counterparty.
    SendPacket(Packet),
    /// `write_acknowledgement`: the packet (sent by the counterparty) and
    /// the acknowledgement to carry back.
    WriteAck(Packet, Vec<u8>),
    /// A channel handshake step on this chain that the counterparty must
    /// answer.
    Channel(ChannelStep),
    /// `update_client`: a client on this chain moved; the header it took
    /// (an `Any` of a 07-tendermint `Header`) is checked against the
    /// tracked chain for misbehaviour.
    ClientUpdated {
        /// The client on this chain.
        client_id: String,
        /// The header bytes (`Any`).
        header: Vec<u8>,
    },
}

/// What kind of channel event happened, on this chain's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelStepKind {
    /// `channel_open_init`: the counterparty must answer with OpenTry.
    OpenInit,
    /// `channel_open_try`: the counterparty must answer with OpenAck.
    OpenTry,
    /// `channel_open_ack`: the counterparty must answer with OpenConfirm.
    OpenAck,
    /// `channel_close_init`: the counterparty must answer with CloseConfirm.
    CloseInit,
}

/// A channel handshake event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStep {
    /// Which step.
    pub kind: ChannelStepKind,
    /// Port on this chain.
    pub port: String,
    /// Channel on this chain.
    pub channel: String,
    /// Counterparty port.
    pub counterparty_port: String,
    /// Counterparty channel (empty after OpenInit).
    pub counterparty_channel: String,
    /// Connection on this chain.
    pub connection: String,
}

fn attr<'a>(e: &'a Event, key: &str) -> Option<&'a str> {
    e.attributes
        .iter()
        .find(|a| a.key_bytes() == key.as_bytes())
        .and_then(|a| a.value_str().ok())
}

/// `"1-100"` → Height (ibc-go's event format); `"0-0"` is no timeout.
pub fn parse_height(s: &str) -> Option<Height> {
    let (r, h) = s.split_once('-')?;
    Some(Height {
        revision_number: r.parse().ok()?,
        revision_height: h.parse().ok()?,
    })
}

fn packet(e: &Event) -> Option<Packet> {
    let data = match attr(e, "packet_data_hex") {
        Some(h) => hex::decode(h).ok()?,
        None => attr(e, "packet_data")?.as_bytes().to_vec(),
    };
    Some(Packet {
        sequence: attr(e, "packet_sequence")?.parse().ok()?,
        source_port: attr(e, "packet_src_port")?.into(),
        source_channel: attr(e, "packet_src_channel")?.into(),
        destination_port: attr(e, "packet_dst_port")?.into(),
        destination_channel: attr(e, "packet_dst_channel")?.into(),
        data,
        timeout_height: Some(parse_height(attr(e, "packet_timeout_height").unwrap_or("0-0"))?),
        timeout_timestamp: attr(e, "packet_timeout_timestamp").unwrap_or("0").parse().ok()?,
    })
}

/// The IBC events in `events`; malformed ones are skipped and counted in
/// the second value (a counterparty returning garbage must not stop the
/// relayer).
pub fn parse(events: &[Event]) -> (Vec<IbcEvent>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for e in events {
        let parsed = match e.kind.as_str() {
            "send_packet" => Some(packet(e).map(IbcEvent::SendPacket)),
            "write_acknowledgement" => Some(packet(e).and_then(|p| {
                let ack = match attr(e, "packet_ack_hex") {
                    Some(h) => hex::decode(h).ok()?,
                    None => attr(e, "packet_ack")?.as_bytes().to_vec(),
                };
                Some(IbcEvent::WriteAck(p, ack))
            })),
            "channel_open_init" => Some(channel_step(e, ChannelStepKind::OpenInit)),
            "channel_open_try" => Some(channel_step(e, ChannelStepKind::OpenTry)),
            "channel_open_ack" => Some(channel_step(e, ChannelStepKind::OpenAck)),
            // An ordered channel closed by a timeout (`channel_close` in
            // ibc-go v7, `channel_closed` later): the counterparty confirms
            // the close as after a CloseInit.
            "channel_close_init" | "channel_close" | "channel_closed" => {
                Some(channel_step(e, ChannelStepKind::CloseInit))
            }
            "update_client" => Some(client_updated(e)),
            _ => None,
        };
        match parsed {
            Some(Some(ev)) => out.push(ev),
            Some(None) => bad += 1,
            None => {}
        }
    }
    (out, bad)
}

fn client_updated(e: &Event) -> Option<IbcEvent> {
    Some(IbcEvent::ClientUpdated {
        client_id: attr(e, "client_id")?.into(),
        header: hex::decode(attr(e, "header")?).ok()?,
    })
}

fn channel_step(e: &Event, kind: ChannelStepKind) -> Option<IbcEvent> {
    Some(IbcEvent::Channel(ChannelStep {
        kind,
        port: attr(e, "port_id")?.into(),
        channel: attr(e, "channel_id")?.into(),
        counterparty_port: attr(e, "counterparty_port_id")?.into(),
        counterparty_channel: attr(e, "counterparty_channel_id").unwrap_or("").into(),
        connection: attr(e, "connection_id")?.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, attrs: &[(&str, &str)]) -> Event {
        Event::new(kind, attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn send_packet_and_async_ack_parse() {
        let attrs = [
            ("packet_data_hex", "7b7d"),
            ("packet_timeout_height", "1-500"),
            ("packet_timeout_timestamp", "0"),
            ("packet_sequence", "7"),
            ("packet_src_port", "inference"),
            ("packet_src_channel", "channel-0"),
            ("packet_dst_port", "inference"),
            ("packet_dst_channel", "channel-3"),
        ];
        let mut ack_attrs = attrs.to_vec();
        ack_attrs.push(("packet_ack_hex", "0102"));
        let (got, bad) = parse(&[
            ev("send_packet", &attrs),
            ev("message", &[("action", "x")]),
            ev("write_acknowledgement", &ack_attrs),
            ev("send_packet", &[("packet_sequence", "x")]),
        ]);
        assert_eq!(bad, 1);
        assert_eq!(got.len(), 2);
        let IbcEvent::SendPacket(p) = &got[0] else {
            panic!()
        };
        assert_eq!(p.sequence, 7);
        assert_eq!(p.data, b"{}");
        assert_eq!(p.timeout_height.unwrap().revision_height, 500);
        assert!(matches!(&got[1], IbcEvent::WriteAck(_, a) if a == &[1, 2]));
    }

    #[test]
    fn update_client_carries_its_header() {
        let (got, bad) = parse(&[
            ev(
                "update_client",
                &[("client_id", "07-tendermint-0"), ("header", "0a01ff")],
            ),
            ev(
                "update_client",
                &[("client_id", "07-tendermint-0"), ("header", "zz")],
            ),
        ]);
        assert_eq!(bad, 1);
        assert_eq!(
            got,
            vec![IbcEvent::ClientUpdated {
                client_id: "07-tendermint-0".into(),
                header: vec![0x0a, 0x01, 0xff],
            }]
        );
    }

    #[test]
    fn channel_open_init_parses() {
        let (got, _) = parse(&[ev(
            "channel_open_init",
            &[
                ("port_id", "icacontroller-terra1x"),
                ("channel_id", "channel-4"),
                ("counterparty_port_id", "icahost"),
                ("connection_id", "connection-0"),
            ],
        )]);
        let IbcEvent::Channel(s) = &got[0] else { panic!() };
        assert_eq!(s.kind, ChannelStepKind::OpenInit);
        assert_eq!(s.counterparty_channel, "");
    }
}
