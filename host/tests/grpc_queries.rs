//! The Cosmos SDK query surface (host/src/grpc) against state the real app
//! built: genesis funds a k256 key, a signed MsgSend is delivered through
//! FinalizeBlock/Commit, and a tonic server over the store answers the
//! generated `ibc_proto::cosmos` clients, as wallets and Hermes ask. The
//! same queries are then asked as gRPC-over-ABCI through the app's Query.
//!
//! Not here: GetNodeInfo (gRPC), BroadcastTx, GetTx and the rest of the
//! tendermint service need a CometBFT RPC; they belong to the localnet
//! tests that start real nodes (e2e/src/chimera.rs).

mod chain_support;

use bytes::Bytes;
use chain_support::{
    abci_query, finalize_and_commit, finalize_request, init_chain, open_storage, pubkey, sign_tx, GrpcServer,
};
use chimera_host::chain::address::Address;
use chimera_host::chain::app::App;
use chimera_host::chain::gas::cost;
use chimera_host::state::{Storage, StorageOptions};
use ibc_proto::cosmos::auth::v1beta1::query_client::QueryClient as AuthClient;
use ibc_proto::cosmos::auth::v1beta1::{
    BaseAccount, Bech32PrefixRequest, QueryAccountInfoRequest, QueryAccountRequest, QueryAccountsRequest,
    QueryParamsRequest as AuthParamsRequest,
};
use ibc_proto::cosmos::bank::v1beta1::query_client::QueryClient as BankClient;
use ibc_proto::cosmos::bank::v1beta1::{
    MsgSend, QueryAllBalancesRequest, QueryAllBalancesResponse, QueryBalanceRequest,
    QueryDenomMetadataRequest, QuerySpendableBalancesRequest, QuerySupplyOfRequest, QueryTotalSupplyRequest,
};
use ibc_proto::cosmos::base::node::v1beta1::service_client::ServiceClient as NodeClient;
use ibc_proto::cosmos::base::node::v1beta1::{ConfigRequest, ConfigResponse, StatusRequest};
use ibc_proto::cosmos::base::query::v1beta1::PageRequest;
use ibc_proto::cosmos::base::tendermint::v1beta1::{GetNodeInfoRequest, GetNodeInfoResponse};
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::cosmos::staking::v1beta1::query_client::QueryClient as StakingClient;
use ibc_proto::cosmos::staking::v1beta1::{QueryParamsRequest as StakingParamsRequest, QueryParamsResponse};
use ibc_proto::cosmos::tx::v1beta1::service_client::ServiceClient as TxClient;
use ibc_proto::cosmos::tx::v1beta1::{Fee, SimulateRequest, SimulateResponse};
use ibc_proto::google::protobuf::Any;
use k256::ecdsa::SigningKey;
use prost::Message;
use tendermint::abci::types::ExecTxResult;
use tendermint::v0_38::abci::request;
use tonic::Code;

const CHAIN_ID: &str = "chimera-grpc-test";
const GAS_LIMIT: u64 = 200_000;
/// 0.025uchim x 200000 gas.
const FEE: u128 = 5_000;
const START_UCHIM: u128 = 1_000_000_000;
/// Two weeks, not the default three: proves staking Params reads state.
const UNBONDING_SECS: u64 = 14 * 24 * 3600;

/// A chain driven by hand: the real app over a store in a tempdir.
struct Chain {
    _dir: tempfile::TempDir,
    storage: Storage,
    app: App,
    key: SigningKey,
    sender: Address,
    height: u64,
}

fn time(height: u64) -> tendermint::Time {
    tendermint::Time::from_unix_timestamp(1_700_000_000 + height as i64, 0).unwrap()
}

