//! Unit tests with cosmwasm-std's mocks: every entry point, every error,
//! exact escrow amounts and exact packet bytes.

use std::collections::BTreeMap;

use chimera_packets::sealed::{WrappedKey, SCHEME};
use chimera_packets::{
    AckError, Acknowledgement, DType, ErrorCode, InferencePacketData, InferenceResult, Input, InputEncoding,
    OutputCommitment, OutputEncoding, Params, Quorum, SealedEnvelope, CHANNEL_VERSION,
};
use cosmwasm_std::testing::{
    mock_dependencies, mock_env, mock_ibc_channel, mock_ibc_channel_close_confirm,
    mock_ibc_channel_close_init, mock_ibc_channel_connect_ack, mock_ibc_channel_connect_confirm,
    mock_ibc_channel_open_init, mock_ibc_channel_open_try, mock_ibc_packet_ack, mock_ibc_packet_recv,
    mock_ibc_packet_timeout, mock_info, MockApi, MockQuerier, MockStorage,
};
use cosmwasm_std::{
    coin, coins, from_json, to_json_binary, Addr, BankMsg, Binary, ContractInfoResponse, ContractResult,
    CosmosMsg, IbcAcknowledgement, IbcChannel, IbcChannelConnectMsg, IbcChannelOpenMsg, IbcMsg, IbcOrder,
    IbcPacket, IbcTimeout, OwnedDeps, Reply, ReplyOn, Response, SubMsg, SubMsgResponse, SubMsgResult,
    SystemError, SystemResult, Uint64, WasmMsg, WasmQuery,
};

use crate::contract::{execute, instantiate, query, reply, DEFAULT_CALLBACK_GAS_LIMIT, MAX_TIMEOUT_SECONDS};
use crate::error::ContractError;
use crate::ibc::{
    ibc_channel_close, ibc_channel_connect, ibc_channel_open, ibc_packet_ack, ibc_packet_receive,
    ibc_packet_timeout,
};
use crate::msg::{
    CallbackMsg, ChannelsResponse, Encoding, ExecuteMsg, FeeSplitMsg, InstantiateMsg, QueryMsg,
    RequestInferenceResponse, RequestsResponse,
};
use crate::state::{
    ChannelInfo, ChannelState, Config, ErrorRecord, Outcome, Price, QuorumRecord, Request, RequestStatus,
    ResultRecord, SplitPaid, REQUESTS, REQUESTS_BY_REQUESTER,
};

type Deps = OwnedDeps<MockStorage, MockApi, MockQuerier>;

const CHANNEL: &str = "channel-0";
const ADMIN: &str = "terra1admin";
const PAYOUT: &str = "terra1payout";
const ALICE: &str = "terra1alice";
const BOB: &str = "terra1bob";
/// A contract the mock querier knows (for `callback: true`).
const DAPP: &str = "terra1dapp";

/// Our channel as the host's `inference` port sees it.
fn chimera_channel(id: &str, order: IbcOrder, version: &str) -> IbcChannel {
    let mut channel = mock_ibc_channel(id, order, version);
    channel.counterparty_endpoint.port_id = "inference".into();
    channel
}

fn setup() -> Deps {
    let mut deps = mock_dependencies();
    deps.querier.update_wasm(|q| match q {
        WasmQuery::ContractInfo { contract_addr } if contract_addr == DAPP => {
            let mut info = ContractInfoResponse::default();
            info.code_id = 7;
            info.creator = ADMIN.into();
            SystemResult::Ok(ContractResult::Ok(to_json_binary(&info).unwrap()))
        }
        WasmQuery::ContractInfo { contract_addr } => SystemResult::Err(SystemError::NoSuchContract {
            addr: contract_addr.clone(),
        }),
        _ => SystemResult::Err(SystemError::UnsupportedRequest { kind: "wasm".into() }),
    });
    let msg = InstantiateMsg {
        admin: None,
        payout_address: Some(PAYOUT.into()),
        ..Default::default()
    };
    instantiate(deps.as_mut(), mock_env(), mock_info(ADMIN, &[]), msg).unwrap();
    open_channel(&mut deps, CHANNEL);
    deps
}

fn open_channel(deps: &mut Deps, id: &str) {
    let channel = chimera_channel(id, IbcOrder::Unordered, CHANNEL_VERSION);
    ibc_channel_open(
        deps.as_mut(),
        mock_env(),
        IbcChannelOpenMsg::new_init(channel.clone()),
    )
    .unwrap();
    ibc_channel_connect(
        deps.as_mut(),
        mock_env(),
        IbcChannelConnectMsg::new_ack(channel, CHANNEL_VERSION),
    )
    .unwrap();
}

fn text_request(prompt: &str) -> ExecuteMsg {
    ExecuteMsg::RequestInference {
        channel: CHANNEL.into(),
        model: "digits-ddpm".into(),
        input: Binary::from(prompt.as_bytes()),
        encoding: Encoding::Text,
        params: Params {
            seed: 42,
            extra: BTreeMap::from([("steps".to_string(), "20".to_string())]),
        },
        sealed: None,
        output_key: None,
        timeout_seconds: None,
        callback: false,
    }
}

fn with<F: FnOnce(&mut ExecuteMsg)>(mut msg: ExecuteMsg, f: F) -> ExecuteMsg {
    f(&mut msg);
    msg
}

fn request(deps: &mut Deps, sender: &str, msg: ExecuteMsg, fee: u128) -> Result<Response, ContractError> {
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(sender, &coins(fee, "uluna")),
        msg,
    )
}

/// The `IbcMsg::SendPacket` of a response: (channel, data, timeout).
fn sent_packet(res: &Response) -> (String, Binary, IbcTimeout) {
    assert_eq!(res.messages.len(), 1);
    match &res.messages[0].msg {
        CosmosMsg::Ibc(IbcMsg::SendPacket {
            channel_id,
            data,
            timeout,
        }) => (channel_id.clone(), data.clone(), timeout.clone()),
        other => panic!("expected SendPacket, got {other:?}"),
    }
}

/// The packet as relayed back to us with its acknowledgement or timeout.
fn our_packet(data: &Binary, sequence: u64) -> IbcPacket {
    let mut packet = mock_ibc_packet_timeout(CHANNEL, &"").unwrap().packet;
    packet.data = data.clone();
    packet.sequence = sequence;
    packet
}

fn ack_msg(data: &Binary, sequence: u64, ack: &[u8]) -> cosmwasm_std::IbcPacketAckMsg {
    let mut msg = mock_ibc_packet_ack(CHANNEL, &"", IbcAcknowledgement::new(ack.to_vec())).unwrap();
    msg.original_packet = our_packet(data, sequence);
    msg
}

fn get_request(deps: &Deps, id: u64) -> Request {
    from_json(query(deps.as_ref(), mock_env(), QueryMsg::Request { id }).unwrap()).unwrap()
}

fn result_ack() -> (InferenceResult, Vec<u8>) {
    let result = InferenceResult {
        job_id: 7,
        model_hash: [0xc7; 32],
        output: OutputCommitment {
            sha256: [0xd0; 32],
            size: 9,
            encoding: OutputEncoding::Png,
        },
        quorum: Quorum {
            height: 1234,
            agreeing_power: 30,
            total_power: 40,
        },
    };
    let bytes = Acknowledgement::Result(result.clone()).to_bytes();
    (result, bytes)
}

fn bank_send(res_msgs: &[SubMsg], to: &str, amount: u128) {
    assert_eq!(
        res_msgs[0],
        SubMsg::new(BankMsg::Send {
            to_address: to.into(),
            amount: coins(amount, "uluna"),
        })
    );
}

// ---------------------------------------------------------------- instantiate

#[test]
fn instantiate_defaults() {
    let mut deps = mock_dependencies();
    instantiate(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        InstantiateMsg::default(),
    )
    .unwrap();
    let config: Config = from_json(query(deps.as_ref(), mock_env(), QueryMsg::Config {}).unwrap()).unwrap();
    assert_eq!(
        config,
        Config {
            admin: Addr::unchecked(ADMIN),
            payout_address: Addr::unchecked(ADMIN),
            denom: "uluna".into(),
            max_input_bytes: 65536,
            default_timeout_seconds: 600,
            callback_gas_limit: DEFAULT_CALLBACK_GAS_LIMIT,
            fee_split: None,
            prices: vec![],
        }
    );
}

#[test]
fn instantiate_with_every_field_and_refuses_bad_values() {
    let mut deps = mock_dependencies();
    let msg = InstantiateMsg {
        admin: Some(BOB.into()),
        payout_address: Some(PAYOUT.into()),
        max_input_bytes: Some(1024),
        default_timeout_seconds: Some(120),
        callback_gas_limit: Some(500_000),
        ..Default::default()
    };
    instantiate(deps.as_mut(), mock_env(), mock_info(ADMIN, &[]), msg).unwrap();
    let config: Config = from_json(query(deps.as_ref(), mock_env(), QueryMsg::Config {}).unwrap()).unwrap();
    assert_eq!(config.admin, Addr::unchecked(BOB));
    assert_eq!(config.payout_address, Addr::unchecked(PAYOUT));
    assert_eq!(
        (
            config.max_input_bytes,
            config.default_timeout_seconds,
            config.callback_gas_limit
        ),
        (1024, 120, 500_000)
    );

    let bad = |msg: InstantiateMsg| {
        instantiate(
            mock_dependencies().as_mut(),
            mock_env(),
            mock_info(ADMIN, &[]),
            msg,
        )
        .unwrap_err()
    };
    assert!(matches!(
        bad(InstantiateMsg {
            max_input_bytes: Some(0),
            ..Default::default()
        }),
        ContractError::InvalidConfig(_)
    ));
    assert!(matches!(
        bad(InstantiateMsg {
            max_input_bytes: Some(65537),
            ..Default::default()
        }),
        ContractError::InvalidConfig(_)
    ));
    assert!(matches!(
        bad(InstantiateMsg {
            callback_gas_limit: Some(1),
            ..Default::default()
        }),
        ContractError::InvalidConfig(_)
    ));
    assert_eq!(
        bad(InstantiateMsg {
            default_timeout_seconds: Some(0),
            ..Default::default()
        }),
        ContractError::InvalidTimeout {
            seconds: 0,
            max: MAX_TIMEOUT_SECONDS
        }
    );
    assert!(matches!(
        bad(InstantiateMsg {
            admin: Some("Terra1NotNormalized".into()),
            ..Default::default()
        }),
        ContractError::Std(_)
    ));
}

