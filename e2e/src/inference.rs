//! Chimera's inference application as a client sees it on a real chain:
//! `MsgRunInference` / `MsgRequestInference` built by hand (protobuf of
//! `packets/proto/chimera/inference/v1/tx.proto`), the events a job and a
//! request end with (`inference_result` in `finalize_block_events`,
//! `inference_request_done` in the relayer's tx), the output fetched from a
//! node's BlobService over gRPC, and the canonical output encodings of
//! docs/protocol.md §4.2 (tensor, PNG) decoded.
//!
//! Why by hand: the e2e crate deliberately does not link `chimera-packets`
//! or `chimera-host` (it checks the chain from the outside, as a wallet or
//! another language's client would), so a drift between these bytes and
//! the host's decoders fails the tests instead of hiding in shared code.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use cosmrs::proto::prost::bytes::{Buf, BufMut};
use cosmrs::tendermint::crypto::default::Sha256;
use cosmrs::tendermint::crypto::Sha256 as _;
use cosmrs::Any;
use serde_json::Value;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::Status;

use crate::chimera::{self, rpc_result_at};
use crate::rpc;
use crate::toml_config::{self, TomlEdit};

/// The application's port on both ends.
pub const PORT: &str = "inference";

/// The only channel version (`docs/protocol.md` §3.1).
pub const VERSION: &str = "chimera-inference-1";

/// Type URL of `MsgRunInference`.
pub const RUN_INFERENCE_TYPE_URL: &str = "/chimera.inference.v1.MsgRunInference";

/// Type URL of `MsgRequestInference`.
pub const REQUEST_INFERENCE_TYPE_URL: &str = "/chimera.inference.v1.MsgRequestInference";

/// The node config file in a home (`host/src/node/config.rs`).
pub const NODE_CONFIG: &str = "config/chimerad.toml";

/// docs/models.md's golden `digits-ddpm` image for prompt `"7"`, seed 42,
/// 100 steps (8×8 u8, rows top to bottom), which digits-cnn classifies as
/// 7.
///
/// Why: a digit-like input for `digits-cnn` whose right answer is known,
/// and the reference the DDPM output is compared with.
pub const GOLDEN_SEVEN: [[u8; 8]; 8] = [
    [0, 0, 60, 213, 255, 242, 48, 0],
    [0, 36, 240, 211, 220, 255, 76, 0],
    [0, 134, 241, 11, 154, 221, 3, 0],
    [0, 143, 195, 85, 233, 124, 13, 0],
    [0, 0, 21, 223, 255, 247, 96, 0],
    [0, 0, 59, 235, 213, 131, 53, 1],
    [1, 0, 5, 246, 59, 0, 2, 1],
    [0, 0, 79, 176, 8, 0, 0, 0],
];

// ---------------------------------------------------------------- protobuf

/// A protobuf message being written, fields in the order given.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn tag(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    /// A length-delimited field, written even when empty (a present
    /// sub-message, a oneof member).
    fn len_field(&mut self, field: u32, bytes: &[u8]) -> &mut Self {
        self.tag(field, 2);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
        self
    }

    /// A proto3 string or bytes field (omitted when empty).
    fn bytes(&mut self, field: u32, bytes: &[u8]) -> &mut Self {
        if !bytes.is_empty() {
            self.len_field(field, bytes);
        }
        self
    }

    fn string(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }

    /// A proto3 uint64 field (omitted when 0).
    fn uint64(&mut self, field: u32, v: u64) -> &mut Self {
        if v != 0 {
            self.tag(field, 0);
            self.varint(v);
        }
        self
    }

    fn message(&mut self, field: u32, m: Pb) -> &mut Self {
        self.len_field(field, &m.0)
    }

    /// A packed `repeated uint32` (omitted when empty).
    fn packed_u32(&mut self, field: u32, vs: &[u32]) -> &mut Self {
        if !vs.is_empty() {
            let mut inner = Pb::default();
            for v in vs {
                inner.varint(u64::from(*v));
            }
            self.len_field(field, &inner.0);
        }
        self
    }

    fn done(&mut self) -> Pb {
        Pb(std::mem::take(&mut self.0))
    }
}

/// How the executor reads a request's input (`InputEncoding`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 text.
    Text,
    /// A UTF-8 JSON document.
    Json,
    /// Little-endian elements of `dtype` with `shape`.
    Tensor {
        /// e.g. `f32`.
        dtype: String,
        /// Outermost first.
        shape: Vec<u32>,
    },
}

impl Encoding {
    fn to_pb(&self) -> Pb {
        let mut p = Pb::default();
        match self {
            Encoding::Text => p.len_field(1, &[]),
            Encoding::Json => p.len_field(2, &[]),
            Encoding::Tensor { dtype, shape } => {
                let spec = Pb::default().string(1, dtype).packed_u32(2, shape).done();
                p.message(3, spec)
            }
        };
        p
    }
}

/// What to run: the fields `MsgRunInference` and `MsgRequestInference`
/// share (inline, unsealed input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Registry id, e.g. `digits-cnn`.
    pub model: String,
    /// The inline input bytes.
    pub input: Vec<u8>,
    /// How to read them.
    pub encoding: Encoding,
    /// The executor RNG's seed.
    pub seed: u64,
    /// `params.extra`, sorted by key.
    pub extra: Vec<(String, String)>,
    /// Free text.
    pub memo: String,
    /// The most the requester pays, as (denom, amount).
    pub fee: Vec<(String, u128)>,
}

