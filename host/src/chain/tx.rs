//! Cosmos transactions: `TxRaw` decoding, the messages we route, and the
//! ante checks (size, signatures with SIGN_MODE_DIRECT, account numbers and
//! sequences, fees against the minimum gas price) in the SDK's order and with
//! its error codes, so wallets and Hermes build and sign txs for us unchanged.

use ibc_proto::cosmos::auth::v1beta1::BaseAccount;
use ibc_proto::cosmos::bank::v1beta1::MsgSend;
use ibc_proto::cosmos::tx::signing::v1beta1::SignMode;
use ibc_proto::cosmos::tx::v1beta1::{mode_info, AuthInfo, SignDoc, TxBody, TxRaw};
use ibc_proto::google::protobuf::Any;
use k256::ecdsa::signature::Verifier;
use prost::Message;
use tendermint::abci::{Event, EventAttributeIndexExt};

use super::address::Address;
use super::auth;
use super::bank;
use super::error::TxError;
use super::gas::{cost, Ctx};
use super::params::Params;

/// A message the host executes.
#[derive(Debug, Clone)]
pub enum Msg {
    Send(MsgSend),
    /// IBC core messages and ICS-20 `MsgTransfer` (`crate::ibc`).
    Ibc(crate::ibc::IbcMsg),
    /// `chimera.inference.v1` messages (`crate::inference`).
    Inference(crate::inference::InferenceMsg),
    /// `chimera.fees.v1.MsgUpdateParams` (`crate::fees`).
    FeeParams(chimera_packets::proto::fees::MsgUpdateParams),
}

impl Msg {
    /// Decodes one `Any` of a tx body; unknown type URLs are refused with the
    /// SDK's "unknown request" code.
    pub fn from_any(any: &Any) -> Result<Msg, TxError> {
        match any.type_url.as_str() {
            bank::MSG_SEND_TYPE_URL => Ok(Msg::Send(
                MsgSend::decode(any.value.as_slice())
                    .map_err(|e| TxError::Decode(format!("MsgSend: {e}")))?,
            )),
            url if crate::ibc::is_ibc_type_url(url) => Ok(Msg::Ibc(crate::ibc::IbcMsg::decode(any)?)),
            url if crate::inference::is_inference_type_url(url) => {
                Ok(Msg::Inference(crate::inference::InferenceMsg::decode(any)?))
            }
            url if url == crate::fees::msgs::type_url() => {
                Ok(Msg::FeeParams(crate::fees::msgs::decode(any)?))
            }
            other => Err(TxError::UnknownRequest(format!(
                "unrecognized message type: {other}"
            ))),
        }
    }

    /// The type URL, which is also the `message.action` event attribute.
    pub fn type_url(&self) -> &'static str {
        match self {
            Msg::Send(_) => bank::MSG_SEND_TYPE_URL,
            Msg::Ibc(m) => m.type_url(),
            Msg::Inference(m) => m.type_url(),
            Msg::FeeParams(_) => "/chimera.fees.v1.MsgUpdateParams",
        }
    }

    /// The module name for the `message.module` event attribute.
    pub fn module(&self) -> &'static str {
        match self {
            Msg::Send(_) => "bank",
            // The SDK's module of `/ibc.…` type URLs, ICS-20 included.
            Msg::Ibc(_) => "ibc",
            Msg::Inference(_) => "inference",
            Msg::FeeParams(_) => "fees",
        }
    }

    /// Who must sign this message.
    pub fn signer(&self) -> Result<Address, TxError> {
        match self {
            Msg::Send(m) => bank::send_signer(m),
            Msg::Ibc(m) => m.signer(),
            Msg::Inference(m) => m.signer(),
            Msg::FeeParams(m) => crate::fees::msgs::signer(m),
        }
    }

    /// Executes the message signed by `signer`, returning its response
    /// (one `Any` of `TxMsgData.msg_responses`). Shared by the tx path and
    /// the ICS-27 host, which executes an interchain account's messages.
    pub fn exec(
        &self,
        ctx: &mut Ctx,
        signer: &Address,
        chain_id: &str,
        events: &mut Vec<Event>,
    ) -> Result<Any, TxError> {
        match self {
            Msg::Send(m) => bank::exec_send(ctx, m, signer, events).map(|()| Any {
                type_url: "/cosmos.bank.v1beta1.MsgSendResponse".into(),
                value: Vec::new(),
            }),
            Msg::Ibc(m) => crate::ibc::exec(ctx, m, chain_id, events),
            Msg::Inference(m) => crate::inference::msgs::exec(ctx, m, signer, chain_id, events),
            Msg::FeeParams(m) => crate::fees::msgs::exec(ctx, m, signer, events),
        }
    }
}