// ---------------------------------------------------------------- handshake

#[test]
fn open_init_answers_an_empty_version_with_ours() {
    let mut deps = mock_dependencies();
    for proposed in ["", CHANNEL_VERSION] {
        let msg = IbcChannelOpenMsg::new_init(chimera_channel(CHANNEL, IbcOrder::Unordered, proposed));
        let res = ibc_channel_open(deps.as_mut(), mock_env(), msg).unwrap();
        assert_eq!(res.unwrap().version, CHANNEL_VERSION);
    }
}

#[test]
fn open_init_refuses_wrong_version_order_and_port() {
    let mut deps = mock_dependencies();
    let open = |deps: &mut Deps, msg| ibc_channel_open(deps.as_mut(), mock_env(), msg).unwrap_err();

    let msg = IbcChannelOpenMsg::new_init(chimera_channel(CHANNEL, IbcOrder::Unordered, "ics20-1"));
    assert_eq!(
        open(&mut deps, msg),
        ContractError::InvalidChannelVersion {
            expected: CHANNEL_VERSION.into(),
            got: "ics20-1".into()
        }
    );
    let msg = IbcChannelOpenMsg::new_init(chimera_channel(CHANNEL, IbcOrder::Ordered, CHANNEL_VERSION));
    assert_eq!(
        open(&mut deps, msg),
        ContractError::InvalidChannelOrder("ORDERED".into())
    );
    // The mock's counterparty is "their_port", not Chimera's "inference".
    let msg = mock_ibc_channel_open_init(CHANNEL, IbcOrder::Unordered, CHANNEL_VERSION);
    assert_eq!(
        open(&mut deps, msg),
        ContractError::InvalidCounterpartyPort {
            expected: "inference".into(),
            got: "their_port".into()
        }
    );
    assert_eq!(
        ContractError::InvalidChannelOrder("ORDERED".into()).to_string(),
        "invalid channel ordering: expected UNORDERED, got ORDERED"
    );
}

#[test]
fn open_try_checks_the_counterparty_version() {
    let mut deps = mock_dependencies();
    let channel = chimera_channel(CHANNEL, IbcOrder::Unordered, CHANNEL_VERSION);
    let res = ibc_channel_open(
        deps.as_mut(),
        mock_env(),
        IbcChannelOpenMsg::new_try(channel.clone(), CHANNEL_VERSION),
    )
    .unwrap();
    assert_eq!(res.unwrap().version, CHANNEL_VERSION);

    let err = ibc_channel_open(
        deps.as_mut(),
        mock_env(),
        IbcChannelOpenMsg::new_try(channel, "chimera-inference-2"),
    )
    .unwrap_err();
    assert!(matches!(err, ContractError::InvalidChannelVersion { got, .. } if got == "chimera-inference-2"));

    // The mock helper: right version, ordered and to the wrong port.
    let err = ibc_channel_open(
        deps.as_mut(),
        mock_env(),
        mock_ibc_channel_open_try(CHANNEL, IbcOrder::Ordered, CHANNEL_VERSION),
    )
    .unwrap_err();
    assert_eq!(err, ContractError::InvalidChannelOrder("ORDERED".into()));
    let err = ibc_channel_open(
        deps.as_mut(),
        mock_env(),
        mock_ibc_channel_open_try(CHANNEL, IbcOrder::Unordered, CHANNEL_VERSION),
    )
    .unwrap_err();
    assert!(matches!(err, ContractError::InvalidCounterpartyPort { .. }));
}

#[test]
fn connect_records_the_channel() {
    let mut deps = mock_dependencies();
    instantiate(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        InstantiateMsg::default(),
    )
    .unwrap();
    let res = ibc_channel_connect(
        deps.as_mut(),
        mock_env(),
        IbcChannelConnectMsg::new_ack(
            chimera_channel("channel-3", IbcOrder::Unordered, CHANNEL_VERSION),
            CHANNEL_VERSION,
        ),
    )
    .unwrap();
    assert!(res.messages.is_empty());
    ibc_channel_connect(
        deps.as_mut(),
        mock_env(),
        IbcChannelConnectMsg::new_confirm(chimera_channel("channel-4", IbcOrder::Unordered, CHANNEL_VERSION)),
    )
    .unwrap();
    let channels: ChannelsResponse =
        from_json(query(deps.as_ref(), mock_env(), QueryMsg::Channels {}).unwrap()).unwrap();
    let expected = |id: &str| ChannelInfo {
        channel_id: id.into(),
        counterparty_port_id: "inference".into(),
        counterparty_channel_id: "channel-7".into(),
        connection_id: "connection-2".into(),
        version: CHANNEL_VERSION.into(),
        state: ChannelState::Open,
    };
    assert_eq!(
        channels.channels,
        vec![expected("channel-3"), expected("channel-4")]
    );
}

#[test]
fn connect_refuses_wrong_version_order_and_port() {
    let mut deps = mock_dependencies();
    let err = ibc_channel_connect(
        deps.as_mut(),
        mock_env(),
        IbcChannelConnectMsg::new_ack(
            chimera_channel(CHANNEL, IbcOrder::Unordered, CHANNEL_VERSION),
            "other-1",
        ),
    )
    .unwrap_err();
    assert!(matches!(err, ContractError::InvalidChannelVersion { got, .. } if got == "other-1"));
    let err = ibc_channel_connect(
        deps.as_mut(),
        mock_env(),
        mock_ibc_channel_connect_ack(CHANNEL, IbcOrder::Unordered, CHANNEL_VERSION),
    )
    .unwrap_err();
    assert!(matches!(err, ContractError::InvalidCounterpartyPort { .. }));
    let err = ibc_channel_connect(
        deps.as_mut(),
        mock_env(),
        mock_ibc_channel_connect_confirm(CHANNEL, IbcOrder::Ordered, CHANNEL_VERSION),
    )
    .unwrap_err();
    assert_eq!(err, ContractError::InvalidChannelOrder("ORDERED".into()));
}

#[test]
fn close_init_is_refused_and_close_confirm_closes() {
    let mut deps = setup();
    let err = ibc_channel_close(
        deps.as_mut(),
        mock_env(),
        mock_ibc_channel_close_init(CHANNEL, IbcOrder::Unordered, CHANNEL_VERSION),
    )
    .unwrap_err();
    assert_eq!(err, ContractError::ChannelCloseRefused(CHANNEL.into()));

    // A request made before the close stays pending until its timeout.
    let res = request(&mut deps, ALICE, text_request("7"), 1000).unwrap();
    let (_, data, _) = sent_packet(&res);

    ibc_channel_close(
        deps.as_mut(),
        mock_env(),
        mock_ibc_channel_close_confirm(CHANNEL, IbcOrder::Unordered, CHANNEL_VERSION),
    )
    .unwrap();
    let channels: ChannelsResponse =
        from_json(query(deps.as_ref(), mock_env(), QueryMsg::Channels {}).unwrap()).unwrap();
    assert_eq!(channels.channels[0].state, ChannelState::Closed);

    let err = request(&mut deps, ALICE, text_request("7"), 1000).unwrap_err();
    assert_eq!(err, ContractError::ChannelNotOpen(CHANNEL.into()));

    // Timeout-on-close refunds the pending request.
    let res = ibc_packet_timeout(
        deps.as_mut(),
        mock_env(),
        cosmwasm_std::IbcPacketTimeoutMsg::new(our_packet(&data, 1), Addr::unchecked("relayer")),
    )
    .unwrap();
    bank_send(&res.messages, ALICE, 1000);
    assert_eq!(get_request(&deps, 1).status, RequestStatus::TimedOut);
}

// ---------------------------------------------------------------- receive

#[test]
fn receive_answers_an_error_ack_and_never_fails() {
    let mut deps = setup();
    for data in [&b"garbage"[..], br#"{"model":"x"}"#] {
        let mut msg = mock_ibc_packet_recv(CHANNEL, &"").unwrap();
        msg.packet.data = Binary::from(data);
        let res = ibc_packet_receive(deps.as_mut(), mock_env(), msg).unwrap();
        let expected = Acknowledgement::error(
            ErrorCode::InvalidPacket,
            "the chimera requester contract does not receive packets",
        );
        assert_eq!(res.acknowledgement.as_slice(), expected.to_bytes().as_slice());
        assert_eq!(
            Acknowledgement::from_bytes(res.acknowledgement.as_slice()),
            Ok(expected)
        );
        assert!(res.messages.is_empty());
    }
}

// ---------------------------------------------------------------- request

