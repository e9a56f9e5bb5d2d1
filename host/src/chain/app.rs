//! The deterministic state machine behind ABCI: one `App` that CometBFT's
//! four connections (consensus, mempool, info, snapshot) reach through
//! `abci.rs`. It owns the storage and the buffers between FinalizeBlock and
//! Commit; everything it writes into state is a pure function of the blocks.
//!
//! Block life cycle (ABCI 2.0):
//! `InitChain` applies genesis into a buffer that the first block builds on;
//! `FinalizeBlock` runs each tx in a fork of the block buffer, computes the
//! new app hash without writing and keeps the prepared batch; `Commit`
//! writes it (one RocksDB batch) and resets the mempool's view. A crash
//! before Commit loses nothing CometBFT cannot replay.

use bytes::Bytes;
use ibc_proto::cosmos::base::abci::v1beta1::TxMsgData;
use prost::Message;
use tendermint::abci::response::{self, ProcessProposal, VerifyVoteExtension};
use tendermint::abci::types::ExecTxResult;
use tendermint::abci::{Code, Event, EventAttributeIndexExt};
use tendermint::v0_38::abci::{request, Request, Response};
use tracing::{debug, info, warn};

use super::error::{TxError, CODESPACE};
use super::gas::{unmetered, Ctx, GasMeter};
use super::genesis::AppGenesis;
use super::params::Params;
use super::params::StateParams;
use super::query;
use super::tx::{self, Mode, Tx};
use crate::inference::{self, votes, worker::Worker};
use crate::state::{Delta, PreparedCommit, StateError, Storage};
use std::sync::Arc;

/// What the app reports as its version in `Info` (and GetNodeInfo).
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");

const CHAIN_ID_KEY: &[u8] = b"chain/chain_id";

/// A failure that must stop the node rather than let it diverge: storage
/// errors, a commit without a block, a corrupt state.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("state: {0}")]
    State(#[from] StateError),
    #[error("genesis: {0}")]
    Genesis(String),
    #[error("consensus: {0}")]
    Consensus(String),
}

/// The outcome of running one tx, before it becomes an ABCI result.
#[derive(Debug, Clone)]
pub struct TxOutcome {
    pub result: Result<Vec<u8>, TxError>,
    pub gas_wanted: u64,
    pub gas_used: u64,
    pub events: Vec<Event>,
}

impl TxOutcome {
    /// A tx refused before it ran (params unreadable, undecodable): no gas
    /// wanted or used, no events.
    fn rejected(e: TxError) -> TxOutcome {
        TxOutcome {
            result: Err(e),
            gas_wanted: 0,
            gas_used: 0,
            events: Vec::new(),
        }
    }

    fn exec_result(self) -> ExecTxResult {
        let (code, data, log, codespace) = match self.result {
            Ok(data) => (Code::Ok, Bytes::from(data), String::new(), String::new()),
            Err(e) => (
                Code::from(e.code()),
                Bytes::new(),
                e.to_string(),
                CODESPACE.to_string(),
            ),
        };
        ExecTxResult {
            code,
            data,
            log,
            info: String::new(),
            gas_wanted: self.gas_wanted as i64,
            gas_used: self.gas_used as i64,
            events: self.events,
            codespace,
        }
    }
}

/// The host chain application.
pub struct App {
    storage: Storage,
    chain_id: String,
    /// InitChain's writes, which the first block builds on.
    genesis: Option<Delta>,
    /// FinalizeBlock's prepared batch, written by Commit.
    pending: Option<(u64, PreparedCommit)>,
    /// Jobs FinalizeBlock finished, for the worker once they commit (it
    /// pins or fetches their agreed outputs, also while catching up).
    finished: Vec<u64>,
    /// The mempool's view: the last commit plus the txs CheckTx accepted since.
    check: Delta,
    /// This node's executor (validators that run models): fed committed
    /// jobs after each Commit, asked for reports by ExtendVote. `None` on
    /// nodes that abstain.
    worker: Option<Arc<Worker>>,
}