/// A decoded transaction, with its raw bytes kept for signature checks.
#[derive(Debug, Clone)]
pub struct Tx {
    pub raw: TxRaw,
    pub body: TxBody,
    pub auth_info: AuthInfo,
    pub msgs: Vec<Msg>,
    /// Unique signers in order of first appearance (the SDK's `GetSigners`).
    pub signers: Vec<Address>,
    pub len: usize,
}

impl Tx {
    /// Decodes and checks a tx statelessly (the SDK's `ValidateBasic`).
    pub fn decode(bytes: &[u8], params: &Params) -> Result<Tx, TxError> {
        if bytes.len() as u64 > params.max_tx_bytes {
            return Err(TxError::TxTooLarge(format!(
                "tx is {} bytes, the limit is {}",
                bytes.len(),
                params.max_tx_bytes
            )));
        }
        let raw = TxRaw::decode(bytes).map_err(|e| TxError::Decode(format!("TxRaw: {e}")))?;
        let body =
            TxBody::decode(raw.body_bytes.as_slice()).map_err(|e| TxError::Decode(format!("TxBody: {e}")))?;
        let auth_info = AuthInfo::decode(raw.auth_info_bytes.as_slice())
            .map_err(|e| TxError::Decode(format!("AuthInfo: {e}")))?;
        if !body.extension_options.is_empty() {
            return Err(TxError::UnknownRequest(
                "extension options are not supported".into(),
            ));
        }
        if body.messages.is_empty() {
            return Err(TxError::InvalidRequest(
                "must contain at least one message".into(),
            ));
        }
        let msgs = body
            .messages
            .iter()
            .map(Msg::from_any)
            .collect::<Result<Vec<_>, _>>()?;
        let mut signers: Vec<Address> = Vec::new();
        for m in &msgs {
            let s = m.signer()?;
            if !signers.contains(&s) {
                signers.push(s);
            }
        }
        if raw.signatures.is_empty() {
            return Err(TxError::NoSignatures);
        }
        if raw.signatures.len() != signers.len() || auth_info.signer_infos.len() != signers.len() {
            return Err(TxError::Unauthorized(format!(
                "wrong number of signers; expected {}, got {} signatures and {} signer infos",
                signers.len(),
                raw.signatures.len(),
                auth_info.signer_infos.len()
            )));
        }
        let fee = auth_info
            .fee
            .as_ref()
            .ok_or_else(|| TxError::InsufficientFee("no fee".into()))?;
        if fee.gas_limit == 0 || fee.gas_limit > params.max_gas_per_tx {
            return Err(TxError::InvalidGasLimit(format!(
                "gas limit {} is outside 1..={}",
                fee.gas_limit, params.max_gas_per_tx
            )));
        }
        bank::validate_coins(&fee.amount)?;
        Ok(Tx {
            raw,
            body,
            auth_info,
            msgs,
            signers,
            len: bytes.len(),
        })
    }

    /// Gas the sender asked for.
    pub fn gas_limit(&self) -> u64 {
        self.auth_info.fee.as_ref().map_or(0, |f| f.gas_limit)
    }

    /// The account that pays the fee: `fee.payer` if set, else the first signer.
    pub fn fee_payer(&self) -> Result<Address, TxError> {
        match self.auth_info.fee.as_ref().map(|f| f.payer.as_str()) {
            Some(p) if !p.is_empty() => {
                let a = Address::parse(p).map_err(|e| TxError::InvalidAddress(e.to_string()))?;
                if !self.signers.contains(&a) {
                    return Err(TxError::Unauthorized("fee payer must sign the tx".into()));
                }
                Ok(a)
            }
            _ => Ok(self.signers[0]),
        }
    }

    /// The bytes a signer with `account_number` signs under SIGN_MODE_DIRECT.
    pub fn sign_bytes(&self, chain_id: &str, account_number: u64) -> Vec<u8> {
        SignDoc {
            body_bytes: self.raw.body_bytes.clone(),
            auth_info_bytes: self.raw.auth_info_bytes.clone(),
            chain_id: chain_id.to_string(),
            account_number,
        }
        .encode_to_vec()
    }
}

/// How strictly the ante handler checks: `Simulate` accepts missing or wrong
/// signatures (still charging their gas), as the SDK's simulation mode does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Check,
    Deliver,
    Simulate,
}

