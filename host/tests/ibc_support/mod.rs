//! An in-process chimera chain for IBC tests, driven as CometBFT drives it:
//! the real `App` over a store in a tempdir, blocks through
//! `FinalizeBlock`/`Commit`, queries through ABCI `Query`. Each block also
//! gets a CometBFT header signed by the chain's one ed25519 validator (app
//! hash of the previous block, the block's time, the validator set's hash,
//! and the same time and `next_validators_hash` FinalizeBlock received), so
//! a counterparty's real 07-tendermint client verifies our headers as it
//! would a live chain's.
#![allow(dead_code)]

pub mod relay;

use std::collections::BTreeMap;

use bytes::Bytes;
use chimera_host::chain::address::Address;
use chimera_host::chain::app::App;
use chimera_host::chain::auth;
use chimera_host::chain::bank;
use chimera_host::state::Storage;
use ed25519_consensus::SigningKey as EdKey;
use ibc::clients::tendermint::types::Header as TmHeader;
use ibc::core::client::types::Height;
use ibc_proto::cosmos::tx::v1beta1::Fee;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::core::commitment::v1::MerkleProof;
use k256::ecdsa::SigningKey;
use prost::Message;
use tendermint::abci::types::ExecTxResult;
use tendermint::abci::Event;
use tendermint::block::{self, header::Version, parts, Commit, CommitSig, Header, Id as BlockId};
use tendermint::v0_38::abci::{request, Request, Response};
use tendermint::validator;

use crate::chain_support::{
    abci_query, finalize_and_commit, finalize_request, init_chain, open_storage, sign_tx,
};

/// Block times: 5 s apart from a fixed epoch, the same on every chain so
/// that two chains stepped together agree on the time.
pub fn time(height: u64) -> tendermint::Time {
    tendermint::Time::from_unix_timestamp(1_700_000_000 + 5 * height as i64, 0).unwrap()
}

pub const GAS_LIMIT: u64 = 3_000_000;
/// 0.025uchim x GAS_LIMIT.
pub const FEE: u128 = 75_000;
pub const START: u128 = 1_000_000_000_000;

/// A chain's validator: one ed25519 key with all the voting power.
pub struct Validator {
    key: EdKey,
    pub set: validator::Set,
    info: validator::Info,
}

impl Validator {
    pub fn new(seed: u8) -> Validator {
        let key = EdKey::from([seed; 32]);
        let pk = tendermint::PublicKey::from_raw_ed25519(&key.verification_key().to_bytes()).unwrap();
        let info = validator::Info::new(pk, 10u32.into());
        let set = validator::Set::new(vec![info.clone()], Some(info.clone()));
        Validator { key, set, info }
    }

    /// Header `height` of `chain_id` carrying `app_hash`, with a commit
    /// signed as CometBFT precommits are (canonical vote sign bytes).
    pub fn sign_header(
        &self,
        chain_id: &str,
        height: u64,
        app_hash: Vec<u8>,
        last_block_id: Option<BlockId>,
    ) -> block::signed_header::SignedHeader {
        let header = Header {
            version: Version { block: 11, app: 1 },
            chain_id: chain_id.parse().unwrap(),
            height: height.try_into().unwrap(),
            time: time(height),
            last_block_id,
            last_commit_hash: None,
            data_hash: None,
            validators_hash: self.set.hash(),
            next_validators_hash: self.set.hash(),
            consensus_hash: tendermint::Hash::Sha256([7; 32]),
            app_hash: app_hash.try_into().unwrap(),
            last_results_hash: None,
            evidence_hash: None,
            proposer_address: self.info.address,
        };
        let block_id = BlockId {
            hash: header.hash(),
            part_set_header: parts::Header::new(1, tendermint::Hash::Sha256([9; 32])).unwrap(),
        };
        let vote = tendermint::vote::Vote {
            vote_type: tendermint::vote::Type::Precommit,
            height: header.height,
            round: 0u16.into(),
            block_id: Some(block_id),
            timestamp: Some(header.time),
            validator_address: self.info.address,
            validator_index: 0u32.try_into().unwrap(),
            signature: None,
            extension: Vec::new(),
            extension_signature: None,
        };
        let sign_bytes = vote.into_signable_vec(header.chain_id.clone());
        let sig = self.key.sign(&sign_bytes);
        let commit = Commit {
            height: header.height,
            round: 0u16.into(),
            block_id,
            signatures: vec![CommitSig::BlockIdFlagCommit {
                validator_address: self.info.address,
                timestamp: header.time,
                signature: tendermint::Signature::new(sig.to_bytes()).unwrap(),
            }],
        };
        block::signed_header::SignedHeader::new(header, commit).unwrap()
    }
}

