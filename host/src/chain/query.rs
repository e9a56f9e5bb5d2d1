//! ABCI `Query`: raw state reads with ICS-23 proofs at the paths relayers use
//! (`store/ibc/key`, as Hermes and the Go relayer send them), at any retained
//! height. Typed queries (auth, bank, tx, IBC) are served over gRPC.

use bytes::Bytes;
use tendermint::abci::{request, response, Code};
use tendermint::merkle::proof::{ProofOp, ProofOps};

use crate::state::{Snapshot, Storage, IBC_STORE_PREFIX};

/// ABCI codes of query failures (the SDK's codes for the same cases).
mod code {
    pub const UNKNOWN_REQUEST: u32 = 6;
    pub const INVALID_REQUEST: u32 = 18;
}

/// ProofOp type of the JMT layer (the key in the tree) and of the root
/// layer (the store prefix in the app hash), as Hermes passes them on.
pub const PROOF_OP_JMT: &str = "ics23:jmt";
pub const PROOF_OP_APP_HASH: &str = "ics23:apphash";

/// Answers one ABCI query: a store path here, a gRPC method path (cosmjs,
/// Hermes's node-info, staking-params and node-config queries) through
/// `crate::grpc::abci_route`.
pub fn abci_query(storage: &Storage, chain_id: &str, q: request::Query) -> response::Query {
    let path = q.path.trim_start_matches('/');
    match path {
        "store/ibc/key" | "store/chimera/key" => store_key(storage, &q),
        _ => match crate::grpc::abci_route(storage, chain_id, &q.path, &q.data, q.height.value()) {
            Some(Ok(value)) => response::Query {
                code: Code::Ok,
                value: Bytes::from(value),
                height: match q.height.value() {
                    0 => storage
                        .latest_version()
                        .unwrap_or(0)
                        .try_into()
                        .unwrap_or_default(),
                    _ => q.height,
                },
                ..Default::default()
            },
            Some(Err((code, log))) => fail(code, log),
            None => fail(code::UNKNOWN_REQUEST, format!("unknown query path {:?}", q.path)),
        },
    }
}

fn fail(code: u32, log: String) -> response::Query {
    response::Query {
        code: Code::from(code),
        log,
        codespace: "sdk".into(),
        ..Default::default()
    }
}

fn snapshot_at(storage: &Storage, height: u64) -> Result<Snapshot, String> {
    if height == 0 {
        return Ok(storage.latest_snapshot());
    }
    storage.snapshot(height).map_err(|e| e.to_string())
}

fn store_key(storage: &Storage, q: &request::Query) -> response::Query {
    let snap = match snapshot_at(storage, q.height.value()) {
        Ok(s) => s,
        Err(e) => return fail(code::INVALID_REQUEST, e),
    };
    let height = snap.version().unwrap_or(0);
    let key = q.data.to_vec();
    let (value, proof) = if q.prove {
        match snap.get_with_proof(&key) {
            Ok((v, proofs)) => (v, Some(proof_ops(&key, proofs))),
            Err(e) => return fail(code::INVALID_REQUEST, e.to_string()),
        }
    } else {
        match snap.get(&key) {
            Ok(v) => (v, None),
            Err(e) => return fail(code::INVALID_REQUEST, e.to_string()),
        }
    };
    response::Query {
        code: Code::Ok,
        key: Bytes::from(key),
        value: Bytes::from(value.unwrap_or_default()),
        proof,
        height: height.try_into().unwrap_or_default(),
        ..Default::default()
    }
}

/// The two proofs as CometBFT `ProofOps`, innermost first (the key in the
/// JMT, then the JMT root under the `ibc` prefix in the app hash), the order
/// in which ibc-go's `MerkleProof` consumes them.
pub fn proof_ops(key: &[u8], proofs: Vec<ics23::CommitmentProof>) -> ProofOps {
    use prost::Message;
    let types = [PROOF_OP_JMT, PROOF_OP_APP_HASH];
    let keys = [key.to_vec(), IBC_STORE_PREFIX.to_vec()];
    ProofOps {
        ops: proofs
            .into_iter()
            .enumerate()
            .map(|(i, p)| ProofOp {
                field_type: types.get(i).copied().unwrap_or("ics23").to_string(),
                key: keys.get(i).cloned().unwrap_or_default(),
                data: p.encode_to_vec(),
            })
            .collect(),
    }
}