impl Job {
    /// A `digits-cnn` job: `image` (8×8, 0..=255) as `f32[1,8,8]` in
    /// [0, 1], little-endian (docs/models.md).
    pub fn digits_cnn(image: &[[u8; 8]; 8]) -> Self {
        let input = image
            .iter()
            .flatten()
            .flat_map(|v| (f32::from(*v) / 255.0).to_le_bytes())
            .collect();
        Self {
            model: "digits-cnn".into(),
            input,
            encoding: Encoding::Tensor {
                dtype: "f32".into(),
                shape: vec![1, 8, 8],
            },
            seed: 0,
            extra: vec![],
            memo: String::new(),
            fee: vec![],
        }
    }

    /// A text job for `model` (tiny-lm, minilm-l6) with the manifest's
    /// default parameters.
    pub fn text(model: &str, text: &str, seed: u64) -> Self {
        Self {
            model: model.into(),
            input: text.as_bytes().to_vec(),
            encoding: Encoding::Text,
            seed,
            extra: vec![],
            memo: String::new(),
            fee: vec![],
        }
    }

    /// A `digits-ddpm` job: the one-byte prompt `digit` (`'0'..='9'`) as
    /// text, sampled with `seed` (docs/models.md).
    pub fn digits_ddpm(digit: char, seed: u64) -> Self {
        Self {
            model: "digits-ddpm".into(),
            input: digit.to_string().into_bytes(),
            encoding: Encoding::Text,
            seed,
            extra: vec![],
            memo: String::new(),
            fee: vec![],
        }
    }

    fn input_pb(&self) -> Pb {
        Pb::default().len_field(1, &self.input).done()
    }

    fn params_pb(&self) -> Pb {
        let mut p = Pb::default();
        p.uint64(1, self.seed);
        for (k, v) in &self.extra {
            p.message(2, Pb::default().string(1, k).string(2, v).done());
        }
        p
    }

    fn fee_pbs(&self) -> Vec<Pb> {
        self.fee
            .iter()
            .map(|(denom, amount)| {
                Pb::default()
                    .string(1, denom)
                    .string(2, &amount.to_string())
                    .done()
            })
            .collect()
    }
}

/// `MsgRunInference{signer, job}` as an `Any`.
pub fn run_inference_msg(signer: &str, job: &Job) -> Any {
    let mut m = Pb::default();
    m.string(1, signer)
        .string(2, &job.model)
        .message(3, job.input_pb())
        .message(4, job.encoding.to_pb())
        .message(5, job.params_pb())
        .string(8, &job.memo);
    for c in job.fee_pbs() {
        m.message(9, c);
    }
    Any {
        type_url: RUN_INFERENCE_TYPE_URL.into(),
        value: m.0,
    }
}

/// `MsgRequestInference` of `job` from `sender` over `inference/<channel>`,
/// timing out at `timeout_timestamp_ns` (ns since the Unix epoch), as an
/// `Any`.
pub fn request_inference_msg(sender: &str, channel: &str, job: &Job, timeout_timestamp_ns: u64) -> Any {
    let mut m = Pb::default();
    m.string(1, sender)
        .string(2, PORT)
        .string(3, channel)
        .string(4, &job.model)
        .message(5, job.input_pb())
        .message(6, job.encoding.to_pb())
        .message(7, job.params_pb())
        .string(10, &job.memo)
        .uint64(13, timeout_timestamp_ns);
    for c in job.fee_pbs() {
        m.message(14, c);
    }
    Any {
        type_url: REQUEST_INFERENCE_TYPE_URL.into(),
        value: m.0,
    }
}

/// One field of a protobuf message read by [`pb_fields`]: (field number,
/// wire type, varint or fixed value, length-delimited bytes).
type PbField = (u32, u8, u64, Vec<u8>);

/// Reads the fields of a protobuf message: varints (and fixed-width
/// values) as their value in `u64`, length-delimited fields as bytes.
///
/// Why: the BlobService's answers are read without generated code.
fn pb_fields(mut b: &[u8]) -> Result<Vec<PbField>, String> {
    fn varint(b: &mut &[u8]) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&x, rest) = b.split_first().ok_or("truncated varint")?;
            *b = rest;
            v |= u64::from(x & 0x7f) << shift;
            if x < 0x80 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        let (field, wire) = ((key >> 3) as u32, (key & 7) as u8);
        match wire {
            0 => out.push((field, wire, varint(&mut b)?, vec![])),
            2 => {
                let n = varint(&mut b)? as usize;
                if b.len() < n {
                    return Err(format!("field {field}: {n} bytes announced, {} left", b.len()));
                }
                out.push((field, wire, 0, b[..n].to_vec()));
                b = &b[n..];
            }
            1 => {
                let (x, rest) = b.split_at_checked(8).ok_or("truncated fixed64")?;
                out.push((field, wire, u64::from_le_bytes(x.try_into().unwrap()), vec![]));
                b = rest;
            }
            5 => {
                let (x, rest) = b.split_at_checked(4).ok_or("truncated fixed32")?;
                out.push((
                    field,
                    wire,
                    u64::from(u32::from_le_bytes(x.try_into().unwrap())),
                    vec![],
                ));
                b = rest;
            }
            w => return Err(format!("field {field}: unsupported wire type {w}")),
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ events

/// One ABCI event as CometBFT 0.38's RPC shows it (attributes in the
/// clear; a repeated key keeps its last value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event type, e.g. `inference_result`.
    pub kind: String,
    /// Its attributes.
    pub attributes: BTreeMap<String, String>,
}

impl Event {
    /// The attribute `key`, or `""`.
    pub fn get(&self, key: &str) -> &str {
        self.attributes.get(key).map_or("", String::as_str)
    }
}

/// The events of an RPC `events` array.
pub fn events_of(v: &Value) -> Vec<Event> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|e| Event {
            kind: e["type"].as_str().unwrap_or_default().to_string(),
            attributes: e["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    (
                        a["key"].as_str().unwrap_or_default().to_string(),
                        a["value"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        })
        .collect()
}

