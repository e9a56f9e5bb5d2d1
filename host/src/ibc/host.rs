//! The host chain as counterparties' light clients see it.
//!
//! A counterparty's 07-tendermint client of us stores, for each header `H`
//! it is updated with, `ConsensusState { timestamp: header time,
//! root: header app_hash, next_validators_hash }`. Header `H` carries the
//! app hash of block `H-1` (empty for `H = 1`, after InitChain's empty app
//! hash), its own time and the next validator set's hash, all of which
//! FinalizeBlock of `H` knows. [`begin_block`] records exactly that state
//! before the block's txs run, so connection handshakes can check what a
//! counterparty stored of us against `host_consensus_state(H)`. States older
//! than [`HOST_CONSENSUS_STATE_WINDOW`] blocks are pruned, the way the SDK
//! keeps `historical_entries` headers (and the number our staking Params
//! report to Hermes).

use ::ibc::clients::tendermint::consensus_state::ConsensusState as TmConsensusState;
use ::ibc::clients::tendermint::types::ConsensusState as TmConsensusStateType;
use ::ibc::core::commitment_types::specs::ProofSpecs;
use ::ibc::primitives::Timestamp;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::lightclients::tendermint::v1::ConsensusState as RawTmConsensusState;
use prost::Message;

use super::keys;
use crate::chain::error::TxError;
use crate::state::{Delta, Snapshot, StateError};

/// How many past heights keep their host consensus state (the SDK's
/// default `historical_entries`).
pub const HOST_CONSENSUS_STATE_WINDOW: u64 = 10_000;

/// Our proof specs in ibc-rs's type: what `validate_self_client` requires
/// counterparties' clients of us to hold ([`crate::state::proof_specs`]).
pub fn proof_specs() -> ProofSpecs {
    ProofSpecs::try_from(crate::state::proof_specs()).expect("the state's proof specs are valid ICS-23 specs")
}

/// The consensus state a counterparty's client of us stores for header
/// `height`: block time, the app hash committed by the previous block
/// (`prev_app_hash`; empty for height 1) and the next validators' hash.
pub fn host_consensus_state(
    time: tendermint::Time,
    prev_app_hash: &[u8],
    next_validators_hash: tendermint::Hash,
) -> TmConsensusState {
    TmConsensusState::from(TmConsensusStateType::new(
        prev_app_hash.to_vec().into(),
        time,
        next_validators_hash,
    ))
}

/// FinalizeBlock's IBC hook, before the block's txs: records the host's
/// consensus state of `height` and prunes the one that left the window.
/// Unmetered (no tx pays for it) and deterministic (a function of the
/// block header's fields alone).
pub fn begin_block(
    block: &mut Delta,
    height: u64,
    time: tendermint::Time,
    next_validators_hash: tendermint::Hash,
    prev_app_hash: &[u8],
    txs: &[impl AsRef<[u8]>],
) {
    let cs = host_consensus_state(time, prev_app_hash, next_validators_hash);
    block.put(keys::host_consensus_state(height), Any::from(cs).encode_to_vec());
    block.put(keys::BLOCK_DATA_HASH.to_vec(), data_hash(txs).to_vec());
    if height > HOST_CONSENSUS_STATE_WINDOW {
        block.delete(keys::host_consensus_state(height - HOST_CONSENSUS_STATE_WINDOW));
    }
}

/// The header's `data_hash` of a block with `txs`, as CometBFT computes
/// it (`types.Txs.Hash`): the RFC 6962 Merkle root of each tx's SHA-256.
/// FinalizeBlock is not given the header, so the app recomputes it.
pub fn data_hash(txs: &[impl AsRef<[u8]>]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let leaves: Vec<[u8; 32]> = txs.iter().map(|t| Sha256::digest(t.as_ref()).into()).collect();
    tendermint::merkle::simple_hash_from_byte_vectors::<tendermint::crypto::default::Sha256>(&leaves)
}

/// The app hash of the previous block and the data hash of the block
/// being executed (its header's `AppHash` and `DataHash`): the
/// unpredictable inputs ibc-go mixes into new interchain account
/// addresses. Empty when the block recorded none (CheckTx before block 1).
pub fn header_hashes(state: &Delta, height: u64) -> Result<(Vec<u8>, Vec<u8>), TxError> {
    let app_hash = match state.get(&keys::host_consensus_state(height))? {
        Some(b) => {
            let any = Any::decode(b.as_slice())
                .map_err(|e| TxError::Internal(format!("host consensus state at {height}: {e}")))?;
            RawTmConsensusState::decode(any.value.as_slice())
                .map_err(|e| TxError::Internal(format!("host consensus state at {height}: {e}")))?
                .root
                .map(|r| r.hash)
                .unwrap_or_default()
        }
        None => Vec::new(),
    };
    let data_hash = state.get(keys::BLOCK_DATA_HASH)?.unwrap_or_default();
    Ok((app_hash, data_hash))
}