impl App {
    /// Opens the app over its storage (fresh or restarted).
    pub fn new(storage: Storage) -> Result<App, AppError> {
        let snap = storage.latest_snapshot();
        let chain_id = snap
            .get(CHAIN_ID_KEY)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Ok(App {
            check: Delta::new(snap),
            storage,
            chain_id,
            genesis: None,
            pending: None,
            finished: Vec::new(),
            worker: None,
        })
    }

    /// Attaches this node's executor worker (`chimerad start` with
    /// `[executor] enabled`).
    pub fn set_worker(&mut self, worker: Arc<Worker>) {
        worker.after_commit(&self.storage.latest_snapshot());
        self.worker = Some(worker);
    }

    /// The storage, for query services that read committed snapshots.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Handles one ABCI request. An `Err` stops the node (tower-abci closes
    /// the connection and CometBFT halts): only for faults, never for bad txs.
    pub fn handle(&mut self, req: Request) -> Result<Response, AppError> {
        Ok(match req {
            Request::Echo(e) => Response::Echo(response::Echo { message: e.message }),
            Request::Flush => Response::Flush,
            Request::Info(_) => Response::Info(self.info()?),
            Request::InitChain(r) => Response::InitChain(self.init_chain(r)?),
            Request::Query(q) => Response::Query(query::abci_query(&self.storage, &self.chain_id, q)),
            Request::CheckTx(c) => Response::CheckTx(self.check_tx(c)),
            Request::PrepareProposal(p) => Response::PrepareProposal(prepare_proposal(p)),
            Request::ProcessProposal(p) => Response::ProcessProposal(self.process_proposal(p)),
            Request::ExtendVote(v) => Response::ExtendVote(response::ExtendVote {
                vote_extension: match &self.worker {
                    Some(w) => w
                        .extend_vote(&self.storage.latest_snapshot(), v.height.value())
                        .into(),
                    None => Bytes::new(),
                },
            }),
            Request::VerifyVoteExtension(v) => {
                Response::VerifyVoteExtension(match votes::decode_extension(&v.vote_extension) {
                    Ok(_) => VerifyVoteExtension::Accept,
                    Err(e) => {
                        warn!(validator = %v.validator_address, height = %v.height, error = %e, "rejected vote extension");
                        VerifyVoteExtension::Reject
                    }
                })
            }
            Request::FinalizeBlock(b) => Response::FinalizeBlock(self.finalize_block(b)?),
            Request::Commit => Response::Commit(self.commit()?),
            Request::ListSnapshots => Response::ListSnapshots(Default::default()),
            Request::OfferSnapshot(_) => Response::OfferSnapshot(Default::default()),
            Request::LoadSnapshotChunk(_) => Response::LoadSnapshotChunk(Default::default()),
            Request::ApplySnapshotChunk(_) => Response::ApplySnapshotChunk(Default::default()),
        })
    }

    fn info(&self) -> Result<response::Info, AppError> {
        let (height, hash) = match self.storage.latest_version() {
            Some(v) => (v, self.storage.app_hash(v)?.0.to_vec()),
            None => (0, Vec::new()),
        };
        Ok(response::Info {
            data: "chimerad".into(),
            version: APP_VERSION.into(),
            app_version: 1,
            last_block_height: height
                .try_into()
                .map_err(|_| AppError::Consensus("height overflow".into()))?,
            last_block_app_hash: hash.try_into().expect("any bytes are an AppHash"),
        })
    }

    fn init_chain(&mut self, r: request::InitChain) -> Result<response::InitChain, AppError> {
        if r.initial_height.value() != 1 {
            return Err(AppError::Genesis(format!(
                "initial_height {} (only 1 is supported)",
                r.initial_height
            )));
        }
        let genesis = AppGenesis::parse(&r.app_state_bytes).map_err(AppError::Genesis)?;
        let mut state = Delta::new(self.storage.latest_snapshot());
        genesis.apply(&mut state).map_err(AppError::Genesis)?;
        state.put(CHAIN_ID_KEY.to_vec(), r.chain_id.clone().into_bytes());
        for v in &r.validators {
            let tendermint::PublicKey::Ed25519(key) = v.pub_key else {
                return Err(AppError::Genesis(
                    "only ed25519 validator keys are supported".into(),
                ));
            };
            inference::store::put_validator(
                &mut state,
                &inference::store::ValidatorRecord {
                    address: tendermint::account::Id::from(v.pub_key).as_bytes().to_vec(),
                    ed25519: key.as_bytes().to_vec(),
                    power: v.power.value(),
                },
            );
        }
        info!(chain_id = %r.chain_id, accounts = genesis.accounts.len(), "init chain");
        self.chain_id = r.chain_id;
        self.check = state.fork();
        self.genesis = Some(state);
        Ok(response::InitChain {
            consensus_params: None,
            validators: Vec::new(),
            app_hash: Default::default(),
        })
    }

