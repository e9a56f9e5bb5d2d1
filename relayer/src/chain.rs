//! One chain as the relayer sees it: CometBFT RPC for blocks, headers,
//! proofs and broadcasts; Cosmos SDK gRPC for IBC state and simulation; the
//! relayer's account for signing.
//!
//! Every chain is treated alike (terrad, simd, chimerad): they all speak the
//! same RPC and gRPC, and differ only in config (prefix, coin type, gas
//! price, proof specs, CometBFT version, detected at connect).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::proto::cosmos::auth::v1beta1::query_client::QueryClient as AuthQuery;
use cosmrs::proto::cosmos::auth::v1beta1::{BaseAccount, QueryAccountRequest};
use cosmrs::proto::cosmos::bank::v1beta1::query_client::QueryClient as BankQuery;
use cosmrs::proto::cosmos::bank::v1beta1::QueryBalanceRequest;
use cosmrs::proto::cosmos::tx::v1beta1::service_client::ServiceClient as TxService;
use cosmrs::proto::cosmos::tx::v1beta1::SimulateRequest;
use cosmrs::rpc::{Client, HttpClient};
use cosmrs::tx::{Body, Fee, SignDoc, SignerInfo};
use cosmrs::{Any, Coin};
use prost::Message;
use tendermint::block::Height as TmHeight;
use tokio::sync::Mutex;
use tracing::{debug, info, warn};

use crate::config::ChainConfig;
use crate::keys::StoredKey;
use crate::telemetry::Metrics;

/// A chain call failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// CometBFT RPC failed (node down, timeout, bad answer).
    #[error("{chain}: RPC {what}: {message}")]
    Rpc {
        /// Chain id.
        chain: String,
        /// The call.
        what: String,
        /// The error.
        message: String,
    },
    /// gRPC failed.
    #[error("{chain}: gRPC {what}: {message}")]
    Grpc {
        /// Chain id.
        chain: String,
        /// The call.
        what: String,
        /// The status or transport error.
        message: String,
    },
    /// The node answered something that does not decode.
    #[error("{chain}: {what}: unexpected answer: {message}")]
    Garbage {
        /// Chain id.
        chain: String,
        /// The call.
        what: String,
        /// What was wrong.
        message: String,
    },
    /// The node runs a different chain than the config says.
    #[error("{rpc} reports chain id {got:?}, the config says {want:?}")]
    WrongChain {
        /// RPC address.
        rpc: String,
        /// From the node.
        got: String,
        /// From the config.
        want: String,
    },
    /// A transaction was refused at CheckTx or failed in its block.
    #[error("{chain}: tx {stage} failed (code {code}, {kind}): {log}")]
    Tx {
        /// Chain id.
        chain: String,
        /// `check` or `deliver`.
        stage: &'static str,
        /// ABCI code.
        code: u32,
        /// Error class for metrics.
        kind: &'static str,
        /// The log.
        log: String,
    },
    /// The tx was accepted but not seen in a block in time.
    #[error("{chain}: tx {hash} not committed within {waited:?}")]
    NotCommitted {
        /// Chain id.
        chain: String,
        /// Tx hash.
        hash: String,
        /// How long the relayer waited.
        waited: Duration,
    },
    /// Signing or encoding failed.
    #[error("{chain}: signing: {message}")]
    Sign {
        /// Chain id.
        chain: String,
        /// The error.
        message: String,
    },
}

impl ChainError {
    /// The metric label of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            ChainError::Rpc { .. } => "rpc",
            ChainError::Grpc { .. } => "grpc",
            ChainError::Garbage { .. } => "garbage",
            ChainError::WrongChain { .. } => "wrong_chain",
            ChainError::Tx { kind, .. } => kind,
            ChainError::NotCommitted { .. } => "not_committed",
            ChainError::Sign { .. } => "sign",
        }
    }
}

/// Result of chain calls.
pub type ChainResult<T> = Result<T, ChainError>;

/// What a committed transaction did.
#[derive(Debug, Clone)]
pub struct TxOutcome {
    /// Tx hash (hex).
    pub hash: String,
    /// Block height.
    pub height: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Events of the tx.
    pub events: Vec<tendermint::abci::Event>,
}

/// A value and its proof at a height.
#[derive(Debug, Clone)]
pub struct Proven {
    /// The stored value (empty: absent).
    pub value: Vec<u8>,
    /// `ibc.core.commitment.v1.MerkleProof` bytes.
    pub proof: Vec<u8>,
    /// The height whose header holds the app hash the proof reaches
    /// (query height + 1).
    pub proof_height: u64,
}