/// The block time IBC sees at `height`: that block's, when FinalizeBlock
/// recorded it (delivering txs); else the last committed block's (CheckTx
/// and simulations run at the next height, whose header is not known yet,
/// and see the latest block time as the SDK's check state does). None
/// before the first block.
pub fn host_time(state: &Delta, height: u64) -> Result<Option<Timestamp>, TxError> {
    for h in [height, height.saturating_sub(1)] {
        if h == 0 {
            continue;
        }
        if let Some(b) = state.get(&keys::host_consensus_state(h))? {
            return decode_time(&b)
                .map(Some)
                .map_err(|e| TxError::Internal(format!("host consensus state at {h}: {e}")));
        }
    }
    Ok(None)
}

/// The block time of a committed version (what queries compare client
/// expiry against): None if that block recorded none.
pub fn block_time_committed(snap: &Snapshot) -> Result<Option<Timestamp>, StateError> {
    let Some(h) = snap.version() else {
        return Ok(None);
    };
    snap.get(&keys::host_consensus_state(h))?
        .map(|b| {
            decode_time(&b).map_err(|e| StateError::Corrupt(format!("host consensus state at {h}: {e}")))
        })
        .transpose()
}

/// The timestamp of a stored host consensus state (its raw protobuf, so an
/// empty root or hash, as in tests, still reads).
fn decode_time(b: &[u8]) -> Result<Timestamp, String> {
    let any = Any::decode(b).map_err(|e| e.to_string())?;
    let raw = RawTmConsensusState::decode(any.value.as_slice()).map_err(|e| e.to_string())?;
    let t = raw.timestamp.unwrap_or_default();
    u64::try_from(t.seconds)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .and_then(|s| s.checked_add(u64::try_from(t.nanos).ok()?))
        .map(Timestamp::from_nanoseconds)
        .ok_or_else(|| "block time is before 1970".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Storage, StorageOptions};

    fn t(secs: i64) -> tendermint::Time {
        tendermint::Time::from_unix_timestamp(secs, 7).unwrap()
    }

    #[test]
    fn records_the_header_consensus_state_and_prunes_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), StorageOptions::default()).unwrap();
        let mut d = Delta::new(storage.latest_snapshot());
        let nvh = tendermint::Hash::Sha256([3; 32]);
        begin_block(&mut d, 5, t(1_700_000_000), nvh, &[9; 32], &[b"tx".to_vec()]);
        let (app_hash, dh) = header_hashes(&d, 5).unwrap();
        assert_eq!(app_hash, vec![9; 32]);
        assert_eq!(dh, data_hash(&[b"tx".to_vec()]).to_vec());
        let any = Any::decode(d.get(&keys::host_consensus_state(5)).unwrap().unwrap().as_slice()).unwrap();
        assert_eq!(any.type_url, "/ibc.lightclients.tendermint.v1.ConsensusState");
        let cs = TmConsensusState::try_from(any).unwrap();
        let want = host_consensus_state(t(1_700_000_000), &[9; 32], nvh);
        assert_eq!(cs, want);
        assert_eq!(cs.inner().root.as_bytes(), &[9; 32]);
        // Delivering at 5 sees block 5's time; checking at 6 sees block 5's.
        let ns = 1_700_000_000 * 1_000_000_000 + 7;
        assert_eq!(host_time(&d, 5).unwrap().unwrap().nanoseconds(), ns);
        assert_eq!(host_time(&d, 6).unwrap().unwrap().nanoseconds(), ns);
        assert_eq!(host_time(&d, 8).unwrap(), None);

        let h = HOST_CONSENSUS_STATE_WINDOW + 5;
        begin_block(&mut d, h, t(1_700_000_100), nvh, &[1; 32], &[] as &[Vec<u8>]);
        assert!(
            d.get(&keys::host_consensus_state(5)).unwrap().is_none(),
            "not pruned"
        );
        assert!(d.get(&keys::host_consensus_state(h)).unwrap().is_some());
    }

    #[test]
    fn proof_specs_are_the_states() {
        let specs: Vec<ics23::ProofSpec> = proof_specs().into();
        assert_eq!(specs, crate::state::proof_specs());
    }

    /// What Hermes's `proof_specs` chain setting must hold for chimerad
    /// (docs/operators.md): the state's specs as ics23's pbjson.
    #[test]
    fn proof_specs_json_for_hermes() {
        let json = serde_json::to_string(&crate::state::proof_specs()).unwrap();
        assert_eq!(
            json,
            r#"[{"leafSpec":{"hash":"SHA256","prehashKey":"SHA256","prehashValue":"SHA256","prefix":"Sk1UOjpMZWFmTm9kZQ=="},"innerSpec":{"childOrder":[0,1],"childSize":32,"minPrefixLength":16,"maxPrefixLength":16,"emptyChild":"U1BBUlNFX01FUktMRV9QTEFDRUhPTERFUl9IQVNIX18=","hash":"SHA256"},"maxDepth":64,"prehashKeyBeforeComparison":true},{"leafSpec":{"hash":"SHA256","prefix":"Q2hpbWVyYUFwcEhhc2g="},"innerSpec":{"childOrder":[0,1],"childSize":32,"hash":"SHA256"},"maxDepth":1}]"#
        );
    }
}