impl Chain {
    /// Genesis funding one key with three denoms, then an empty block 1.
    fn start() -> Chain {
        let dir = tempfile::tempdir().unwrap();
        let storage = open_storage(dir.path());
        let key = SigningKey::from_slice(&[0x42; 32]).unwrap();
        let sender = Address::from_secp256k1(&pubkey(&key));
        let genesis = serde_json::json!({
            "params": { "unbonding_time_secs": UNBONDING_SECS },
            "accounts": [{
                "address": sender.to_string(),
                "coins": [
                    { "denom": "ubar", "amount": "7" },
                    { "denom": "uchim", "amount": START_UCHIM.to_string() },
                    { "denom": "ufoo", "amount": "5" }
                ]
            }]
        });
        let mut app = App::new(storage.clone()).unwrap();
        init_chain(&mut app, CHAIN_ID, time(0), &genesis);
        let mut chain = Chain {
            _dir: dir,
            storage,
            app,
            key,
            sender,
            height: 0,
        };
        chain.block(Vec::new());
        chain
    }

    /// FinalizeBlock + Commit of the next height; the txs' results.
    fn block(&mut self, txs: Vec<Vec<u8>>) -> Vec<ExecTxResult> {
        self.height += 1;
        let fb = finalize_request(txs, self.height, time(self.height));
        finalize_and_commit(&mut self.app, &self.storage, fb)
    }

    /// A MsgSend of `amount` uchim to `to`, signed (SIGN_MODE_DIRECT) as a
    /// wallet signs it, with the account number and sequence given.
    fn send_tx(&self, to: &Address, amount: u128, account_number: u64, sequence: u64) -> Vec<u8> {
        let msg = MsgSend {
            from_address: self.sender.to_string(),
            to_address: to.to_string(),
            amount: vec![coin("uchim", amount)],
        };
        let send = Any {
            type_url: "/cosmos.bank.v1beta1.MsgSend".into(),
            value: msg.encode_to_vec(),
        };
        let fee = Fee {
            amount: vec![coin("uchim", FEE)],
            gas_limit: GAS_LIMIT,
            payer: String::new(),
            granter: String::new(),
        };
        sign_tx(
            &self.key,
            CHAIN_ID,
            account_number,
            sequence,
            vec![send],
            "grpc test",
            fee,
        )
    }

    /// An `abci_query` through the app, as CometBFT relays it.
    fn abci(&mut self, path: &str, data: Vec<u8>, height: u32) -> tendermint::abci::response::Query {
        abci_query(
            &mut self.app,
            request::Query {
                data: Bytes::from(data),
                path: path.into(),
                height: height.into(),
                prove: false,
            },
        )
    }
}

fn coin(denom: &str, amount: u128) -> Coin {
    Coin {
        denom: denom.into(),
        amount: amount.to_string(),
    }
}

fn addr(n: u8) -> Address {
    Address::from([n; 20])
}

fn base_account(any: Option<Any>) -> BaseAccount {
    let any = any.expect("an account");
    assert_eq!(any.type_url, "/cosmos.auth.v1beta1.BaseAccount");
    BaseAccount::decode(any.value.as_slice()).unwrap()
}