/// What `broadcast_tx_commit` said about a tx, events included.
#[derive(Debug, Clone, Default)]
pub struct Committed {
    /// CheckTx code and log.
    pub check_code: u32,
    /// CheckTx log.
    pub check_log: String,
    /// DeliverTx (FinalizeBlock) code.
    pub tx_code: u32,
    /// DeliverTx log.
    pub tx_log: String,
    /// Gas the tx asked for and used.
    pub gas_wanted: u64,
    /// Gas used.
    pub gas_used: u64,
    /// The block that included it.
    pub height: u64,
    /// Its events.
    pub events: Vec<Event>,
}

impl Committed {
    /// Accepted and executed with code 0.
    pub fn is_ok(&self) -> bool {
        self.check_code == 0 && self.tx_code == 0 && self.height > 0
    }

    /// The first event of `kind`.
    pub fn event(&self, kind: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.kind == kind)
    }
}

/// Broadcasts `tx` with `broadcast_tx_commit` to the CometBFT RPC at `addr`.
pub fn broadcast_commit(addr: SocketAddr, tx: &[u8]) -> Result<Committed, String> {
    let path = format!("/broadcast_tx_commit?tx=0x{}", hex::encode(tx));
    let r = rpc_result_at(addr, &path, Duration::from_secs(30))?;
    let code = |p: &str| r.pointer(p).and_then(Value::as_u64).unwrap_or(0) as u32;
    let text = |p: &str| {
        r.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let num = |p: &str| text(p).parse().unwrap_or(0);
    Ok(Committed {
        check_code: code("/check_tx/code"),
        check_log: text("/check_tx/log"),
        tx_code: code("/tx_result/code"),
        tx_log: text("/tx_result/log"),
        gas_wanted: num("/tx_result/gas_wanted"),
        gas_used: num("/tx_result/gas_used"),
        height: num("/height"),
        events: events_of(&r["tx_result"]["events"]),
    })
}

/// Where [`wait_for_event`] found its event.
#[derive(Debug, Clone)]
pub struct Found {
    /// The block height.
    pub height: u64,
    /// Whether it was a tx's event (else a `finalize_block_events` one).
    pub in_tx: bool,
    /// The event.
    pub event: Event,
    /// When the harness saw it.
    pub seen: Instant,
}

/// Scans `/block_results` of every block from `from_height` on (as they
/// are made, up to `timeout`) for the first event, of a tx or of the block,
/// that `matches`.
///
/// Why: the job's outcome is a block event (`inference_result`), a
/// request's is an event of the relayer's ack tx (`inference_request_done`);
/// scanning every block also tells how many blocks the flow took.
pub fn wait_for_event(
    addr: SocketAddr,
    from_height: u64,
    timeout: Duration,
    matches: impl Fn(&Event) -> bool,
) -> Result<Found, String> {
    let deadline = Instant::now() + timeout;
    let mut next = from_height.max(1);
    loop {
        let latest = rpc::status(addr).map_err(|e| e.to_string())?.latest_height;
        while next <= latest {
            // CometBFT reports a height in `/status` (block store) a moment
            // before it has saved that block's results: retry then.
            let r = match rpc_result_at(
                addr,
                &format!("/block_results?height={next}"),
                Duration::from_secs(10),
            ) {
                Ok(r) => r,
                Err(e) if e.contains("could not find results") && Instant::now() < deadline => break,
                Err(e) => return Err(format!("/block_results?height={next}: {e}")),
            };
            for tx in r["txs_results"].as_array().into_iter().flatten() {
                if let Some(event) = events_of(&tx["events"]).into_iter().find(&matches) {
                    return Ok(Found {
                        height: next,
                        in_tx: true,
                        event,
                        seen: Instant::now(),
                    });
                }
            }
            if let Some(event) = events_of(&r["finalize_block_events"]).into_iter().find(&matches) {
                return Ok(Found {
                    height: next,
                    in_tx: false,
                    event,
                    seen: Instant::now(),
                });
            }
            next += 1;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no matching event in blocks {from_height}..={latest} within {timeout:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every event of `kind` in blocks `from..=to` (txs' and the blocks'),
/// with its height.
///
/// Why: a failing test prints what the chain did emit.
pub fn events_between(addr: SocketAddr, from: u64, to: u64, kind: &str) -> Vec<(u64, Event)> {
    let mut out = Vec::new();
    for h in from.max(1)..=to {
        let Ok(r) = rpc_result_at(
            addr,
            &format!("/block_results?height={h}"),
            Duration::from_secs(10),
        ) else {
            continue;
        };
        let mut all: Vec<Event> = r["txs_results"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|tx| events_of(&tx["events"]))
            .collect();
        all.extend(events_of(&r["finalize_block_events"]));
        out.extend(all.into_iter().filter(|e| e.kind == kind).map(|e| (h, e)));
    }
    out
}

// ------------------------------------------------------------------- blobs

/// A chimerad module account's address (the SDK's `NewModuleAddress`:
/// SHA-256 of the name, first 20 bytes), e.g. `fees/community`.
pub fn module_address(name: &str) -> String {
    cosmrs::AccountId::new(chimera::CHIMERA_PREFIX, &sha256(name.as_bytes())[..20])
        .expect("20 bytes")
        .to_string()
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = Sha256::digest(bytes);
    let mut out = [0; 32];
    out.copy_from_slice(&d);
    out
}

/// Raw bytes in and out: the BlobService's messages are encoded and read
/// with [`Pb`] and [`pb_fields`].
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

#[derive(Debug, Clone, Copy, Default)]
struct RawEncoder;

#[derive(Debug, Clone, Copy, Default)]
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut v = vec![0; src.remaining()];
        src.copy_to_slice(&mut v);
        Ok(Some(v))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// A blob as `BlobService.Get` returned it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob {
    /// The bytes, concatenated from every chunk.
    pub data: Vec<u8>,
    /// `BlobInfo.sha256` of the first message.
    pub info_sha256: Vec<u8>,
    /// `BlobInfo.size`.
    pub info_size: u64,
    /// `BlobInfo.encoding` (e.g. `tensor`, `png`).
    pub info_encoding: String,
    /// `BlobInfo.pins`.
    pub info_pins: u64,
}

/// `chimera.blob.v1.BlobService/Get` of the whole blob named `sha256`
/// from the node whose gRPC is `grpc_url` (`http://127.0.0.1:<port>`).
/// The bytes are returned as served; the caller checks their hash.
///
/// Why: how a requester fetches an output after the ack committed to its
/// hash (docs/protocol.md §1).
pub async fn blob_get(grpc_url: &str, sha256: &[u8]) -> Result<Blob, String> {
    let channel = tonic::transport::Endpoint::from_shared(grpc_url.to_string())
        .map_err(|e| format!("{grpc_url}: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| format!("gRPC {grpc_url}: cannot connect: {e}"))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| format!("gRPC {grpc_url}: not ready: {e}"))?;
    let request = Pb::default().bytes(1, sha256).done().0;
    let mut stream = grpc
        .server_streaming(
            tonic::Request::new(request),
            PathAndQuery::from_static("/chimera.blob.v1.BlobService/Get"),
            RawCodec,
        )
        .await
        .map_err(|s| {
            format!(
                "BlobService/Get {}: {:?}: {}",
                hex::encode(sha256),
                s.code(),
                s.message()
            )
        })?
        .into_inner();
    let mut blob = Blob::default();
    while let Some(msg) = stream
        .message()
        .await
        .map_err(|s| format!("BlobService/Get stream: {:?}: {}", s.code(), s.message()))?
    {
        for (field, _, _, bytes) in pb_fields(&msg)? {
            match field {
                1 => {
                    for (f, _, v, b) in pb_fields(&bytes)? {
                        match f {
                            1 => blob.info_sha256 = b,
                            2 => blob.info_size = v,
                            3 => blob.info_encoding = String::from_utf8_lossy(&b).into_owned(),
                            5 => blob.info_pins = v,
                            _ => {}
                        }
                    }
                }
                2 => blob.data.extend_from_slice(&bytes),
                _ => {}
            }
        }
    }
    Ok(blob)
}

/// One unary gRPC call of `path` (e.g. `/chimera.inference.v1.Query/ExecutorKeys`)
/// with the protobuf bytes `request` to the node whose gRPC is `grpc_url`;
/// returns the response's protobuf bytes.
///
/// Why: the host's queries without a generated client (the e2e crate has
/// the message types of `chimera_packets::proto` but no tonic stubs).
pub async fn grpc_unary(grpc_url: &str, path: &'static str, request: Vec<u8>) -> Result<Vec<u8>, String> {
    let channel = tonic::transport::Endpoint::from_shared(grpc_url.to_string())
        .map_err(|e| format!("{grpc_url}: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| format!("gRPC {grpc_url}: cannot connect: {e}"))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| format!("gRPC {grpc_url}: not ready: {e}"))?;
    grpc.unary(
        tonic::Request::new(request),
        PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .map(tonic::Response::into_inner)
    .map_err(|s| format!("{path}: {:?}: {}", s.code(), s.message()))
}

/// Every validator's published X25519 executor key from
/// `chimera.inference.v1.Query/ExecutorKeys` on the node whose gRPC is
/// `grpc_url`, as (upper-case hex consensus address, public key), in the
/// query's order.
///
/// Why: a sealed request is sealed to the keys the chain registered, read
/// the way a wallet would read them.
pub fn executor_keys_blocking(grpc_url: &str) -> Result<Vec<(String, [u8; 32])>, String> {
    use prost::Message;
    let bytes = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?
        .block_on(grpc_unary(
            grpc_url,
            "/chimera.inference.v1.Query/ExecutorKeys",
            Vec::new(),
        ))?;
    let r = chimera_packets::proto::QueryExecutorKeysResponse::decode(bytes.as_slice())
        .map_err(|e| format!("QueryExecutorKeysResponse: {e}"))?;
    r.keys
        .into_iter()
        .map(|k| {
            let key: [u8; 32] = k
                .x25519_public_key
                .as_slice()
                .try_into()
                .map_err(|_| format!("{}: key of {} bytes", k.validator, k.x25519_public_key.len()))?;
            Ok((k.validator, key))
        })
        .collect()
}

/// Polls [`blob_get`] of `sha256` on `grpc_url` until it is served (the
/// node may still be fetching it from a peer) or `timeout` passes.
///
/// Why: a node that caught up fetches agreed outputs in the background.
pub fn wait_blob(grpc_url: &str, sha256: &[u8], timeout: Duration) -> Result<Blob, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match blob_get_blocking(grpc_url, sha256) {
            Ok(b) => return Ok(b),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!("not served within {timeout:?}: {e}"))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// [`blob_get`] on a fresh current-thread runtime (for plain `#[test]`s).
pub fn blob_get_blocking(grpc_url: &str, sha256: &[u8]) -> Result<Blob, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?
        .block_on(blob_get(grpc_url, sha256))
}

// --------------------------------------------------------- output encodings

/// A canonical tensor (docs/protocol.md §4.2): `tag ‖ rank ‖ dims (u64 LE)
/// ‖ elements (LE)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// dtype tag (f32 = 9).
    pub tag: u8,
    /// Dimensions, outermost first.
    pub dims: Vec<u64>,
    /// The element bytes.
    pub data: Vec<u8>,
}

impl Tensor {
    /// The elements as f32 (tag 9 only).
    pub fn f32s(&self) -> Result<Vec<f32>, String> {
        if self.tag != 9 {
            return Err(format!("dtype tag {} is not f32 (9)", self.tag));
        }
        Ok(self
            .data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }
}

/// Decodes a canonical tensor, checking that its length is exactly what
/// the header says.
pub fn decode_tensor(b: &[u8]) -> Result<Tensor, String> {
    let (&tag, rest) = b.split_first().ok_or("empty")?;
    let (&rank, mut rest) = rest.split_first().ok_or("no rank")?;
    let size = match tag {
        1..=3 => 1,
        4 | 7 | 8 => 2,
        5 | 9 => 4,
        6 | 10 => 8,
        t => return Err(format!("unknown dtype tag {t}")),
    };
    if rank > 8 {
        return Err(format!("rank {rank} > 8"));
    }
    let mut dims = Vec::new();
    for _ in 0..rank {
        let (d, r) = rest.split_at_checked(8).ok_or("truncated dims")?;
        dims.push(u64::from_le_bytes(d.try_into().unwrap()));
        rest = r;
    }
    let n: u64 = dims.iter().product();
    if rest.len() as u64 != n * size {
        return Err(format!(
            "{} element bytes, expected {n} × {size} for dims {dims:?}",
            rest.len()
        ));
    }
    Ok(Tensor {
        tag,
        dims,
        data: rest.to_vec(),
    })
}

/// PNG's 8-byte signature.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// A canonical PNG (docs/protocol.md §4.2) decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bit depth (8).
    pub bit_depth: u8,
    /// Color type (0 gray, 2 RGB).
    pub color_type: u8,
    /// Chunk types in order.
    pub chunks: Vec<String>,
    /// The pixel rows (filter bytes removed).
    pub rows: Vec<Vec<u8>>,
}

/// Decodes a canonical PNG: signature, IHDR, one IDAT holding a zlib
/// stream of stored deflate blocks with scanlines of filter 0, IEND; each
/// chunk's CRC and the Adler-32 are checked.
pub fn decode_png(b: &[u8]) -> Result<Png, String> {
    if b.len() < 8 || b[..8] != PNG_SIGNATURE {
        return Err(format!(
            "no PNG signature: starts {}",
            hex::encode(&b[..b.len().min(8)])
        ));
    }
    let mut rest = &b[8..];
    let mut chunks = Vec::new();
    let mut ihdr = None;
    let mut idat = Vec::new();
    while !rest.is_empty() {
        let (len, r) = rest.split_at_checked(4).ok_or("truncated chunk length")?;
        let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
        let (kind, r) = r.split_at_checked(4).ok_or("truncated chunk type")?;
        let (body, r) = r.split_at_checked(len).ok_or("truncated chunk body")?;
        let (crc, r) = r.split_at_checked(4).ok_or("truncated chunk CRC")?;
        let want = crc32(&[kind, body].concat());
        if u32::from_be_bytes(crc.try_into().unwrap()) != want {
            return Err(format!("{} chunk CRC mismatch", String::from_utf8_lossy(kind)));
        }
        let name = String::from_utf8_lossy(kind).into_owned();
        match name.as_str() {
            "IHDR" => ihdr = Some(body.to_vec()),
            "IDAT" => idat.extend_from_slice(body),
            _ => {}
        }
        chunks.push(name);
        rest = r;
    }
    let ihdr = ihdr.ok_or("no IHDR")?;
    if ihdr.len() != 13 {
        return Err(format!("IHDR of {} bytes", ihdr.len()));
    }
    let width = u32::from_be_bytes(ihdr[0..4].try_into().unwrap());
    let height = u32::from_be_bytes(ihdr[4..8].try_into().unwrap());
    let (bit_depth, color_type, interlace) = (ihdr[8], ihdr[9], ihdr[12]);
    if bit_depth != 8 || !(color_type == 0 || color_type == 2) || interlace != 0 {
        return Err(format!(
            "IHDR: depth {bit_depth}, color type {color_type}, interlace {interlace}"
        ));
    }
    // zlib: 78 01, stored blocks, Adler-32.
    if idat.len() < 6 || idat[0] != 0x78 || idat[1] != 0x01 {
        return Err(format!(
            "IDAT does not start with zlib 78 01: {}",
            hex::encode(&idat[..idat.len().min(4)])
        ));
    }
    let mut z = &idat[2..];
    let mut raw = Vec::new();
    loop {
        let (&hdr, r) = z.split_first().ok_or("truncated deflate block")?;
        if hdr & 0b110 != 0 {
            return Err(format!("deflate block type {} is not stored (0)", (hdr >> 1) & 3));
        }
        let (lens, r) = r.split_at_checked(4).ok_or("truncated stored block header")?;
        let len = u16::from_le_bytes([lens[0], lens[1]]);
        let nlen = u16::from_le_bytes([lens[2], lens[3]]);
        if len != !nlen {
            return Err("stored block LEN/NLEN mismatch".into());
        }
        let (data, r) = r.split_at_checked(len as usize).ok_or("truncated stored block")?;
        raw.extend_from_slice(data);
        z = r;
        if hdr & 1 == 1 {
            break;
        }
    }
    let adler = z.get(..4).ok_or("no Adler-32")?;
    if u32::from_be_bytes(adler.try_into().unwrap()) != adler32(&raw) {
        return Err("Adler-32 mismatch".into());
    }
    let channels = if color_type == 0 { 1 } else { 3 };
    let stride = 1 + width as usize * channels;
    if raw.len() != stride * height as usize {
        return Err(format!(
            "{} scanline bytes for {width}×{height}×{channels}",
            raw.len()
        ));
    }
    let mut rows = Vec::new();
    for line in raw.chunks_exact(stride) {
        if line[0] != 0 {
            return Err(format!("scanline filter {} (canonical PNGs use 0)", line[0]));
        }
        rows.push(line[1..].to_vec());
    }
    Ok(Png {
        width,
        height,
        bit_depth,
        color_type,
        chunks,
        rows,
    })
}

fn crc32(b: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &x in b {
        c ^= u32::from(x);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut s) = (1u32, 0u32);
    for &x in b {
        a = (a + u32::from(x)) % 65_521;
        s = (s + a) % 65_521;
    }
    (s << 16) | a
}

// -------------------------------------------------------------- node set-up

/// Sets `[executor] fault` in the node home's `config/chimerad.toml`
/// (`"none"` or `"wrong-results"`).
///
/// Why: the fault tests' dishonest validators; for
/// [`chimera::ChimeraNetConfig::prepare_node`].
pub fn set_executor_fault(home: &Path, fault: &str) -> Result<(), String> {
    toml_config::edit_file(
        &home.join(NODE_CONFIG),
        &[TomlEdit::string("executor", "fault", fault)],
    )
    .map_err(|e| e.to_string())
}

/// The `(module, error)` lines of a node's `chimerad.log` that mention
/// `needle`, at most `max`.
///
/// Why: a failing inference test shows what the executor and tally said.
pub fn log_lines(home: &Path, needle: &str, max: usize) -> Vec<String> {
    std::fs::read_to_string(home.join(chimera::CHIMERAD_LOG))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .take(max)
        .map(str::to_string)
        .collect()
}

/// The CometBFT RPC `/status` latest height at `addr` (0 if it does not
/// answer).
pub fn height(addr: SocketAddr) -> u64 {
    rpc::status(addr).map(|s| s.latest_height).unwrap_or(0)
}

/// GETs `/tx_search?query=...` for the query `q` (unquoted CometBFT query
/// syntax, e.g. `inference_request_done.sequence='1'`).
///
/// Why: a second way to find a tx event, through CometBFT's indexer.
pub fn tx_search(addr: SocketAddr, q: &str) -> Result<Value, String> {
    let enc: String = format!("\"{q}\"")
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    rpc_result_at(addr, &format!("/tx_search?query={enc}"), Duration::from_secs(10))
}

/// Signs `msg` from the devnet user ([`crate::keys::USER_MNEMONIC`]) with
/// `gas`, commits it through node `node` of `net`, and returns the
/// committed tx.
///
/// Why: every inference test and the devnet send their requests this way.
pub fn commit_from_user(
    net: &chimera::ChimeraNet,
    node: usize,
    msg: Any,
    gas: u64,
) -> Result<Committed, String> {
    commit_many_from_user(net, node, vec![msg], gas)
}

/// [`commit_from_user`] of several messages in one tx.
pub fn commit_many_from_user(
    net: &chimera::ChimeraNet,
    node: usize,
    msgs: Vec<Any>,
    gas: u64,
) -> Result<Committed, String> {
    let key = chimera::chimera_signing_key(crate::keys::USER_MNEMONIC).map_err(|e| e.to_string())?;
    let user = chimera::chimera_address(crate::keys::USER_MNEMONIC).map_err(|e| e.to_string())?;
    let acc = net
        .account(node, &user)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{user} has no account"))?;
    let send = chimera::BankSend {
        to: user.clone(),
        amount: 0,
        denom: chimera::DENOM.into(),
        fee: chimera::required_fee(gas),
        gas_limit: gas,
        account_number: acc.account_number,
        sequence: acc.sequence,
        memo: String::new(),
    };
    let tx = chimera::sign_messages(&key, net.chain_id(), msgs, &send).map_err(|e| e.to_string())?;
    let r = broadcast_commit(net.rpc_addr(node).map_err(|e| e.to_string())?, &tx)?;
    if !r.is_ok() {
        return Err(format!("tx refused: {r:?}"));
    }
    Ok(r)
}

/// `MsgRunInference` of `job` by the devnet user through node `node`:
/// returns the tx's height and the job id.
pub fn submit_job(net: &chimera::ChimeraNet, node: usize, job: &Job, gas: u64) -> Result<(u64, u64), String> {
    let user = chimera::chimera_address(crate::keys::USER_MNEMONIC).map_err(|e| e.to_string())?;
    let r = commit_from_user(net, node, run_inference_msg(user.as_ref(), job), gas)?;
    let id = r
        .event("inference_job")
        .ok_or_else(|| format!("no inference_job event: {:?}", r.events))?
        .get("job_id")
        .parse()
        .map_err(|e| format!("job_id: {e}"))?;
    Ok((r.height, id))
}

/// Waits on node `node` for the `inference_result` of job `id`, from
/// block `from` on.
pub fn wait_job(
    net: &chimera::ChimeraNet,
    node: usize,
    from: u64,
    id: u64,
    timeout: Duration,
) -> Result<Found, String> {
    let job = id.to_string();
    wait_for_event(
        net.rpc_addr(node).map_err(|e| e.to_string())?,
        from,
        timeout,
        |e: &Event| e.kind == "inference_result" && e.get("job_id") == job,
    )
}

// ------------------------------------------------------------ vote records

/// The first bytes of a block's votes record (docs/protocol.md §13).
pub const VOTES_PREFIX: &[u8] = b"\0chimera/votes\0";

/// One validator's report of a job as a votes record carried it.
#[derive(Debug, Clone)]
pub struct RecordedReport {
    /// The block whose votes record carried it.
    pub height: u64,
    /// The validator's consensus address, upper-case hex.
    pub validator: String,
    /// The report.
    pub report: chimera_packets::proto::JobReport,
}

impl RecordedReport {
    /// A result report's output sha256 (hex), else `""`.
    pub fn output_sha256(&self) -> String {
        match &self.report.outcome {
            Some(chimera_packets::proto::job_report::Outcome::Result(x)) => x
                .output
                .as_ref()
                .map(|o| hex::encode(&o.sha256))
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

/// The votes record of block `height` on the CometBFT RPC at `addr`, if
/// the block has one: its `ExtendedCommitInfo`.
pub fn votes_record(
    addr: SocketAddr,
    height: u64,
) -> Result<Option<tendermint_proto::v0_38::abci::ExtendedCommitInfo>, String> {
    use base64::Engine;
    use prost::Message;
    let b = rpc_result_at(addr, &format!("/block?height={height}"), Duration::from_secs(10))?;
    let Some(first) = b["block"]["data"]["txs"].as_array().and_then(|t| t.first()) else {
        return Ok(None);
    };
    let tx = base64::engine::general_purpose::STANDARD
        .decode(first.as_str().unwrap_or_default())
        .map_err(|e| format!("block {height}: first tx is not base64: {e}"))?;
    let Some(body) = tx.strip_prefix(VOTES_PREFIX) else {
        return Ok(None);
    };
    tendermint_proto::v0_38::abci::ExtendedCommitInfo::decode(body)
        .map(Some)
        .map_err(|e| format!("block {height}: votes record does not decode: {e}"))
}

/// Every report of job `job` in the votes records of blocks `from..=to`,
/// in block order.
///
/// Why: what the chain saw of a job (sketches, sealed sketches, agreement
/// bits, each validator's output hash).
pub fn job_reports(addr: SocketAddr, from: u64, to: u64, job: u64) -> Result<Vec<RecordedReport>, String> {
    use prost::Message;
    let mut out = Vec::new();
    for h in from.max(1)..=to {
        let Some(commit) = votes_record(addr, h)? else {
            continue;
        };
        for v in commit.votes {
            if v.vote_extension.is_empty() {
                continue;
            }
            let ext = chimera_packets::proto::VoteExtension::decode(v.vote_extension.as_ref())
                .map_err(|e| format!("block {h}: a vote extension does not decode: {e}"))?;
            let validator = v
                .validator
                .as_ref()
                .map(|x| hex::encode_upper(&x.address))
                .unwrap_or_default();
            out.extend(
                ext.reports
                    .into_iter()
                    .filter(|r| r.job_id == job)
                    .map(|report| RecordedReport {
                        height: h,
                        validator: validator.clone(),
                        report,
                    }),
            );
        }
    }
    Ok(out)
}

/// Signs `msgs` from the account of `mnemonic` (which must exist) with
/// `gas`, at its current sequence on node `node`, without sending.
///
/// Why: tests that put several accounts' txs in one block broadcast them
/// together with `broadcast_tx_sync`.
pub fn sign_from(
    net: &chimera::ChimeraNet,
    node: usize,
    mnemonic: &str,
    msgs: Vec<Any>,
    gas: u64,
) -> Result<Vec<u8>, String> {
    let key = chimera::chimera_signing_key(mnemonic).map_err(|e| e.to_string())?;
    let addr = chimera::chimera_address(mnemonic).map_err(|e| e.to_string())?;
    let acc = net
        .account(node, &addr)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{addr} has no account"))?;
    let send = chimera::BankSend {
        to: addr.clone(),
        amount: 0,
        denom: chimera::DENOM.into(),
        fee: chimera::required_fee(gas),
        gas_limit: gas,
        account_number: acc.account_number,
        sequence: acc.sequence,
        memo: String::new(),
    };
    chimera::sign_messages(&key, net.chain_id(), msgs, &send).map_err(|e| e.to_string())
}

// ------------------------------------------------------------ benchmarks

/// One block as the benchmarks read it: its txs (raw bytes, in block
/// order), each tx's result code and events, and the block's own
/// `finalize_block_events`.
#[derive(Debug, Clone, Default)]
pub struct BlockOutcome {
    /// The txs' bytes (the votes record first, when there is one).
    pub txs: Vec<Vec<u8>>,
    /// `(code, events)` of each tx, in the same order.
    pub tx_results: Vec<(u32, Vec<Event>)>,
    /// The block's events (`inference_result`, `write_acknowledgement`).
    pub block_events: Vec<Event>,
}

/// `/block` and `/block_results` of `height` at `addr`; `Ok(None)` while
/// CometBFT has not saved the block's results yet (it reports a height in
/// `/status` a moment before).
///
/// Why: a load generator maps its own txs (by hash) to the jobs they
/// created and the results those got, block by block.
pub fn block_outcome(addr: SocketAddr, height: u64) -> Result<Option<BlockOutcome>, String> {
    use base64::Engine as _;
    let results = match rpc_result_at(
        addr,
        &format!("/block_results?height={height}"),
        Duration::from_secs(10),
    ) {
        Ok(r) => r,
        Err(e) if e.contains("could not find results") || e.contains("must be less than or equal") => {
            return Ok(None)
        }
        Err(e) => return Err(format!("/block_results?height={height}: {e}")),
    };
    let block = rpc_result_at(addr, &format!("/block?height={height}"), Duration::from_secs(10))
        .map_err(|e| format!("/block?height={height}: {e}"))?;
    let txs = block
        .pointer("/block/data/txs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t.as_str().unwrap_or_default())
                .map_err(|e| format!("block {height}: tx is not base64: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tx_results: Vec<(u32, Vec<Event>)> = results["txs_results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["code"].as_u64().unwrap_or(0) as u32, events_of(&r["events"])))
        .collect();
    if tx_results.len() != txs.len() {
        return Err(format!(
            "block {height}: {} txs but {} results",
            txs.len(),
            tx_results.len()
        ));
    }
    Ok(Some(BlockOutcome {
        txs,
        tx_results,
        block_events: events_of(&results["finalize_block_events"]),
    }))
}

/// Scans blocks from `from_height` on (as they are made, up to `timeout`)
/// for the first tx whose events satisfy `matches`; returns its height and
/// all its events.
///
/// Why: a relayed request's job is created in the relayer's
/// `MsgRecvPacket` tx; the packet's sequence is in that tx's `recv_packet`
/// event and the job id in its `inference_job` event.
pub fn wait_for_tx(
    addr: SocketAddr,
    from_height: u64,
    timeout: Duration,
    matches: impl Fn(&[Event]) -> bool,
) -> Result<(u64, Vec<Event>), String> {
    let deadline = Instant::now() + timeout;
    let mut next = from_height.max(1);
    loop {
        let latest = rpc::status(addr).map_err(|e| e.to_string())?.latest_height;
        while next <= latest {
            let Some(b) = block_outcome(addr, next)? else {
                break;
            };
            if let Some((_, events)) = b.tx_results.into_iter().find(|(_, ev)| matches(ev)) {
                return Ok((next, events));
            }
            next += 1;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no matching tx in blocks {from_height}..={latest} within {timeout:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A node's `job executed` log line (host/src/inference/worker.rs): the
/// run was finished and collected for the vote extension of `vote_height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executed {
    /// The job.
    pub job: u64,
    /// The height whose `ExtendVote` carried the report first.
    pub vote_height: u64,
    /// Time in the executor's queue before the run.
    pub queued_ms: u64,
    /// The run itself (pre/post-processing, model, commitment, sketch).
    pub ran_ms: u64,
    /// The line's timestamp (ns since the Unix epoch).
    pub unix_ns: i128,
}

/// Every `job executed` line of the node home's `chimerad.log` (plain log
/// format: an RFC 3339 timestamp first, then `key=value` fields).
///
/// Why: when each validator finished a job, and how long the model ran,
/// as the node itself measured it.
pub fn executed_lines(home: &Path) -> Vec<Executed> {
    fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    }
    std::fs::read_to_string(home.join(chimera::CHIMERAD_LOG))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("job executed"))
        .filter_map(|l| {
            let stamp = l.split_whitespace().next()?;
            let unix_ns = cosmrs::tendermint::Time::parse_from_rfc3339(stamp)
                .ok()?
                .unix_timestamp_nanos();
            Some(Executed {
                job: field(l, "job")?.parse().ok()?,
                vote_height: field(l, "vote_height")?.parse().ok()?,
                queued_ms: field(l, "queued_ms")?.parse().ok()?,
                ran_ms: field(l, "ran_ms")?.parse().ok()?,
                unix_ns,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_proto3_like_prost() {
        // MsgRunInference{signer:"a", model:"m", input{inline:[1]},
        // encoding{text{}}, params{seed:300}}
        let job = Job {
            model: "m".into(),
            input: vec![1],
            encoding: Encoding::Text,
            seed: 300,
            extra: vec![],
            memo: String::new(),
            fee: vec![],
        };
        let any = run_inference_msg("a", &job);
        assert_eq!(
            hex::encode(&any.value),
            "0a016112016d1a030a010122020a00 2a0308ac02".replace(' ', "")
        );
        let f = pb_fields(&any.value).unwrap();
        assert_eq!(f.len(), 5);
        let cnn = Job::digits_cnn(&GOLDEN_SEVEN);
        assert_eq!(cnn.input.len(), 256);
        let any = run_inference_msg("a", &cnn);
        let enc = &pb_fields(&any.value).unwrap()[3];
        // encoding{tensor{dtype:"f32", shape:[1,8,8] packed}}
        assert_eq!(hex::encode(&enc.3), "1a0a0a036633321203010808");
    }

    #[test]
    fn reads_job_executed_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(chimera::CHIMERAD_LOG),
            "2026-11-26T20:56:11.370425Z  INFO chimera_host::chain::app: finalized block height=2 txs=0\n\
             2026-11-26T20:56:12.000001Z  INFO chimera_host::inference::worker: job executed job=7 \
             vote_height=5 output=ab queued_ms=3 ran_ms=53\n",
        )
        .unwrap();
        let e = executed_lines(dir.path());
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].job, e[0].vote_height, e[0].queued_ms, e[0].ran_ms),
            (7, 5, 3, 53)
        );
        assert_eq!(e[0].unix_ns % 1_000_000_000, 1_000);
    }

    #[test]
    fn decodes_canonical_tensors() {
        let mut b = vec![9, 1];
        b.extend_from_slice(&10u64.to_le_bytes());
        for i in 0..10 {
            b.extend_from_slice(&(i as f32 / 45.0).to_le_bytes());
        }
        assert_eq!(b.len(), 50);
        let t = decode_tensor(&b).unwrap();
        assert_eq!(t.dims, vec![10]);
        assert_eq!(t.f32s().unwrap().len(), 10);
        assert!(decode_tensor(&b[..49]).is_err());
    }

    #[test]
    fn decodes_a_stored_block_png() {
        // 2×1 gray [7, 200], built as the host's canonical writer does.
        let raw = [0u8, 7, 200];
        let mut z = vec![0x78, 0x01, 0x01, 3, 0, !3u8, 0xff];
        z.extend_from_slice(&raw);
        z.extend_from_slice(&adler32(&raw).to_be_bytes());
        let chunk = |kind: &[u8], body: &[u8]| {
            let mut c = (body.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(body);
            c.extend_from_slice(&crc32(&[kind, body].concat()).to_be_bytes());
            c
        };
        let mut ihdr = 2u32.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&1u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend(chunk(b"IHDR", &ihdr));
        png.extend(chunk(b"IDAT", &z));
        png.extend(chunk(b"IEND", &[]));
        let p = decode_png(&png).unwrap();
        assert_eq!((p.width, p.height), (2, 1));
        assert_eq!(p.rows, vec![vec![7, 200]]);
        assert_eq!(p.chunks, ["IHDR", "IDAT", "IEND"]);
        // The CRC of "IEND" is the well-known ae426082.
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
    }
}