/// The relayer's account on a chain: number and next sequence.
#[derive(Debug, Clone, Copy)]
struct Account {
    number: u64,
    sequence: u64,
}

/// A connected chain.
pub struct Chain {
    /// Its configuration.
    pub config: ChainConfig,
    /// Revision number parsed from the chain id (`columbus-5` → 5).
    pub revision: u64,
    rpc: HttpClient,
    grpc: tonic::transport::Channel,
    signer: SigningKey,
    /// The relayer's address here.
    pub address: String,
    account: Mutex<Option<Account>>,
    metrics: Metrics,
}

/// One line for a CometBFT RPC error: "unreachable: ..." when the node
/// could not be reached, "bad answer: ..." when it answered something that
/// is not CometBFT JSON-RPC, with the causes joined by `: ` (the error's own
/// `Display` spans many lines and a backtrace).
pub fn rpc_error_text(e: &cosmrs::rpc::Error) -> String {
    use cosmrs::rpc::error::ErrorDetail as D;
    let mut parts: Vec<String> = Vec::new();
    for cause in e.trace().chain() {
        let line = cause
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        if !line.is_empty() && !parts.contains(&line) {
            parts.push(line);
        }
    }
    let what = match e.detail() {
        D::Http(_) | D::Io(_) | D::Timeout(_) | D::WebSocket(_) | D::WebSocketTimeout(_) => "unreachable",
        D::Response(_) => "error response",
        _ => "bad answer",
    };
    format!("{what}: {}", parts.join(": "))
}

/// ibc-go's `ParseChainID`: the number after the last `-` when the id has the
/// revision format, else 0.
pub fn revision_of(chain_id: &str) -> u64 {
    match chain_id.rsplit_once('-') {
        Some((name, n)) if !name.is_empty() && !n.is_empty() && !n.starts_with('0') => n.parse().unwrap_or(0),
        _ => 0,
    }
}