    fn check_tx(&mut self, c: request::CheckTx) -> response::CheckTx {
        let height = self.storage.latest_version().unwrap_or(0) + 1;
        // A refused tx leaves no trace in the mempool's view: CheckTx runs
        // the messages too (earlier than the SDK, which runs only the ante
        // handler), so a tx whose message would fail is refused whole, its
        // fee and sequence bump included, and the sender's next tx still
        // uses the committed sequence.
        if votes::is_record(&c.tx) {
            return response::CheckTx {
                code: Code::from(TxError::Decode(String::new()).code()),
                log: "the votes record is written by proposers, not sent as a tx".into(),
                codespace: CODESPACE.into(),
                ..Default::default()
            };
        }
        let mut fork = self.check.fork();
        let out = run_tx(&mut fork, &c.tx, height, &self.chain_id, Mode::Check);
        if out.result.is_ok() {
            self.check.absorb(fork);
        }
        let ex = out.exec_result();
        if ex.code.is_err() {
            debug!(code = ex.code.value(), log = %ex.log, "check tx refused");
        }
        response::CheckTx {
            code: ex.code,
            data: ex.data,
            log: ex.log,
            info: ex.info,
            gas_wanted: ex.gas_wanted,
            gas_used: ex.gas_used,
            events: ex.events,
            codespace: ex.codespace,
            ..Default::default()
        }
    }

    fn finalize_block(&mut self, b: request::FinalizeBlock) -> Result<response::FinalizeBlock, AppError> {
        let height = b.height.value();
        let expected = self.storage.latest_version().unwrap_or(0) + 1;
        if height != expected {
            return Err(AppError::Consensus(format!(
                "FinalizeBlock for height {height}, expected {expected}"
            )));
        }
        let mut block = match self.genesis.take() {
            Some(g) => g,
            None => Delta::new(self.storage.latest_snapshot()),
        };
        // IBC: record the host consensus state of this height (header
        // time, app hash of the previous block, next validators) before the
        // txs, which may check a counterparty's client of us against it.
        let prev_app_hash = match height {
            1 => Vec::new(),
            h => self.storage.app_hash(h - 1)?.0.to_vec(),
        };
        crate::ibc::begin_block(
            &mut block,
            height,
            b.time,
            b.next_validators_hash,
            &prev_app_hash,
            &b.txs,
        );
        let mut tx_results = Vec::with_capacity(b.txs.len());
        let mut block_events = Vec::new();
        let mut reported = Vec::new();
        for (i, raw) in b.txs.iter().enumerate() {
            if i == 0 && votes::is_record(raw) {
                reported = self.record_votes(&mut block, raw, height)?;
                tx_results.push(ExecTxResult::default());
                continue;
            }
            let out = run_tx(&mut block, raw, height, &self.chain_id, Mode::Deliver);
            if let Err(TxError::Internal(m)) = &out.result {
                return Err(AppError::Consensus(format!(
                    "internal error in tx at height {height}: {m}"
                )));
            }
            tx_results.push(out.exec_result());
        }
        // End of block: decide the jobs that got reports or hit their
        // deadline, writing their acknowledgements.
        let finished = unmetered(&mut block, height, |ctx| {
            inference::tally::run(ctx, &self.chain_id, &reported, &mut block_events)
        })
        .map_err(|e| AppError::Consensus(format!("inference tally at height {height}: {e}")))?;
        // Then send the burn and community parts that wait, on the interval.
        unmetered(&mut block, height, |ctx| {
            crate::fees::send::end_block(ctx, &self.chain_id, &mut block_events)
        })
        .map_err(|e| AppError::Consensus(format!("fee sends at height {height}: {e}")))?;
        let prepared = self.storage.prepare_commit(height, block.into_changes())?;
        let app_hash = prepared.app_hash();
        info!(height, txs = b.txs.len(), app_hash = %hex::encode(app_hash.0), "finalized block");
        self.pending = Some((height, prepared));
        self.finished = finished;
        Ok(response::FinalizeBlock {
            events: block_events,
            tx_results,
            validator_updates: Vec::new(),
            consensus_param_updates: None,
            app_hash: app_hash.0.to_vec().try_into().expect("any bytes are an AppHash"),
        })
    }