/// Which funded account signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Relayer,
    User,
}

/// A funded account on a chain.
pub struct Account {
    pub key: SigningKey,
    pub address: Address,
}

impl Account {
    pub fn new(seed: u8) -> Account {
        let key = SigningKey::from_slice(&[seed; 32]).unwrap();
        let address = Address::from_secp256k1(&pubkey(&key));
        Account { key, address }
    }
}

pub use crate::chain_support::pubkey;

/// One in-process chain.
pub struct Chain {
    _dir: tempfile::TempDir,
    pub chain_id: String,
    pub storage: Storage,
    pub app: App,
    pub validator: Validator,
    /// Signed headers by height, one per finalized block.
    pub headers: BTreeMap<u64, block::signed_header::SignedHeader>,
    pub height: u64,
    pub relayer: Account,
    pub user: Account,
    /// Gas limit of the txs [`Chain::tx`] builds (fee: 0.025uchim/gas).
    pub gas_limit: u64,
}

/// A delivered tx's outcome.
pub struct Delivered {
    pub height: u64,
    pub result: ExecTxResult,
}

impl Delivered {
    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.result.code.is_ok(),
            "tx failed at height {}: code {} log {}",
            self.height,
            self.result.code.value(),
            self.result.log
        );
        self
    }

    /// The events of `kind`.
    pub fn events(&self, kind: &str) -> Vec<&Event> {
        self.result.events.iter().filter(|e| e.kind == kind).collect()
    }

    /// The value of `key` in the first event of `kind`.
    pub fn attr(&self, kind: &str, key: &str) -> Option<String> {
        attr(&self.result.events, kind, key)
    }
}

pub fn attr(events: &[Event], kind: &str, key: &str) -> Option<String> {
    events.iter().filter(|e| e.kind == kind).find_map(|e| {
        e.attributes
            .iter()
            .find(|a| a.key_str().ok() == Some(key))
            .map(|a| a.value_str().unwrap().to_string())
    })
}

impl Chain {
    /// Genesis funding a relayer and a user with uchim, then block 1.
    pub fn start(chain_id: &str, seed: u8) -> Chain {
        let dir = tempfile::tempdir().unwrap();
        let storage = open_storage(dir.path());
        let relayer = Account::new(seed);
        let user = Account::new(seed + 1);
        let genesis = serde_json::json!({
            "accounts": [
                { "address": relayer.address.to_string(), "coins": [{ "denom": "uchim", "amount": START.to_string() }] },
                { "address": user.address.to_string(), "coins": [{ "denom": "uchim", "amount": START.to_string() }] }
            ]
        });
        let mut app = App::new(storage.clone()).unwrap();
        init_chain(&mut app, chain_id, time(0), &genesis);
        let mut chain = Chain {
            _dir: dir,
            chain_id: chain_id.into(),
            storage,
            app,
            validator: Validator::new(seed.wrapping_add(100)),
            headers: BTreeMap::new(),
            height: 0,
            relayer,
            user,
            gas_limit: GAS_LIMIT,
        };
        chain.block(Vec::new());
        chain
    }

    /// The IBC revision of this chain (from its chain id).
    pub fn revision(&self) -> u64 {
        ibc::core::host::types::identifiers::ChainId::new(&self.chain_id)
            .unwrap()
            .revision_number()
    }

    pub fn ibc_height(&self, h: u64) -> Height {
        Height::new(self.revision(), h).unwrap()
    }

    pub fn raw_height(&self, h: u64) -> ibc_proto::ibc::core::client::v1::Height {
        ibc_proto::ibc::core::client::v1::Height {
            revision_number: self.revision(),
            revision_height: h,
        }
    }

    /// FinalizeBlock + Commit of the next height, signing its header.
    pub fn block(&mut self, txs: Vec<Vec<u8>>) -> Vec<ExecTxResult> {
        self.height += 1;
        let h = self.height;
        let prev_app_hash = match h {
            1 => Vec::new(),
            _ => self.storage.app_hash(h - 1).unwrap().0.to_vec(),
        };
        let last_block_id = self.headers.get(&(h - 1)).map(|s| s.commit.block_id);
        let signed = self
            .validator
            .sign_header(&self.chain_id, h, prev_app_hash, last_block_id);
        let fb = request::FinalizeBlock {
            hash: signed.header.hash(),
            next_validators_hash: self.validator.set.hash(),
            proposer_address: signed.header.proposer_address,
            ..finalize_request(txs, h, time(h))
        };
        self.headers.insert(h, signed);
        finalize_and_commit(&mut self.app, &self.storage, fb)
    }

