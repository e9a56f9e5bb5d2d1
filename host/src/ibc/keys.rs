//! Where IBC state lives and in which bytes.
//!
//! Every value a counterparty verifies sits under its ICS-24 path, used
//! verbatim as the JMT key (the commitment prefix `ibc` is the app-hash
//! layer, not part of the key), with exactly the bytes ibc-go v7 writes:
//!
//! | path | value |
//! |---|---|
//! | `clients/{id}/clientState` | `Any(/ibc.lightclients.tendermint.v1.ClientState)` |
//! | `clients/{id}/consensusStates/{rev}-{h}` | `Any(/ibc.lightclients.tendermint.v1.ConsensusState)` |
//! | `connections/{id}` | `ibc.core.connection.v1.ConnectionEnd` |
//! | `clients/{id}/connections` | `ibc.core.connection.v1.ClientPaths` |
//! | `channelEnds/ports/{p}/channels/{c}` | `ibc.core.channel.v1.Channel` |
//! | `nextSequence{Send,Recv,Ack}/ports/{p}/channels/{c}` | u64 big-endian |
//! | `commitments/ports/{p}/channels/{c}/sequences/{n}` | the 32-byte packet commitment |
//! | `receipts/ports/{p}/channels/{c}/sequences/{n}` | `0x01` |
//! | `acks/ports/{p}/channels/{c}/sequences/{n}` | the 32-byte ack commitment |
//!
//! Bookkeeping that ibc-go keeps in the same store, under ibc-go's own keys
//! (nobody proves them, but matching them keeps exported state familiar):
//! `nextClientSequence`, `nextConnectionSequence`, `nextChannelSequence`
//! (u64 big-endian), and per client `…/consensusStates/{h}/processedTime`
//! (u64 big-endian nanoseconds), `…/processedHeight` (`"{rev}-{h}"`) and
//! `clients/{id}/iterateConsensusStates‖rev‖h` (16 bytes big-endian; value
//! the consensus-state key), which orders consensus states by height.
//!
//! Chimera's own: `ibcmeta/hostConsensusState/‖h` (8 bytes big-endian; the
//! host's consensus state at height `h`, see [`super::host`]) and
//! `transfer/denomTrace/{HASH}` (`ibc.applications.transfer.v1.DenomTrace`
//! of voucher `ibc/{HASH}`).

use ::ibc::core::client::types::Height;
use ::ibc::core::host::types::identifiers::{ChannelId, ClientId, PortId, Sequence};

/// ibc-go's client counter key.
pub const NEXT_CLIENT_SEQUENCE: &[u8] = b"nextClientSequence";
/// ibc-go's connection counter key.
pub const NEXT_CONNECTION_SEQUENCE: &[u8] = b"nextConnectionSequence";
/// ibc-go's channel counter key.
pub const NEXT_CHANNEL_SEQUENCE: &[u8] = b"nextChannelSequence";

/// The data hash of the block being executed (one key, rewritten each
/// block; see `host::header_hashes`).
pub const BLOCK_DATA_HASH: &[u8] = b"ibcmeta/blockDataHash";

/// Prefix of the host's own consensus states, by height.
pub const HOST_CONSENSUS_PREFIX: &[u8] = b"ibcmeta/hostConsensusState/";

/// Prefix of ICS-20 denom traces, by upper-case hex hash.
pub const DENOM_TRACE_PREFIX: &[u8] = b"transfer/denomTrace/";

/// The receipt value ibc-go writes (`[]byte{byte(1)}`).
pub const RECEIPT_OK: &[u8] = &[1];

/// `u64` as ibc-go's `sdk.Uint64ToBigEndian`.
pub fn u64_be(n: u64) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}

/// Reads a big-endian `u64` written by [`u64_be`].
pub fn read_u64_be(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

/// The host consensus state key of height `h`.
pub fn host_consensus_state(h: u64) -> Vec<u8> {
    let mut k = HOST_CONSENSUS_PREFIX.to_vec();
    k.extend_from_slice(&h.to_be_bytes());
    k
}

/// `clients/{id}/` : everything of one client.
pub fn client_prefix(id: &ClientId) -> String {
    format!("clients/{id}/")
}

/// ibc-go's `IterationKey`: `clients/{id}/iterateConsensusStates‖rev‖h`.
pub fn iteration_key(id: &ClientId, h: &Height) -> Vec<u8> {
    let mut k = iteration_prefix(id);
    k.extend_from_slice(&h.revision_number().to_be_bytes());
    k.extend_from_slice(&h.revision_height().to_be_bytes());
    k
}

/// The prefix of [`iteration_key`]s of one client.
pub fn iteration_prefix(id: &ClientId) -> Vec<u8> {
    format!("clients/{id}/iterateConsensusStates").into_bytes()
}

/// The height of an [`iteration_key`] under `prefix`.
pub fn height_of_iteration_key(prefix: &[u8], key: &[u8]) -> Option<Height> {
    let rest = key.strip_prefix(prefix)?;
    if rest.len() != 16 {
        return None;
    }
    let rev = read_u64_be(&rest[..8])?;
    let h = read_u64_be(&rest[8..])?;
    Height::new(rev, h).ok()
}

/// The `…/sequences/` prefix of packet commitments (`commitments`), acks
/// (`acks`) or receipts (`receipts`) of one channel.
pub fn packet_prefix(kind: &str, port: &PortId, channel: &ChannelId) -> Vec<u8> {
    format!("{kind}/ports/{port}/channels/{channel}/sequences/").into_bytes()
}

/// The sequence at the end of a packet key under `prefix`.
pub fn sequence_of(prefix: &[u8], key: &[u8]) -> Option<Sequence> {
    let rest = std::str::from_utf8(key.strip_prefix(prefix)?).ok()?;
    rest.parse::<u64>().ok().map(Sequence::from)
}

/// Prefix of every channel end.
pub const CHANNEL_ENDS_PREFIX: &[u8] = b"channelEnds/ports/";

/// Prefix of every connection end.
pub const CONNECTIONS_PREFIX: &[u8] = b"connections/";

/// The denom trace key of a voucher hash (upper-case hex, no `ibc/`).
pub fn denom_trace(hash: &str) -> Vec<u8> {
    let mut k = DENOM_TRACE_PREFIX.to_vec();
    k.extend_from_slice(hash.as_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_keys_order_by_height() {
        let id = ClientId::new("07-tendermint", 0).unwrap();
        let a = iteration_key(&id, &Height::new(1, 9).unwrap());
        let b = iteration_key(&id, &Height::new(1, 10).unwrap());
        let c = iteration_key(&id, &Height::new(2, 1).unwrap());
        assert!(a < b && b < c);
        let p = iteration_prefix(&id);
        assert_eq!(p, b"clients/07-tendermint-0/iterateConsensusStates");
        assert_eq!(height_of_iteration_key(&p, &b), Some(Height::new(1, 10).unwrap()));
    }

    #[test]
    fn packet_keys_are_ics24_paths() {
        let port = PortId::transfer();
        let chan = ChannelId::new(3);
        let p = packet_prefix("commitments", &port, &chan);
        let path = ::ibc::core::host::types::path::CommitmentPath::new(&port, &chan, Sequence::from(12));
        assert_eq!(
            path.to_string(),
            "commitments/ports/transfer/channels/channel-3/sequences/12"
        );
        assert!(path.to_string().as_bytes().starts_with(&p));
        assert_eq!(
            sequence_of(&p, path.to_string().as_bytes()),
            Some(Sequence::from(12))
        );
    }
}