    fn commit(&mut self) -> Result<response::Commit, AppError> {
        let (height, prepared) = self
            .pending
            .take()
            .ok_or_else(|| AppError::Consensus("Commit without FinalizeBlock".into()))?;
        self.storage.apply(prepared)?;
        self.check = Delta::new(self.storage.latest_snapshot());
        if let Some(w) = &self.worker {
            let snap = self.storage.latest_snapshot();
            w.after_commit(&snap);
            w.pin_finished(&snap, &std::mem::take(&mut self.finished));
        }
        debug!(height, "committed");
        Ok(response::Commit {
            data: Bytes::new(),
            retain_height: 0u32.into(),
        })
    }

    /// Accepts a proposal unless its votes record is forged or malformed, or
    /// a votes record appears anywhere but first.
    fn process_proposal(&self, p: request::ProcessProposal) -> ProcessProposal {
        if p.txs.iter().skip(1).any(|t| votes::is_record(t)) {
            warn!(height = %p.height, "proposal has a votes record after its first tx");
            return ProcessProposal::Reject;
        }
        let Some(first) = p.txs.first().filter(|t| votes::is_record(t)) else {
            return ProcessProposal::Accept;
        };
        let validators = match inference::store::validators_committed(&self.storage.latest_snapshot()) {
            Ok(v) => v,
            Err(e) => {
                warn!(error = %e, "cannot read the validator set");
                return ProcessProposal::Reject;
            }
        };
        match votes::verify_record(first, p.height.value() - 1, &self.chain_id, &validators) {
            Ok(_) => ProcessProposal::Accept,
            Err(e) => {
                warn!(height = %p.height, error = %e, "rejected proposal");
                ProcessProposal::Reject
            }
        }
    }

    /// Records the reports of a block's votes record (checked by
    /// ProcessProposal on the nodes that voted for the block; a node
    /// replaying it trusts their quorum, and an unreadable record is
    /// skipped alike everywhere).
    fn record_votes(&self, block: &mut Delta, raw: &[u8], height: u64) -> Result<Vec<u64>, AppError> {
        let validators = inference::store::validators(block)
            .map_err(|e| AppError::Consensus(format!("validator set: {e}")))?;
        let signed = match votes::verify_record(raw, height - 1, &self.chain_id, &validators) {
            Ok(s) => s,
            Err(e) => {
                warn!(height, error = %e, "skipping an invalid votes record");
                return Ok(Vec::new());
            }
        };
        unmetered(block, height, |ctx| {
            inference::tally::record_reports(ctx, &signed)
        })
        .map_err(|e| AppError::Consensus(format!("recording reports at height {height}: {e}")))
    }

    /// Runs a tx against the latest committed state without keeping its
    /// writes: `cosmos.tx.v1beta1.Service/Simulate`.
    pub fn simulate(storage: &Storage, chain_id: &str, tx_bytes: &[u8]) -> TxOutcome {
        let state = Delta::new(storage.latest_snapshot());
        let height = storage.latest_version().unwrap_or(0) + 1;
        Self::simulate_on(state, height, chain_id, tx_bytes)
    }

