//! What the tests that drive the real `App` in-process share: a store in a
//! tempdir, `InitChain`, `FinalizeBlock` + `Commit`, ABCI `Query`, a
//! SIGN_MODE_DIRECT tx signed as a wallet signs it, and the gRPC server
//! over a store (`chimera_host::grpc::serve_on`).
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use chimera_host::chain::app::App;
use chimera_host::state::{Storage, StorageOptions};
use ibc_proto::cosmos::tx::signing::v1beta1::SignMode;
use ibc_proto::cosmos::tx::v1beta1::{
    mode_info, AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw,
};
use ibc_proto::google::protobuf::Any;
use k256::ecdsa::signature::Signer;
use k256::ecdsa::{Signature, SigningKey};
use prost::Message;
use tendermint::abci::types::{CommitInfo, ExecTxResult};
use tendermint::v0_38::abci::{request, response, Request, Response};

/// A store in `dir` that keeps every version and does not fsync.
pub fn open_storage(dir: &Path) -> Storage {
    Storage::open(
        dir,
        StorageOptions {
            keep_versions: 0,
            sync: false,
        },
    )
    .unwrap()
}

/// A compressed secp256k1 public key, as accounts and signer infos hold it.
pub fn pubkey(key: &SigningKey) -> Vec<u8> {
    key.verifying_key().to_encoded_point(true).as_bytes().to_vec()
}

/// `InitChain` of `chain_id` at `time` with the app state `genesis` and
/// CometBFT's default consensus params.
pub fn init_chain(app: &mut App, chain_id: &str, time: tendermint::Time, genesis: &serde_json::Value) {
    let init = request::InitChain {
        time,
        chain_id: chain_id.into(),
        consensus_params: tendermint::consensus::Params {
            block: tendermint::block::Size {
                max_bytes: 22_020_096,
                max_gas: -1,
                time_iota_ms: 1000,
            },
            evidence: tendermint::evidence::Params {
                max_age_num_blocks: 100_000,
                max_age_duration: tendermint::evidence::Duration(Duration::from_secs(172_800)),
                max_bytes: 1_048_576,
            },
            validator: tendermint::consensus::params::ValidatorParams {
                pub_key_types: vec![tendermint::public_key::Algorithm::Ed25519],
            },
            version: Some(tendermint::consensus::params::VersionParams { app: 1 }),
            abci: Default::default(),
        },
        validators: Vec::new(),
        app_state_bytes: Bytes::from(genesis.to_string()),
        initial_height: 1u32.into(),
    };
    assert!(matches!(
        app.handle(Request::InitChain(init)).unwrap(),
        Response::InitChain(_)
    ));
}

/// A `FinalizeBlock` of `txs` at `height` and `time`, with no votes, no
/// header hash and no next validators (override fields to sign headers).
pub fn finalize_request(txs: Vec<Vec<u8>>, height: u64, time: tendermint::Time) -> request::FinalizeBlock {
    request::FinalizeBlock {
        txs: txs.into_iter().map(Bytes::from).collect(),
        decided_last_commit: CommitInfo {
            round: 0u16.into(),
            votes: Vec::new(),
        },
        misbehavior: Vec::new(),
        hash: tendermint::Hash::None,
        height: (height as u32).into(),
        time,
        next_validators_hash: tendermint::Hash::None,
        proposer_address: tendermint::account::Id::new([1; 20]),
    }
}

/// Delivers `fb` and commits it, checking the store reached its height;
/// the txs' results.
pub fn finalize_and_commit(
    app: &mut App,
    storage: &Storage,
    fb: request::FinalizeBlock,
) -> Vec<ExecTxResult> {
    let height = fb.height.value();
    let Response::FinalizeBlock(r) = app.handle(Request::FinalizeBlock(fb)).unwrap() else {
        panic!("FinalizeBlock answered something else")
    };
    assert!(matches!(
        app.handle(Request::Commit).unwrap(),
        Response::Commit(_)
    ));
    assert_eq!(storage.latest_version(), Some(height));
    r.tx_results
}

/// An ABCI `Query` through the app, as CometBFT relays it.
pub fn abci_query(app: &mut App, q: request::Query) -> response::Query {
    match app.handle(Request::Query(q)).unwrap() {
        Response::Query(r) => r,
        _ => panic!("Query answered something else"),
    }
}

/// A tx of `messages` signed by `key` (SIGN_MODE_DIRECT, one signer) as a
/// wallet signs it, with the account number and sequence given: `TxRaw`
/// bytes.
pub fn sign_tx(
    key: &SigningKey,
    chain_id: &str,
    account_number: u64,
    sequence: u64,
    messages: Vec<Any>,
    memo: &str,
    fee: Fee,
) -> Vec<u8> {
    let body = TxBody {
        messages,
        memo: memo.into(),
        ..Default::default()
    };
    #[allow(deprecated)] // `tip`
    let auth_info = AuthInfo {
        signer_infos: vec![SignerInfo {
            public_key: Some(Any {
                type_url: "/cosmos.crypto.secp256k1.PubKey".into(),
                value: ibc_proto::cosmos::crypto::secp256k1::PubKey { key: pubkey(key) }.encode_to_vec(),
            }),
            mode_info: Some(ModeInfo {
                sum: Some(mode_info::Sum::Single(mode_info::Single {
                    mode: SignMode::Direct as i32,
                })),
            }),
            sequence,
        }],
        fee: Some(fee),
        tip: None,
    };
    let (body_bytes, auth_info_bytes) = (body.encode_to_vec(), auth_info.encode_to_vec());
    let doc = SignDoc {
        body_bytes: body_bytes.clone(),
        auth_info_bytes: auth_info_bytes.clone(),
        chain_id: chain_id.into(),
        account_number,
    };
    let sig: Signature = key.sign(&doc.encode_to_vec());
    TxRaw {
        body_bytes,
        auth_info_bytes,
        signatures: vec![sig.to_bytes().to_vec()],
    }
    .encode_to_vec()
}

/// The node's gRPC server over `storage` on a free loopback port; the
/// CometBFT RPC it is given answers nothing.
pub struct GrpcServer {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl GrpcServer {
    /// Binds and serves until [`GrpcServer::stop`].
    pub async fn start(storage: Storage, chain_id: &str) -> GrpcServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(chimera_host::grpc::serve_on(
            listener,
            storage,
            None,
            None,
            chain_id.into(),
            "http://127.0.0.1:9".into(),
            async {
                let _ = stopped.await;
            },
        ));
        GrpcServer {
            url,
            stop: Some(stop),
            task,
        }
    }

    /// A connected client channel.
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Channel::from_shared(self.url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Shuts the server down and checks it ended cleanly.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

/// A digits-style text request ("7", seed 42) of `model` by `requester`,
/// as the `MsgRunInference` tests send it.
pub fn seven_request(requester: &str, model: &str) -> chimera_packets::InferencePacketData {
    chimera_packets::InferencePacketData {
        model: model.into(),
        input: chimera_packets::Input::Inline(b"7".to_vec()),
        encoding: chimera_packets::InputEncoding::Text,
        params: chimera_packets::Params {
            seed: 42,
            extra: Default::default(),
        },
        requester: requester.into(),
        receiver: None,
        memo: String::new(),
        sealed: None,
        output_key: None,
    }
}
