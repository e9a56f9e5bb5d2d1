//! ICS-27 interchain accounts: the route by which Terra Classic users reach
//! Chimera (`docs/protocol.md` §5 "ICA route").
//!
//! A Terra Classic account sends `MsgSendTx` to its chain's ibc-go v7
//! controller; the packet carries `InterchainAccountPacketData` whose `data`
//! is a `CosmosTx` of `Any`-packed messages (here `MsgRunInference`). Our host
//! answers with ibc-go's acknowledgement: `{"result":"<base64 TxMsgData>"}` or
//! the deterministic `{"error":"ABCI code: N: ..."}`.
//!
//! Every byte form here mirrors ibc-go v7.4.1 (the version Terra Classic v3.4.0
//! links; these functions are identical through v7.10.0 and, up to renames, in
//! v8.x) built with Cosmos SDK v0.47.14 and gogoproto v1.7.0:
//!
//! - channel version: `modules/apps/27-interchain-accounts/types/metadata.go`
//!   (`ModuleCdc.MarshalJSON(&metadata)`: gogoproto `jsonpb` with `OrigName`
//!   and `EmitDefaults`, fields in proto order, *not* key-sorted);
//! - packet bytes: `types/packet.go` (`GetBytes` =
//!   `sdk.MustSortJSON(ModuleCdc.MustMarshalJSON(&iapd))`: keys sorted, Go
//!   `encoding/json` escaping);
//! - `CosmosTx`: `types/codec.go` (`SerializeCosmosTxWithEncoding`,
//!   `DeserializeCosmosTxWithEncoding`, proto3json since v7.3.0): protobuf
//!   bytes, or unsorted `jsonpb` JSON with `"@type"` first in each `Any`;
//! - host: `host/keeper/relay.go` (`OnRecvPacket`, `executeTx`: the result is
//!   `proto.Marshal(TxMsgData{MsgResponses})`) and
//!   `modules/core/04-channel/types/acknowledgement.go` (ack JSON, error text).
//!
//! The expected bytes in the tests were produced by running that Go code.

use std::fmt;
use std::str::FromStr;

use base64::{engine::general_purpose::STANDARD, Engine};
use ibc_proto::cosmos::bank::v1beta1::MsgSend;
use ibc_proto::cosmos::base::abci::v1beta1::TxMsgData;
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::applications::interchain_accounts::v1::{CosmosTx, Type};
use prost::Message;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::encoding::to_canonical_vec;
use crate::proto::{
    input, input_encoding, BlobRef, Input, InputEncoding, JsonEncoding, MsgRunInference,
    MsgRunInferenceResponse, Param, Params, SealedEnvelope, TensorSpec, TextEncoding, WrappedKey,
};

/// Port the ICS-27 host binds (`docs/protocol.md` §5; ibc-go
/// `27-interchain-accounts/types/keys.go` `HostPortID`).
pub const HOST_PORT: &str = "icahost";

/// Prefix of controller ports, followed by the owner address
/// (`docs/protocol.md` §5; ibc-go `types/keys.go` `ControllerPortPrefix`).
pub const CONTROLLER_PORT_PREFIX: &str = "icacontroller-";

/// The ICS-27 application version inside the channel metadata
/// (`docs/protocol.md` §5; ibc-go `types/keys.go` `Version`).
pub const VERSION: &str = "ics27-1";

/// Metadata `encoding` for protobuf `CosmosTx` bytes (`docs/protocol.md` §5;
/// ibc-go `types/metadata.go` `EncodingProtobuf`).
pub const ENCODING_PROTO3: &str = "proto3";

/// Metadata `encoding` for proto3-JSON `CosmosTx` bytes (`docs/protocol.md`
/// §5; ibc-go `types/metadata.go` `EncodingProto3JSON`, since v7.3.0).
pub const ENCODING_PROTO3JSON: &str = "proto3json";

/// The only supported metadata `tx_type` (`docs/protocol.md` §5; ibc-go
/// `types/metadata.go` `TxTypeSDKMultiMsg`).
pub const TX_TYPE: &str = "sdk_multi_msg";

/// Longest packet memo in bytes the controller accepts (`docs/protocol.md` §5;
/// ibc-go `types/packet.go` `MaxMemoCharLength`, checked as Go `len`, bytes).
pub const MAX_MEMO_LEN: usize = 256;

/// Longest interchain account address in the metadata (`docs/protocol.md` §5;
/// ibc-go `types/account.go` `DefaultMaxAddrLength`).
pub const MAX_ADDRESS_LEN: usize = 128;

/// ibc-go's module name, the domain of interchain account addresses
/// (`27-interchain-accounts/types/keys.go` `ModuleName`).
pub const MODULE_NAME: &str = "interchainaccounts";

/// ibc-go's derivation key of the host's accounts
/// (`27-interchain-accounts/types/keys.go` `hostAccountsKey`).
pub const HOST_ACCOUNTS_KEY: &str = "icahost-accounts";

/// The address a host gives a new interchain account, as ibc-go v7.4's
/// `GenerateAddress(ctx, connectionID, portID)` does:
/// `address.Derive(address.Module("interchainaccounts", "icahost-accounts"),
/// connectionID ‖ portID ‖ header.AppHash ‖ header.DataHash)`, where
/// `Module(name, k) = sha256(sha256("module") ‖ name ‖ 0x00 ‖ k)` and
/// `Derive(a, k) = sha256(sha256(a) ‖ k)`; 32 bytes.
///
/// Why: a controller (Terra Classic's ibc-go) and our host must agree on
/// the account a channel owns; the app and data hashes of the block that
/// opens the channel make it unpredictable before then, as in ibc-go.
pub fn interchain_account_address(
    connection_id: &str,
    port_id: &str,
    app_hash: &[u8],
    data_hash: &[u8],
) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let hash = |typ: &[u8], key: &[&[u8]]| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(Sha256::digest(typ));
        for k in key {
            h.update(k);
        }
        h.finalize().into()
    };
    let host = hash(
        b"module",
        &[MODULE_NAME.as_bytes(), &[0u8], HOST_ACCOUNTS_KEY.as_bytes()],
    );
    hash(
        &host,
        &[connection_id.as_bytes(), port_id.as_bytes(), app_hash, data_hash],
    )
}