#[test]
fn request_escrows_and_sends_the_exact_packet_bytes() {
    let mut deps = setup();
    let res = request(&mut deps, ALICE, text_request("a seven"), 1_000_000).unwrap();

    let expected = InferencePacketData {
        model: "digits-ddpm".into(),
        input: Input::Inline(b"a seven".to_vec()),
        encoding: InputEncoding::Text,
        params: Params {
            seed: 42,
            extra: BTreeMap::from([("steps".to_string(), "20".to_string())]),
        },
        requester: ALICE.into(),
        receiver: None,
        memo: "chimera-requester:1".into(),
        sealed: None,
        output_key: None,
    };
    let (channel, data, timeout) = sent_packet(&res);
    assert_eq!(channel, CHANNEL);
    assert_eq!(data.as_slice(), expected.to_bytes().as_slice());
    assert_eq!(
        String::from_utf8(data.to_vec()).unwrap(),
        r#"{"encoding":{"kind":"text"},"input":{"inline":"YSBzZXZlbg=="},"memo":"chimera-requester:1","model":"digits-ddpm","params":{"extra":{"steps":"20"},"seed":"42"},"requester":"terra1alice"}"#
    );
    // docs/users.md §8.3's example, from a real Terra address.
    let mut deps2 = setup();
    let lunc_user = "terra1x46rqay4d3cssq8gxxvqz8xt6nwlz4td20k38v";
    let res2 = request(&mut deps2, lunc_user, text_request("7"), 1_000_000).unwrap();
    assert_eq!(
        String::from_utf8(sent_packet(&res2).1.to_vec()).unwrap(),
        r#"{"encoding":{"kind":"text"},"input":{"inline":"Nw=="},"memo":"chimera-requester:1","model":"digits-ddpm","params":{"extra":{"steps":"20"},"seed":"42"},"requester":"terra1x46rqay4d3cssq8gxxvqz8xt6nwlz4td20k38v"}"#
    );
    // What the host decodes and validates is what we built.
    assert_eq!(
        InferencePacketData::decode_and_validate(data.as_slice(), &Default::default()),
        Ok(expected)
    );
    let now = mock_env().block.time;
    assert_eq!(timeout, IbcTimeout::with_timestamp(now.plus_seconds(600)));
    // No funds move yet: the fee stays with the contract.
    assert!(!res.messages.iter().any(|m| matches!(m.msg, CosmosMsg::Bank(_))));
    let data: RequestInferenceResponse = from_json(res.data.unwrap()).unwrap();
    assert_eq!(data.request_id, 1);
    assert!(res
        .attributes
        .iter()
        .any(|a| a.key == "request_id" && a.value == "1"));

    assert_eq!(
        get_request(&deps, 1),
        Request {
            id: 1,
            requester: Addr::unchecked(ALICE),
            channel_id: CHANNEL.into(),
            model: "digits-ddpm".into(),
            fee: coin(1_000_000, "uluna"),
            created_height: mock_env().block.height,
            timeout: now.plus_seconds(600),
            callback: false,
            status: RequestStatus::Pending,
            sequence: None,
            outcome: None,
            fee_paid_to: None,
            fee_split: None,
            callback_error: None,
        }
    );

    // Ids count up; a timeout of the request's own.
    let msg = with(text_request("x"), |m| {
        if let ExecuteMsg::RequestInference { timeout_seconds, .. } = m {
            *timeout_seconds = Some(30);
        }
    });
    let res = request(&mut deps, ALICE, msg, 5).unwrap();
    let (_, data, timeout) = sent_packet(&res);
    assert!(String::from_utf8(data.to_vec())
        .unwrap()
        .contains(r#""memo":"chimera-requester:2""#));
    assert_eq!(timeout, IbcTimeout::with_timestamp(now.plus_seconds(30)));
}

#[test]
fn request_tensor_and_json_encodings() {
    let mut deps = setup();
    let msg = with(text_request(""), |m| {
        if let ExecuteMsg::RequestInference { input, encoding, .. } = m {
            *input = Binary::from(vec![0u8; 2 * 3 * 4]);
            *encoding = Encoding::Tensor {
                dtype: DType::F32,
                shape: vec![2, 3],
            };
        }
    });
    let res = request(&mut deps, ALICE, msg, 1).unwrap();
    let (_, data, _) = sent_packet(&res);
    let packet = InferencePacketData::from_bytes(data.as_slice()).unwrap();
    assert_eq!(
        packet.encoding,
        InputEncoding::Tensor {
            dtype: DType::F32,
            shape: vec![2, 3]
        }
    );

    let msg = with(text_request(r#"{"a":1}"#), |m| {
        if let ExecuteMsg::RequestInference { encoding, .. } = m {
            *encoding = Encoding::Json;
        }
    });
    request(&mut deps, ALICE, msg, 1).unwrap();
}

#[test]
fn request_refuses_missing_zero_and_wrong_funds() {
    let mut deps = setup();
    let run = |deps: &mut Deps, funds: &[cosmwasm_std::Coin]| {
        execute(
            deps.as_mut(),
            mock_env(),
            mock_info(ALICE, funds),
            text_request("7"),
        )
        .unwrap_err()
    };
    let no_funds = ContractError::NoFunds {
        denom: "uluna".into(),
    };
    assert_eq!(run(&mut deps, &[]), no_funds);
    assert_eq!(run(&mut deps, &[coin(0, "uluna")]), no_funds);
    assert_eq!(
        run(&mut deps, &[coin(5, "uusd")]),
        ContractError::WrongDenom {
            expected: "uluna".into(),
            got: "uusd".into()
        }
    );
    assert_eq!(
        run(&mut deps, &[coin(5, "uluna"), coin(5, "uusd")]),
        ContractError::WrongDenom {
            expected: "uluna".into(),
            got: "uusd".into()
        }
    );
}

#[test]
fn request_refuses_unknown_channel() {
    let mut deps = setup();
    let msg = with(text_request("7"), |m| {
        if let ExecuteMsg::RequestInference { channel, .. } = m {
            *channel = "channel-9".into();
        }
    });
    assert_eq!(
        request(&mut deps, ALICE, msg, 1).unwrap_err(),
        ContractError::ChannelNotFound("channel-9".into())
    );
}

#[test]
fn request_refuses_input_over_the_limit() {
    let mut deps = setup();
    let update = ExecuteMsg::UpdateConfig {
        admin: None,
        payout_address: None,
        max_input_bytes: Some(16),
        default_timeout_seconds: None,
        callback_gas_limit: None,
        fee_split: None,
        prices: None,
    };
    execute(deps.as_mut(), mock_env(), mock_info(ADMIN, &[]), update).unwrap();
    request(&mut deps, ALICE, text_request(&"a".repeat(16)), 1).unwrap();
    assert_eq!(
        request(&mut deps, ALICE, text_request(&"a".repeat(17)), 1).unwrap_err(),
        ContractError::InputTooLarge { size: 17, max: 16 }
    );
}

#[test]
fn request_refuses_bad_model_ids() {
    let mut deps = setup();
    for bad in ["", "Digits", "-x", "a b", &"a".repeat(65)] {
        let msg = with(text_request("7"), |m| {
            if let ExecuteMsg::RequestInference { model, .. } = m {
                *model = bad.to_string();
            }
        });
        let err = request(&mut deps, ALICE, msg, 1).unwrap_err();
        assert!(
            matches!(err, ContractError::InvalidModelId(_)),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn request_refuses_bad_encodings_and_params() {
    let mut deps = setup();
    let cases: Vec<ExecuteMsg> = vec![
        // Not UTF-8 text.
        with(text_request(""), |m| {
            if let ExecuteMsg::RequestInference { input, .. } = m {
                *input = Binary::from(vec![0xff, 0xfe]);
            }
        }),
        // Empty input.
        text_request(""),
        // Not JSON.
        with(text_request("{"), |m| {
            if let ExecuteMsg::RequestInference { encoding, .. } = m {
                *encoding = Encoding::Json;
            }
        }),
        // Tensor length mismatch.
        with(text_request("abc"), |m| {
            if let ExecuteMsg::RequestInference { encoding, .. } = m {
                *encoding = Encoding::Tensor {
                    dtype: DType::F32,
                    shape: vec![2],
                };
            }
        }),
        // Bad parameter key.
        with(text_request("7"), |m| {
            if let ExecuteMsg::RequestInference { params, .. } = m {
                params.extra.insert("Bad-Key".into(), "1".into());
            }
        }),
        // output_key without sealed.
        with(text_request("7"), |m| {
            if let ExecuteMsg::RequestInference { output_key, .. } = m {
                *output_key = Some("11".repeat(32));
            }
        }),
        // output_key not hex.
        with(text_request("7"), |m| {
            if let ExecuteMsg::RequestInference { output_key, .. } = m {
                *output_key = Some("zz".repeat(32));
            }
        }),
    ];
    for msg in cases {
        let err = request(&mut deps, ALICE, msg.clone(), 1).unwrap_err();
        assert!(
            matches!(err, ContractError::InvalidRequest(_)),
            "{msg:?}: {err:?}"
        );
    }
}

fn envelope(recipients: usize) -> SealedEnvelope {
    SealedEnvelope {
        scheme: SCHEME.into(),
        nonce: [3; 12],
        recipients: (0..recipients)
            .map(|i| WrappedKey {
                executor: [i as u8 + 1; 32],
                ephemeral: [9; 32],
                wrapped_key: vec![5; 48],
            })
            .collect(),
    }
}

#[test]
fn request_with_a_sealed_envelope() {
    let mut deps = setup();
    let sealed_msg = |env: SealedEnvelope| {
        with(text_request(""), |m| {
            if let ExecuteMsg::RequestInference {
                input,
                sealed,
                output_key,
                ..
            } = m
            {
                *input = Binary::from(vec![1u8; 20]); // 4 bytes of ciphertext + tag
                *sealed = Some(env);
                *output_key = Some("ab".repeat(32));
            }
        })
    };
    let res = request(&mut deps, ALICE, sealed_msg(envelope(2)), 1).unwrap();
    let (_, data, _) = sent_packet(&res);
    let packet = InferencePacketData::from_bytes(data.as_slice()).unwrap();
    assert_eq!(packet.sealed, Some(envelope(2)));
    assert_eq!(packet.output_key, Some([0xab; 32]));

    let err = request(&mut deps, ALICE, sealed_msg(envelope(0)), 1).unwrap_err();
    assert_eq!(
        err,
        ContractError::InvalidSealedEnvelope("sealed envelope has no recipients".into())
    );
    let mut bad = envelope(1);
    bad.scheme = "rot13".into();
    assert!(matches!(
        request(&mut deps, ALICE, sealed_msg(bad), 1).unwrap_err(),
        ContractError::InvalidSealedEnvelope(_)
    ));
    let mut bad = envelope(1);
    bad.recipients[0].wrapped_key = vec![5; 47];
    assert!(matches!(
        request(&mut deps, ALICE, sealed_msg(bad), 1).unwrap_err(),
        ContractError::InvalidSealedEnvelope(_)
    ));
}

#[test]
fn request_refuses_bad_timeouts() {
    let mut deps = setup();
    for t in [0, MAX_TIMEOUT_SECONDS + 1] {
        let msg = with(text_request("7"), |m| {
            if let ExecuteMsg::RequestInference { timeout_seconds, .. } = m {
                *timeout_seconds = Some(t);
            }
        });
        assert_eq!(
            request(&mut deps, ALICE, msg, 1).unwrap_err(),
            ContractError::InvalidTimeout {
                seconds: t,
                max: MAX_TIMEOUT_SECONDS
            }
        );
    }
}

fn callback_request() -> ExecuteMsg {
    with(text_request("7"), |m| {
        if let ExecuteMsg::RequestInference { callback, .. } = m {
            *callback = true;
        }
    })
}

#[test]
fn callback_needs_a_contract_sender() {
    let mut deps = setup();
    assert_eq!(
        request(&mut deps, ALICE, callback_request(), 1).unwrap_err(),
        ContractError::CallbackNotContract(ALICE.into())
    );
    request(&mut deps, DAPP, callback_request(), 1).unwrap();
    assert!(get_request(&deps, 1).callback);
}

// ---------------------------------------------------------------- outcomes

#[test]
fn result_ack_pays_the_payout_address_and_records_the_result() {
    let mut deps = setup();
    let res = request(&mut deps, ALICE, text_request("7"), 1_234_567).unwrap();
    let (_, data, _) = sent_packet(&res);
    let (_, ack) = result_ack();

    let res = ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, 11, &ack)).unwrap();
    assert_eq!(res.messages.len(), 1, "no callback was asked for");
    bank_send(&res.messages, PAYOUT, 1_234_567);

    let expected = Outcome::Result(ResultRecord {
        job_id: Uint64::new(7),
        output_sha256: "d0".repeat(32),
        output_size: Uint64::new(9),
        output_encoding: "png".into(),
        model_hash: "c7".repeat(32),
        quorum: QuorumRecord {
            height: Uint64::new(1234),
            agreeing_power: Uint64::new(30),
            total_power: Uint64::new(40),
        },
    });
    let r = get_request(&deps, 1);
    assert_eq!(r.status, RequestStatus::Succeeded);
    assert_eq!(r.sequence, Some(11));
    assert_eq!(r.outcome, Some(expected));
    assert_eq!(r.fee_paid_to, Some(Addr::unchecked(PAYOUT)));

    // A second acknowledgement of the same packet moves nothing.
    let res = ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, 11, &ack)).unwrap();
    assert!(res.messages.is_empty());
    assert!(res.attributes.iter().any(|a| a.key == "ignored"));
}

#[test]
fn error_ack_refunds_the_requester_and_records_the_error() {
    let mut deps = setup();
    let res = request(&mut deps, BOB, text_request("7"), 999).unwrap();
    let (_, data, _) = sent_packet(&res);
    let ack = Acknowledgement::Error(AckError::new(
        ErrorCode::UnknownModel,
        "model digits-ddpm is not registered",
    ));

    let res = ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, 3, &ack.to_bytes())).unwrap();
    assert_eq!(res.messages.len(), 1);
    bank_send(&res.messages, BOB, 999);
    let r = get_request(&deps, 1);
    assert_eq!(r.status, RequestStatus::Failed);
    assert_eq!(
        r.outcome,
        Some(Outcome::Error(ErrorRecord {
            code: Some(5),
            name: Some("unknown_model".into()),
            text: "model digits-ddpm is not registered".into(),
        }))
    );
    assert_eq!(r.fee_paid_to, Some(Addr::unchecked(BOB)));
}