    pub fn account(&self, who: Who) -> &Account {
        match who {
            Who::Relayer => &self.relayer,
            Who::User => &self.user,
        }
    }

    /// Delivers one tx of `msgs` signed by `who` in the next block.
    pub fn deliver(&mut self, who: Who, msgs: Vec<Any>) -> Delivered {
        let tx = self.tx(who, msgs);
        let mut results = self.block(vec![tx]);
        Delivered {
            height: self.height,
            result: results.remove(0),
        }
    }

    /// CheckTx of `msgs` signed by `who` (nothing is committed).
    pub fn check(&mut self, who: Who, msgs: Vec<Any>) -> tendermint::abci::response::CheckTx {
        let tx = self.tx(who, msgs);
        let req = request::CheckTx {
            tx: Bytes::from(tx),
            kind: request::CheckTxKind::New,
        };
        match self.app.handle(Request::CheckTx(req)).unwrap() {
            Response::CheckTx(r) => r,
            _ => panic!("CheckTx answered something else"),
        }
    }

    /// A signed tx (SIGN_MODE_DIRECT) with the signer's committed account
    /// number and sequence.
    pub fn tx(&self, who: Who, msgs: Vec<Any>) -> Vec<u8> {
        let who = self.account(who);
        let acc = auth::get_committed(&self.storage.latest_snapshot(), &who.address)
            .unwrap()
            .expect("signer account exists");
        let fee = Fee {
            amount: vec![ibc_proto::cosmos::base::v1beta1::Coin {
                denom: "uchim".into(),
                amount: self.gas_limit.div_ceil(40).to_string(),
            }],
            gas_limit: self.gas_limit,
            payer: String::new(),
            granter: String::new(),
        };
        sign_tx(
            &who.key,
            &self.chain_id,
            acc.account_number,
            acc.sequence,
            msgs,
            "ibc test",
            fee,
        )
    }

    /// `abci_query` `store/ibc/key` with proof, as Hermes asks for proofs:
    /// the value at version `h` and the ICS-23 proofs as ibc-go's
    /// `MerkleProof` bytes (what messages carry as proofs).
    pub fn prove(&mut self, key: &str, h: u64) -> (Option<Vec<u8>>, Vec<u8>) {
        let q = request::Query {
            data: Bytes::from(key.as_bytes().to_vec()),
            path: "store/ibc/key".into(),
            height: (h as u32).into(),
            prove: true,
        };
        let r = abci_query(&mut self.app, q);
        assert!(r.code.is_ok(), "store query failed: {}", r.log);
        assert_eq!(r.height.value(), h);
        let ops = r.proof.expect("a proof was asked for");
        let proofs = ops
            .ops
            .iter()
            .map(|op| ics23::CommitmentProof::decode(op.data.as_slice()).unwrap())
            .collect::<Vec<_>>();
        let value = (!r.value.is_empty()).then(|| r.value.to_vec());
        (value, MerkleProof { proofs }.encode_to_vec())
    }

    /// A gRPC-over-ABCI query (the IBC query services), as cosmjs asks.
    pub fn grpc<Req: Message, Resp: Message + Default>(
        &mut self,
        path: &str,
        req: Req,
    ) -> Result<Resp, String> {
        let q = request::Query {
            data: Bytes::from(req.encode_to_vec()),
            path: path.into(),
            height: 0u32.into(),
            prove: false,
        };
        let r = abci_query(&mut self.app, q);
        if r.code.is_err() {
            return Err(format!("code {}: {}", r.code.value(), r.log));
        }
        Ok(Resp::decode(r.value.as_ref()).unwrap())
    }

    /// A 07-tendermint header of this chain at `h`, trusted from `trusted`
    /// (what a relayer puts in MsgUpdateClient).
    pub fn client_header(&self, h: u64, trusted: u64) -> Any {
        let header = TmHeader {
            signed_header: self.headers[&h].clone(),
            validator_set: self.validator.set.clone(),
            trusted_height: self.ibc_height(trusted),
            trusted_next_validator_set: self.validator.set.clone(),
        };
        Any::from(header)
    }

    pub fn balance(&self, who: &Address, denom: &str) -> u128 {
        bank::balance_committed(&self.storage.latest_snapshot(), who, denom).unwrap()
    }
}
