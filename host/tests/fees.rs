//! Fees over real state (genesis applied to a RocksDB-backed store, every
//! message through `chain::tx::Msg::exec` as a tx would run it): a priced
//! model charges exactly its price; too little or the wrong denom is
//! refused with nothing moved; a result pays the agreeing executors'
//! operators, burns the native burn part, holds Terra Classic parts for
//! sending, and counts faults up to exclusion; re-registering reinstates;
//! an error refunds; the authority alone updates the schedule. A property
//! test runs random sequences of requests and outcomes and checks that
//! every micro-unit is accounted for.

mod chain_support;

use chain_support::open_storage;
use chimera_host::chain::address::Address;
use chimera_host::chain::bank;
use chimera_host::chain::error::TxError;
use chimera_host::chain::gas::{unmetered, Ctx};
use chimera_host::chain::genesis::AppGenesis;
use chimera_host::chain::tx::Msg;
use chimera_host::fees::{self, store as fee_store, FeeParams};
use chimera_host::inference::jobs::{self, Outcome, Verdict};
use chimera_host::inference::store;
use chimera_host::state::Delta;
use chimera_packets::proto::fees as pb;
use chimera_packets::{proto, AckError, ErrorCode};
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::google::protobuf::Any;
use prost::{Message, Name};
use tendermint::abci::Event;

const HEIGHT: u64 = 9;
const CHAIN: &str = "chimera-test";
const MODEL_SHA: &str = "5d41402abc4b2a76b9719d911017c592a7b1c7e8f3e2a9d6c4b0f1e2d3c4b5a6";
const LUNC_PATH: &str = "transfer/channel-0/uluna";
const NATIVE_PRICE: u128 = 1000;
const LUNC_PRICE: u128 = 1500;
const FAULT_LIMIT: u64 = 2;

fn lunc() -> String {
    fees::params::bank_denom(LUNC_PATH)
}

/// Validator `i`'s consensus address.
fn validator(i: u8) -> Vec<u8> {
    vec![0xA0 + i; 20]
}

/// The operator of validator `i` (validators 0..3 have one, 3 has none).
fn operator(i: u8) -> Address {
    Address::from([0x10 + i; 20])
}

fn authority() -> Address {
    Address::from([0x77; 20])
}

fn user(i: u8) -> Address {
    Address::from([0x30 + i; 20])
}

fn fee_params() -> serde_json::Value {
    serde_json::json!({
        "authority": authority().to_string(),
        "prices": [
            {"model": "digits-ddpm", "denom": "uchim", "amount": NATIVE_PRICE.to_string()},
            {"model": "digits-ddpm", "denom": LUNC_PATH, "amount": LUNC_PRICE.to_string()},
        ],
        "fault_limit": FAULT_LIMIT,
    })
}

fn opened(dir: &tempfile::TempDir, fees: serde_json::Value) -> Delta {
    let storage = open_storage(dir.path());
    let mut state = Delta::new(storage.latest_snapshot());
    let operators: Vec<_> = (0..3u8)
        .map(|i| serde_json::json!({"operator": operator(i).to_string(), "validator": hex::encode_upper(validator(i))}))
        .collect();
    let g = serde_json::json!({
        "inference": {
            "models": [
                {"id": "digits-ddpm", "sha256": MODEL_SHA, "task": "generate",
                 "sketch": {"rule": "image", "levels": 256, "tolerance": 8, "thumb": 8}},
                {"id": "tiny-lm", "sha256": MODEL_SHA, "task": "generate",
                 "sketch": {"rule": "image", "levels": 256, "tolerance": 8, "thumb": 8}},
            ],
            "operators": operators,
        },
        "fees": fees,
    });
    AppGenesis::parse(g.to_string().as_bytes())
        .unwrap()
        .apply(&mut state)
        .unwrap();
    unmetered(&mut state, HEIGHT, |ctx| {
        for i in 0..4 {
            bank::mint(ctx, &user(i), "uchim", 1_000_000)?;
            bank::mint(ctx, &user(i), &lunc(), 1_000_000)?;
        }
        Ok::<_, TxError>(())
    })
    .unwrap();
    state
}