#[test]
fn unreadable_and_foreign_acks_count_as_errors_and_refund() {
    let mut deps = setup();
    let acks: [&[u8]; 4] = [
        b"not json",
        br#"{"result":"AQ=="}"#,
        br#"{"error":"ABCI code: 5: error handling packet: see events for details"}"#,
        b"",
    ];
    for (i, ack) in acks.iter().enumerate() {
        let res = request(&mut deps, ALICE, text_request("7"), 10 + i as u128).unwrap();
        let (_, data, _) = sent_packet(&res);
        let res = ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, i as u64, ack)).unwrap();
        bank_send(&res.messages, ALICE, 10 + i as u128);
        let r = get_request(&deps, i as u64 + 1);
        assert_eq!(r.status, RequestStatus::Failed);
        match r.outcome {
            Some(Outcome::Error(ErrorRecord {
                code: None,
                name: None,
                text,
            })) => assert!(!text.is_empty()),
            other => panic!("{other:?}"),
        }
    }
    let r = get_request(&deps, 3);
    match r.outcome {
        Some(Outcome::Error(e)) => assert!(e.text.contains("ABCI code: 5"), "{}", e.text),
        other => panic!("{other:?}"),
    }
}

#[test]
fn timeout_refunds_the_requester() {
    let mut deps = setup();
    let res = request(&mut deps, ALICE, text_request("7"), 500).unwrap();
    let (_, data, _) = sent_packet(&res);
    let mut msg = mock_ibc_packet_timeout(CHANNEL, &"").unwrap();
    msg.packet = our_packet(&data, 4);
    let res = ibc_packet_timeout(deps.as_mut(), mock_env(), msg.clone()).unwrap();
    bank_send(&res.messages, ALICE, 500);
    let r = get_request(&deps, 1);
    assert_eq!(r.status, RequestStatus::TimedOut);
    assert_eq!(r.outcome, Some(Outcome::Timeout {}));
    assert_eq!(r.sequence, Some(4));
    // Only once.
    let res = ibc_packet_timeout(deps.as_mut(), mock_env(), msg).unwrap();
    assert!(res.messages.is_empty());
}

#[test]
fn acks_and_timeouts_of_unknown_packets_are_ignored() {
    let mut deps = setup();
    let (_, ack) = result_ack();
    // Not an InferencePacketData, from mock helpers (serde JSON of a string).
    let res = ibc_packet_ack(
        deps.as_mut(),
        mock_env(),
        mock_ibc_packet_ack(CHANNEL, &"hello", IbcAcknowledgement::new(ack.clone())).unwrap(),
    )
    .unwrap();
    assert!(res.messages.is_empty());
    let res = ibc_packet_timeout(
        deps.as_mut(),
        mock_env(),
        mock_ibc_packet_timeout(CHANNEL, &"x").unwrap(),
    )
    .unwrap();
    assert!(res.messages.is_empty());

    // A packet whose memo names no request of ours.
    let mut other = InferencePacketData::from_bytes(
        &sent_packet(&request(&mut deps, ALICE, text_request("7"), 1).unwrap()).1,
    )
    .unwrap();
    other.memo = "chimera-requester:99".into();
    let res = ibc_packet_ack(
        deps.as_mut(),
        mock_env(),
        ack_msg(&Binary(other.to_bytes()), 1, &ack),
    )
    .unwrap();
    assert!(res.messages.is_empty());
    other.memo = "someone else's".into();
    let res = ibc_packet_ack(
        deps.as_mut(),
        mock_env(),
        ack_msg(&Binary(other.to_bytes()), 1, &ack),
    )
    .unwrap();
    assert!(res.messages.is_empty());

    // Request 1's packet, but relayed on another channel.
    open_channel(&mut deps, "channel-1");
    let data = Binary(
        InferencePacketData {
            memo: "chimera-requester:1".into(),
            ..other
        }
        .to_bytes(),
    );
    let mut msg = ack_msg(&data, 1, &ack);
    msg.original_packet.src.channel_id = "channel-1".into();
    let res = ibc_packet_ack(deps.as_mut(), mock_env(), msg).unwrap();
    assert!(res.messages.is_empty());
    assert_eq!(get_request(&deps, 1).status, RequestStatus::Pending);
}

