//! `chimera.fees.v1.Query` (host/src/grpc/fees): on a fresh genesis through
//! the real app (defaults, nothing paid, no validators), over the
//! generated tonic client and as gRPC-over-ABCI through the app's Query;
//! then on a small hand-made state (a priced LUNC denom with only a pending
//! burn balance, a native total, two validators of which one has an
//! operator and one a record) for the merge and ordering rules, and the
//! same records as chimerad's Prometheus gauges (host/src/node/telemetry).

mod chain_support;

use bytes::Bytes;
use chain_support::{
    abci_query, finalize_and_commit, finalize_request, init_chain, open_storage, GrpcServer,
};
use chimera_host::chain::address::Address;
use chimera_host::chain::app::App;
use chimera_host::chain::bank;
use chimera_host::chain::error::TxError;
use chimera_host::chain::gas::unmetered;
use chimera_host::chain::genesis::AppGenesis;
use chimera_host::fees::{self, store as fee_store, FeeParams};
use chimera_host::grpc::fees::QueryClient;
use chimera_host::inference::store::{self, ValidatorRecord};
use chimera_host::node::telemetry;
use chimera_host::state::Delta;
use chimera_packets::proto::fees as pb;
use ibc_proto::cosmos::base::v1beta1::Coin;
use prost::Message;
use tendermint::v0_38::abci::request;

const CHAIN_ID: &str = "chimera-fees-query-test";
const LUNC_PATH: &str = "transfer/channel-0/uluna";

fn time(height: u64) -> tendermint::Time {
    tendermint::Time::from_unix_timestamp(1_700_000_000 + height as i64, 0).unwrap()
}

fn abci<Resp: Message + Default>(app: &mut App, method: &str, data: Vec<u8>) -> Resp {
    let r = abci_query(
        app,
        request::Query {
            data: Bytes::from(data),
            path: format!("/chimera.fees.v1.Query/{method}"),
            height: 0u32.into(),
            prove: false,
        },
    );
    assert_eq!(r.code.value(), 0, "{method}: {}", r.log);
    Resp::decode(r.value.as_ref()).unwrap()
}

/// A genesis without `fees`: the default parameters, no totals, no
/// validators (InitChain named none), the same over both transports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_genesis_answers_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_storage(dir.path());
    let mut app = App::new(storage.clone()).unwrap();
    init_chain(&mut app, CHAIN_ID, time(0), &serde_json::json!({}));
    finalize_and_commit(&mut app, &storage, finalize_request(Vec::new(), 1, time(1)));

    let server = GrpcServer::start(storage.clone(), CHAIN_ID).await;
    let mut q = QueryClient::new(server.channel().await);
    let params = q
        .params(pb::QueryParamsRequest {})
        .await
        .unwrap()
        .into_inner()
        .params
        .unwrap();
    assert_eq!(params, pb::Params::from(&FeeParams::default()));
    assert_eq!(
        (params.executor_bps, params.burn_bps, params.community_bps),
        (7000, 2000, 1000)
    );
    let totals = q.totals(pb::QueryTotalsRequest {}).await.unwrap().into_inner();
    assert!(totals.totals.is_empty(), "{totals:?}");
    let executors = q
        .executors(pb::QueryExecutorsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(executors.executors.is_empty(), "{executors:?}");

    let p: pb::QueryParamsResponse = abci(&mut app, "Params", Vec::new());
    assert_eq!(p.params, Some(params));
    let t: pb::QueryTotalsResponse = abci(&mut app, "Totals", Vec::new());
    assert_eq!(t, totals);
    let e: pb::QueryExecutorsResponse = abci(&mut app, "Executors", Vec::new());
    assert_eq!(e, executors);
    // A method the service lacks is an unknown path, not a panic.
    let r = abci_query(
        &mut app,
        request::Query {
            data: Bytes::new(),
            path: "/chimera.fees.v1.Query/Nope".into(),
            height: 0u32.into(),
            prove: false,
        },
    );
    assert_ne!(r.code.value(), 0);
    server.stop().await;
}