fn run_msg(signer: &Address, model: &str, fee: &[(&str, u128)]) -> Msg {
    let data = chain_support::seven_request(&signer.to_string(), model);
    let fee = fee
        .iter()
        .map(|(d, a)| Coin {
            denom: d.to_string(),
            amount: a.to_string(),
        })
        .collect();
    Msg::from_any(&Any {
        type_url: proto::MsgRunInference::type_url(),
        value: data.to_msg(fee).encode_to_vec(),
    })
    .unwrap()
}

/// Runs `msg` signed by `signer` as a tx would: kept only if it succeeds.
fn exec(state: &mut Delta, signer: &Address, msg: &Msg) -> Result<Any, TxError> {
    let mut fork = state.fork();
    let mut events = Vec::new();
    let r = unmetered(&mut fork, HEIGHT, |ctx| msg.exec(ctx, signer, CHAIN, &mut events));
    if r.is_ok() {
        state.absorb(fork);
    }
    r
}

fn request(state: &mut Delta, signer: &Address, model: &str, fee: &[(&str, u128)]) -> Result<u64, TxError> {
    let any = exec(state, signer, &run_msg(signer, model, fee))?;
    Ok(proto::MsgRunInferenceResponse::decode(any.value.as_slice())
        .unwrap()
        .job_id)
}

fn result(job: u64) -> Outcome {
    Outcome::Result(chimera_packets::InferenceResult {
        job_id: job,
        model_hash: [7; 32],
        output: chimera_packets::OutputCommitment {
            sha256: [8; 32],
            size: 10,
            encoding: chimera_packets::OutputEncoding::Png,
        },
        quorum: chimera_packets::Quorum {
            height: HEIGHT,
            agreeing_power: 30,
            total_power: 40,
        },
    })
}

fn finish(state: &mut Delta, job: u64, outcome: Outcome, verdict: &Verdict) -> Vec<Event> {
    let mut events = Vec::new();
    unmetered(state, HEIGHT + 1, |ctx| {
        let rec = store::get_job(ctx, job)?.expect("the job");
        jobs::finish(ctx, rec, &outcome, verdict, &mut events).map(|_| ())
    })
    .unwrap();
    events
}

fn verdict(agreeing: &[u8], disagreeing: &[u8]) -> Verdict {
    Verdict {
        agreeing: agreeing.iter().map(|i| validator(*i)).collect(),
        disagreeing: disagreeing.iter().map(|i| validator(*i)).collect(),
    }
}

fn with_ctx<T>(state: &mut Delta, f: impl FnOnce(&mut Ctx) -> Result<T, TxError>) -> T {
    unmetered(state, HEIGHT, f).unwrap()
}

fn balance(state: &mut Delta, a: &Address, denom: &str) -> u128 {
    with_ctx(state, |ctx| bank::balance(ctx, a, denom))
}

fn supply(state: &mut Delta, denom: &str) -> u128 {
    with_ctx(state, |ctx| {
        Ok(ctx
            .get(&[b"bank/supply/".as_slice(), denom.as_bytes()].concat())?
            .map(|b| String::from_utf8(b).unwrap().parse::<u128>().unwrap())
            .unwrap_or(0))
    })
}

fn executor(state: &mut Delta, i: u8) -> pb::Executor {
    with_ctx(state, |ctx| fee_store::executor(ctx, &validator(i)))
}

fn earned(state: &mut Delta, i: u8, denom: &str) -> u128 {
    executor(state, i)
        .earned
        .iter()
        .find(|c| c.denom == denom)
        .map_or(0, |c| c.amount.parse().unwrap())
}

fn escrow() -> Address {
    chimera_host::inference::requester::escrow_account()
}