    /// Runs a tx in simulation on `state` (e.g. [`App::mempool_state`]) at
    /// `height`; nothing is kept.
    pub fn simulate_on(mut state: Delta, height: u64, chain_id: &str, tx_bytes: &[u8]) -> TxOutcome {
        run_tx(&mut state, tx_bytes, height, chain_id, Mode::Simulate)
    }

    /// The mempool's view (the last commit plus the txs CheckTx accepted
    /// since, as a fork nothing writes back from) and the height the next
    /// block runs at: what `Simulate` runs on, like the SDK's CheckTx state.
    pub fn mempool_state(&self) -> (Delta, u64) {
        (self.check.fork(), self.storage.latest_version().unwrap_or(0) + 1)
    }

    /// The chain id InitChain recorded.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }
}

/// Puts the votes record of the last height first (when any validator
/// reported), then txs in mempool order while they fit the byte limit.
fn prepare_proposal(p: request::PrepareProposal) -> response::PrepareProposal {
    let mut room = p.max_tx_bytes.max(0) as usize;
    let mut txs = Vec::with_capacity(p.txs.len() + 1);
    if let Some(record) = votes::record_tx(p.local_last_commit) {
        if record.len() <= room {
            room -= record.len();
            txs.push(Bytes::from(record));
        } else {
            warn!(
                bytes = record.len(),
                room, "votes record does not fit the block; reports wait"
            );
        }
    }
    for tx in p.txs {
        if tx.len() > room {
            continue;
        }
        room -= tx.len();
        txs.push(tx);
    }
    response::PrepareProposal { txs }
}

/// Runs one tx: stateless checks, the ante handler (its writes kept even if
/// a message fails: fee and sequence), then the messages in a fork that is
/// dropped on any failure.
pub fn run_tx(state: &mut Delta, bytes: &[u8], height: u64, chain_id: &str, mode: Mode) -> TxOutcome {
    let params = match Params::load(state) {
        Ok(p) => p,
        Err(e) => return TxOutcome::rejected(e),
    };
    let tx = match Tx::decode(bytes, &params) {
        Ok(t) => t,
        Err(e) => return TxOutcome::rejected(e),
    };
    let gas_wanted = tx.gas_limit();
    let mut gas = if mode == Mode::Simulate {
        GasMeter::infinite()
    } else {
        GasMeter::new(gas_wanted)
    };
    let mut events = Vec::new();

    let mut ante_state = state.fork();
    let ante = {
        let mut ctx = Ctx {
            state: &mut ante_state,
            gas: &mut gas,
            height,
        };
        tx::ante(&mut ctx, &tx, chain_id, &params, mode, &mut events)
    };
    if let Err(e) = ante {
        return TxOutcome {
            result: Err(e),
            gas_wanted,
            gas_used: gas.used(),
            events: Vec::new(),
        };
    }
    state.absorb(ante_state);

    let mut msg_state = state.fork();
    let mut msg_events = Vec::new();
    let mut responses = Vec::with_capacity(tx.msgs.len());
    let mut failed = None;
    for msg in &tx.msgs {
        let signer = msg.signer();
        let mut ctx = Ctx {
            state: &mut msg_state,
            gas: &mut gas,
            height,
        };
        msg_events.push(Event::new(
            "message",
            [
                ("action", msg.type_url().to_string()).index(),
                (
                    "sender",
                    signer.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                )
                    .index(),
                ("module", msg.module().to_string()).index(),
            ],
        ));
        let r = signer.and_then(|signer| msg.exec(&mut ctx, &signer, chain_id, &mut msg_events));
        match r {
            Ok(any) => responses.push(any),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    if let Some(e) = failed {
        if !matches!(e, TxError::Internal(_)) {
            warn!(height, code = e.code(), error = %e, "tx failed");
        }
        return TxOutcome {
            result: Err(e),
            gas_wanted,
            gas_used: gas.used(),
            events,
        };
    }
    state.absorb(msg_state);
    events.extend(msg_events);
    #[allow(deprecated)]
    let data = TxMsgData {
        data: Vec::new(),
        msg_responses: responses,
    }
    .encode_to_vec();
    TxOutcome {
        result: Ok(data),
        gas_wanted,
        gas_used: gas.used(),
        events,
    }
}