fn at_height<T>(msg: T, height: u64) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("x-cosmos-block-height", height.to_string().parse().unwrap());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_queries_over_grpc_and_abci() {
    let mut chain = Chain::start();
    let server = GrpcServer::start(chain.storage.clone(), CHAIN_ID).await;
    let ch = server.channel().await;
    let mut auth = AuthClient::new(ch.clone());
    let mut bank = BankClient::new(ch.clone());
    let mut txs = TxClient::new(ch.clone());
    let (recipient, second_recipient) = (addr(0xa1), addr(0xb2));

    // --- auth before any tx: the genesis account, as a wallet reads it.
    let acc = base_account(
        auth.account(QueryAccountRequest {
            address: chain.sender.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .account,
    );
    assert_eq!(
        (acc.address.clone(), acc.sequence, acc.pub_key.clone()),
        (chain.sender.to_string(), 0, None)
    );

    // --- block 2: a signed MsgSend, signed with what the query returned.
    let tx1 = chain.send_tx(&recipient, 1_000_000, acc.account_number, acc.sequence);
    let results = chain.block(vec![tx1]);
    assert!(results[0].code.is_ok(), "tx1 failed: {}", results[0].log);
    let delivered_tx1 = results[0].gas_used as u64;

    // Account: sequence bumped, key recorded.
    let resp = auth
        .account(QueryAccountRequest {
            address: chain.sender.to_string(),
        })
        .await
        .unwrap();
    assert_eq!(
        resp.metadata()
            .get("x-cosmos-block-height")
            .unwrap()
            .to_str()
            .unwrap(),
        "2"
    );
    let acc = base_account(resp.into_inner().account);
    assert_eq!(acc.sequence, 1);
    assert_eq!(
        acc.pub_key.as_ref().unwrap().type_url,
        "/cosmos.crypto.secp256k1.PubKey"
    );
    let info = auth
        .account_info(QueryAccountInfoRequest {
            address: chain.sender.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .info
        .unwrap();
    assert_eq!(info, acc);
    // The recipient's account was created on receipt.
    let r_acc = base_account(
        auth.account(QueryAccountRequest {
            address: recipient.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .account,
    );
    assert_ne!(r_acc.account_number, acc.account_number);

    // Unknown and malformed accounts: the SDK's codes and message.
    let unknown = addr(0x77).to_string();
    let e = auth
        .account(QueryAccountRequest {
            address: unknown.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::NotFound, format!("account {unknown} not found").as_str())
    );
    let e = auth
        .account(QueryAccountRequest {
            address: "cosmos1xyz".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        auth.accounts(QueryAccountsRequest { pagination: None })
            .await
            .unwrap_err()
            .code(),
        Code::Unimplemented
    );

    // Auth params (the SDK's defaults) and prefix.
    let p = auth
        .params(AuthParamsRequest {})
        .await
        .unwrap()
        .into_inner()
        .params
        .unwrap();
    assert_eq!(
        (
            p.max_memo_characters,
            p.tx_sig_limit,
            p.tx_size_cost_per_byte,
            p.sig_verify_cost_ed25519,
            p.sig_verify_cost_secp256k1
        ),
        (256, 7, 10, 590, 1000)
    );
    let prefix = auth
        .bech32_prefix(Bech32PrefixRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(prefix.bech32_prefix, "chimera");

    // --- bank after the send.
    let balance = |a: &Address, denom: &str| QueryBalanceRequest {
        address: a.to_string(),
        denom: denom.into(),
    };
    let got = bank
        .balance(balance(&chain.sender, "uchim"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.balance.unwrap(), coin("uchim", START_UCHIM - 1_000_000 - FEE));
    let got = bank
        .balance(balance(&recipient, "uchim"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.balance.unwrap(), coin("uchim", 1_000_000));
    // An unheld denom is a zero coin; a bad denom is refused.
    let got = bank
        .balance(balance(&recipient, "ufoo"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.balance.unwrap(), coin("ufoo", 0));
    let e = bank.balance(balance(&recipient, "x")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // Height 1 (before the send) through the SDK's height header.
    let got = bank
        .balance(at_height(balance(&chain.sender, "uchim"), 1))
        .await
        .unwrap();
    assert_eq!(
        got.metadata()
            .get("x-cosmos-block-height")
            .unwrap()
            .to_str()
            .unwrap(),
        "1"
    );
    assert_eq!(got.into_inner().balance.unwrap(), coin("uchim", START_UCHIM));

    // AllBalances: everything, then key pages of 2, then an offset page.
    let all = |pagination: Option<PageRequest>| QueryAllBalancesRequest {
        address: chain.sender.to_string(),
        pagination,
        resolve_denom: false,
    };
    let everything = vec![
        coin("ubar", 7),
        coin("uchim", START_UCHIM - 1_000_000 - FEE),
        coin("ufoo", 5),
    ];
    let r = bank.all_balances(all(None)).await.unwrap().into_inner();
    assert_eq!(r.balances, everything);
    assert_eq!(r.pagination.unwrap().total, 3);
    let page = |key: &[u8], offset: u64, limit: u64| PageRequest {
        key: key.to_vec(),
        offset,
        limit,
        count_total: true,
        reverse: false,
    };
    let r = bank
        .all_balances(all(Some(page(b"", 0, 2))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.balances, everything[..2]);
    let next = r.pagination.unwrap().next_key;
    assert_eq!(next, b"ufoo");
    let r = bank
        .all_balances(all(Some(page(&next, 0, 2))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.balances, everything[2..]);
    assert!(r.pagination.unwrap().next_key.is_empty());
    let r = bank
        .all_balances(all(Some(page(b"", 1, 1))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (r.balances, r.pagination.unwrap().total),
        (everything[1..2].to_vec(), 3)
    );
    let e = bank
        .all_balances(all(Some(page(b"ufoo", 1, 1))))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let r = bank
        .spendable_balances(QuerySpendableBalancesRequest {
            address: chain.sender.to_string(),
            pagination: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.balances, everything);
    // Listings need the latest state: an old height is refused, not wrong.
    let e = bank.all_balances(at_height(all(None), 1)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);

    // Supply: fees moved to the fee collector, nothing burned.
    let s = bank
        .total_supply(QueryTotalSupplyRequest { pagination: None })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        s.supply,
        vec![coin("ubar", 7), coin("uchim", START_UCHIM), coin("ufoo", 5)]
    );
    let s = bank
        .supply_of(QuerySupplyOfRequest {
            denom: "uchim".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.amount.unwrap(), coin("uchim", START_UCHIM));
    let m = bank
        .denom_metadata(QueryDenomMetadataRequest {
            denom: "uchim".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .metadata
        .unwrap();
    assert_eq!((m.base.as_str(), m.display.as_str()), ("uchim", "chim"));
    let e = bank
        .denom_metadata(QueryDenomMetadataRequest { denom: "ufoo".into() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // --- Simulate a fresh tx (sequence 1, to an account that does not exist
    // yet, as tx1's recipient did not), then deliver the same bytes in block
    // 3 from the same state. Simulation meters exactly as delivery (the
    // ante handler charges the secp256k1 verification in both modes), so the
    // figures should be equal; the assertion allows the verification cost
    // as slack, which is what an SDK chain's simulation may leave out.
    let tx2 = chain.send_tx(&second_recipient, 2_000, acc.account_number, 1);
    let sim = txs
        .simulate(SimulateRequest {
            tx_bytes: tx2.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let sim_gas = sim.gas_info.as_ref().unwrap();
    assert_eq!(sim_gas.gas_wanted, GAS_LIMIT);
    let result = sim.result.as_ref().unwrap();
    assert_eq!(
        result.msg_responses[0].type_url,
        "/cosmos.bank.v1beta1.MsgSendResponse"
    );
    assert!(result.events.iter().any(|e| e.r#type == "transfer"));
    // The simulation wrote nothing.
    assert_eq!(chain.storage.latest_version(), Some(2));
    let got = bank
        .balance(balance(&second_recipient, "uchim"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.balance.unwrap().amount, "0");
    // The deprecated `tx` field is re-encoded to the same bytes.
    let decoded = ibc_proto::cosmos::tx::v1beta1::TxDecodeRequest {
        tx_bytes: tx2.clone(),
    };
    let tx2_decoded = txs.tx_decode(decoded).await.unwrap().into_inner().tx.unwrap();
    #[allow(deprecated)]
    let sim_from_tx = txs
        .simulate(SimulateRequest {
            tx: Some(tx2_decoded),
            tx_bytes: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sim_from_tx.gas_info, sim.gas_info);

    let results = chain.block(vec![tx2.clone()]);
    assert!(results[0].code.is_ok(), "tx2 failed: {}", results[0].log);
    let delivered = results[0].gas_used as u64;
    eprintln!(
        "gas: tx1 delivered {delivered_tx1}, tx2 simulated {}, tx2 delivered {delivered}",
        sim_gas.gas_used
    );
    assert!(
        sim_gas.gas_used + cost::SIG_VERIFY_SECP256K1 >= delivered,
        "simulated {} is more than the sig-verify slack below delivered {delivered}",
        sim_gas.gas_used
    );
    assert!(sim_gas.gas_used <= delivered + cost::SIG_VERIFY_SECP256K1);

    // A replayed sequence fails as the SDK's simulation does: Unknown, with
    // the message Hermes parses ("account sequence mismatch, expected E,
    // got G") and the gas figures after it.
    let stale = chain.send_tx(&second_recipient, 1, acc.account_number, 0);
    let e = txs
        .simulate(SimulateRequest {
            tx_bytes: stale,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unknown);
    assert!(
        e.message()
            .starts_with("account sequence mismatch, expected 2, got 0: incorrect account sequence With gas wanted: '200000' and gas used: '"),
        "{}",
        e.message()
    );
    // A sequence ahead of the committed one (the sender's earlier txs still
    // in the mempool) simulates, as on the SDK's CheckTx state: pipelining
    // relayers estimate gas for each tx of a burst.
    let ahead = chain.send_tx(&second_recipient, 1, acc.account_number, 3);
    let sim_ahead = txs
        .simulate(SimulateRequest {
            tx_bytes: ahead,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(sim_ahead.gas_info.unwrap().gas_used > 0);
    let e = txs.simulate(SimulateRequest::default()).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::InvalidArgument, "empty txBytes is not allowed")
    );

    // --- staking params and node config, as Hermes reads them.
    let sp = StakingClient::new(ch.clone())
        .params(StakingParamsRequest {})
        .await
        .unwrap()
        .into_inner()
        .params
        .unwrap();
    assert_eq!(sp.unbonding_time.unwrap().seconds, UNBONDING_SECS as i64);
    assert_eq!(
        (sp.bond_denom.as_str(), sp.max_validators, sp.historical_entries),
        ("uchim", 100, 10_000)
    );
    let mut node = NodeClient::new(ch.clone());
    let cfg = node.config(ConfigRequest {}).await.unwrap().into_inner();
    assert_eq!(cfg.minimum_gas_price, "0.025uchim");
    let st = node.status(StatusRequest {}).await.unwrap().into_inner();
    assert_eq!((st.height, st.earliest_store_height), (3, 1));
    assert_eq!(st.app_hash, chain.storage.app_hash(3).unwrap().0.to_vec());

    // --- the same handlers as gRPC-over-ABCI, through the app's Query.
    let r = chain.abci(
        "/cosmos.bank.v1beta1.Query/AllBalances",
        QueryAllBalancesRequest {
            address: second_recipient.to_string(),
            pagination: None,
            resolve_denom: false,
        }
        .encode_to_vec(),
        0,
    );
    assert!(r.code.is_ok(), "{}", r.log);
    assert_eq!(r.height.value(), 3);
    let all = QueryAllBalancesResponse::decode(r.value.as_ref()).unwrap();
    assert_eq!(all.balances, vec![coin("uchim", 2_000)]);
    // cosmjs treats an account query failing with "rpc error: code =
    // NotFound" as "no such account".
    let r = chain.abci(
        "/cosmos.auth.v1beta1.Query/Account",
        QueryAccountRequest {
            address: unknown.clone(),
        }
        .encode_to_vec(),
        0,
    );
    assert_eq!(r.code.value(), 38);
    assert_eq!(r.codespace, "sdk");
    assert_eq!(
        r.log,
        format!("rpc error: code = NotFound desc = account {unknown} not found: key not found")
    );
    // An older height through ABCI's own height field.
    let r = chain.abci(
        "/cosmos.bank.v1beta1.Query/Balance",
        balance(&chain.sender, "uchim").encode_to_vec(),
        1,
    );
    let b = ibc_proto::cosmos::bank::v1beta1::QueryBalanceResponse::decode(r.value.as_ref()).unwrap();
    assert_eq!(b.balance.unwrap(), coin("uchim", START_UCHIM));
    // Hermes 1.11 asks these three over abci_query, never over gRPC.
    let r = chain.abci("/cosmos.staking.v1beta1.Query/Params", Vec::new(), 0);
    let sp = QueryParamsResponse::decode(r.value.as_ref())
        .unwrap()
        .params
        .unwrap();
    assert_eq!(sp.unbonding_time.unwrap().seconds, UNBONDING_SECS as i64);
    let r = chain.abci("/cosmos.base.node.v1beta1.Service/Config", Vec::new(), 0);
    assert_eq!(
        ConfigResponse::decode(r.value.as_ref())
            .unwrap()
            .minimum_gas_price,
        "0.025uchim"
    );
    let r = chain.abci(
        "/cosmos.base.tendermint.v1beta1.Service/GetNodeInfo",
        GetNodeInfoRequest {}.encode_to_vec(),
        0,
    );
    let v = GetNodeInfoResponse::decode(r.value.as_ref())
        .unwrap()
        .application_version
        .unwrap();
    assert_eq!((v.name.as_str(), v.app_name.as_str()), ("chimera", "chimerad"));
    assert!(v
        .build_deps
        .iter()
        .any(|m| m.path == "github.com/cometbft/cometbft" && m.version.starts_with("v0.38.")));
    // cosmjs simulates over ABCI too: same figure as over gRPC.
    let tx3 = chain.send_tx(&recipient, 1, acc.account_number, 2);
    let r = chain.abci(
        "/cosmos.tx.v1beta1.Service/Simulate",
        SimulateRequest {
            tx_bytes: tx3.clone(),
            ..Default::default()
        }
        .encode_to_vec(),
        0,
    );
    assert!(r.code.is_ok(), "{}", r.log);
    let abci_sim = SimulateResponse::decode(r.value.as_ref()).unwrap();
    let grpc_sim = txs
        .simulate(SimulateRequest {
            tx_bytes: tx3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(abci_sim.gas_info, grpc_sim.gas_info);
    // Paths it does not serve stay the app's "unknown query path".
    let r = chain.abci("/cosmos.staking.v1beta1.Query/Validators", Vec::new(), 0);
    assert_eq!(r.code.value(), 6);
    // Undecodable request bytes: invalid request.
    let r = chain.abci("/cosmos.bank.v1beta1.Query/Balance", vec![0xff, 0xff], 0);
    assert_eq!(r.code.value(), 18);
    // The gRPC route without a leading slash works the same (direct call).
    let direct = chimera_host::grpc::abci_route(
        &chain.storage,
        CHAIN_ID,
        "cosmos.auth.v1beta1.Query/Bech32Prefix",
        &[],
        0,
    );
    assert!(matches!(direct, Some(Ok(_))));

    server.stop().await;
}

/// Queries before genesis is committed: empty answers or a clear refusal,
/// never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_on_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), StorageOptions::default()).unwrap();
    let server = GrpcServer::start(storage.clone(), CHAIN_ID).await;
    let ch = server.channel().await;
    let e = AuthClient::new(ch.clone())
        .account(QueryAccountRequest {
            address: addr(1).to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let r = BankClient::new(ch.clone())
        .all_balances(QueryAllBalancesRequest {
            address: addr(1).to_string(),
            pagination: None,
            resolve_denom: false,
        })
        .await
        .unwrap();
    assert_eq!(
        r.metadata()
            .get("x-cosmos-block-height")
            .unwrap()
            .to_str()
            .unwrap(),
        "0"
    );
    assert!(r.into_inner().balances.is_empty());
    let e = NodeClient::new(ch.clone())
        .config(ConfigRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = BankClient::new(ch)
        .balance(at_height(
            QueryBalanceRequest {
                address: addr(1).to_string(),
                denom: "uchim".into(),
            },
            5,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    server.stop().await;
}