/// Totals merge records with pending balances of priced denoms; executors
/// list every validator by address with its operator and record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_and_executors_of_state() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_storage(dir.path());
    let lunc = fees::params::bank_denom(LUNC_PATH);
    let (v_low, v_high) = (vec![0xA1u8; 20], vec![0xA2u8; 20]);
    let operator = Address::from([0x11; 20]);
    let mut state = Delta::new(storage.latest_snapshot());
    let g = serde_json::json!({
        "inference": {
            "operators": [{"operator": operator.to_string(), "validator": hex::encode_upper(&v_high)}],
        },
        "fees": {
            "prices": [
                {"model": "*", "denom": "uchim", "amount": "1000"},
                {"model": "*", "denom": LUNC_PATH, "amount": "1500"},
            ],
        },
    });
    AppGenesis::parse(g.to_string().as_bytes())
        .unwrap()
        .apply(&mut state)
        .unwrap();
    // Inserted high address first: the answer is in address order anyway.
    for a in [&v_high, &v_low] {
        store::put_validator(
            &mut state,
            &ValidatorRecord {
                address: a.clone(),
                ed25519: vec![7; 32],
                power: 10,
            },
        );
    }
    unmetered(&mut state, 1, |ctx| {
        bank::mint(ctx, &fee_store::burn_account(), &lunc, 7)?;
        bank::mint(ctx, &fee_store::community_account(), "uchim", 3)?;
        fee_store::update_totals(ctx, "uchim", |t| {
            t.collected = 30;
            t.paid_to_executors = 21;
        })?;
        let mut e = fee_store::executor(ctx, &v_high)?;
        fee_store::add_earning(&mut e, "uchim", 21)?;
        e.jobs_paid = 1;
        e.faults = 2;
        fee_store::put_executor(ctx, &e)
    })
    .unwrap_or_else(|e: TxError| panic!("{e}"));
    storage.commit(1, state.into_changes()).unwrap();

    let server = GrpcServer::start(storage.clone(), CHAIN_ID).await;
    let mut q = QueryClient::new(server.channel().await);
    let totals = q
        .totals(pb::QueryTotalsRequest {})
        .await
        .unwrap()
        .into_inner()
        .totals;
    let mut denoms = vec![lunc.clone(), "uchim".to_string()];
    denoms.sort();
    assert_eq!(totals.iter().map(|t| t.denom.clone()).collect::<Vec<_>>(), denoms);
    let l = totals.iter().find(|t| t.denom == lunc).unwrap();
    assert_eq!(l, &fee_store::Totals::default().to_pb(&lunc, 7, 0));
    let u = totals.iter().find(|t| t.denom == "uchim").unwrap();
    assert_eq!(
        (
            u.collected.as_str(),
            u.paid_to_executors.as_str(),
            u.burn_pending.as_str(),
            u.community_pending.as_str()
        ),
        ("30", "21", "0", "3")
    );

    let ex = q
        .executors(pb::QueryExecutorsRequest {})
        .await
        .unwrap()
        .into_inner()
        .executors;
    assert_eq!(
        ex,
        vec![
            pb::Executor {
                validator: v_low,
                ..Default::default()
            },
            pb::Executor {
                validator: v_high,
                operator: operator.to_string(),
                earned: vec![Coin {
                    denom: "uchim".into(),
                    amount: "21".into()
                }],
                jobs_paid: 1,
                faults: 2,
                excluded: false,
            },
        ]
    );
    // gRPC-over-ABCI answers the same bytes.
    let bytes =
        chimera_host::grpc::abci_route(&storage, CHAIN_ID, "/chimera.fees.v1.Query/Executors", &[], 0)
            .unwrap()
            .unwrap();
    assert_eq!(
        pb::QueryExecutorsResponse::decode(bytes.as_slice())
            .unwrap()
            .executors,
        ex
    );
    server.stop().await;

    // The same records as chimerad's Prometheus gauges.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = telemetry::NodeMetrics::new(storage.clone(), None);
    let task = tokio::spawn(telemetry::serve_on(listener, metrics, async move {
        let _ = stopped.await;
    }));
    let body = http_get(addr, "/metrics").await;
    assert!(body.starts_with("HTTP/1.1 200 OK\r\n"), "{body}");
    for line in [
        "chimera_fees_collected_total{denom=\"uchim\"} 30".to_string(),
        "chimera_fees_paid_to_executors_total{denom=\"uchim\"} 21".to_string(),
        format!("chimera_fees_burn_pending{{denom=\"{lunc}\"}} 7"),
        format!("chimera_fees_collected_total{{denom=\"{lunc}\"}} 0"),
        format!("chimera_executor_faults{{validator=\"{}\"}} 2", "A2".repeat(20)),
        format!("chimera_executor_excluded{{validator=\"{}\"}} 0", "A1".repeat(20)),
    ] {
        assert!(body.lines().any(|l| l == line), "no {line:?} in\n{body}");
    }
    assert!(http_get(addr, "/").await.starts_with("HTTP/1.1 404"));
    let _ = stop.send(());
    task.await.unwrap().unwrap();

    // Totals at a past height (`chimera ui`'s fee history): version 2
    // raises uchim and adds a denom; height 1 still answers version 1.
    let mut state = Delta::new(storage.latest_snapshot());
    unmetered(&mut state, 2, |ctx| {
        fee_store::update_totals(ctx, "uchim", |t| t.collected = 50)?;
        fee_store::update_totals(ctx, "uextra", |t| t.collected = 1)
    })
    .unwrap_or_else(|e: TxError| panic!("{e}"));
    storage.commit(2, state.into_changes()).unwrap();
    let server = GrpcServer::start(storage.clone(), CHAIN_ID).await;
    let mut q = QueryClient::new(server.channel().await);
    let mut at_1 = tonic::Request::new(pb::QueryTotalsRequest {});
    at_1.metadata_mut()
        .insert("x-cosmos-block-height", "1".parse().unwrap());
    assert_eq!(q.totals(at_1).await.unwrap().into_inner().totals, totals);
    let now = q
        .totals(pb::QueryTotalsRequest {})
        .await
        .unwrap()
        .into_inner()
        .totals;
    assert_eq!(
        now.iter()
            .map(|t| (t.denom.as_str(), t.collected.as_str()))
            .collect::<Vec<_>>(),
        vec![(lunc.as_str(), "0"), ("uchim", "50"), ("uextra", "1")]
    );
    server.stop().await;
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