/// The ante handler: charges size gas, checks the fee against the minimum
/// gas price, moves it to the fee collector, checks each signature and
/// sequence, sets first-time public keys and bumps sequences. Writes only
/// into `ctx`; the caller drops them if this fails.
pub fn ante(
    ctx: &mut Ctx,
    tx: &Tx,
    chain_id: &str,
    params: &Params,
    mode: Mode,
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    ctx.gas
        .consume(cost::TX_SIZE_PER_BYTE * tx.len as u64, "txSize")?;
    if let Some(t) = Some(tx.body.timeout_height).filter(|t| *t > 0) {
        if ctx.height > t {
            return Err(TxError::InvalidRequest(format!(
                "tx has timed out; timeout height: {t}, current height: {}",
                ctx.height
            )));
        }
    }

    // Fee: at least gas_limit x min_gas_price in the fee denom.
    let fee = tx.auth_info.fee.as_ref().expect("checked in decode");
    let coins = bank::validate_coins(&fee.amount)?;
    let paid = coins
        .iter()
        .find(|(d, _)| *d == params.fee_denom)
        .map_or(0, |(_, a)| *a);
    let required = params.required_fee(tx.gas_limit());
    if mode != Mode::Simulate && paid < required {
        return Err(TxError::InsufficientFee(format!(
            "insufficient fees; got: {} required: {required}{}",
            bank::coins_string(&coins),
            params.fee_denom
        )));
    }
    let payer = tx.fee_payer()?;
    if !coins.is_empty() {
        let mut fee_events = Vec::new();
        bank::send(
            ctx,
            &payer,
            &super::params::fee_collector(),
            &coins,
            &mut fee_events,
        )
        .map_err(|e| match e {
            TxError::InsufficientFunds(m) => {
                TxError::InsufficientFunds(format!("{m}: insufficient funds to pay the fee"))
            }
            other => other,
        })?;
        events.extend(fee_events);
    }
    events.push(Event::new(
        "tx",
        [
            ("fee", bank::coins_string(&coins)).index(),
            ("fee_payer", payer.to_string()).index(),
        ],
    ));

    for (i, signer) in tx.signers.iter().enumerate() {
        let mut acc: BaseAccount = auth::get(ctx, signer)?
            .ok_or_else(|| TxError::UnknownAddress(format!("account {signer} does not exist")))?;
        let info = &tx.auth_info.signer_infos[i];
        let key = match auth::secp256k1_key(&acc)? {
            Some(k) => k,
            None => {
                let any = info
                    .public_key
                    .as_ref()
                    .ok_or_else(|| TxError::InvalidPubKey(format!("no public key for {signer}")))?;
                let k = auth::decode_secp256k1(any)?;
                if Address::from_secp256k1(&k) != *signer {
                    return Err(TxError::InvalidPubKey(format!(
                        "public key does not match signer {signer}"
                    )));
                }
                acc.pub_key = Some(auth::secp256k1_any(&k));
                k
            }
        };
        match info.mode_info.as_ref().and_then(|m| m.sum.as_ref()) {
            Some(mode_info::Sum::Single(s)) if s.mode == SignMode::Direct as i32 => {}
            _ => {
                return Err(TxError::Unauthorized(
                    "only SIGN_MODE_DIRECT single signatures are supported".into(),
                ))
            }
        }
        // A simulation may name a sequence ahead of the committed one: the
        // sender's earlier txs wait in the mempool, and the SDK simulates on
        // its CheckTx state, where they already count. Relayers and wallets
        // pipeline txs and simulate each (Hermes fell back to default gas
        // and ran out of it when this refused them). Behind it is refused
        // as the SDK refuses it.
        let ahead_in_simulation = mode == Mode::Simulate && info.sequence > acc.sequence;
        if info.sequence != acc.sequence && !ahead_in_simulation {
            return Err(TxError::WrongSequence {
                expected: acc.sequence,
                got: info.sequence,
            });
        }
        ctx.gas
            .consume(cost::SIG_VERIFY_SECP256K1, "ante verify: secp256k1")?;
        let ok = verify_secp256k1(
            &key,
            &tx.sign_bytes(chain_id, acc.account_number),
            &tx.raw.signatures[i],
        );
        if !ok && mode != Mode::Simulate {
            return Err(TxError::Unauthorized(format!(
                "signature verification failed; please verify account number ({}) and chain-id ({chain_id})",
                acc.account_number
            )));
        }
        events.push(Event::new(
            "tx",
            [("acc_seq", format!("{signer}/{}", acc.sequence)).index()],
        ));
        acc.sequence = info.sequence + 1;
        auth::set(ctx, &acc)?;
    }
    Ok(())
}

/// Verifies a 64-byte (r ‖ s, low-S) secp256k1 signature over SHA-256(msg).
pub fn verify_secp256k1(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(vk) = k256::ecdsa::VerifyingKey::from_sec1_bytes(key) else {
        return false;
    };
    let Ok(sig) = k256::ecdsa::Signature::from_slice(sig) else {
        return false;
    };
    vk.verify(msg, &sig).is_ok()
}
