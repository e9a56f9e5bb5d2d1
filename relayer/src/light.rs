//! 07-tendermint client material built from a chain's RPC: the client and
//! consensus states a new client starts from, and the headers that update it.
//!
//! The relayer is not a light client itself: the counterparty's IBC client
//! verifies every header. It only has to assemble what that client checks
//! (ibc-go `tendermint.Header`): the signed header at the target height, its
//! validator set with the block's proposer, and the validators that the
//! trusted consensus state committed to (`next_validators_hash` of the
//! trusted height, i.e. the set at trusted height + 1).

use std::time::Duration;

use cosmrs::rpc::{Client, Paging};
use cosmrs::Any;
use ibc_proto::ibc::core::client::v1::Height;
use ibc_proto::ibc::core::commitment::v1::MerkleRoot;
use ibc_proto::ibc::lightclients::tendermint::v1 as tm;
use tendermint::block::Height as TmHeight;
use tendermint::validator::Set;

use crate::chain::{Chain, ChainResult};

/// `Any` of a protobuf message, with its registered type URL.
pub fn any<M: prost::Name>(m: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

/// An IBC height on `chain`.
pub fn height(chain: &Chain, h: u64) -> Height {
    Height {
        revision_number: chain.revision,
        revision_height: h,
    }
}

fn proto_duration(d: Duration) -> tendermint_proto::google::protobuf::Duration {
    tendermint_proto::google::protobuf::Duration {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

/// The client and consensus state of a new 07-tendermint client of `src`
/// at its latest height, as `MsgCreateClient` carries them. `host_drift`
/// is the clock drift of the chain that will hold the client.
pub async fn initial_states(src: &Chain, host_drift: Duration) -> anyhow::Result<(Any, Any, u64)> {
    let (latest, _) = src.latest().await?;
    let commit = src
        .rpc()
        .commit(TmHeight::try_from(latest)?)
        .await
        .map_err(|e| src.rpc_err("commit", crate::chain::rpc_error_text(&e)))?;
    let header = commit.signed_header.header;
    let specs = src
        .config
        .parsed_proof_specs()
        .map_err(|e| anyhow::anyhow!("{}: proof_specs: {e}", src.id()))?;
    let cs = tm::ClientState {
        chain_id: src.id().to_string(),
        trust_level: Some(tm::Fraction {
            numerator: 1,
            denominator: 3,
        }),
        trusting_period: Some(proto_duration(src.config.trusting_period)),
        unbonding_period: Some(proto_duration(src.config.unbonding_period)),
        max_clock_drift: Some(proto_duration(src.config.clock_drift + host_drift)),
        frozen_height: Some(Height::default()),
        latest_height: Some(height(src, latest)),
        proof_specs: specs,
        upgrade_path: vec!["upgrade".into(), "upgradedIBCState".into()],
        #[allow(deprecated)]
        allow_update_after_expiry: true,
        #[allow(deprecated)]
        allow_update_after_misbehaviour: true,
    };
    let cons = tm::ConsensusState {
        timestamp: Some(header.time.into()),
        root: Some(MerkleRoot {
            hash: header.app_hash.as_bytes().to_vec(),
        }),
        next_validators_hash: header.next_validators_hash.as_bytes().to_vec(),
    };
    Ok((any(&cs), any(&cons), latest))
}

/// The validator set of `src` at `h`, with the proposer of block `h`.
async fn validator_set(src: &Chain, h: u64) -> ChainResult<Set> {
    let th = TmHeight::try_from(h).map_err(|e| src.garbage("height", e))?;
    let vals = src
        .rpc()
        .validators(th, Paging::All)
        .await
        .map_err(|e| src.rpc_err(format!("validators at {h}"), crate::chain::rpc_error_text(&e)))?;
    let header = src
        .rpc()
        .header(th)
        .await
        .map_err(|e| src.rpc_err(format!("header at {h}"), crate::chain::rpc_error_text(&e)))?;
    Set::with_proposer(vals.validators, header.header.proposer_address)
        .map_err(|e| src.garbage(format!("validator set at {h}"), e))
}

/// The header that moves a client of `src` from `trusted` to `target`.
pub async fn update_header(src: &Chain, target: u64, trusted: u64) -> ChainResult<Any> {
    let th = TmHeight::try_from(target).map_err(|e| src.garbage("height", e))?;
    let commit = src
        .rpc()
        .commit(th)
        .await
        .map_err(|e| src.rpc_err(format!("commit at {target}"), crate::chain::rpc_error_text(&e)))?;
    let set = validator_set(src, target).await?;
    let trusted_set = validator_set(src, trusted + 1).await?;
    let h = tm::Header {
        signed_header: Some(commit.signed_header.into()),
        validator_set: Some(set.into()),
        trusted_height: Some(height(src, trusted)),
        trusted_validators: Some(trusted_set.into()),
    };
    Ok(any(&h))
}

/// Whether a header a client took conflicts with the chain it tracks: the
/// header `theirs` (an `Any` of a 07-tendermint `Header`) against `src`'s
/// own block at the same height. Returns the height and the client's
/// trusted height when it conflicts; None when it matches. Headers that do
/// not decode are reported as an error (garbage, not evidence).
pub async fn conflicting_header(src: &Chain, theirs: &[u8]) -> ChainResult<Option<(u64, u64)>> {
    let (h, trusted, hash) = header_identity(theirs).map_err(|e| src.garbage("update_client header", e))?;
    let th = TmHeight::try_from(h).map_err(|e| src.garbage("height", e))?;
    let ours = src
        .rpc()
        .header(th)
        .await
        .map_err(|e| src.rpc_err(format!("header at {h}"), crate::chain::rpc_error_text(&e)))?;
    Ok((ours.header.hash() != hash).then_some((h, trusted)))
}

/// Height, trusted height and block hash of an `Any`-wrapped 07-tendermint
/// header.
pub fn header_identity(any_bytes: &[u8]) -> Result<(u64, u64, tendermint::Hash), String> {
    use prost::Message;
    let a = Any::decode(any_bytes).map_err(|e| e.to_string())?;
    let h = tm::Header::decode(a.value.as_slice()).map_err(|e| e.to_string())?;
    let sh = h.signed_header.ok_or("no signed header")?;
    let header =
        tendermint::block::Header::try_from(sh.header.ok_or("no header")?).map_err(|e| e.to_string())?;
    let trusted = h.trusted_height.map(|t| t.revision_height).unwrap_or(0);
    Ok((header.height.value(), trusted, header.hash()))
}

/// `MsgSubmitMisbehaviour` for client `client_id` (on the chain `signer`
/// signs for): the conflicting header the client took, and `src`'s own
/// header at that height from the same trusted height, so the client can
/// verify both and freeze.
pub async fn misbehaviour(
    src: &Chain,
    client_id: &str,
    theirs: &[u8],
    height: u64,
    trusted: u64,
    signer: &str,
) -> ChainResult<Any> {
    use prost::Message;
    let header_1 = tm::Header::decode(
        Any::decode(theirs)
            .map_err(|e| src.garbage("header", e))?
            .value
            .as_slice(),
    )
    .map_err(|e| src.garbage("header", e))?;
    let ours = update_header(src, height, trusted).await?;
    let header_2 = tm::Header::decode(ours.value.as_slice()).map_err(|e| src.garbage("header", e))?;
    #[allow(deprecated)]
    let m = tm::Misbehaviour {
        client_id: client_id.into(),
        header_1: Some(header_1),
        header_2: Some(header_2),
    };
    #[allow(deprecated)]
    let msg = ibc_proto::ibc::core::client::v1::MsgSubmitMisbehaviour {
        client_id: client_id.into(),
        misbehaviour: Some(any(&m)),
        signer: signer.into(),
    };
    Ok(any(&msg))
}

/// The block time of `src` at `h` (for timeouts by timestamp).
pub async fn block_time(src: &Chain, h: u64) -> ChainResult<tendermint::Time> {
    let th = TmHeight::try_from(h).map_err(|e| src.garbage("height", e))?;
    let header = src
        .rpc()
        .header(th)
        .await
        .map_err(|e| src.rpc_err(format!("header at {h}"), crate::chain::rpc_error_text(&e)))?;
    Ok(header.header.time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use tendermint::block::{header::Version, Header, Height as H};

    fn header(app_hash: u8) -> Header {
        Header {
            version: Version { block: 11, app: 0 },
            chain_id: "chimera-1".parse().unwrap(),
            height: H::from(42u32),
            time: tendermint::Time::from_unix_timestamp(1_700_000_000, 0).unwrap(),
            last_block_id: None,
            last_commit_hash: None,
            data_hash: None,
            validators_hash: tendermint::Hash::Sha256([1; 32]),
            next_validators_hash: tendermint::Hash::Sha256([1; 32]),
            consensus_hash: tendermint::Hash::Sha256([2; 32]),
            app_hash: tendermint::AppHash::try_from(vec![app_hash; 32]).unwrap(),
            last_results_hash: None,
            evidence_hash: None,
            proposer_address: tendermint::account::Id::new([3; 20]),
        }
    }

    fn any_header(h: Header, trusted: u64) -> Vec<u8> {
        let signed = tendermint_proto::types::SignedHeader {
            header: Some(h.into()),
            commit: None,
        };
        any(&tm::Header {
            signed_header: Some(signed),
            validator_set: None,
            trusted_height: Some(Height {
                revision_number: 1,
                revision_height: trusted,
            }),
            trusted_validators: None,
        })
        .encode_to_vec()
    }

    /// What misbehaviour detection compares: the block hash a client took
    /// against the tracked chain's; one changed field changes it.
    #[test]
    fn header_identity_tells_forks_apart() {
        let (h, trusted, hash) = header_identity(&any_header(header(7), 40)).unwrap();
        assert_eq!((h, trusted), (42, 40));
        assert_eq!(hash, header(7).hash());
        let (_, _, fork) = header_identity(&any_header(header(8), 40)).unwrap();
        assert_ne!(hash, fork);
        assert!(header_identity(b"garbage").is_err());
    }
}