#[test]
fn callback_is_sent_to_a_requesting_contract_with_reply_on_error() {
    let mut deps = setup();
    let res = request(&mut deps, DAPP, callback_request(), 77).unwrap();
    let (_, data, _) = sent_packet(&res);
    let (_, ack) = result_ack();
    let res = ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, 1, &ack)).unwrap();
    assert_eq!(res.messages.len(), 2);
    bank_send(&res.messages, PAYOUT, 77);
    let outcome = get_request(&deps, 1).outcome.unwrap();
    let expected_msg = to_json_binary(&CallbackMsg::InferenceCallback {
        request_id: 1,
        outcome,
    })
    .unwrap();
    assert_eq!(
        res.messages[1],
        SubMsg::reply_on_error(
            WasmMsg::Execute {
                contract_addr: DAPP.into(),
                msg: expected_msg.clone(),
                funds: vec![],
            },
            1
        )
        .with_gas_limit(DEFAULT_CALLBACK_GAS_LIMIT)
    );
    assert_eq!(res.messages[1].reply_on, ReplyOn::Error);
    let text = String::from_utf8(expected_msg.to_vec()).unwrap();
    assert!(
        text.starts_with(r#"{"inference_callback":{"request_id":1,"outcome":{"result":{"job_id":"7","#),
        "{text}"
    );

    // Timeouts and errors call back too.
    let res = request(&mut deps, DAPP, callback_request(), 5).unwrap();
    let (_, data, _) = sent_packet(&res);
    let res = ibc_packet_timeout(
        deps.as_mut(),
        mock_env(),
        cosmwasm_std::IbcPacketTimeoutMsg::new(our_packet(&data, 2), Addr::unchecked("relayer")),
    )
    .unwrap();
    bank_send(&res.messages, DAPP, 5);
    match &res.messages[1].msg {
        CosmosMsg::Wasm(WasmMsg::Execute { msg, .. }) => assert_eq!(
            msg.as_slice(),
            br#"{"inference_callback":{"request_id":2,"outcome":{"timeout":{}}}}"#
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn failed_callback_is_recorded_and_does_not_fail() {
    let mut deps = setup();
    let res = request(&mut deps, DAPP, callback_request(), 77).unwrap();
    let (_, data, _) = sent_packet(&res);
    let (_, ack) = result_ack();
    ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, 1, &ack)).unwrap();

    let res = reply(
        deps.as_mut(),
        mock_env(),
        Reply {
            id: 1,
            result: SubMsgResult::Err("out of gas".into()),
        },
    )
    .unwrap();
    assert!(res.messages.is_empty());
    let r = get_request(&deps, 1);
    assert_eq!(r.callback_error.as_deref(), Some("out of gas"));
    assert_eq!(r.status, RequestStatus::Succeeded);

    // A success reply (not asked for) and an unknown id change nothing.
    reply(
        deps.as_mut(),
        mock_env(),
        Reply {
            id: 1,
            result: SubMsgResult::Ok(SubMsgResponse {
                events: vec![],
                data: None,
            }),
        },
    )
    .unwrap();
    reply(
        deps.as_mut(),
        mock_env(),
        Reply {
            id: 42,
            result: SubMsgResult::Err("x".into()),
        },
    )
    .unwrap();
    assert_eq!(
        get_request(&deps, 1).callback_error.as_deref(),
        Some("out of gas")
    );
}

// ---------------------------------------------------------------- admin

#[test]
fn update_config_is_admin_only() {
    let mut deps = setup();
    let update = |admin: Option<&str>, payout: Option<&str>| ExecuteMsg::UpdateConfig {
        admin: admin.map(Into::into),
        payout_address: payout.map(Into::into),
        max_input_bytes: Some(100),
        default_timeout_seconds: Some(60),
        callback_gas_limit: Some(100_000),
        fee_split: None,
        prices: None,
    };
    assert_eq!(
        execute(
            deps.as_mut(),
            mock_env(),
            mock_info(ALICE, &[]),
            update(None, Some(ALICE))
        )
        .unwrap_err(),
        ContractError::Unauthorized
    );
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update(Some(BOB), Some(ALICE)),
    )
    .unwrap();
    let config: Config = from_json(query(deps.as_ref(), mock_env(), QueryMsg::Config {}).unwrap()).unwrap();
    assert_eq!(
        config,
        Config {
            admin: Addr::unchecked(BOB),
            payout_address: Addr::unchecked(ALICE),
            denom: "uluna".into(),
            max_input_bytes: 100,
            default_timeout_seconds: 60,
            callback_gas_limit: 100_000,
            fee_split: None,
            prices: vec![],
        }
    );
    // The old admin no longer is one; bad values are refused.
    assert_eq!(
        execute(
            deps.as_mut(),
            mock_env(),
            mock_info(ADMIN, &[]),
            update(None, None)
        )
        .unwrap_err(),
        ContractError::Unauthorized
    );
    let bad = ExecuteMsg::UpdateConfig {
        admin: None,
        payout_address: None,
        max_input_bytes: Some(1 << 20),
        default_timeout_seconds: None,
        callback_gas_limit: None,
        fee_split: None,
        prices: None,
    };
    assert!(matches!(
        execute(deps.as_mut(), mock_env(), mock_info(BOB, &[]), bad).unwrap_err(),
        ContractError::InvalidConfig(_)
    ));

    // The new payout address gets the fees of requests settled from now on.
    let res = request(&mut deps, ALICE, text_request("7"), 8).unwrap();
    let (_, data, _) = sent_packet(&res);
    let (_, ack) = result_ack();
    let res = ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, 1, &ack)).unwrap();
    bank_send(&res.messages, ALICE, 8);
}

// ---------------------------------------------------------------- queries

#[test]
fn query_unknown_request_is_an_error() {
    let deps = setup();
    assert_eq!(
        query(deps.as_ref(), mock_env(), QueryMsg::Request { id: 5 }).unwrap_err(),
        ContractError::RequestNotFound(5)
    );
}

#[test]
fn requests_by_requester_pages_newest_first() {
    let mut deps = setup();
    for who in [ALICE, BOB, ALICE, ALICE, BOB, ALICE, ALICE] {
        request(&mut deps, who, text_request("7"), 1).unwrap();
    }
    let page = |deps: &Deps, who: &str, start_after: Option<u64>, limit: Option<u32>| -> Vec<u64> {
        let q = QueryMsg::RequestsByRequester {
            requester: who.into(),
            start_after,
            limit,
        };
        let r: RequestsResponse = from_json(query(deps.as_ref(), mock_env(), q).unwrap()).unwrap();
        assert!(r.requests.iter().all(|x| x.requester == who));
        r.requests.into_iter().map(|x| x.id).collect()
    };
    assert_eq!(page(&deps, ALICE, None, None), vec![7, 6, 4, 3, 1]);
    assert_eq!(page(&deps, ALICE, None, Some(2)), vec![7, 6]);
    assert_eq!(page(&deps, ALICE, Some(6), Some(2)), vec![4, 3]);
    assert_eq!(page(&deps, ALICE, Some(3), Some(2)), vec![1]);
    assert_eq!(page(&deps, ALICE, Some(1), Some(2)), Vec::<u64>::new());
    assert_eq!(page(&deps, BOB, None, None), vec![5, 2]);
    assert_eq!(page(&deps, "terra1nobody", None, None), Vec::<u64>::new());

    for _ in 0..40 {
        request(&mut deps, BOB, text_request("7"), 1).unwrap();
    }
    assert_eq!(page(&deps, BOB, None, None).len(), 10);
    assert_eq!(page(&deps, BOB, None, Some(1000)).len(), 30);
}

// ---------------------------------------------------------------- JSON