#[test]
fn a_priced_model_charges_its_price_and_refuses_less() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = opened(&dir, fee_params());
    let u = user(0);

    // Offering more than the price: exactly the price moves to escrow.
    request(&mut state, &u, "digits-ddpm", &[("uchim", 5_000)]).unwrap();
    assert_eq!(balance(&mut state, &u, "uchim"), 1_000_000 - NATIVE_PRICE);
    assert_eq!(balance(&mut state, &escrow(), "uchim"), NATIVE_PRICE);

    // LUNC (the ICS-20 voucher) is accepted at its own price.
    request(&mut state, &u, "digits-ddpm", &[(&lunc(), LUNC_PRICE)]).unwrap();
    assert_eq!(balance(&mut state, &u, &lunc()), 1_000_000 - LUNC_PRICE);

    // Too little, nothing, or an unpriced denom: code 13, nothing moved.
    for fee in [
        vec![("uchim", NATIVE_PRICE - 1)],
        vec![],
        vec![(
            "ibc/0000000000000000000000000000000000000000000000000000000000000000",
            10_000,
        )],
    ] {
        let e = request(&mut state, &u, "digits-ddpm", &fee).unwrap_err();
        assert_eq!(e.code(), 13, "{e}");
        assert!(e.to_string().contains("costs 1000uchim or 1500ibc/"), "{e}");
    }
    assert_eq!(balance(&mut state, &u, "uchim"), 1_000_000 - NATIVE_PRICE);

    // A model without a price (and no "*"): the offer is the fee.
    request(&mut state, &u, "tiny-lm", &[("uchim", 7)]).unwrap();
    assert_eq!(balance(&mut state, &escrow(), "uchim"), NATIVE_PRICE + 7);
    // A payer without the funds: code 5.
    let poor = Address::from([0x55; 20]);
    let e = request(&mut state, &poor, "digits-ddpm", &[("uchim", NATIVE_PRICE)]).unwrap_err();
    assert_eq!(e.code(), 5, "{e}");
}

#[test]
fn a_result_pays_agreeing_executors_burns_and_funds_the_community() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = opened(&dir, fee_params());
    let u = user(1);
    let supply_before = supply(&mut state, "uchim");

    // Native fee 1000: pool 700 over 3 agreeing = 233 each, dust 1 burned
    // with the 200 burn part; validator 3 has no operator, so its 233 goes
    // to the community with the 100 community part.
    let job = request(&mut state, &u, "digits-ddpm", &[("uchim", NATIVE_PRICE)]).unwrap();
    let events = finish(&mut state, job, result(job), &verdict(&[0, 1, 3], &[2]));
    for i in [0, 1] {
        assert_eq!(balance(&mut state, &operator(i), "uchim"), 233, "operator {i}");
        assert_eq!(earned(&mut state, i, "uchim"), 233);
        assert_eq!(executor(&mut state, i).jobs_paid, 1);
    }
    assert_eq!(
        balance(&mut state, &operator(2), "uchim"),
        0,
        "a disagreeing executor earns nothing"
    );
    assert_eq!(executor(&mut state, 2).faults, 1);
    assert!(!executor(&mut state, 2).excluded);
    assert_eq!(
        supply_before - supply(&mut state, "uchim"),
        201,
        "burned on this chain"
    );
    assert_eq!(balance(&mut state, &fee_store::community_account(), "uchim"), 333);
    assert_eq!(balance(&mut state, &escrow(), "uchim"), 0);
    let t = with_ctx(&mut state, |ctx| fee_store::totals(ctx, "uchim"));
    assert_eq!(
        (t.collected, t.paid_to_executors, t.burned, t.community_paid),
        (1000, 466, 201, 333)
    );
    assert!(events.iter().any(|e| e.kind == "fees_paid"));
    assert!(events.iter().any(|e| e.kind == "executor_fault"));

    // LUNC fee 1500: 1050 / 2 = 525 each; 300 burn and 150 community wait
    // in the module accounts for the ICS-20 send to Terra Classic.
    let job = request(&mut state, &u, "digits-ddpm", &[(&lunc(), LUNC_PRICE)]).unwrap();
    finish(&mut state, job, result(job), &verdict(&[0, 1], &[2]));
    assert_eq!(balance(&mut state, &operator(0), &lunc()), 525);
    assert_eq!(balance(&mut state, &fee_store::burn_account(), &lunc()), 300);
    assert_eq!(balance(&mut state, &fee_store::community_account(), &lunc()), 150);
    let t = with_ctx(&mut state, |ctx| fee_store::totals(ctx, &lunc()));
    assert_eq!((t.collected, t.paid_to_executors, t.burned), (1500, 1050, 0));

    // The second fault reaches the limit: excluded.
    assert_eq!(executor(&mut state, 2).faults, FAULT_LIMIT);
    assert!(executor(&mut state, 2).excluded);

    // An error refunds the whole fee.
    let before = balance(&mut state, &u, "uchim");
    let job = request(&mut state, &u, "digits-ddpm", &[("uchim", NATIVE_PRICE)]).unwrap();
    finish(
        &mut state,
        job,
        Outcome::Error(AckError::new(ErrorCode::NoQuorum, "no quorum")),
        &Verdict::default(),
    );
    assert_eq!(balance(&mut state, &u, "uchim"), before);
    let t = with_ctx(&mut state, |ctx| fee_store::totals(ctx, "uchim"));
    assert_eq!(t.refunded, NATIVE_PRICE);

    // Re-registering its executor key reinstates validator 2.
    let reg = Msg::from_any(&Any {
        type_url: proto::MsgRegisterExecutorKey::type_url(),
        value: proto::MsgRegisterExecutorKey {
            validator: operator(2).to_string(),
            x25519_public_key: vec![9; 32],
        }
        .encode_to_vec(),
    })
    .unwrap();
    exec(&mut state, &operator(2), &reg).unwrap();
    let e = executor(&mut state, 2);
    assert_eq!((e.faults, e.excluded), (0, false));
}