/// Type URL of `MsgRunInference` inside a `CosmosTx` (`docs/protocol.md` §5).
pub const MSG_RUN_INFERENCE_TYPE_URL: &str = "/chimera.inference.v1.MsgRunInference";

/// Type URL of `MsgRunInferenceResponse` inside the ack's `TxMsgData`
/// (`docs/protocol.md` §5).
pub const MSG_RUN_INFERENCE_RESPONSE_TYPE_URL: &str = "/chimera.inference.v1.MsgRunInferenceResponse";

/// Type URL of the bank `MsgSend`, the other message the proto3json mapping
/// supports (`docs/protocol.md` §5).
pub const MSG_SEND_TYPE_URL: &str = "/cosmos.bank.v1beta1.MsgSend";

/// The fixed text after the ABCI code in an error ack (`docs/protocol.md` §5;
/// ibc-go `modules/core/04-channel/types/acknowledgement.go` `ackErrorString`).
pub const ACK_ERROR_STRING: &str = "error handling packet: see events for details";

/// Why an ICS-27 value could not be built, parsed or validated
/// (`docs/protocol.md` §5). Each variant names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcaError {
    /// Metadata `encoding` is neither `proto3` nor `proto3json`.
    #[error("unsupported encoding format {0:?} in field `encoding` (expected \"proto3\" or \"proto3json\")")]
    UnsupportedEncoding(String),
    /// Metadata `tx_type` is not `sdk_multi_msg`.
    #[error("unsupported transaction type {0:?} in field `tx_type` (expected \"sdk_multi_msg\")")]
    UnsupportedTxType(String),
    /// Metadata `version` is not `ics27-1`.
    #[error("invalid interchain accounts version in field `version`: expected \"ics27-1\", got {0:?}")]
    WrongVersion(String),
    /// A metadata connection id differs from the channel's.
    #[error("invalid connection in field `{field}`: expected {expected:?}, got {got:?}")]
    ConnectionMismatch {
        /// `controller_connection_id` or `host_connection_id`.
        field: &'static str,
        /// The id the channel's connection implies.
        expected: String,
        /// The id the metadata holds.
        got: String,
    },
    /// Metadata `address` is not 1 to 128 ASCII letters and digits.
    #[error(
        "invalid account address {0:?} in field `address`: must contain strictly alphanumeric \
         characters, not exceeding 128 characters in length"
    )]
    InvalidAddress(String),
    /// The bytes are not the JSON document expected.
    #[error("cannot parse {what} JSON: {reason}")]
    Json {
        /// What was being parsed, e.g. "ICS-27 metadata".
        what: &'static str,
        /// serde_json's message.
        reason: String,
    },
    /// A JSON object has a field its message does not define (jsonpb
    /// rejects unknown fields).
    #[error("unknown field `{field}` in {message}")]
    UnknownField {
        /// The protobuf message, e.g. "MsgRunInference".
        message: &'static str,
        /// The offending key.
        field: String,
    },
    /// A field has the wrong JSON type or an invalid value.
    #[error("invalid field `{field}`: {reason}")]
    InvalidField {
        /// `Message.field`, e.g. "Params.seed".
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `Any` in a proto3json `CosmosTx` has no `@type`, or one this crate
    /// cannot map to proto3 JSON.
    #[error(
        "unsupported message type URL {0:?} in field `@type` for proto3json (supported: \
         /chimera.inference.v1.MsgRunInference, /cosmos.bank.v1beta1.MsgSend)"
    )]
    UnknownTypeUrl(String),
    /// Protobuf bytes did not decode.
    #[error("cannot decode protobuf {what}: {reason}")]
    Proto {
        /// The message or field being decoded.
        what: String,
        /// prost's message.
        reason: String,
    },
    /// Packet data `type` is not `TYPE_EXECUTE_TX`.
    #[error("unsupported interchain account packet type {0:?} in field `type` (expected TYPE_EXECUTE_TX)")]
    UnsupportedPacketType(String),
    /// Packet data `data` is empty (the controller's `ValidateBasic` refuses it).
    #[error("packet data cannot be empty (field `data`)")]
    EmptyData,
    /// Packet data `memo` is longer than 256 bytes.
    #[error("packet data memo cannot be greater than 256 characters (field `memo` has {0} bytes)")]
    MemoTooLong(usize),
    /// The acknowledgement is an error ack; the text is ibc-go's.
    #[error("error acknowledgement: {0}")]
    ErrorAck(String),
    /// The acknowledgement is neither `{"result":..}` nor `{"error":..}`.
    #[error("malformed acknowledgement: {0}")]
    MalformedAck(String),
}