/// The examples of docs/users.md, parsed as the chain will parse them.
#[test]
fn documented_json_examples_parse() {
    let inst: InstantiateMsg = from_json(
        br#"{"admin":"terra1admin","payout_address":"terra1payout","max_input_bytes":65536,"default_timeout_seconds":600}"#,
    )
    .unwrap();
    assert_eq!(inst.max_input_bytes, Some(65536));
    let _: InstantiateMsg = from_json(b"{}").unwrap();

    let msg: ExecuteMsg = from_json(
        br#"{"request_inference":{"channel":"channel-0","model":"digits-ddpm","input":"Nw==","encoding":"text","params":{"seed":"42","extra":{"steps":"20"}}}}"#,
    )
    .unwrap();
    assert_eq!(msg, text_request("7"));

    let msg: ExecuteMsg = from_json(
        br#"{"request_inference":{"channel":"channel-0","model":"mnist-cnn","input":"AAAAAAAAAAA=","encoding":{"tensor":{"dtype":"f32","shape":[1,2]}},"params":{"seed":"0"},"timeout_seconds":300,"callback":true}}"#,
    )
    .unwrap();
    match msg {
        ExecuteMsg::RequestInference {
            encoding,
            timeout_seconds,
            callback,
            params,
            ..
        } => {
            assert_eq!(
                encoding,
                Encoding::Tensor {
                    dtype: DType::F32,
                    shape: vec![1, 2]
                }
            );
            assert_eq!((timeout_seconds, callback, params.seed), (Some(300), true, 0));
        }
        other => panic!("{other:?}"),
    }

    let sealed = format!(
        r#"{{"request_inference":{{"channel":"channel-0","model":"tiny-lm","input":"AQIDBAUGBwgJCgsMDQ4PEBESExQ=","encoding":"text","params":{{"seed":"1"}},"sealed":{},"output_key":"{}"}}}}"#,
        String::from_utf8(chimera_packets::encoding::to_canonical_vec(&envelope(1)).unwrap()).unwrap(),
        "ab".repeat(32)
    );
    let msg: ExecuteMsg = from_json(sealed.as_bytes()).unwrap();
    let mut deps = setup();
    request(&mut deps, ALICE, msg, 1).unwrap();

    let _: ExecuteMsg = from_json(br#"{"update_config":{"payout_address":"terra1payout"}}"#).unwrap();
    let _: ExecuteMsg = from_json(
        br#"{"update_config":{"admin":"terra1a","payout_address":"terra1b","max_input_bytes":16384,"default_timeout_seconds":300,"callback_gas_limit":200000}}"#,
    )
    .unwrap();
    let _: InstantiateMsg = from_json(
        br#"{"admin":"terra1a","payout_address":"terra1b","max_input_bytes":65536,"default_timeout_seconds":600,"callback_gas_limit":300000}"#,
    )
    .unwrap();
    let msg: ExecuteMsg = from_json(
        br#"{"request_inference":{"channel":"channel-0","model":"digits-ddpm","input":"Nw==","encoding":"text","params":{"seed":"42","extra":{"steps":"20"}},"timeout_seconds":600}}"#,
    )
    .unwrap();
    assert!(matches!(
        msg,
        ExecuteMsg::RequestInference {
            timeout_seconds: Some(600),
            ..
        }
    ));
    let callback: CallbackMsg = from_json(
        br#"{"inference_callback":{"request_id":1,"outcome":{"result":{"job_id":"1","output_sha256":"289cf6159d55c105af9b51ca69707376540f186a9e5e70845bdb21de5c6e9f93","output_size":"1124","output_encoding":"png","model_hash":"67276de90282ca9fe3d8b352a121d90f86489e150c48e778a6c7c9ca5a69fbbc","quorum":{"height":"93","agreeing_power":"10","total_power":"10"}}}}}"#,
    )
    .unwrap();
    assert!(matches!(
        callback,
        CallbackMsg::InferenceCallback {
            request_id: 1,
            outcome: Outcome::Result(_)
        }
    ));
    let _: Outcome = from_json(br#"{"error":{"code":5,"name":"unknown_model","text":"x"}}"#).unwrap();
    let _: Outcome = from_json(br#"{"timeout":{}}"#).unwrap();
    let _: QueryMsg = from_json(br#"{"request":{"id":1}}"#).unwrap();
    let _: QueryMsg =
        from_json(br#"{"requests_by_requester":{"requester":"terra1alice","start_after":5,"limit":10}}"#)
            .unwrap();
    let _: QueryMsg = from_json(br#"{"config":{}}"#).unwrap();
    let _: QueryMsg = from_json(br#"{"channels":{}}"#).unwrap();

    // Unknown fields are refused, so that typos do not pass silently.
    assert!(from_json::<ExecuteMsg>(
        br#"{"request_inference":{"channel":"channel-0","model":"m","input":"Nw==","encoding":"text","params":{"seed":"1"},"timeout":5}}"#
    )
    .is_err());
    // Seeds are decimal strings, as in the packet.
    assert!(from_json::<ExecuteMsg>(
        br#"{"request_inference":{"channel":"channel-0","model":"m","input":"Nw==","encoding":"text","params":{"seed":1}}}"#
    )
    .is_err());
}

/// The JSON of a stored request, as `terrad query wasm contract-state smart` prints it.
#[test]
fn request_json_shape() {
    let mut deps = setup();
    let res = request(&mut deps, ALICE, text_request("7"), 1000).unwrap();
    let (_, data, _) = sent_packet(&res);
    let (_, ack) = result_ack();
    ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, 1, &ack)).unwrap();
    let json = String::from_utf8(
        query(deps.as_ref(), mock_env(), QueryMsg::Request { id: 1 })
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert_eq!(
        json,
        format!(
            concat!(
                r#"{{"id":1,"requester":"terra1alice","channel_id":"channel-0","model":"digits-ddpm","#,
                r#""fee":{{"denom":"uluna","amount":"1000"}},"created_height":12345,"timeout":"1571798019879305533","#,
                r#""callback":false,"status":"succeeded","sequence":1,"outcome":{{"result":{{"job_id":"7","#,
                r#""output_sha256":"{d0}","output_size":"9","output_encoding":"png","model_hash":"{c7}","#,
                r#""quorum":{{"height":"1234","agreeing_power":"30","total_power":"40"}}}}}},"#,
                r#""fee_paid_to":"terra1payout"}}"#
            ),
            d0 = "d0".repeat(32),
            c7 = "c7".repeat(32)
        )
    );
}

/// A pending request's answer leaves out what is not known yet (no `null`s).
#[test]
fn pending_request_json_shape() {
    let mut deps = setup();
    request(&mut deps, ALICE, text_request("7"), 1000).unwrap();
    let json = query(deps.as_ref(), mock_env(), QueryMsg::Request { id: 1 }).unwrap();
    assert_eq!(
        std::str::from_utf8(&json).unwrap(),
        concat!(
            r#"{"id":1,"requester":"terra1alice","channel_id":"channel-0","model":"digits-ddpm","#,
            r#""fee":{"denom":"uluna","amount":"1000"},"created_height":12345,"timeout":"1571798019879305533","#,
            r#""callback":false,"status":"pending"}"#
        )
    );
}

/// What is stored per request, byte for byte (each byte costs 30 gas per
/// write on Terra): compact keys, nothing derivable, nothing absent.
#[test]
fn stored_records_are_compact() {
    use cosmwasm_std::{Api as _, Storage as _};
    let mut deps = setup();
    let res = request(&mut deps, ALICE, text_request("7"), 1000).unwrap();
    let stored =
        |deps: &Deps, id: u64| String::from_utf8(deps.storage.get(&REQUESTS.key(id)).unwrap()).unwrap();
    assert_eq!(
        stored(&deps, 1),
        r#"{"r":"terra1alice","c":"channel-0","m":"digits-ddpm","f":"1000","h":12345,"t":1571798019879305533}"#
    );
    // The index key: namespace, canonical requester, id; value `{}`.
    let canonical = deps.api.addr_canonicalize(ALICE).unwrap();
    let index_key = REQUESTS_BY_REQUESTER.key((canonical.as_slice(), 1)).to_vec();
    assert_eq!(deps.storage.get(&index_key).unwrap(), b"{}");
    assert_eq!(index_key.len(), 2 + 1 + 2 + canonical.len() + 8);

    // A result: the hashes as bytes, the status and the requester-less
    // payee implied.
    let (_, data, _) = sent_packet(&res);
    let (_, ack) = result_ack();
    ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, 1, &ack)).unwrap();
    assert_eq!(
        stored(&deps, 1),
        format!(
            concat!(
                r#"{{"r":"terra1alice","c":"channel-0","m":"digits-ddpm","f":"1000","h":12345,"t":1571798019879305533,"#,
                r#""s":1,"o":{{"r":{{"j":7,"o":"{d0}","z":9,"n":"png","k":"{c7}","h":1234,"a":30,"w":40}}}},"#,
                r#""p":"terra1payout"}}"#
            ),
            d0 = Binary::from(vec![0xd0; 32]).to_base64(),
            c7 = Binary::from(vec![0xc7; 32]).to_base64()
        )
    );

    // An error: the code only (its name follows), paid back to the
    // requester (not written).
    let res = request(&mut deps, BOB, text_request("8"), 500).unwrap();
    let (_, data, _) = sent_packet(&res);
    let ack = Acknowledgement::error(ErrorCode::UnknownModel, "no such model").to_bytes();
    ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, 2, &ack)).unwrap();
    assert_eq!(
        stored(&deps, 2),
        concat!(
            r#"{"r":"terra1bob","c":"channel-0","m":"digits-ddpm","f":"500","h":12345,"t":1571798019879305533,"#,
            r#""s":2,"o":{"e":{"c":5,"t":"no such model"}}}"#
        )
    );
    let r = get_request(&deps, 2);
    assert_eq!(r.status, RequestStatus::Failed);
    assert_eq!(r.fee_paid_to, Some(Addr::unchecked(BOB)));
    assert_eq!(
        r.outcome,
        Some(Outcome::Error(ErrorRecord {
            code: Some(5),
            name: Some("unknown_model".into()),
            text: "no such model".into(),
        }))
    );
}

// ---------------------------------------------------------------- fee split and prices

const BURN: &str = "terra1burn";
const COMMUNITY: &str = "terra1community";
const TRANSFER_CHANNEL: &str = "channel-5";

/// A chimera bech32 address (20 bytes of `byte`): the host's pool stands in.
fn chimera_addr(byte: u8) -> String {
    use bech32::ToBase32 as _;
    bech32::encode("chimera", [byte; 20].to_base32(), bech32::Variant::Bech32).unwrap()
}

fn split_msg(executor_bps: u32, burn_bps: u32, community_bps: u32) -> FeeSplitMsg {
    FeeSplitMsg {
        transfer_channel: TRANSFER_CHANNEL.into(),
        host_pool: chimera_addr(1),
        burn_address: BURN.into(),
        community_address: COMMUNITY.into(),
        executor_bps,
        burn_bps,
        community_bps,
    }
}

fn update_msg(fee_split: Option<Option<FeeSplitMsg>>, prices: Option<Vec<Price>>) -> ExecuteMsg {
    ExecuteMsg::UpdateConfig {
        admin: None,
        payout_address: None,
        max_input_bytes: None,
        default_timeout_seconds: None,
        callback_gas_limit: None,
        fee_split,
        prices,
    }
}

fn price(model: &str, amount: u128) -> Price {
    Price {
        model: model.into(),
        amount: amount.into(),
    }
}

/// [`setup`] with a 70/20/10 split.
fn setup_split() -> Deps {
    let mut deps = setup();
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(Some(Some(split_msg(7000, 2000, 1000))), None),
    )
    .unwrap();
    deps
}

fn config_of(deps: &Deps) -> Config {
    from_json(query(deps.as_ref(), mock_env(), QueryMsg::Config {}).unwrap()).unwrap()
}

/// Requests with `fee`, acknowledges with a result (job 7) and answers the
/// acknowledgement's response.
fn settle_result(deps: &mut Deps, fee: u128, sequence: u64) -> cosmwasm_std::IbcBasicResponse {
    let res = request(deps, ALICE, text_request("7"), fee).unwrap();
    let (_, data, _) = sent_packet(&res);
    let (_, ack) = result_ack();
    ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, sequence, &ack)).unwrap()
}

fn attr(res: &cosmwasm_std::IbcBasicResponse, key: &str) -> Option<String> {
    res.attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.clone())
}

/// The decoded `MsgTransfer` of a Stargate message.
fn decoded_transfer(msg: &CosmosMsg) -> ibc_proto::ibc::applications::transfer::v1::MsgTransfer {
    use prost::Message as _;
    match msg {
        CosmosMsg::Stargate { type_url, value } => {
            assert_eq!(type_url, "/ibc.applications.transfer.v1.MsgTransfer");
            ibc_proto::ibc::applications::transfer::v1::MsgTransfer::decode(value.as_slice()).unwrap()
        }
        other => panic!("expected a Stargate MsgTransfer, got {other:?}"),
    }
}