impl Chain {
    /// Connects: checks the node runs the configured chain and detects its
    /// CometBFT version (0.37 for Terra Classic, 0.38 for chimerad).
    pub async fn connect(
        config: ChainConfig,
        key: &StoredKey,
        metrics: Metrics,
    ) -> anyhow::Result<Arc<Chain>> {
        let url: cosmrs::rpc::HttpClientUrl = config
            .rpc
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: rpc {:?}: {e}", config.id, config.rpc))?;
        let probe = HttpClient::builder(url.clone())
            .build()
            .map_err(|e| anyhow::anyhow!("{}: rpc {}: {e}", config.id, config.rpc))?;
        let status = tokio::time::timeout(config.rpc_timeout, probe.status())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "{}: rpc {} did not answer within {:?}",
                    config.id,
                    config.rpc,
                    config.rpc_timeout
                )
            })?
            .map_err(|e| anyhow::anyhow!("{}: rpc {}: {}", config.id, config.rpc, rpc_error_text(&e)))?;
        let got = status.node_info.network.to_string();
        if got != config.id {
            return Err(ChainError::WrongChain {
                rpc: config.rpc.clone(),
                got,
                want: config.id.clone(),
            }
            .into());
        }
        let compat = cosmrs::rpc::client::CompatMode::from_version(status.node_info.version.clone())
            .unwrap_or(cosmrs::rpc::client::CompatMode::V0_37);
        let rpc = HttpClient::builder(url)
            .compat_mode(compat)
            .build()
            .map_err(|e| anyhow::anyhow!("{}: rpc: {e}", config.id))?;
        let grpc = tonic::transport::Endpoint::from_shared(config.grpc.clone())
            .map_err(|e| anyhow::anyhow!("{}: grpc {:?}: {e}", config.id, config.grpc))?
            .timeout(config.rpc_timeout)
            .connect_lazy();
        let signer = key
            .signing_key()
            .map_err(|e| anyhow::anyhow!("{}: key {:?}: {e}", config.id, key.name))?;
        let address = signer
            .public_key()
            .account_id(&config.account_prefix)
            .map_err(|e| anyhow::anyhow!("{}: address: {e}", config.id))?
            .to_string();
        info!(chain = %config.id, %address, cometbft = %status.node_info.version, "connected");
        Ok(Arc::new(Chain {
            revision: revision_of(&config.id),
            config,
            rpc,
            grpc,
            signer,
            address,
            account: Mutex::new(None),
            metrics,
        }))
    }

    /// Chain id.
    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// The gRPC channel (cheap to clone), for typed query clients.
    pub fn grpc(&self) -> tonic::transport::Channel {
        self.grpc.clone()
    }

    /// The RPC client.
    pub fn rpc(&self) -> &HttpClient {
        &self.rpc
    }

    pub(crate) fn rpc_err(&self, what: impl Into<String>, e: impl std::fmt::Display) -> ChainError {
        ChainError::Rpc {
            chain: self.id().into(),
            what: what.into(),
            message: e.to_string(),
        }
    }

    pub(crate) fn grpc_err(&self, what: impl Into<String>, e: impl std::fmt::Display) -> ChainError {
        ChainError::Grpc {
            chain: self.id().into(),
            what: what.into(),
            message: e.to_string(),
        }
    }

    pub(crate) fn garbage(&self, what: impl Into<String>, e: impl std::fmt::Display) -> ChainError {
        ChainError::Garbage {
            chain: self.id().into(),
            what: what.into(),
            message: e.to_string(),
        }
    }

    async fn timed<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, cosmrs::rpc::Error>>,
    ) -> ChainResult<T> {
        match tokio::time::timeout(self.config.rpc_timeout, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.rpc_err(what, rpc_error_text(&e))),
            Err(_) => Err(self.rpc_err(what, format!("no answer within {:?}", self.config.rpc_timeout))),
        }
    }

    /// Latest committed height and its block time.
    pub async fn latest(&self) -> ChainResult<(u64, tendermint::Time)> {
        let s = self.timed("status", self.rpc.status()).await?;
        Ok((
            s.sync_info.latest_block_height.value(),
            s.sync_info.latest_block_time,
        ))
    }

    /// Every event of block `height`: tx events then block events (begin,
    /// end, or FinalizeBlock's, whichever this CometBFT version has).
    pub async fn block_events(&self, height: u64) -> ChainResult<Vec<tendermint::abci::Event>> {
        let h = TmHeight::try_from(height).map_err(|e| self.garbage("height", e))?;
        let r = self.timed("block_results", self.rpc.block_results(h)).await?;
        let mut out = Vec::new();
        out.extend(r.begin_block_events.unwrap_or_default());
        for tx in r.txs_results.unwrap_or_default() {
            if tx.code.is_ok() {
                out.extend(tx.events);
            }
        }
        out.extend(r.end_block_events.unwrap_or_default());
        out.extend(r.finalize_block_events);
        Ok(out)
    }

    /// Events of the txs and blocks matching `query` (CometBFT's indexer),
    /// for clearing packets whose events the relayer did not see.
    pub async fn search_events(&self, query: &str) -> ChainResult<Vec<(u64, Vec<tendermint::abci::Event>)>> {
        let q: cosmrs::rpc::query::Query = query.parse().map_err(|e| self.garbage("query", e))?;
        let mut out = Vec::new();
        let txs = self
            .timed(
                "tx_search",
                self.rpc
                    .tx_search(q.clone(), false, 1, 100, cosmrs::rpc::Order::Ascending),
            )
            .await?;
        for tx in txs.txs {
            if tx.tx_result.code.is_ok() {
                out.push((tx.height.value(), tx.tx_result.events));
            }
        }
        if out.is_empty() {
            if let Ok(blocks) = self
                .timed(
                    "block_search",
                    self.rpc.block_search(q, 1, 100, cosmrs::rpc::Order::Ascending),
                )
                .await
            {
                for b in blocks.blocks {
                    let h = b.block.header.height.value();
                    out.push((h, self.block_events(h).await?));
                }
            }
        }
        Ok(out)
    }

    /// `key` of the IBC store at `height` with its Merkle proof.
    pub async fn prove(&self, key: &str, height: u64) -> ChainResult<Proven> {
        let path = format!("store/{}/key", self.config.store_prefix);
        let h = TmHeight::try_from(height).map_err(|e| self.garbage("height", e))?;
        let r = self
            .timed(
                "abci_query",
                self.rpc
                    .abci_query(Some(path), key.as_bytes().to_vec(), Some(h), true),
            )
            .await?;
        if r.code.is_err() {
            return Err(self.garbage(
                format!("abci_query {key}"),
                format!("code {:?}: {}", r.code, r.log),
            ));
        }
        let ops = r
            .proof
            .ok_or_else(|| self.garbage(format!("abci_query {key}"), "no proof"))?;
        let mut proofs = Vec::new();
        for op in ops.ops {
            let p = ibc_proto::ics23::CommitmentProof::decode(op.data.as_slice())
                .map_err(|e| self.garbage(format!("proof of {key}"), e))?;
            proofs.push(p);
        }
        let merkle = ibc_proto::ibc::core::commitment::v1::MerkleProof { proofs };
        Ok(Proven {
            value: r.value,
            proof: merkle.encode_to_vec(),
            proof_height: r.height.value() + 1,
        })
    }

    /// [`prove`](Self::prove) of a key that must exist, then checks the proof against the app hash
    /// in header `proof_height` with this chain's proof specs, as the
    /// counterparty's client will: a node answering with a bad proof is
    /// caught here with the key named, not as a failed tx on the other
    /// chain.
    pub async fn prove_checked(&self, key: &str, height: u64) -> ChainResult<Proven> {
        let p = self.prove(key, height).await?;
        if p.value.is_empty() {
            return Err(self.garbage(
                format!("proof of {key}"),
                format!("nothing stored there at height {height}"),
            ));
        }
        let th = TmHeight::try_from(p.proof_height).map_err(|e| self.garbage("height", e))?;
        let header = self.timed("header", self.rpc.header(th)).await?.header;
        let specs = self
            .config
            .parsed_proof_specs()
            .map_err(|e| self.garbage("proof_specs", e))?;
        crate::proof::verify_membership(
            &specs,
            header.app_hash.as_bytes(),
            self.config.store_prefix.as_bytes(),
            key.as_bytes(),
            &p.value,
            &p.proof,
        )
        .map_err(|e| self.garbage(format!("proof of {key} at {height}"), e))?;
        Ok(p)
    }

    /// The relayer's balance in the fee denom (for the metric and the
    /// out-of-funds message).
    pub async fn fee_balance(&self) -> ChainResult<u128> {
        let mut q = BankQuery::new(self.grpc());
        let r = q
            .balance(QueryBalanceRequest {
                address: self.address.clone(),
                denom: self.config.gas_price.denom.clone(),
            })
            .await
            .map_err(|e| self.grpc_err("Balance", e.message()))?;
        let amount = r
            .into_inner()
            .balance
            .map(|c| c.amount)
            .unwrap_or_default()
            .parse::<u128>()
            .map_err(|e| self.garbage("Balance", e))?;
        self.metrics
            .set_balance(self.id(), &self.config.gas_price.denom, amount);
        Ok(amount)
    }

    async fn query_account(&self) -> ChainResult<Account> {
        let mut q = AuthQuery::new(self.grpc());
        let r = q
            .account(QueryAccountRequest {
                address: self.address.clone(),
            })
            .await
            .map_err(|e| {
                if e.code() == tonic::Code::NotFound {
                    ChainError::Tx {
                        chain: self.id().into(),
                        stage: "check",
                        code: 5,
                        kind: "out_of_funds",
                        log: format!(
                            "account {} does not exist: fund it with {}",
                            self.address, self.config.gas_price.denom
                        ),
                    }
                } else {
                    self.grpc_err("Account", e.message())
                }
            })?;
        let any = r
            .into_inner()
            .account
            .ok_or_else(|| self.garbage("Account", "empty"))?;
        let base = BaseAccount::decode(any.value.as_slice()).map_err(|e| self.garbage("Account", e))?;
        Ok(Account {
            number: base.account_number,
            sequence: base.sequence,
        })
    }

    fn sign(
        &self,
        msgs: &[Any],
        account: Account,
        gas: u64,
        chain_id: &tendermint::chain::Id,
    ) -> ChainResult<Vec<u8>> {
        let sign_err = |e: cosmrs::ErrorReport| ChainError::Sign {
            chain: self.id().into(),
            message: e.to_string(),
        };
        let price = self.config.gas_price.price;
        let amount = (gas as f64 * price).ceil() as u128;
        let denom = self.config.gas_price.denom.parse().map_err(sign_err)?;
        let mut fee = Fee::from_amount_and_gas(Coin { denom, amount }, gas);
        if let Some(g) = &self.config.fee_granter {
            fee.granter = Some(g.parse().map_err(sign_err)?);
        }
        let body = Body::new(msgs.to_vec(), "", 0u32);
        let auth = SignerInfo::single_direct(Some(self.signer.public_key()), account.sequence).auth_info(fee);
        let doc = SignDoc::new(&body, &auth, chain_id, account.number).map_err(sign_err)?;
        doc.sign(&self.signer)
            .map_err(sign_err)?
            .to_bytes()
            .map_err(sign_err)
    }

    async fn simulate(
        &self,
        msgs: &[Any],
        account: Account,
        chain_id: &tendermint::chain::Id,
    ) -> ChainResult<u64> {
        let tx = self.sign(msgs, account, self.config.default_gas, chain_id)?;
        let mut svc = TxService::new(self.grpc());
        #[allow(deprecated)]
        let r = svc
            .simulate(SimulateRequest {
                tx: None,
                tx_bytes: tx,
            })
            .await
            .map_err(|e| ChainError::Tx {
                chain: self.id().into(),
                stage: "simulate",
                code: 0,
                kind: classify(e.message()),
                log: e.message().to_string(),
            })?;
        Ok(r.into_inner()
            .gas_info
            .map(|g| g.gas_used)
            .unwrap_or(self.config.default_gas))
    }

    /// Signs `msgs` in one tx (gas by simulation × adjustment, capped at
    /// `max_gas`), broadcasts it, and returns its hash once CheckTx accepts
    /// it. A sequence mismatch resyncs the account from the chain and
    /// retries once.
    pub async fn submit(&self, msgs: Vec<Any>) -> ChainResult<(String, u64)> {
        let chain_id: tendermint::chain::Id = self.id().parse().map_err(|e| self.garbage("chain id", e))?;
        let mut guard = self.account.lock().await;
        for attempt in 0..2 {
            let account = match *guard {
                Some(a) => a,
                None => self.query_account().await?,
            };
            let gas = match self.simulate(&msgs, account, &chain_id).await {
                Ok(g) => ((g as f64 * self.config.gas_adjustment).ceil() as u64).min(self.config.max_gas),
                Err(e) if e.kind() == "sequence_mismatch" => match expected_sequence(&e.to_string()) {
                    // Some chains (chimerad) simulate on committed state, which
                    // lags our pending txs: estimate gas at the sequence it
                    // expects, sign with ours.
                    Some(seq) if seq < account.sequence => {
                        let at = Account {
                            sequence: seq,
                            ..account
                        };
                        let g = self.simulate(&msgs, at, &chain_id).await?;
                        ((g as f64 * self.config.gas_adjustment).ceil() as u64).min(self.config.max_gas)
                    }
                    // Ahead of us: another signer with this key (a second
                    // relayer) has txs in the mempool; take its next sequence.
                    Some(seq) if attempt == 0 => {
                        warn!(chain = %self.id(), expected = seq, ours = account.sequence,
                            "the account's sequence moved on (another process signs with this key?)");
                        self.metrics.tx_failed(self.id(), "sequence_mismatch");
                        *guard = Some(Account {
                            sequence: seq,
                            ..account
                        });
                        continue;
                    }
                    _ if attempt == 0 => {
                        warn!(chain = %self.id(), error = %e, "account sequence out of date; resyncing");
                        self.metrics.tx_failed(self.id(), "sequence_mismatch");
                        *guard = None;
                        continue;
                    }
                    _ => return Err(e),
                },
                Err(e) if matches!(e.kind(), "out_of_funds" | "redundant") => {
                    self.metrics.tx_failed(self.id(), e.kind());
                    return Err(e);
                }
                Err(e) => {
                    // A tx whose simulation fails would fail in its block too
                    // (and pay for it): not sent; the round retries with fresh
                    // state. `default_gas` only signs the simulation itself.
                    debug!(chain = %self.id(), error = %e, "simulation failed; not sending");
                    self.metrics.tx_failed(self.id(), "simulate");
                    return Err(e);
                }
            };
            let bytes = self.sign(&msgs, account, gas, &chain_id)?;
            let r = self
                .timed("broadcast_tx_sync", self.rpc.broadcast_tx_sync(bytes))
                .await?;
            if r.code.is_ok() {
                *guard = Some(Account {
                    number: account.number,
                    sequence: account.sequence + 1,
                });
                return Ok((r.hash.to_string(), gas));
            }
            let err = ChainError::Tx {
                chain: self.id().into(),
                stage: "check",
                code: r.code.value(),
                kind: classify_code(r.code.value(), &r.log),
                log: r.log.clone(),
            };
            self.metrics.tx_failed(self.id(), err.kind());
            if err.kind() == "sequence_mismatch" && attempt == 0 {
                warn!(chain = %self.id(), log = %r.log, "sequence mismatch at CheckTx; resyncing");
                *guard = None;
                continue;
            }
            *guard = None;
            return Err(err);
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Waits until tx `hash` is in a block and returns what it did; a
    /// failed tx is an error with its log.
    pub async fn wait_tx(&self, hash: &str, within: Duration) -> ChainResult<TxOutcome> {
        let h: tendermint::Hash = hash.parse().map_err(|e| self.garbage("tx hash", e))?;
        let start = Instant::now();
        loop {
            if let Ok(Ok(r)) = tokio::time::timeout(self.config.rpc_timeout, self.rpc.tx(h, false)).await {
                if r.tx_result.code.is_err() {
                    let kind = classify_code(r.tx_result.code.value(), &r.tx_result.log);
                    self.metrics.tx_failed(self.id(), kind);
                    return Err(ChainError::Tx {
                        chain: self.id().into(),
                        stage: "deliver",
                        code: r.tx_result.code.value(),
                        kind,
                        log: r.tx_result.log,
                    });
                }
                return Ok(TxOutcome {
                    hash: hash.into(),
                    height: r.height.value(),
                    gas_used: r.tx_result.gas_used as u64,
                    events: r.tx_result.events,
                });
            }
            if start.elapsed() > within {
                return Err(ChainError::NotCommitted {
                    chain: self.id().into(),
                    hash: hash.into(),
                    waited: within,
                });
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// `submit` then `wait_tx`, recording metrics.
    pub async fn send(&self, msgs: Vec<Any>) -> ChainResult<TxOutcome> {
        let n = msgs.len();
        let (hash, gas) = self.submit(msgs).await?;
        let out = self.wait_tx(&hash, Duration::from_secs(60)).await?;
        self.record_fee(n, out.gas_used, gas);
        Ok(out)
    }

    /// Records one committed tx in the metrics.
    pub fn record_fee(&self, msgs: usize, gas_used: u64, gas_limit: u64) {
        let fee = (gas_limit as f64 * self.config.gas_price.price).ceil() as u128;
        self.metrics
            .tx_submitted(self.id(), msgs, gas_used, fee, &self.config.gas_price.denom);
    }

    /// Metrics handle.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// The sequence an "account sequence mismatch, expected N, got M" error
/// names.
fn expected_sequence(log: &str) -> Option<u64> {
    let rest = &log[log.find("expected ")? + "expected ".len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Error class of a gRPC/ABCI error message, for metrics and for deciding
/// what to do: retry, resync, skip or stop.
pub fn classify(log: &str) -> &'static str {
    if log.contains("account sequence mismatch") || log.contains("incorrect account sequence") {
        "sequence_mismatch"
    } else if log.contains("insufficient funds")
        || log.contains("insufficient fee")
        || log.contains("does not exist") && log.contains("account")
    {
        "out_of_funds"
    } else if log.contains("packet messages are redundant")
        || log.contains("redundant")
        || log.contains("already been received")
        || log.contains("packet already received")
    {
        "redundant"
    } else if log.contains("out of gas") {
        "out_of_gas"
    } else {
        "tx_failed"
    }
}

fn classify_code(code: u32, log: &str) -> &'static str {
    match code {
        32 => "sequence_mismatch",
        5 | 13 => "out_of_funds",
        11 => "out_of_gas",
        _ => classify(log),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_follow_ibc_go() {
        assert_eq!(revision_of("columbus-5"), 5);
        assert_eq!(revision_of("chimera-local-1"), 1);
        assert_eq!(revision_of("localterra"), 0);
        assert_eq!(revision_of("chain-01"), 0);
        assert_eq!(revision_of("-3"), 0);
    }

    #[test]
    fn errors_are_classified() {
        assert_eq!(
            classify("account sequence mismatch, expected 5, got 4"),
            "sequence_mismatch"
        );
        assert_eq!(
            classify("spendable balance 0uluna is smaller than 10uluna: insufficient funds"),
            "out_of_funds"
        );
        assert_eq!(classify("packet messages are redundant"), "redundant");
        assert_eq!(classify_code(11, ""), "out_of_gas");
        assert_eq!(
            expected_sequence("account sequence mismatch, expected 7, got 9: incorrect"),
            Some(7)
        );
        assert_eq!(expected_sequence("insufficient funds"), None);
    }
}
