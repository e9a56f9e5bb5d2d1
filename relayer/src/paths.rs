//! The ICS-24 store paths the relayer proves (ibc-go's `host` package),
//! in one place so a proof and the message that carries it name the same
//! key.

/// `clients/{id}/clientState`.
pub fn client_state(client: &str) -> String {
    format!("clients/{client}/clientState")
}

/// `clients/{id}/consensusStates/{revision}-{height}`.
pub fn consensus_state(client: &str, revision: u64, height: u64) -> String {
    format!("clients/{client}/consensusStates/{revision}-{height}")
}

/// `connections/{id}`.
pub fn connection(id: &str) -> String {
    format!("connections/{id}")
}

/// `channelEnds/ports/{port}/channels/{channel}`.
pub fn channel_end(port: &str, channel: &str) -> String {
    format!("channelEnds/ports/{port}/channels/{channel}")
}

/// `commitments/ports/{port}/channels/{channel}/sequences/{seq}`.
pub fn commitment(port: &str, channel: &str, seq: u64) -> String {
    format!("commitments/ports/{port}/channels/{channel}/sequences/{seq}")
}

/// `acks/ports/{port}/channels/{channel}/sequences/{seq}`.
pub fn ack(port: &str, channel: &str, seq: u64) -> String {
    format!("acks/ports/{port}/channels/{channel}/sequences/{seq}")
}

/// `receipts/ports/{port}/channels/{channel}/sequences/{seq}`.
pub fn receipt(port: &str, channel: &str, seq: u64) -> String {
    format!("receipts/ports/{port}/channels/{channel}/sequences/{seq}")
}

/// `nextSequenceRecv/ports/{port}/channels/{channel}`.
pub fn next_sequence_recv(port: &str, channel: &str) -> String {
    format!("nextSequenceRecv/ports/{port}/channels/{channel}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_ibc_gos() {
        assert_eq!(
            super::commitment("transfer", "channel-0", 7),
            "commitments/ports/transfer/channels/channel-0/sequences/7"
        );
        assert_eq!(
            super::consensus_state("07-tendermint-0", 1, 42),
            "clients/07-tendermint-0/consensusStates/1-42"
        );
        assert_eq!(
            super::channel_end("icahost", "channel-3"),
            "channelEnds/ports/icahost/channels/channel-3"
        );
    }
}