#[test]
fn prices_refuse_a_low_fee_before_any_packet() {
    let mut deps = setup();
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(None, Some(vec![price("digits-ddpm", 1000), price("*", 500)])),
    )
    .unwrap();
    assert_eq!(
        config_of(&deps).prices,
        vec![price("digits-ddpm", 1000), price("*", 500)]
    );

    // Its own price: 999 is refused, nothing stored, no id used.
    assert_eq!(
        request(&mut deps, ALICE, text_request("7"), 999).unwrap_err(),
        ContractError::FeeTooLow {
            model: "digits-ddpm".into(),
            price: 1000,
            got: 999
        }
    );
    assert_eq!(
        ContractError::FeeTooLow {
            model: "digits-ddpm".into(),
            price: 1000,
            got: 999
        }
        .to_string(),
        "fee too low: model digits-ddpm costs at least 1000uluna, got 999uluna"
    );
    assert!(REQUESTS.may_load(&deps.storage, 1).unwrap().is_none());
    // Exactly the price, and more, are taken whole.
    let res = request(&mut deps, ALICE, text_request("7"), 1000).unwrap();
    assert_eq!(sent_packet(&res).0, CHANNEL);
    assert_eq!(get_request(&deps, 1).fee, coin(1000, "uluna"));
    request(&mut deps, ALICE, text_request("7"), 5000).unwrap();

    // A model without its own entry: the `*` price.
    let other = |fee: u128| {
        let msg = with(text_request("7"), |m| {
            if let ExecuteMsg::RequestInference { model, .. } = m {
                *model = "tiny-lm".into();
            }
        });
        (msg, fee)
    };
    let (msg, fee) = other(499);
    assert_eq!(
        request(&mut deps, ALICE, msg, fee).unwrap_err(),
        ContractError::FeeTooLow {
            model: "tiny-lm".into(),
            price: 500,
            got: 499
        }
    );
    let (msg, fee) = other(500);
    request(&mut deps, ALICE, msg, fee).unwrap();
    assert_eq!(get_request(&deps, 3).model, "tiny-lm");

    // Without `*`, an unpriced model takes any fee; `[]` removes every price.
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(None, Some(vec![price("digits-ddpm", 1000)])),
    )
    .unwrap();
    let (msg, fee) = other(1);
    request(&mut deps, ALICE, msg, fee).unwrap();
    assert!(request(&mut deps, ALICE, text_request("7"), 1).is_err());
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(None, Some(vec![])),
    )
    .unwrap();
    assert!(config_of(&deps).prices.is_empty());
    request(&mut deps, ALICE, text_request("7"), 1).unwrap();
}

#[test]
fn bad_prices_are_refused() {
    let mut deps = setup();
    for (prices, why) in [
        (vec![price("Digits", 1)], "model \"Digits\""),
        (vec![price("*", 1), price("*", 2)], "listed twice"),
        (vec![price("a", 1), price("a", 1)], "listed twice"),
        (vec![price("", 1)], "model \"\""),
    ] {
        let err = execute(
            deps.as_mut(),
            mock_env(),
            mock_info(ADMIN, &[]),
            update_msg(None, Some(prices.clone())),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ContractError::InvalidPrices(t) if t.contains(why)),
            "{prices:?}: {err}"
        );
    }
    let too_many = (0..65).map(|i| price(&format!("m{i}"), 1)).collect();
    assert!(matches!(
        execute(
            deps.as_mut(),
            mock_env(),
            mock_info(ADMIN, &[]),
            update_msg(None, Some(too_many))
        )
        .unwrap_err(),
        ContractError::InvalidPrices(_)
    ));
    let msg = InstantiateMsg {
        prices: Some(vec![price("x y", 1)]),
        ..Default::default()
    };
    assert!(matches!(
        instantiate(
            mock_dependencies().as_mut(),
            mock_env(),
            mock_info(ADMIN, &[]),
            msg
        )
        .unwrap_err(),
        ContractError::InvalidPrices(_)
    ));
}

#[test]
fn split_divides_a_result_fee_with_rounding() {
    let mut deps = setup_split();
    let pool = chimera_addr(1);
    // 1001 uluna at 70/20/10: executor floor(700.7) = 700, burn
    // floor(200.2) = 200, community the rest, 101.
    let res = settle_result(&mut deps, 1001, 3);
    assert_eq!(res.messages.len(), 3);
    assert_eq!(
        res.messages[0],
        SubMsg::new(BankMsg::Send {
            to_address: BURN.into(),
            amount: coins(200, "uluna"),
        })
    );
    assert_eq!(
        res.messages[1],
        SubMsg::new(BankMsg::Send {
            to_address: COMMUNITY.into(),
            amount: coins(101, "uluna"),
        })
    );
    let transfer = decoded_transfer(&res.messages[2].msg);
    assert_eq!(res.messages[2].reply_on, ReplyOn::Never);
    assert_eq!(transfer.token.as_ref().unwrap().amount, "700");
    for (k, v) in [
        ("burn", "200"),
        ("community", "101"),
        ("executor_part", "700"),
        ("host_pool", pool.as_str()),
        ("job_id", "7"),
        ("status", "succeeded"),
    ] {
        assert_eq!(attr(&res, k).as_deref(), Some(v), "{k}");
    }
    assert_eq!(attr(&res, "fee_paid_to"), None);

    let r = get_request(&deps, 1);
    assert_eq!(r.status, RequestStatus::Succeeded);
    assert_eq!(r.fee_paid_to, None);
    assert_eq!(
        r.fee_split,
        Some(SplitPaid {
            split_id: 1,
            executor: 700u128.into(),
            host_pool: pool.clone(),
            transfer_channel: TRANSFER_CHANNEL.into(),
            burn: 200u128.into(),
            burn_address: Addr::unchecked(BURN),
            community: 101u128.into(),
            community_address: Addr::unchecked(COMMUNITY),
        })
    );

    // Thirds of 1001: 333 (333.67), 333, and 335 for the community.
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(Some(Some(split_msg(3333, 3333, 3334))), None),
    )
    .unwrap();
    let res = settle_result(&mut deps, 1001, 4);
    assert_eq!(
        (
            attr(&res, "executor_part"),
            attr(&res, "burn"),
            attr(&res, "community")
        ),
        (Some("333".into()), Some("333".into()), Some("335".into()))
    );
    // The first request still shows the split it was settled with.
    assert_eq!(get_request(&deps, 1).fee_split.unwrap().burn.u128(), 200);
    let second = get_request(&deps, 2).fee_split.unwrap();
    assert_eq!((second.split_id, second.community.u128()), (2, 335));
    // Beyond u64 and near u128::MAX the parts still add up.
    let s = config_of(&deps).fee_split.unwrap();
    for f in [u128::MAX, u64::MAX as u128 * 3 + 7, 9_999, 10_000] {
        let (e, b, c) = s.parts(f);
        assert_eq!(e + b + c, f);
        assert!(e <= f / 10_000 * 3333 + 3333 && b <= f / 10_000 * 3333 + 3333);
    }
}

#[test]
fn zero_parts_send_nothing() {
    let mut deps = setup_split();
    // 9 uluna at 70/20/10: 6, 1, 2.
    let res = settle_result(&mut deps, 9, 1);
    assert_eq!(res.messages.len(), 3);
    // 1 uluna: 0, 0 and 1 for the community: one send only.
    let res = settle_result(&mut deps, 1, 2);
    assert_eq!(res.messages.len(), 1);
    bank_send(&res.messages, COMMUNITY, 1);
    assert_eq!(attr(&res, "executor_part").as_deref(), Some("0"));
    // No burn share: burn and community parts only when non-zero.
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(Some(Some(split_msg(10_000, 0, 0))), None),
    )
    .unwrap();
    let res = settle_result(&mut deps, 1000, 3);
    assert_eq!(res.messages.len(), 1);
    assert_eq!(
        decoded_transfer(&res.messages[0].msg).token.unwrap().amount,
        "1000"
    );
}