#[test]
fn only_the_authority_updates_the_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = opened(&dir, fee_params());
    let mut next = pb::Params::from(&FeeParams::load(&state).unwrap());
    next.prices[0].amount = "2000".into();
    let msg = |authority: &Address, params: pb::Params| {
        Msg::from_any(&Any {
            type_url: pb::MsgUpdateParams::type_url(),
            value: pb::MsgUpdateParams {
                authority: authority.to_string(),
                params: Some(params),
            }
            .encode_to_vec(),
        })
        .unwrap()
    };
    let e = exec(&mut state, &user(0), &msg(&user(0), next.clone())).unwrap_err();
    assert_eq!(e.code(), 4, "{e}");
    let mut bad = next.clone();
    bad.burn_bps = 1;
    let e = exec(&mut state, &authority(), &msg(&authority(), bad)).unwrap_err();
    assert!(e.to_string().contains("must be 10000"), "{e}");
    exec(&mut state, &authority(), &msg(&authority(), next)).unwrap();
    let e = request(&mut state, &user(0), "digits-ddpm", &[("uchim", NATIVE_PRICE)]).unwrap_err();
    assert!(e.to_string().contains("costs 2000uchim"), "{e}");
}

#[test]
fn a_contract_route_executor_part_pays_the_jobs_agreeing_executors_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = opened(&dir, fee_params());
    let pool = fee_store::pool_account();
    // Job 77 came in as a packet and agreed by validators 0, 1 and 3 (no
    // operator); the Terra contract sends 700 uluna for it, then again.
    with_ctx(&mut state, |ctx| {
        fee_store::put_job_executors(ctx, 77, &[validator(0), validator(1), validator(3)])
    });
    let memo = fees::settle::remote_memo(77);
    assert_eq!(memo, r#"{"chimera_fees":{"job_id":"77"}}"#);
    for _ in 0..2 {
        let mut events = Vec::new();
        with_ctx(&mut state, |ctx| {
            bank::mint(ctx, &pool, &lunc(), 700)?;
            fees::settle::pay_remote(ctx, &memo, &lunc(), 700, &mut events)
        });
        assert!(events.iter().any(|e| e.kind == "fees_paid"));
    }
    // First: 233 each to operators 0 and 1, 1 dust burned, 233 (validator
    // 3's) to the community. Second: the job was paid, all 700 to the
    // community.
    assert_eq!(balance(&mut state, &operator(0), &lunc()), 233);
    assert_eq!(balance(&mut state, &operator(1), &lunc()), 233);
    assert_eq!(balance(&mut state, &fee_store::burn_account(), &lunc()), 1);
    assert_eq!(
        balance(&mut state, &fee_store::community_account(), &lunc()),
        233 + 700
    );
    assert_eq!(balance(&mut state, &pool, &lunc()), 0);
    let t = with_ctx(&mut state, |ctx| fee_store::totals(ctx, &lunc()));
    assert_eq!((t.collected, t.paid_to_executors), (1400, 466));
    assert_eq!(earned(&mut state, 0, &lunc()), 233);
}

