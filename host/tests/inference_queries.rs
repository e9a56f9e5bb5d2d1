//! `chimera.inference.v1.Query` (host/src/grpc/inference) against state the
//! real app built: a genesis with one model and one executor key, signed
//! `MsgRunInference` txs from two accounts delivered through
//! FinalizeBlock/Commit, then the generated tonic client over a real server
//! on the store, and the same answers as gRPC-over-ABCI through the app's
//! Query.

mod chain_support;

use std::collections::BTreeMap;

use bytes::Bytes;
use chain_support::{
    abci_query, finalize_and_commit, finalize_request, init_chain, open_storage, pubkey, sign_tx, GrpcServer,
};
use chimera_host::chain::address::Address;
use chimera_host::chain::app::App;
use chimera_host::grpc::inference::QueryClient;
use chimera_host::state::Storage;
use chimera_packets::proto::{
    JobStatus, PageRequest, QueryExecutorKeysRequest, QueryJobRequest, QueryJobResponse, QueryJobsRequest,
    QueryModelRequest, QueryModelsRequest, QueryRequestRequest, QueryRequestsRequest, SketchSpec,
};
use chimera_packets::{DType, InferencePacketData, Input, InputEncoding, Params};
use ibc_proto::cosmos::auth::v1beta1::query_client::QueryClient as AuthClient;
use ibc_proto::cosmos::auth::v1beta1::{BaseAccount, QueryAccountRequest};
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::cosmos::tx::v1beta1::Fee;
use ibc_proto::google::protobuf::Any;
use k256::ecdsa::SigningKey;
use prost::{Message, Name};
use tendermint::abci::types::ExecTxResult;
use tendermint::v0_38::abci::request;
use tonic::Code;

const CHAIN_ID: &str = "chimera-inference-query-test";
const MODEL: &str = "digits-cnn";
const MODEL_SHA: &str = "5d41402abc4b2a76b9719d911017c592a7b1c7e8f3e2a9d6c4b0f1e2d3c4b5a6";
/// A consensus address in lower case, as genesis may write it.
const VALIDATOR: &str = "abcdef0123456789abcdef0123456789abcdef01";
const EXECUTOR_KEY: &str = "11223344556677889900aabbccddeeff11223344556677889900aabbccddeeff";
const GAS_LIMIT: u64 = 2_000_000;
/// 0.025uchim x GAS_LIMIT.
const FEE: u128 = 50_000;

struct Chain {
    _dir: tempfile::TempDir,
    storage: Storage,
    app: App,
    height: u64,
}

fn time(height: u64) -> tendermint::Time {
    tendermint::Time::from_unix_timestamp(1_700_000_000 + height as i64, 0).unwrap()
}

fn key(n: u8) -> (SigningKey, Address) {
    let key = SigningKey::from_slice(&[n; 32]).unwrap();
    let addr = Address::from_secp256k1(&pubkey(&key));
    (key, addr)
}

impl Chain {
    /// Genesis funding `accounts`, registering the model and the executor
    /// key, then an empty block 1.
    fn start(accounts: &[&Address]) -> Chain {
        let dir = tempfile::tempdir().unwrap();
        let storage = open_storage(dir.path());
        let accounts: Vec<_> = accounts
            .iter()
            .map(|a| {
                serde_json::json!({
                    "address": a.to_string(),
                    "coins": [{ "denom": "uchim", "amount": "1000000000" }]
                })
            })
            .collect();
        let genesis = serde_json::json!({
            "accounts": accounts,
            "inference": {
                "models": [{
                    "id": MODEL,
                    "sha256": MODEL_SHA,
                    "task": "classify",
                    "sketch": { "rule": "classify", "levels": 256, "tolerance": 2, "thumb": 8 },
                    "input": { "encoding": "tensor", "dtype": "f32", "shape": [1, 8, 8], "max_bytes": 256 }
                }],
                "executor_keys": [{ "validator": VALIDATOR, "key": EXECUTOR_KEY }]
            }
        });
        let mut app = App::new(storage.clone()).unwrap();
        init_chain(&mut app, CHAIN_ID, time(0), &genesis);
        let mut chain = Chain {
            _dir: dir,
            storage,
            app,
            height: 0,
        };
        chain.block(Vec::new());
        chain
    }