#[test]
fn executor_part_is_one_exact_ics20_transfer() {
    use prost::Message as _;
    let mut deps = setup_split();
    let res = settle_result(&mut deps, 1_000_000, 9);
    let env = mock_env();
    let t = decoded_transfer(&res.messages[2].msg);
    assert_eq!(t.source_port, "transfer");
    assert_eq!(t.source_channel, TRANSFER_CHANNEL);
    assert_eq!(
        t.token,
        Some(ibc_proto::cosmos::base::v1beta1::Coin {
            denom: "uluna".into(),
            amount: "700000".into(),
        })
    );
    assert_eq!(t.sender, env.contract.address.as_str());
    assert_eq!(t.receiver, chimera_addr(1));
    assert_eq!(t.timeout_height, None);
    assert_eq!(t.timeout_timestamp, env.block.time.plus_seconds(600).nanos());
    // The host's `fees::settle::remote_memo(7)`, byte for byte.
    assert_eq!(t.memo, r#"{"chimera_fees":{"job_id":"7"}}"#);
    assert_eq!(crate::ibc::remote_memo(7), t.memo);
    // Nothing but those fields is encoded: re-encoding gives the same bytes.
    match &res.messages[2].msg {
        CosmosMsg::Stargate { value, .. } => assert_eq!(value.as_slice(), t.encode_to_vec()),
        _ => unreachable!(),
    }
    // The timeout follows `default_timeout_seconds`.
    let update = ExecuteMsg::UpdateConfig {
        admin: None,
        payout_address: None,
        max_input_bytes: None,
        default_timeout_seconds: Some(120),
        callback_gas_limit: None,
        fee_split: None,
        prices: None,
    };
    execute(deps.as_mut(), mock_env(), mock_info(ADMIN, &[]), update).unwrap();
    let res = settle_result(&mut deps, 10, 10);
    let t = decoded_transfer(&res.messages[2].msg);
    assert_eq!(t.timeout_timestamp, env.block.time.plus_seconds(120).nanos());
}

#[test]
fn without_a_split_the_whole_fee_goes_to_the_payout_address() {
    // Prices alone change nothing in the settlement.
    let mut deps = setup();
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(None, Some(vec![price("*", 10)])),
    )
    .unwrap();
    let res = settle_result(&mut deps, 1001, 1);
    assert_eq!(res.messages.len(), 1);
    bank_send(&res.messages, PAYOUT, 1001);
    assert_eq!(attr(&res, "fee_paid_to").as_deref(), Some(PAYOUT));
    assert_eq!(attr(&res, "burn"), None);
    let r = get_request(&deps, 1);
    assert_eq!(
        (r.fee_paid_to, r.fee_split),
        (Some(Addr::unchecked(PAYOUT)), None)
    );

    // A split set, then removed with `null`: the old behaviour again.
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(Some(Some(split_msg(7000, 2000, 1000))), None),
    )
    .unwrap();
    let _: ExecuteMsg = from_json(br#"{"update_config":{"fee_split":null}}"#).unwrap();
    let remove: ExecuteMsg = from_json(br#"{"update_config":{"fee_split":null}}"#).unwrap();
    assert_eq!(remove, update_msg(Some(None), None));
    let keep: ExecuteMsg = from_json(br#"{"update_config":{}}"#).unwrap();
    assert_eq!(keep, update_msg(None, None));
    execute(deps.as_mut(), mock_env(), mock_info(ADMIN, &[]), keep).unwrap();
    assert!(config_of(&deps).fee_split.is_some(), "absent keeps the split");
    execute(deps.as_mut(), mock_env(), mock_info(ADMIN, &[]), remove).unwrap();
    assert_eq!(config_of(&deps).fee_split, None);
    let res = settle_result(&mut deps, 1001, 2);
    assert_eq!(res.messages.len(), 1);
    bank_send(&res.messages, PAYOUT, 1001);
}

#[test]
fn errors_and_timeouts_refund_in_full_with_a_split() {
    let mut deps = setup_split();
    let res = request(&mut deps, ALICE, text_request("7"), 1001).unwrap();
    let (_, data, _) = sent_packet(&res);
    let ack = Acknowledgement::error(ErrorCode::UnknownModel, "no such model").to_bytes();
    let res = ibc_packet_ack(deps.as_mut(), mock_env(), ack_msg(&data, 1, &ack)).unwrap();
    assert_eq!(res.messages.len(), 1);
    bank_send(&res.messages, ALICE, 1001);
    let r = get_request(&deps, 1);
    assert_eq!((r.fee_paid_to, r.fee_split), (Some(Addr::unchecked(ALICE)), None));

    let res = request(&mut deps, BOB, text_request("8"), 77).unwrap();
    let (_, data, _) = sent_packet(&res);
    let mut msg = mock_ibc_packet_timeout(CHANNEL, &"").unwrap();
    msg.packet = our_packet(&data, 2);
    let res = ibc_packet_timeout(deps.as_mut(), mock_env(), msg).unwrap();
    assert_eq!(res.messages.len(), 1);
    bank_send(&res.messages, BOB, 77);
}

#[test]
fn bad_split_configs_are_refused() {
    let mut deps = setup();
    let try_split = |deps: &mut Deps, m: FeeSplitMsg| {
        execute(
            deps.as_mut(),
            mock_env(),
            mock_info(ADMIN, &[]),
            update_msg(Some(Some(m)), None),
        )
    };
    let err = try_split(&mut deps, split_msg(7000, 2000, 500)).unwrap_err();
    assert_eq!(
        err,
        ContractError::FeeSplitNotWhole {
            executor_bps: 7000,
            burn_bps: 2000,
            community_bps: 500,
            sum: 9500
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid fee split: executor_bps 7000 + burn_bps 2000 + community_bps 500 = 9500, must be 10000"
    );
    // No overflow: u32::MAX shares add up in u64.
    assert!(matches!(
        try_split(&mut deps, split_msg(u32::MAX, u32::MAX, 2)).unwrap_err(),
        ContractError::FeeSplitNotWhole {
            sum: 8_589_934_592,
            ..
        }
    ));
    let bad = |f: fn(&mut FeeSplitMsg)| {
        let mut m = split_msg(7000, 2000, 1000);
        f(&mut m);
        m
    };
    for (m, why) in [
        (
            bad(|m| m.transfer_channel = "transfer".into()),
            "transfer_channel",
        ),
        (
            bad(|m| m.transfer_channel = "channel-".into()),
            "transfer_channel",
        ),
        (
            bad(|m| m.transfer_channel = "channel-1x".into()),
            "transfer_channel",
        ),
        (bad(|m| m.host_pool = String::new()), "host_pool"),
        (bad(|m| m.host_pool = "chimera1notbech32".into()), "host_pool"),
        (bad(|m| m.host_pool = chimera_addr(1).to_uppercase()), "host_pool"),
        (bad(|m| m.burn_address = "TERRA1BURN".into()), "burn_address"),
        (bad(|m| m.burn_address = "x".into()), "burn_address"),
        (bad(|m| m.community_address = String::new()), "community_address"),
    ] {
        let err = try_split(&mut deps, m.clone()).unwrap_err();
        assert!(
            matches!(&err, ContractError::InvalidFeeSplit(t) if t.starts_with(why)),
            "{m:?}: {err}"
        );
    }
    assert_eq!(config_of(&deps).fee_split, None, "nothing was set");
    // At instantiate too.
    let msg = InstantiateMsg {
        fee_split: Some(split_msg(5000, 5000, 1)),
        ..Default::default()
    };
    assert!(matches!(
        instantiate(
            mock_dependencies().as_mut(),
            mock_env(),
            mock_info(ADMIN, &[]),
            msg
        )
        .unwrap_err(),
        ContractError::FeeSplitNotWhole { sum: 10_001, .. }
    ));
}

#[test]
fn instantiate_with_a_split_and_prices_and_config_shows_them() {
    let mut deps = mock_dependencies();
    let msg: InstantiateMsg = from_json(
        format!(
            r#"{{"payout_address":"terra1payout","fee_split":{{"transfer_channel":"channel-5","host_pool":"{}","burn_address":"terra1burn","community_address":"terra1community","executor_bps":7000,"burn_bps":2000,"community_bps":1000}},"prices":[{{"model":"digits-ddpm","amount":"1000"}},{{"model":"*","amount":"500"}}]}}"#,
            chimera_addr(1)
        )
        .as_bytes(),
    )
    .unwrap();
    let res = instantiate(deps.as_mut(), mock_env(), mock_info(ADMIN, &[]), msg).unwrap();
    assert!(res
        .attributes
        .iter()
        .any(|a| a.key == "fee_split" && a.value == "1"));
    let config: serde_json::Value =
        serde_json::from_slice(&query(deps.as_ref(), mock_env(), QueryMsg::Config {}).unwrap()).unwrap();
    assert_eq!(
        config["fee_split"],
        serde_json::json!({
            "id": 1,
            "transfer_channel": "channel-5",
            "host_pool": chimera_addr(1),
            "burn_address": "terra1burn",
            "community_address": "terra1community",
            "executor_bps": 7000,
            "burn_bps": 2000,
            "community_bps": 1000,
        })
    );
    assert_eq!(
        config["prices"],
        serde_json::json!([{"model": "digits-ddpm", "amount": "1000"}, {"model": "*", "amount": "500"}])
    );
    // Without them the config answers neither (as before).
    let plain = setup();
    let config: serde_json::Value =
        serde_json::from_slice(&query(plain.as_ref(), mock_env(), QueryMsg::Config {}).unwrap()).unwrap();
    assert!(
        config.get("fee_split").is_none() && config.get("prices").is_none(),
        "{config}"
    );
}

#[test]
fn update_config_of_the_split_is_admin_only() {
    let mut deps = setup();
    for who in [ALICE, PAYOUT] {
        assert_eq!(
            execute(
                deps.as_mut(),
                mock_env(),
                mock_info(who, &[]),
                update_msg(Some(Some(split_msg(7000, 2000, 1000))), Some(vec![price("*", 1)])),
            )
            .unwrap_err(),
            ContractError::Unauthorized
        );
    }
    assert_eq!(config_of(&deps).fee_split, None);
    assert!(config_of(&deps).prices.is_empty());
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(Some(Some(split_msg(7000, 2000, 1000))), None),
    )
    .unwrap();
    assert_eq!(config_of(&deps).fee_split.unwrap().id, 1);
    // Removing it is admin-only as well.
    assert_eq!(
        execute(
            deps.as_mut(),
            mock_env(),
            mock_info(ALICE, &[]),
            update_msg(Some(None), None)
        )
        .unwrap_err(),
        ContractError::Unauthorized
    );
    assert!(config_of(&deps).fee_split.is_some());
    // Each new split gets the next number, after a removal too.
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(Some(None), None),
    )
    .unwrap();
    execute(
        deps.as_mut(),
        mock_env(),
        mock_info(ADMIN, &[]),
        update_msg(Some(Some(split_msg(6000, 3000, 1000))), None),
    )
    .unwrap();
    assert_eq!(config_of(&deps).fee_split.unwrap().id, 2);
}

#[test]
fn split_records_stay_compact() {
    use cosmwasm_std::Storage as _;
    let mut deps = setup_split();
    settle_result(&mut deps, 1000, 1);
    let stored = String::from_utf8(deps.storage.get(&REQUESTS.key(1)).unwrap()).unwrap();
    assert_eq!(
        stored,
        format!(
            concat!(
                r#"{{"r":"terra1alice","c":"channel-0","m":"digits-ddpm","f":"1000","h":12345,"t":1571798019879305533,"#,
                r#""s":1,"o":{{"r":{{"j":7,"o":"{d0}","z":9,"n":"png","k":"{c7}","h":1234,"a":30,"w":40}}}},"#,
                r#""d":1}}"#
            ),
            d0 = Binary::from(vec![0xd0; 32]).to_base64(),
            c7 = Binary::from(vec![0xc7; 32]).to_base64()
        )
    );
    // Answered in full, in the pages of `requests_by_requester` too.
    let page: RequestsResponse = from_json(
        query(
            deps.as_ref(),
            mock_env(),
            QueryMsg::RequestsByRequester {
                requester: ALICE.into(),
                start_after: None,
                limit: None,
            },
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(page.requests[0].fee_split.as_ref().unwrap().executor.u128(), 700);
    assert_eq!(page.requests[0], get_request(&deps, 1));
}