impl IcaError {
    /// The ABCI code an ibc-go v7 host puts in its error ack when receiving a
    /// packet fails with this error (`docs/protocol.md` §5; ibc-go
    /// `host/keeper/relay.go`): 2 (`ErrUnknownDataType`) for undecodable
    /// packet JSON, a packet type other than `TYPE_EXECUTE_TX` and any
    /// proto3json `CosmosTx` failure; 18 (`ErrInvalidCodec`) for an
    /// unsupported encoding; 1 (internal, an unregistered Go error) for an
    /// undecodable protobuf `CosmosTx` and everything else.
    pub fn host_abci_code(&self) -> u32 {
        match self {
            IcaError::Json { .. }
            | IcaError::UnknownField { .. }
            | IcaError::InvalidField { .. }
            | IcaError::UnknownTypeUrl(_)
            | IcaError::UnsupportedPacketType(_) => 2,
            IcaError::UnsupportedEncoding(_) => 18,
            _ => 1,
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding and metadata
// ---------------------------------------------------------------------------

/// How `CosmosTx` travels in the packet's `data` field, fixed per channel by
/// the metadata `encoding` (`docs/protocol.md` §5; ibc-go `types/codec.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `"proto3"`: protobuf bytes of `CosmosTx`.
    Proto3,
    /// `"proto3json"`: gogoproto `jsonpb` JSON of `CosmosTx`.
    Proto3Json,
}

impl Encoding {
    /// The metadata string: `"proto3"` or `"proto3json"` (`docs/protocol.md` §5).
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Proto3 => ENCODING_PROTO3,
            Encoding::Proto3Json => ENCODING_PROTO3JSON,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Encoding {
    type Err = IcaError;

    /// Parses a metadata `encoding` exactly (ibc-go `isSupportedEncoding`).
    fn from_str(s: &str) -> Result<Self, IcaError> {
        match s {
            ENCODING_PROTO3 => Ok(Encoding::Proto3),
            ENCODING_PROTO3JSON => Ok(Encoding::Proto3Json),
            other => Err(IcaError::UnsupportedEncoding(other.to_owned())),
        }
    }
}

fn null_default<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// ICS-27 channel version metadata (`docs/protocol.md` §5; ibc-go
/// `proto/ibc/applications/interchain_accounts/v1/metadata.proto` and
/// `types/metadata.go`).
///
/// Serialized with its fields in proto order, as ibc-go's
/// `ModuleCdc.MarshalJSON(&metadata)` writes the version string (not key
/// sorted): `{"version":"ics27-1","controller_connection_id":"connection-0",
/// "host_connection_id":"connection-1","address":"","encoding":"proto3",
/// "tx_type":"sdk_multi_msg"}`. Parsing follows jsonpb: snake_case or
/// lowerCamelCase names, `null` or absent fields are empty, unknown fields are
/// refused.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Always [`VERSION`].
    #[serde(default, deserialize_with = "null_default")]
    pub version: String,
    /// The controller chain's connection end (on Terra Classic).
    #[serde(default, alias = "controllerConnectionId", deserialize_with = "null_default")]
    pub controller_connection_id: String,
    /// The host chain's connection end (on Chimera).
    #[serde(default, alias = "hostConnectionId", deserialize_with = "null_default")]
    pub host_connection_id: String,
    /// The interchain account address; empty until the host fills it in its
    /// `OnChanOpenTry` version.
    #[serde(default, deserialize_with = "null_default")]
    pub address: String,
    /// [`ENCODING_PROTO3`] or [`ENCODING_PROTO3JSON`].
    #[serde(default, deserialize_with = "null_default")]
    pub encoding: String,
    /// Always [`TX_TYPE`].
    #[serde(default, alias = "txType", deserialize_with = "null_default")]
    pub tx_type: String,
}

impl Metadata {
    /// The metadata a controller proposes in `OnChanOpenInit`: version
    /// `ics27-1`, empty address, tx type `sdk_multi_msg` (`docs/protocol.md`
    /// §5; ibc-go `types/metadata.go` `NewDefaultMetadata`, plus a choice of
    /// encoding).
    pub fn new_controller(
        controller_connection_id: &str,
        host_connection_id: &str,
        encoding: Encoding,
    ) -> Self {
        Metadata {
            version: VERSION.to_owned(),
            controller_connection_id: controller_connection_id.to_owned(),
            host_connection_id: host_connection_id.to_owned(),
            address: String::new(),
            encoding: encoding.as_str().to_owned(),
            tx_type: TX_TYPE.to_owned(),
        }
    }

    /// This metadata with `address` set, as the host returns it from
    /// `OnChanOpenTry` (`docs/protocol.md` §5; ibc-go
    /// `host/keeper/handshake.go`).
    pub fn with_address(mut self, address: &str) -> Self {
        self.address = address.to_owned();
        self
    }

    /// The channel version string bytes exactly as ibc-go writes them:
    /// compact, fields in proto order, every field present, Go string
    /// escaping (`docs/protocol.md` §5; ibc-go `types/metadata.go`
    /// `NewDefaultMetadataString`, `host/keeper/handshake.go`).
    pub fn to_json(&self) -> Vec<u8> {
        let doc = Json::Obj(vec![
            ("version", Json::Str(self.version.clone())),
            (
                "controller_connection_id",
                Json::Str(self.controller_connection_id.clone()),
            ),
            ("host_connection_id", Json::Str(self.host_connection_id.clone())),
            ("address", Json::Str(self.address.clone())),
            ("encoding", Json::Str(self.encoding.clone())),
            ("tx_type", Json::Str(self.tx_type.clone())),
        ]);
        let mut out = Vec::with_capacity(192);
        doc.write(&mut out);
        out
    }

    /// Parses a channel version as ibc-go's `ModuleCdc.UnmarshalJSON` does
    /// (`docs/protocol.md` §5; ibc-go `types/metadata.go`). Validates nothing:
    /// see [`Metadata::validate_for_host`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, IcaError> {
        serde_json::from_slice(bytes).map_err(|e| IcaError::Json {
            what: "ICS-27 metadata",
            reason: e.to_string(),
        })
    }

    /// The channel's encoding, if supported (`docs/protocol.md` §5).
    pub fn encoding(&self) -> Result<Encoding, IcaError> {
        self.encoding.parse()
    }

    /// Validates the metadata a host receives in `OnChanOpenTry`, in
    /// ibc-go's order (`docs/protocol.md` §5; ibc-go `types/metadata.go`
    /// `ValidateHostMetadata`): supported encoding and tx type;
    /// `controller_connection_id` equals the counterparty connection id of
    /// the channel's connection; `host_connection_id` equals the channel's
    /// own connection (`connectionHops[0]`); address empty or valid; version
    /// `ics27-1`.
    pub fn validate_for_host(
        &self,
        host_connection_id: &str,
        counterparty_connection_id: &str,
    ) -> Result<(), IcaError> {
        self.validate(counterparty_connection_id, host_connection_id)
    }

    /// Validates metadata on the controller side (`docs/protocol.md` §5;
    /// ibc-go `types/metadata.go` `ValidateControllerMetadata`): as
    /// [`Metadata::validate_for_host`] with the connection roles swapped.
    pub fn validate_for_controller(
        &self,
        controller_connection_id: &str,
        counterparty_connection_id: &str,
    ) -> Result<(), IcaError> {
        self.validate(controller_connection_id, counterparty_connection_id)
    }

    fn validate(&self, controller_connection_id: &str, host_connection_id: &str) -> Result<(), IcaError> {
        self.encoding()?;
        if self.tx_type != TX_TYPE {
            return Err(IcaError::UnsupportedTxType(self.tx_type.clone()));
        }
        if self.controller_connection_id != controller_connection_id {
            return Err(IcaError::ConnectionMismatch {
                field: "controller_connection_id",
                expected: controller_connection_id.to_owned(),
                got: self.controller_connection_id.clone(),
            });
        }
        if self.host_connection_id != host_connection_id {
            return Err(IcaError::ConnectionMismatch {
                field: "host_connection_id",
                expected: host_connection_id.to_owned(),
                got: self.host_connection_id.clone(),
            });
        }
        if !self.address.is_empty() {
            validate_account_address(&self.address)?;
        }
        if self.version != VERSION {
            return Err(IcaError::WrongVersion(self.version.clone()));
        }
        Ok(())
    }
}

/// Checks an interchain account address as ibc-go does: `^[a-zA-Z0-9]+$`, at
/// most 128 characters (`docs/protocol.md` §5; ibc-go `types/account.go`
/// `ValidateAccountAddress`).
pub fn validate_account_address(address: &str) -> Result<(), IcaError> {
    if address.is_empty()
        || address.len() > MAX_ADDRESS_LEN
        || !address.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(IcaError::InvalidAddress(address.to_owned()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// CosmosTx
// ---------------------------------------------------------------------------

/// Serializes messages into `CosmosTx` bytes for `encoding`
/// (`docs/protocol.md` §5; ibc-go `types/codec.go`
/// `SerializeCosmosTxWithEncoding`).
///
/// `Proto3` gives protobuf bytes of `CosmosTx{messages}`. `Proto3Json` gives
/// what gogoproto's `jsonpb` (`OrigName`, `EmitDefaults`) writes after
/// decoding each `Any`: compact, not key-sorted, `"@type"` first, fields in
/// proto order with snake_case names, every field present (`""`, `"0"`,
/// `[]`, `null` for unset messages and empty bytes), uint64 as decimal
/// strings, uint32 as numbers, bytes as padded base64, a set oneof as its
/// field name, Go's HTML-safe string escaping. Only `MsgRunInference` and
/// `MsgSend` can be mapped; other type URLs are refused. Coin amounts must be
/// canonical decimal integers within Cosmos SDK `math.Int`'s 256 bits.
pub fn build_cosmos_tx(msgs: &[Any], encoding: Encoding) -> Result<Vec<u8>, IcaError> {
    match encoding {
        Encoding::Proto3 => Ok(CosmosTx {
            messages: msgs.to_vec(),
        }
        .encode_to_vec()),
        Encoding::Proto3Json => {
            let messages = msgs.iter().map(any_to_json).collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(256);
            Json::Obj(vec![("messages", Json::Arr(messages))]).write(&mut out);
            Ok(out)
        }
    }
}

/// Decodes `CosmosTx` bytes back into `Any`s (`docs/protocol.md` §5; ibc-go
/// `types/codec.go` `DeserializeCosmosTxWithEncoding`).
///
/// `Proto3` returns the `Any`s as they are, whatever their type URL (the
/// host's router decides). `Proto3Json` accepts what jsonpb accepts for the
/// supported messages (snake_case or lowerCamelCase names, `null` for any
/// default, uint64 as a string or a number, uint32 as a number or a string)
/// and refuses unknown fields and unknown or missing `@type`; each message is
/// re-encoded as protobuf into the returned `Any.value`. Stricter than Go:
/// two members of one oneof, non-decimal coin amounts and unpadded base64 are
/// refused.
pub fn decode_cosmos_tx(bytes: &[u8], encoding: Encoding) -> Result<Vec<Any>, IcaError> {
    match encoding {
        Encoding::Proto3 => CosmosTx::decode(bytes)
            .map(|tx| tx.messages)
            .map_err(|e| IcaError::Proto {
                what: "CosmosTx".to_owned(),
                reason: e.to_string(),
            }),
        Encoding::Proto3Json => {
            let doc: Value = serde_json::from_slice(bytes).map_err(|e| IcaError::Json {
                what: "proto3json CosmosTx",
                reason: e.to_string(),
            })?;
            let Some(tx) = Obj::new("CosmosTx", &doc, &[("messages", "messages")], false)? else {
                return Ok(Vec::new());
            };
            tx.array("messages")?.iter().map(any_from_json).collect()
        }
    }
}

// ---------------------------------------------------------------------------
// Packet data
// ---------------------------------------------------------------------------

/// An ICS-27 packet as the host reads it (`docs/protocol.md` §5).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IcaPacket {
    /// The `CosmosTx` messages, protobuf-encoded in `Any.value`.
    pub messages: Vec<Any>,
    /// The packet memo (free text, often JSON for middleware).
    pub memo: String,
}

/// The packet bytes an ibc-go controller sends for `msgs`: the
/// `InterchainAccountPacketData{type: TYPE_EXECUTE_TX, data: CosmosTx, memo}`
/// JSON with sorted keys, e.g. `{"data":"<base64>","memo":"","type":
/// "TYPE_EXECUTE_TX"}` (`docs/protocol.md` §5; ibc-go `types/packet.go`
/// `GetBytes` = `sdk.MustSortJSON(ModuleCdc.MustMarshalJSON(&iapd))`).
///
/// Refuses what the controller's `ValidateBasic` refuses: empty `data`
/// (no messages with `Proto3`) and a memo over 256 bytes.
pub fn packet_data(msgs: &[Any], encoding: Encoding, memo: &str) -> Result<Vec<u8>, IcaError> {
    let data = build_cosmos_tx(msgs, encoding)?;
    if data.is_empty() {
        return Err(IcaError::EmptyData);
    }
    if memo.len() > MAX_MEMO_LEN {
        return Err(IcaError::MemoTooLong(memo.len()));
    }
    let mut doc = Map::new();
    doc.insert("data".to_owned(), Value::String(STANDARD.encode(&data)));
    doc.insert("memo".to_owned(), Value::String(memo.to_owned()));
    doc.insert(
        "type".to_owned(),
        Value::String(Type::ExecuteTx.as_str_name().to_owned()),
    );
    to_canonical_vec(&Value::Object(doc)).map_err(|e| IcaError::Json {
        what: "ICS-27 packet data",
        reason: e.to_string(),
    })
}

/// Reads packet bytes on the host for a channel of `encoding`
/// (`docs/protocol.md` §5; ibc-go `host/keeper/relay.go` `OnRecvPacket`):
/// jsonpb parsing of `InterchainAccountPacketData` (`type` as its name or
/// number, `data` as padded base64, unknown fields refused; key order and
/// spacing free), `type` must be `TYPE_EXECUTE_TX`, then
/// [`decode_cosmos_tx`] of `data`. Like the Go host, it does not re-check the
/// memo length.
pub fn decode_packet_data(bytes: &[u8], encoding: Encoding) -> Result<IcaPacket, IcaError> {
    const FIELDS: &[(&str, &str)] = &[("type", "type"), ("data", "data"), ("memo", "memo")];
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| IcaError::Json {
        what: "ICS-27 packet data",
        reason: e.to_string(),
    })?;
    let obj = Obj::new("InterchainAccountPacketData", &doc, FIELDS, false)?;
    let (kind, data, memo) = match &obj {
        Some(o) => (o.get("type"), o.bytes("data")?, o.string("memo")?),
        None => (None, Vec::new(), String::new()),
    };
    // jsonpb takes an enum by name or by number (proto3 enums are open).
    let kind = match kind {
        None => Type::Unspecified as i32,
        Some(Value::String(name)) => Type::from_str_name(name).map(|t| t as i32).ok_or_else(|| {
            invalid(
                "InterchainAccountPacketData.type",
                format!("unknown enum value {name:?}"),
            )
        })?,
        Some(Value::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(|| {
            invalid(
                "InterchainAccountPacketData.type",
                format!("{n} is not an enum number"),
            )
        })?,
        Some(_) => {
            return Err(invalid(
                "InterchainAccountPacketData.type",
                "expected a string or a number",
            ))
        }
    };
    if kind != Type::ExecuteTx as i32 {
        let name = Type::try_from(kind).map_or_else(|_| kind.to_string(), |t| t.as_str_name().to_owned());
        return Err(IcaError::UnsupportedPacketType(name));
    }
    Ok(IcaPacket {
        messages: decode_cosmos_tx(&data, encoding)?,
        memo,
    })
}

// ---------------------------------------------------------------------------
// Acknowledgements
// ---------------------------------------------------------------------------

/// The host's success ack for the message responses of one executed
/// `CosmosTx`: `{"result":"<base64 of protobuf TxMsgData{msg_responses}>"}`
/// (`docs/protocol.md` §5; ibc-go `host/keeper/relay.go` `executeTx` and
/// `04-channel/types/acknowledgement.go` `NewResultAcknowledgement`,
/// `Acknowledgement()` = `sdk.MustSortJSON(jsonpb)`). No responses give
/// `{"result":""}`, as in Go.
pub fn success_ack(responses: &[Any]) -> Vec<u8> {
    let data = TxMsgData {
        msg_responses: responses.to_vec(),
        ..Default::default()
    }
    .encode_to_vec();
    // Base64 needs no escaping: the canonical form is this literal text.
    format!("{{\"result\":\"{}\"}}", STANDARD.encode(data)).into_bytes()
}

/// The host's error ack: `{"error":"ABCI code: <code>: error handling
/// packet: see events for details"}` (`docs/protocol.md` §5; ibc-go
/// `04-channel/types/acknowledgement.go` `NewErrorAcknowledgement`, which
/// keeps only the deterministic ABCI code).
pub fn error_ack(abci_code: u32) -> Vec<u8> {
    format!("{{\"error\":\"ABCI code: {abci_code}: {ACK_ERROR_STRING}\"}}").into_bytes()
}

/// The ABCI code in an ibc-go error-ack text, if it has ibc-go's form
/// (`docs/protocol.md` §5; ibc-go `04-channel/types/acknowledgement.go`).
pub fn error_ack_code(text: &str) -> Option<u32> {
    let rest = text.strip_prefix("ABCI code: ")?;
    let (code, tail) = rest.split_once(": ")?;
    if tail != ACK_ERROR_STRING || code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    code.parse().ok()
}

/// All `msg_responses` of an ICS-27 ack, in message order: parses
/// `{"result":"<base64>"}` into `TxMsgData` (`docs/protocol.md` §5; ibc-go
/// `04-channel/types/acknowledgement.go`, `host/keeper/relay.go`). An
/// `{"error":"..."}` ack gives [`IcaError::ErrorAck`] with its text.
pub fn msg_responses_from_ack(ack_bytes: &[u8]) -> Result<Vec<Any>, IcaError> {
    let doc: Value = serde_json::from_slice(ack_bytes).map_err(|e| IcaError::MalformedAck(e.to_string()))?;
    let Value::Object(map) = &doc else {
        return Err(IcaError::MalformedAck("not a JSON object".to_owned()));
    };
    if let Some(key) = map.keys().find(|k| *k != "result" && *k != "error") {
        return Err(IcaError::MalformedAck(format!("unknown field `{key}`")));
    }
    match (map.get("result"), map.get("error")) {
        (Some(Value::String(b64)), None) => {
            let bytes = STANDARD
                .decode(b64)
                .map_err(|e| IcaError::MalformedAck(format!("field `result` is not base64: {e}")))?;
            let data = TxMsgData::decode(bytes.as_slice()).map_err(|e| IcaError::Proto {
                what: "TxMsgData in ack field `result`".to_owned(),
                reason: e.to_string(),
            })?;
            Ok(data.msg_responses)
        }
        (None, Some(Value::String(text))) => Err(IcaError::ErrorAck(text.clone())),
        (None, None) => Err(IcaError::MalformedAck("neither `result` nor `error`".to_owned())),
        (Some(_), Some(_)) => Err(IcaError::MalformedAck("both `result` and `error`".to_owned())),
        _ => Err(IcaError::MalformedAck(
            "`result` or `error` is not a string".to_owned(),
        )),
    }
}

/// The `MsgRunInferenceResponse`s in an ICS-27 ack, in message order
/// (`docs/protocol.md` §5): [`msg_responses_from_ack`], keeping the responses
/// whose type URL is `/chimera.inference.v1.MsgRunInferenceResponse` (other
/// messages of the same `CosmosTx`, e.g. a `MsgSend`, are skipped) and
/// decoding them. An error ack gives [`IcaError::ErrorAck`].
pub fn run_inference_response_from_ack(ack_bytes: &[u8]) -> Result<Vec<MsgRunInferenceResponse>, IcaError> {
    msg_responses_from_ack(ack_bytes)?
        .iter()
        .filter(|any| any.type_url == MSG_RUN_INFERENCE_RESPONSE_TYPE_URL)
        .map(|any| {
            MsgRunInferenceResponse::decode(any.value.as_slice()).map_err(|e| IcaError::Proto {
                what: "MsgRunInferenceResponse".to_owned(),
                reason: e.to_string(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// proto3 JSON writer (gogoproto jsonpb, OrigName + EmitDefaults)
// ---------------------------------------------------------------------------

/// JSON with fields kept in the order given, as jsonpb writes them.
enum Json {
    Null,
    U32(u32),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::U32(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Json::Str(s) => write_go_string(s, out),
            Json::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Json::Obj(fields) => {
                out.push(b'{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_go_string(key, out);
                    out.push(b':');
                    value.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Go `encoding/json` string escaping, by way of the crate's canonical
/// writer (serializing a string to JSON cannot fail).
fn write_go_string(s: &str, out: &mut Vec<u8>) {
    match to_canonical_vec(s) {
        Ok(bytes) => out.extend_from_slice(&bytes),
        Err(_) => unreachable!("a string always serializes to JSON"),
    }
}

fn str_json(s: &str) -> Json {
    Json::Str(s.to_owned())
}

fn u64_json(n: u64) -> Json {
    Json::Str(n.to_string())
}

/// A non-oneof bytes field: Go decodes an absent field to a nil slice, which
/// `encoding/json` writes as `null`.
fn bytes_json(b: &[u8]) -> Json {
    if b.is_empty() {
        Json::Null
    } else {
        Json::Str(STANDARD.encode(b))
    }
}

fn opt_json<T>(v: &Option<T>, f: impl FnOnce(&T) -> Result<Json, IcaError>) -> Result<Json, IcaError> {
    v.as_ref().map_or(Ok(Json::Null), f)
}

fn decode_any<M: Message + Default>(any: &Any) -> Result<M, IcaError> {
    M::decode(any.value.as_slice()).map_err(|e| IcaError::Proto {
        what: any.type_url.clone(),
        reason: e.to_string(),
    })
}

fn any_to_json(any: &Any) -> Result<Json, IcaError> {
    let mut fields = vec![("@type", str_json(&any.type_url))];
    match any.type_url.as_str() {
        MSG_RUN_INFERENCE_TYPE_URL => fields.extend(run_inference_json(&decode_any(any)?)?),
        MSG_SEND_TYPE_URL => {
            let m: MsgSend = decode_any(any)?;
            fields.push(("from_address", str_json(&m.from_address)));
            fields.push(("to_address", str_json(&m.to_address)));
            fields.push(("amount", coins_json(&m.amount, "MsgSend.amount")?));
        }
        other => return Err(IcaError::UnknownTypeUrl(other.to_owned())),
    }
    Ok(Json::Obj(fields))
}

fn run_inference_json(m: &MsgRunInference) -> Result<Vec<(&'static str, Json)>, IcaError> {
    Ok(vec![
        ("signer", str_json(&m.signer)),
        ("model", str_json(&m.model)),
        ("input", opt_json(&m.input, |i| Ok(input_json(i)))?),
        ("encoding", opt_json(&m.encoding, |e| Ok(input_encoding_json(e)))?),
        ("params", opt_json(&m.params, |p| Ok(params_json(p)))?),
        ("sealed", opt_json(&m.sealed, |s| Ok(sealed_json(s)))?),
        ("receiver", str_json(&m.receiver)),
        ("memo", str_json(&m.memo)),
        ("fee", coins_json(&m.fee, "MsgRunInference.fee")?),
    ])
}

fn input_json(i: &Input) -> Json {
    Json::Obj(match &i.source {
        None => vec![],
        // A set oneof bytes field is non-nil in Go even when empty: `""`.
        Some(input::Source::Inline(b)) => vec![("inline", Json::Str(STANDARD.encode(b)))],
        Some(input::Source::Blob(b)) => vec![(
            "blob",
            Json::Obj(vec![
                ("sha256", bytes_json(&b.sha256)),
                ("size", u64_json(b.size)),
            ]),
        )],
    })
}

fn input_encoding_json(e: &InputEncoding) -> Json {
    Json::Obj(match &e.kind {
        None => vec![],
        Some(input_encoding::Kind::Text(_)) => vec![("text", Json::Obj(vec![]))],
        Some(input_encoding::Kind::Json(_)) => vec![("json", Json::Obj(vec![]))],
        Some(input_encoding::Kind::Tensor(t)) => vec![(
            "tensor",
            Json::Obj(vec![
                ("dtype", str_json(&t.dtype)),
                (
                    "shape",
                    Json::Arr(t.shape.iter().map(|&d| Json::U32(d)).collect()),
                ),
            ]),
        )],
    })
}

fn params_json(p: &Params) -> Json {
    let extra = p
        .extra
        .iter()
        .map(|e| Json::Obj(vec![("key", str_json(&e.key)), ("value", str_json(&e.value))]))
        .collect();
    Json::Obj(vec![("seed", u64_json(p.seed)), ("extra", Json::Arr(extra))])
}

fn sealed_json(s: &SealedEnvelope) -> Json {
    let recipients = s
        .recipients
        .iter()
        .map(|r| {
            Json::Obj(vec![
                ("executor", bytes_json(&r.executor)),
                ("ephemeral", bytes_json(&r.ephemeral)),
                ("wrapped_key", bytes_json(&r.wrapped_key)),
            ])
        })
        .collect();
    Json::Obj(vec![
        ("scheme", str_json(&s.scheme)),
        ("nonce", bytes_json(&s.nonce)),
        ("recipients", Json::Arr(recipients)),
    ])
}

fn coins_json(coins: &[Coin], field: &str) -> Result<Json, IcaError> {
    let items = coins
        .iter()
        .map(|c| {
            // Go's math.Int writes its normalized decimal; other text could
            // not have come from Go and would not survive a round trip.
            if normalize_int(&c.amount).as_deref() != Some(c.amount.as_str()) {
                return Err(invalid(
                    &format!("{field}.amount"),
                    format!("{:?} is not a canonical integer of at most 256 bits", c.amount),
                ));
            }
            Ok(Json::Obj(vec![
                ("denom", str_json(&c.denom)),
                ("amount", str_json(&c.amount)),
            ]))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json::Arr(items))
}

/// 2^256 - 1, the largest magnitude Cosmos SDK `math.Int` holds.
const MAX_INT_256: &str = "115792089237316195423570985008687907853269984665640564039457584007913129639935";

/// `[+-]?[0-9]+` within 256 bits, normalized as Go's `big.Int` prints it.
fn normalize_int(s: &str) -> Option<String> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > MAX_INT_256.len() || (digits.len() == MAX_INT_256.len() && digits > MAX_INT_256) {
        return None;
    }
    Some(match (digits.is_empty(), neg) {
        (true, _) => "0".to_owned(),
        (false, true) => format!("-{digits}"),
        (false, false) => digits.to_owned(),
    })
}

// ---------------------------------------------------------------------------
// proto3 JSON reader (what gogoproto jsonpb's Unmarshaler accepts)
// ---------------------------------------------------------------------------

fn invalid(field: &str, reason: impl Into<String>) -> IcaError {
    IcaError::InvalidField {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// One JSON object read as a protobuf message: known fields by their proto
/// (snake_case) or JSON (lowerCamelCase) names, `null` the same as absent.
struct Obj<'a> {
    message: &'static str,
    map: &'a Map<String, Value>,
    fields: &'static [(&'static str, &'static str)],
}

impl<'a> Obj<'a> {
    /// `None` for `null`; refuses non-objects and unknown or doubled fields.
    fn new(
        message: &'static str,
        value: &'a Value,
        fields: &'static [(&'static str, &'static str)],
        any: bool,
    ) -> Result<Option<Self>, IcaError> {
        let map = match value {
            Value::Null => return Ok(None),
            Value::Object(map) => map,
            _ => return Err(invalid(message, "expected a JSON object")),
        };
        for key in map.keys() {
            if any && key == "@type" {
                continue;
            }
            match fields.iter().find(|(orig, camel)| key == orig || key == camel) {
                None => {
                    return Err(IcaError::UnknownField {
                        message,
                        field: key.clone(),
                    })
                }
                Some((orig, camel))
                    if orig != camel && map.contains_key(*orig) && map.contains_key(*camel) =>
                {
                    return Err(invalid(&format!("{message}.{orig}"), "given twice"));
                }
                Some(_) => {}
            }
        }
        Ok(Some(Obj { message, map, fields }))
    }

    fn path(&self, name: &str) -> String {
        format!("{}.{name}", self.message)
    }

    /// The value of field `name` (its proto name), `None` if absent or null.
    fn get(&self, name: &str) -> Option<&'a Value> {
        let camel = self
            .fields
            .iter()
            .find(|(orig, _)| *orig == name)
            .map_or(name, |(_, c)| *c);
        match self.map.get(name).or_else(|| self.map.get(camel)) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    fn string(&self, name: &str) -> Result<String, IcaError> {
        match self.get(name) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid(&self.path(name), "expected a string")),
        }
    }

    fn u64(&self, name: &str) -> Result<u64, IcaError> {
        self.get(name)
            .map_or(Ok(0), |v| json_uint(v, u64::MAX, &self.path(name)))
    }

    fn bytes(&self, name: &str) -> Result<Vec<u8>, IcaError> {
        self.get(name)
            .map_or(Ok(Vec::new()), |v| json_bytes(v, &self.path(name)))
    }

    fn array(&self, name: &str) -> Result<&'a [Value], IcaError> {
        match self.get(name) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(invalid(&self.path(name), "expected an array")),
        }
    }

    /// The single set member of a oneof, by proto name.
    fn oneof(&self, names: &[&'static str]) -> Result<Option<(&'static str, &'a Value)>, IcaError> {
        let mut found = None;
        for name in names {
            if let Some(v) = self.get(name) {
                if let Some((first, _)) = found {
                    return Err(invalid(
                        &self.path(name),
                        format!("oneof member given together with `{first}`"),
                    ));
                }
                found = Some((*name, v));
            }
        }
        Ok(found)
    }
}

/// An unsigned integer as jsonpb reads it: a JSON number without fraction or
/// exponent, or a string holding one.
fn json_uint(v: &Value, max: u64, field: &str) -> Result<u64, IcaError> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(invalid(field, "expected an unsigned integer")),
    };
    let canonical = text == "0" || (text.starts_with(|c: char| ('1'..='9').contains(&c)));
    if !canonical || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            field,
            format!("{text:?} is not an unsigned decimal integer"),
        ));
    }
    text.parse::<u64>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| invalid(field, format!("{text} is out of range")))
}

fn json_bytes(v: &Value, field: &str) -> Result<Vec<u8>, IcaError> {
    match v {
        Value::String(s) => STANDARD
            .decode(s)
            .map_err(|e| invalid(field, format!("invalid base64: {e}"))),
        _ => Err(invalid(field, "expected a base64 string")),
    }
}

fn message_obj<'a>(
    message: &'static str,
    v: &'a Value,
    fields: &'static [(&'static str, &'static str)],
) -> Result<Obj<'a>, IcaError> {
    // `null` members were already dropped by `Obj::get`.
    Obj::new(message, v, fields, false)?.ok_or_else(|| invalid(message, "expected a JSON object"))
}

fn any_from_json(v: &Value) -> Result<Any, IcaError> {
    let type_url = match v {
        Value::Object(map) => match map.get("@type") {
            Some(Value::String(url)) => url.clone(),
            Some(_) => return Err(invalid("Any.@type", "expected a string")),
            None => return Err(IcaError::UnknownTypeUrl(String::new())),
        },
        _ => return Err(invalid("CosmosTx.messages", "expected JSON objects")),
    };
    let value = match type_url.as_str() {
        MSG_RUN_INFERENCE_TYPE_URL => run_inference_from_json(v)?.encode_to_vec(),
        MSG_SEND_TYPE_URL => {
            const FIELDS: &[(&str, &str)] = &[
                ("from_address", "fromAddress"),
                ("to_address", "toAddress"),
                ("amount", "amount"),
            ];
            let o = Obj::new("MsgSend", v, FIELDS, true)?.ok_or_else(|| invalid("MsgSend", "null"))?;
            MsgSend {
                from_address: o.string("from_address")?,
                to_address: o.string("to_address")?,
                amount: coins_from_json(o.array("amount")?, "MsgSend.amount")?,
            }
            .encode_to_vec()
        }
        other => return Err(IcaError::UnknownTypeUrl(other.to_owned())),
    };
    Ok(Any { type_url, value })
}

fn run_inference_from_json(v: &Value) -> Result<MsgRunInference, IcaError> {
    const FIELDS: &[(&str, &str)] = &[
        ("signer", "signer"),
        ("model", "model"),
        ("input", "input"),
        ("encoding", "encoding"),
        ("params", "params"),
        ("sealed", "sealed"),
        ("receiver", "receiver"),
        ("memo", "memo"),
        ("fee", "fee"),
    ];
    let o =
        Obj::new("MsgRunInference", v, FIELDS, true)?.ok_or_else(|| invalid("MsgRunInference", "null"))?;
    Ok(MsgRunInference {
        signer: o.string("signer")?,
        model: o.string("model")?,
        input: o.get("input").map(input_from_json).transpose()?,
        encoding: o.get("encoding").map(input_encoding_from_json).transpose()?,
        params: o.get("params").map(params_from_json).transpose()?,
        sealed: o.get("sealed").map(sealed_from_json).transpose()?,
        receiver: o.string("receiver")?,
        memo: o.string("memo")?,
        fee: coins_from_json(o.array("fee")?, "MsgRunInference.fee")?,
    })
}

fn input_from_json(v: &Value) -> Result<Input, IcaError> {
    const FIELDS: &[(&str, &str)] = &[("inline", "inline"), ("blob", "blob")];
    let o = message_obj("Input", v, FIELDS)?;
    let source = match o.oneof(&["inline", "blob"])? {
        None => None,
        Some(("inline", v)) => Some(input::Source::Inline(json_bytes(v, "Input.inline")?)),
        Some((_, v)) => {
            const BLOB: &[(&str, &str)] = &[("sha256", "sha256"), ("size", "size")];
            let b = message_obj("BlobRef", v, BLOB)?;
            Some(input::Source::Blob(BlobRef {
                sha256: b.bytes("sha256")?,
                size: b.u64("size")?,
            }))
        }
    };
    Ok(Input { source })
}

fn input_encoding_from_json(v: &Value) -> Result<InputEncoding, IcaError> {
    const FIELDS: &[(&str, &str)] = &[("text", "text"), ("json", "json"), ("tensor", "tensor")];
    let o = message_obj("InputEncoding", v, FIELDS)?;
    let kind = match o.oneof(&["text", "json", "tensor"])? {
        None => None,
        Some(("text", v)) => {
            message_obj("TextEncoding", v, &[])?;
            Some(input_encoding::Kind::Text(TextEncoding {}))
        }
        Some(("json", v)) => {
            message_obj("JsonEncoding", v, &[])?;
            Some(input_encoding::Kind::Json(JsonEncoding {}))
        }
        Some((_, v)) => {
            const TENSOR: &[(&str, &str)] = &[("dtype", "dtype"), ("shape", "shape")];
            let t = message_obj("TensorSpec", v, TENSOR)?;
            let shape = t
                .array("shape")?
                .iter()
                .map(|d| json_uint(d, u32::MAX.into(), "TensorSpec.shape").map(|d| d as u32))
                .collect::<Result<_, _>>()?;
            Some(input_encoding::Kind::Tensor(TensorSpec {
                dtype: t.string("dtype")?,
                shape,
            }))
        }
    };
    Ok(InputEncoding { kind })
}

fn params_from_json(v: &Value) -> Result<Params, IcaError> {
    const FIELDS: &[(&str, &str)] = &[("seed", "seed"), ("extra", "extra")];
    const PARAM: &[(&str, &str)] = &[("key", "key"), ("value", "value")];
    let o = message_obj("Params", v, FIELDS)?;
    let extra = o
        .array("extra")?
        .iter()
        .map(|p| {
            Ok(match Obj::new("Param", p, PARAM, false)? {
                None => Param::default(),
                Some(p) => Param {
                    key: p.string("key")?,
                    value: p.string("value")?,
                },
            })
        })
        .collect::<Result<_, IcaError>>()?;
    Ok(Params {
        seed: o.u64("seed")?,
        extra,
    })
}

fn sealed_from_json(v: &Value) -> Result<SealedEnvelope, IcaError> {
    const FIELDS: &[(&str, &str)] = &[
        ("scheme", "scheme"),
        ("nonce", "nonce"),
        ("recipients", "recipients"),
    ];
    const KEY: &[(&str, &str)] = &[
        ("executor", "executor"),
        ("ephemeral", "ephemeral"),
        ("wrapped_key", "wrappedKey"),
    ];
    let o = message_obj("SealedEnvelope", v, FIELDS)?;
    let recipients = o
        .array("recipients")?
        .iter()
        .map(|r| {
            Ok(match Obj::new("WrappedKey", r, KEY, false)? {
                None => WrappedKey::default(),
                Some(r) => WrappedKey {
                    executor: r.bytes("executor")?,
                    ephemeral: r.bytes("ephemeral")?,
                    wrapped_key: r.bytes("wrapped_key")?,
                },
            })
        })
        .collect::<Result<_, IcaError>>()?;
    Ok(SealedEnvelope {
        scheme: o.string("scheme")?,
        nonce: o.bytes("nonce")?,
        recipients,
    })
}

fn coins_from_json(items: &[Value], field: &str) -> Result<Vec<Coin>, IcaError> {
    const COIN: &[(&str, &str)] = &[("denom", "denom"), ("amount", "amount")];
    items
        .iter()
        .map(|c| {
            let Some(c) = Obj::new("Coin", c, COIN, false)? else {
                return Ok(Coin {
                    denom: String::new(),
                    amount: "0".to_owned(),
                });
            };
            // math.Int reads only a JSON string; null leaves it zero.
            let amount = match c.get("amount") {
                None => "0".to_owned(),
                Some(Value::String(s)) => normalize_int(s).ok_or_else(|| {
                    invalid(
                        &format!("{field}.amount"),
                        format!("{s:?} is not an integer of at most 256 bits"),
                    )
                })?,
                Some(_) => return Err(invalid(&format!("{field}.amount"), "expected a string")),
            };
            Ok(Coin {
                denom: c.string("denom")?,
                amount,
            })
        })
        .collect()
}