    fn block(&mut self, txs: Vec<Vec<u8>>) -> Vec<ExecTxResult> {
        self.height += 1;
        let fb = finalize_request(txs, self.height, time(self.height));
        finalize_and_commit(&mut self.app, &self.storage, fb)
    }

    fn abci(&mut self, path: &str, data: Vec<u8>) -> tendermint::abci::response::Query {
        abci_query(
            &mut self.app,
            request::Query {
                data: Bytes::from(data),
                path: path.into(),
                height: 0u32.into(),
                prove: false,
            },
        )
    }
}

/// A signed tx with one `MsgRunInference` of a valid digits input.
fn run_tx(key: &SigningKey, signer: &Address, model: &str, account: &BaseAccount, sequence: u64) -> Vec<u8> {
    let data = InferencePacketData {
        model: model.into(),
        input: Input::Inline(vec![0; 4 * 28 * 28]),
        encoding: InputEncoding::Tensor {
            dtype: DType::F32,
            shape: vec![1, 1, 28, 28],
        },
        params: Params {
            seed: 7,
            extra: BTreeMap::new(),
        },
        requester: signer.to_string(),
        receiver: None,
        memo: String::new(),
        sealed: None,
        output_key: None,
    };
    let msg = data.to_msg(Vec::new());
    assert_eq!(msg.signer, signer.to_string());
    let any = Any {
        type_url: chimera_packets::proto::MsgRunInference::type_url(),
        value: msg.encode_to_vec(),
    };
    assert_eq!(any.type_url, "/chimera.inference.v1.MsgRunInference");
    let fee = Fee {
        amount: vec![Coin {
            denom: "uchim".into(),
            amount: FEE.to_string(),
        }],
        gas_limit: GAS_LIMIT,
        payer: String::new(),
        granter: String::new(),
    };
    sign_tx(
        key,
        CHAIN_ID,
        account.account_number,
        sequence,
        vec![any],
        "",
        fee,
    )
}