mod conservation {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        /// User `u` asks with `amount` of denom `d` (0 native, 1 LUNC).
        Request { u: u8, d: u8, amount: u128 },
        /// The oldest pending job gets a result agreed by the validators
        /// in `agree` (bits) and disagreed by those in `differ`.
        Result { agree: u8, differ: u8 },
        /// The oldest pending job fails.
        Error,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..4, 0u8..2, prop_oneof![Just(0u128), 1u128..5_000, Just(u128::from(u64::MAX))])
                .prop_map(|(u, d, amount)| Op::Request { u, d, amount }),
            2 => (0u8..16, 0u8..16).prop_map(|(agree, differ)| Op::Result { agree, differ: differ & !agree }),
            1 => Just(Op::Error),
        ]
    }

    fn bits(mask: u8) -> Vec<u8> {
        (0..4).filter(|i| mask & (1 << i) != 0).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// After any sequence of requests and outcomes, for each denom:
        /// what was minted = the users' balances + escrow + what the
        /// operators hold + burn and community accounts + burned here; the
        /// escrow holds exactly the pending jobs' fees; the totals agree
        /// with the balances; faults count every disagreement.
        #[test]
        fn every_micro_unit_is_accounted_for(ops in proptest::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let mut state = opened(&dir, fee_params());
            let denoms = ["uchim".to_string(), lunc()];
            let mut pending: std::collections::VecDeque<(u64, String, u128)> = Default::default();
            let mut refunded = [0u128; 2];
            let mut faults = [0u64; 4];
            for op in ops {
                match op {
                    Op::Request { u, d, amount } => {
                        let denom = denoms[d as usize].clone();
                        let fee = if amount == 0 { vec![] } else { vec![(denom.as_str(), amount)] };
                        let price = if d == 0 { NATIVE_PRICE } else { LUNC_PRICE };
                        match request(&mut state, &user(u), "digits-ddpm", &fee) {
                            Ok(job) => {
                                prop_assert!(amount >= price);
                                pending.push_back((job, denom, price));
                            }
                            Err(e) => prop_assert!(amount < price || amount > 1_000_000, "{e}"),
                        }
                    }
                    Op::Result { agree, differ } => {
                        let Some((job, _, _)) = pending.pop_front() else { continue };
                        for v in bits(differ) {
                            faults[v as usize] += 1;
                        }
                        finish(&mut state, job, result(job), &verdict(&bits(agree), &bits(differ)));
                    }
                    Op::Error => {
                        let Some((job, denom, price)) = pending.pop_front() else { continue };
                        refunded[denoms.iter().position(|d| *d == denom).unwrap()] += price;
                        finish(&mut state, job, Outcome::Error(AckError::new(ErrorCode::NoQuorum, "x")), &Verdict::default());
                    }
                }
            }
            for (di, denom) in denoms.iter().enumerate() {
                let users: u128 = (0..4).map(|i| balance(&mut state, &user(i), denom)).sum();
                let operators: u128 = (0..4).map(|i| balance(&mut state, &operator(i), denom)).sum();
                let earned: u128 = (0..4).map(|i| earned(&mut state, i, denom)).sum();
                let esc = balance(&mut state, &escrow(), denom);
                let burn = balance(&mut state, &fee_store::burn_account(), denom);
                let community = balance(&mut state, &fee_store::community_account(), denom);
                let t = with_ctx(&mut state, |ctx| fee_store::totals(ctx, denom));
                prop_assert_eq!(users + esc + operators + burn + community + t.burned, 4 * 1_000_000, "{}", denom);
                prop_assert_eq!(supply(&mut state, denom) + t.burned, 4 * 1_000_000);
                let waiting: u128 = pending.iter().filter(|(_, d, _)| d == denom).map(|(_, _, p)| p).sum();
                prop_assert_eq!(esc, waiting);
                prop_assert_eq!(operators, earned);
                prop_assert_eq!(t.paid_to_executors, earned);
                prop_assert_eq!(t.collected, earned + burn + community + t.burned);
                prop_assert_eq!(t.refunded, refunded[di]);
            }
            for i in 0..4u8 {
                let e = executor(&mut state, i);
                prop_assert_eq!(e.faults, faults[i as usize]);
                prop_assert_eq!(e.excluded, faults[i as usize] >= FAULT_LIMIT);
            }
        }
    }
}