async fn account(auth: &mut AuthClient<tonic::transport::Channel>, a: &Address) -> BaseAccount {
    let any = auth
        .account(QueryAccountRequest {
            address: a.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    BaseAccount::decode(any.value.as_slice()).unwrap()
}

fn page(key: Vec<u8>, limit: u32) -> Option<PageRequest> {
    Some(PageRequest { key, limit })
}

/// The registry and executor keys of genesis, refusals, the requester side
/// (empty: nothing was sent), and a MsgRunInference naming an unknown model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_keys_and_refusals() {
    let (alice_key, alice) = key(0x41);
    let mut chain = Chain::start(&[&alice]);
    let server = GrpcServer::start(chain.storage.clone(), CHAIN_ID).await;
    let ch = server.channel().await;
    let mut auth = AuthClient::new(ch.clone());
    let mut q = QueryClient::new(ch.clone());

    // --- genesis state: the registry and the executor key.
    let models = q.models(QueryModelsRequest {}).await.unwrap().into_inner().models;
    assert_eq!(models.len(), 1);
    let m = &models[0];
    assert_eq!(
        (m.id.as_str(), hex::encode(&m.sha256), m.task.as_str()),
        (MODEL, MODEL_SHA.to_string(), "classify")
    );
    assert_eq!(
        m.sketch,
        Some(SketchSpec {
            rule: "classify".into(),
            levels: 256,
            tolerance: 2,
            thumb: 8,
        })
    );
    assert!(m.max_input_bytes >= 3136);
    // What the model reads, as its manifest declares it: a wallet builds
    // the request from this alone.
    assert_eq!(
        m.input,
        Some(chimera_packets::proto::ModelInput {
            encoding: "tensor".into(),
            dtype: "f32".into(),
            shape: vec![1, 8, 8],
            max_bytes: 256,
        })
    );
    let one = q
        .model(QueryModelRequest { id: MODEL.into() })
        .await
        .unwrap()
        .into_inner()
        .model;
    assert_eq!(one.as_ref(), Some(m));
    let e = q
        .model(QueryModelRequest { id: "nope".into() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("\"nope\""), "{}", e.message());
    let e = q
        .model(QueryModelRequest { id: String::new() })
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::InvalidArgument, "model id is empty")
    );

    let keys = q
        .executor_keys(QueryExecutorKeysRequest {})
        .await
        .unwrap()
        .into_inner()
        .keys;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].validator, VALIDATOR.to_uppercase());
    assert_eq!(keys[0].x25519_public_key, hex::decode(EXECUTOR_KEY).unwrap());

    // No job yet.
    let e = q.job(QueryJobRequest { job_id: 1 }).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::NotFound, "job 1 not found"));

    // Requests: this chain sent none.
    let reqs = q
        .requests(QueryRequestsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(reqs.requests.is_empty() && reqs.pagination.unwrap().next_key.is_empty());
    let e = q
        .request(QueryRequestRequest {
            source_channel: "channel-0".into(),
            sequence: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = q
        .request(QueryRequestRequest {
            source_channel: String::new(),
            sequence: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // --- block 2: an unknown model fails the tx; no job is made.
    let a = account(&mut auth, &alice).await;
    let results = chain.block(vec![run_tx(&alice_key, &alice, "nope", &a, 0)]);
    assert!(!results[0].code.is_ok(), "a job of an unknown model was admitted");
    assert!(results[0].log.contains("unknown_model"), "{}", results[0].log);
    let e = q.job(QueryJobRequest { job_id: 1 }).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // --- the same service as gRPC-over-ABCI, with the SDK's codes (38
    // not found, 18 invalid request).
    let r = chain.abci(
        "/chimera.inference.v1.Query/Models",
        QueryModelsRequest {}.encode_to_vec(),
    );
    assert!(r.code.is_ok(), "{}", r.log);
    assert_eq!(
        chimera_packets::proto::QueryModelsResponse::decode(r.value.as_ref())
            .unwrap()
            .models,
        models
    );
    let r = chain.abci(
        "/chimera.inference.v1.Query/Job",
        QueryJobRequest { job_id: 9 }.encode_to_vec(),
    );
    assert_eq!(r.code.value(), 38);
    assert!(r.log.contains("job 9 not found"), "{}", r.log);
    let r = chain.abci(
        "/chimera.inference.v1.Query/Jobs",
        QueryJobsRequest {
            requester: String::new(),
            pagination: page(vec![1], 0),
        }
        .encode_to_vec(),
    );
    assert_eq!(r.code.value(), 18, "{}", r.log);
    let r = chain.abci("/chimera.inference.v1.Query/Nope", Vec::new());
    assert!(!r.code.is_ok());

    server.stop().await;
}

/// Jobs from signed MsgRunInference txs of two accounts: Job, Jobs paged
/// and by requester, over gRPC and gRPC-over-ABCI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_over_grpc_and_abci() {
    let (alice_key, alice) = key(0x41);
    let (bob_key, bob) = key(0x42);
    let mut chain = Chain::start(&[&alice, &bob]);
    let server = GrpcServer::start(chain.storage.clone(), CHAIN_ID).await;
    let ch = server.channel().await;
    let mut auth = AuthClient::new(ch.clone());
    let mut q = QueryClient::new(ch.clone());

    // --- block 2: two jobs from alice, one from bob.
    let (a, b) = (account(&mut auth, &alice).await, account(&mut auth, &bob).await);
    assert_ne!(a.account_number, b.account_number);
    let results = chain.block(vec![
        run_tx(&alice_key, &alice, MODEL, &a, 0),
        run_tx(&alice_key, &alice, MODEL, &a, 1),
        run_tx(&bob_key, &bob, MODEL, &b, 0),
    ]);
    for (i, r) in results.iter().enumerate() {
        assert!(r.code.is_ok(), "tx {i} failed: {}", r.log);
    }

    // Job: pending, with what the request named.
    let resp = q.job(QueryJobRequest { job_id: 1 }).await.unwrap();
    assert_eq!(
        resp.metadata()
            .get("x-cosmos-block-height")
            .unwrap()
            .to_str()
            .unwrap(),
        "2"
    );
    let job1 = resp.into_inner();
    let j = job1.job.clone().unwrap();
    assert_eq!(j.id, 1);
    assert_eq!(j.status, JobStatus::Pending as i32);
    assert_eq!(
        (j.model.as_str(), j.requester.clone(), j.created_height),
        (MODEL, alice.to_string(), 2)
    );
    assert!(j.result.is_none() && j.port_id.is_empty());
    let j3 = q
        .job(QueryJobRequest { job_id: 3 })
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap();
    assert_eq!(j3.requester, bob.to_string());
    let e = q.job(QueryJobRequest { job_id: 0 }).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // Jobs: oldest first, two a page, the next id as the key.
    let p1 = q
        .jobs(QueryJobsRequest {
            requester: String::new(),
            pagination: page(Vec::new(), 2),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p1.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(p1.jobs[0], j);
    let next = p1.pagination.unwrap().next_key;
    assert_eq!(next, 3u64.to_be_bytes().to_vec());
    let p2 = q
        .jobs(QueryJobsRequest {
            requester: String::new(),
            pagination: page(next, 2),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p2.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![3]);
    assert!(p2.pagination.unwrap().next_key.is_empty());
    // No pagination at all: everything, one page.
    let all = q.jobs(QueryJobsRequest::default()).await.unwrap().into_inner();
    assert_eq!(all.jobs.len(), 3);
    assert!(all.pagination.unwrap().next_key.is_empty());
    // By requester.
    let ids_of =
        |r: chimera_packets::proto::QueryJobsResponse| r.jobs.iter().map(|j| j.id).collect::<Vec<_>>();
    let by_alice = q
        .jobs(QueryJobsRequest {
            requester: alice.to_string(),
            pagination: page(Vec::new(), 1),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        by_alice.pagination.as_ref().unwrap().next_key,
        2u64.to_be_bytes().to_vec()
    );
    assert_eq!(ids_of(by_alice), vec![1]);
    let by_bob = q
        .jobs(QueryJobsRequest {
            requester: bob.to_string(),
            pagination: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids_of(by_bob), vec![3]);
    // A key that is not a job id.
    let e = q
        .jobs(QueryJobsRequest {
            requester: String::new(),
            pagination: page(vec![0, 1, 2], 2),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("8 bytes"), "{}", e.message());

    // --- the same answers as gRPC-over-ABCI.
    let r = chain.abci(
        "/chimera.inference.v1.Query/Job",
        QueryJobRequest { job_id: 1 }.encode_to_vec(),
    );
    assert!(r.code.is_ok(), "{}", r.log);
    assert_eq!(QueryJobResponse::decode(r.value.as_ref()).unwrap(), job1);
    assert_eq!(r.height.value(), 2);
    server.stop().await;
}

/// `Query/JobReports`: a job no validator reported on yet lists none (over
/// gRPC and ABCI); job 0 is refused and an unknown job is not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_reports_of_a_pending_job() {
    use chimera_packets::proto::{QueryJobReportsRequest, QueryJobReportsResponse};
    let (alice_key, alice) = key(0x41);
    let mut chain = Chain::start(&[&alice]);
    let server = GrpcServer::start(chain.storage.clone(), CHAIN_ID).await;
    let ch = server.channel().await;
    let mut auth = AuthClient::new(ch.clone());
    let mut q = QueryClient::new(ch.clone());
    let a = account(&mut auth, &alice).await;
    let results = chain.block(vec![run_tx(&alice_key, &alice, MODEL, &a, 0)]);
    assert!(results[0].code.is_ok(), "{}", results[0].log);

    let none = q
        .job_reports(QueryJobReportsRequest { job_id: 1 })
        .await
        .unwrap()
        .into_inner();
    assert!(none.reports.is_empty(), "{none:?}");
    let e = q
        .job_reports(QueryJobReportsRequest { job_id: 0 })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = q
        .job_reports(QueryJobReportsRequest { job_id: 7 })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("job 7 not found"), "{}", e.message());

    let r = chain.abci(
        "/chimera.inference.v1.Query/JobReports",
        QueryJobReportsRequest { job_id: 1 }.encode_to_vec(),
    );
    assert!(r.code.is_ok(), "{}", r.log);
    assert_eq!(QueryJobReportsResponse::decode(r.value.as_ref()).unwrap(), none);
    server.stop().await;
}
