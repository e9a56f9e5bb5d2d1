//! The relayer's configuration file (TOML, shaped like Hermes's so operators
//! can carry their settings over) and the checks `chimera config validate`
//! runs before anything connects.
//!
//! Every mistake is reported at once, each with the key it concerns and what
//! to write instead: an operator fixing a config should not have to run the
//! relayer once per typo.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, or a key has the wrong type or is unknown.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error, with line and column.
        message: String,
    },
    /// Parsed, but some values cannot work.
    #[error("{path}: {} problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// One line per problem.
        problems: Vec<String>,
    },
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Relay-loop settings shared by every chain.
    #[serde(default)]
    pub relay: RelayConfig,
    /// Prometheus metrics and `/health`.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// Where keys live (default: `keys/` beside the config file).
    #[serde(default)]
    pub key_store: Option<PathBuf>,
    /// The chains, by id.
    #[serde(default)]
    pub chains: Vec<ChainConfig>,
}

/// How the relay loop batches, clears and retries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// Most messages in one transaction (Hermes: `max_msg_num`, 30).
    pub max_msg_num: usize,
    /// Most bytes of messages in one transaction (Hermes: `max_tx_size`).
    pub max_tx_size: usize,
    /// Clear pending packets (ICS-04 queries) every this many blocks of the
    /// source chain; 0 clears only at start.
    pub clear_interval: u64,
    /// How often to poll for a new block when the websocket is down.
    #[serde(with = "duration")]
    pub poll_interval: Duration,
    /// Refresh a client when this fraction of its trusting period has passed
    /// since its last update (Hermes: `refresh_rate`-like, 1/3).
    pub refresh_fraction: f64,
    /// Complete channel handshakes that a counterparty starts (e.g. ICA
    /// registration from Terra Classic).
    pub complete_handshakes: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_msg_num: 30,
            max_tx_size: 2 * 1024 * 1024,
            clear_interval: 100,
            poll_interval: Duration::from_millis(500),
            refresh_fraction: 1.0 / 3.0,
            complete_handshakes: true,
        }
    }
}

/// Metrics endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Serve `/metrics` and `/health`.
    pub enabled: bool,
    /// Listen address (loopback by default).
    pub listen: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:3010".into(),
        }
    }
}

/// One chain the relayer talks to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Chain id, e.g. `columbus-5` or `chimera-local-1`.
    pub id: String,
    /// CometBFT RPC, `http://host:port`.
    pub rpc: String,
    /// Cosmos SDK gRPC, `http://host:port`.
    pub grpc: String,
    /// CometBFT websocket (default: `ws://<rpc host:port>/websocket`); the
    /// relayer polls when it is unreachable.
    #[serde(default)]
    pub websocket: Option<String>,
    /// Bech32 account prefix (`terra`, `chimera`, `cosmos`).
    pub account_prefix: String,
    /// BIP-44 coin type of this chain's keys (330 for Terra Classic).
    #[serde(default = "default_coin_type")]
    pub coin_type: u32,
    /// Name of the key in the key store that signs here.
    pub key: String,
    /// Fee per unit of gas.
    pub gas_price: GasPrice,
    /// Factor over simulated gas.
    #[serde(default = "default_gas_adjustment")]
    pub gas_adjustment: f64,
    /// The highest gas limit the relayer asks for; a batch that needs more
    /// is split.
    #[serde(default = "default_max_gas")]
    pub max_gas: u64,
    /// Gas limit of the simulation tx (a tx whose simulation fails is not
    /// sent: it would fail in its block too).
    #[serde(default = "default_gas")]
    pub default_gas: u64,
    /// Account that pays fees through a fee grant (`x/feegrant`).
    #[serde(default)]
    pub fee_granter: Option<String>,
    /// IBC store key in the chain's multistore.
    #[serde(default = "default_store_prefix")]
    pub store_prefix: String,
    /// Proof specs that clients of this chain hold, as ICS-23 JSON (Hermes's
    /// `proof_specs` format); unset: IAVL + tendermint, what every Cosmos
    /// SDK chain proves with. chimerad needs its own (docs/operators.md).
    #[serde(default)]
    pub proof_specs: Option<String>,
    /// Trusting period of clients of this chain (default 14 days).
    #[serde(default = "default_trusting_period", with = "duration")]
    pub trusting_period: Duration,
    /// Unbonding period recorded in clients of this chain (default 21 days).
    #[serde(default = "default_unbonding_period", with = "duration")]
    pub unbonding_period: Duration,
    /// Clock drift clients of this chain allow.
    #[serde(default = "default_clock_drift", with = "duration")]
    pub clock_drift: Duration,
    /// Which packets to relay from this chain's channels; empty allows all.
    #[serde(default)]
    pub packet_filter: PacketFilter,
    /// Timeout of one RPC or gRPC call.
    #[serde(default = "default_rpc_timeout", with = "duration")]
    pub rpc_timeout: Duration,
}

/// `{ price = 0.025, denom = "uluna" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GasPrice {
    /// Fee per gas unit.
    pub price: f64,
    /// Fee denom.
    pub denom: String,
}

/// Allow or deny listed `(port, channel)` pairs; `*` matches any.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketFilter {
    /// `allow`: only the list; `deny`: all but the list.
    #[serde(default)]
    pub policy: FilterPolicy,
    /// `[["transfer", "channel-0"], ["inference", "*"]]`.
    #[serde(default)]
    pub list: Vec<(String, String)>,
}

/// Filter policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterPolicy {
    /// Relay only the listed pairs (an empty list allows all).
    #[default]
    Allow,
    /// Relay all but the listed pairs.
    Deny,
}

impl PacketFilter {
    /// Whether packets on `port`/`channel` of this chain are relayed.
    pub fn allows(&self, port: &str, channel: &str) -> bool {
        let listed = self.list.iter().any(|(p, c)| glob(p, port) && glob(c, channel));
        match self.policy {
            FilterPolicy::Allow => self.list.is_empty() || listed,
            FilterPolicy::Deny => !listed,
        }
    }
}

fn glob(pattern: &str, s: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => s.starts_with(prefix),
        None => pattern == s,
    }
}

fn default_coin_type() -> u32 {
    118
}
fn default_gas_adjustment() -> f64 {
    1.3
}
fn default_max_gas() -> u64 {
    10_000_000
}
fn default_gas() -> u64 {
    400_000
}
fn default_store_prefix() -> String {
    "ibc".into()
}
fn default_trusting_period() -> Duration {
    Duration::from_secs(14 * 24 * 3600)
}
fn default_unbonding_period() -> Duration {
    Duration::from_secs(21 * 24 * 3600)
}
fn default_clock_drift() -> Duration {
    Duration::from_secs(5)
}
fn default_rpc_timeout() -> Duration {
    Duration::from_secs(10)
}

impl ChainConfig {
    /// The websocket URL: configured, or derived from the RPC address.
    pub fn websocket_url(&self) -> String {
        self.websocket.clone().unwrap_or_else(|| {
            let rest = self
                .rpc
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_end_matches('/');
            format!("ws://{rest}/websocket")
        })
    }
}

impl ChainConfig {
    /// The ICS-23 proof specs clients of this chain hold.
    pub fn parsed_proof_specs(&self) -> Result<Vec<ics23::ProofSpec>, String> {
        match &self.proof_specs {
            None => Ok(vec![ics23::iavl_spec(), ics23::tendermint_spec()]),
            Some(json) => {
                let specs: Vec<ics23::ProofSpec> =
                    serde_json::from_str(json).map_err(|e| format!("not ICS-23 proof specs JSON: {e}"))?;
                if specs.is_empty() {
                    return Err("an empty list: give at least one spec, or remove the key for IAVL".into());
                }
                Ok(specs)
            }
        }
    }
}

/// Durations written as operators write them: `500ms`, `10s`, `5m`, `2h`,
/// `14days` (or `14d`).
pub mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    /// Parses one duration.
    pub fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{s:?}: expected a number then a unit, e.g. \"10s\""))?;
        let secs = |k: u64| Duration::from_secs(n.saturating_mul(k));
        Ok(match unit.trim() {
            "ms" => Duration::from_millis(n),
            "s" | "sec" | "secs" => secs(1),
            "m" | "min" | "mins" => secs(60),
            "h" | "hour" | "hours" => secs(3600),
            "d" | "day" | "days" => secs(86400),
            u => return Err(format!("{s:?}: unknown unit {u:?} (ms, s, m, h, days)")),
        })
    }

    /// Serde adapter: `#[serde(with = "duration")]`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            });
        }
        Ok(config)
    }

    /// The key store directory: configured, or `keys/` beside `config_path`.
    pub fn key_store_dir(&self, config_path: &Path) -> PathBuf {
        match &self.key_store {
            Some(p) if p.is_absolute() => p.clone(),
            Some(p) => config_dir(config_path).join(p),
            None => config_dir(config_path).join("keys"),
        }
    }

    /// The chain with id `id`.
    pub fn chain(&self, id: &str) -> Option<&ChainConfig> {
        self.chains.iter().find(|c| c.id == id)
    }

    /// Every value that cannot work, one sentence each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.chains.is_empty() {
            out.push("no [[chains]]: add one block per chain the relayer connects".into());
        }
        let mut seen = BTreeSet::new();
        for c in &self.chains {
            let at = format!("chains[id={:?}]", c.id);
            if c.id.trim().is_empty() {
                out.push("chains[]: `id` is empty: write the chain id the node reports".into());
            }
            if !seen.insert(c.id.clone()) {
                out.push(format!("{at}: listed twice; chain ids must be unique"));
            }
            for (key, url, schemes) in [
                ("rpc", Some(c.rpc.as_str()), &["http://", "https://"][..]),
                ("grpc", Some(c.grpc.as_str()), &["http://", "https://"][..]),
                ("websocket", c.websocket.as_deref(), &["ws://", "wss://"][..]),
            ] {
                if let Some(url) = url {
                    if !schemes.iter().any(|s| url.starts_with(s)) {
                        out.push(format!(
                            "{at}.{key} = {url:?}: must start with {}",
                            schemes.join(" or ")
                        ));
                    } else if url
                        .split("://")
                        .nth(1)
                        .is_none_or(|r| r.trim_matches('/').is_empty())
                    {
                        out.push(format!("{at}.{key} = {url:?}: no host:port after the scheme"));
                    }
                }
            }
            if c.account_prefix.is_empty()
                || !c
                    .account_prefix
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            {
                out.push(format!(
                    "{at}.account_prefix = {:?}: a bech32 prefix is lowercase letters/digits, e.g. \"terra\"",
                    c.account_prefix
                ));
            }
            if c.key.trim().is_empty() {
                out.push(format!(
                    "{at}.key is empty: name a key added with `chimera keys add`"
                ));
            }
            if !(c.gas_price.price.is_finite() && c.gas_price.price >= 0.0) {
                out.push(format!(
                    "{at}.gas_price.price = {}: must be a number ≥ 0",
                    c.gas_price.price
                ));
            }
            if c.gas_price.denom.is_empty() {
                out.push(format!("{at}.gas_price.denom is empty: e.g. \"uluna\""));
            }
            if !(c.gas_adjustment.is_finite() && c.gas_adjustment >= 1.0) {
                out.push(format!(
                    "{at}.gas_adjustment = {}: must be ≥ 1.0 (a factor over simulated gas)",
                    c.gas_adjustment
                ));
            }
            if c.default_gas > c.max_gas {
                out.push(format!(
                    "{at}: default_gas ({}) is above max_gas ({})",
                    c.default_gas, c.max_gas
                ));
            }
            if c.trusting_period >= c.unbonding_period {
                out.push(format!(
                    "{at}: trusting_period ({:?}) must be shorter than unbonding_period ({:?})",
                    c.trusting_period, c.unbonding_period
                ));
            }
            if c.trusting_period.is_zero() {
                out.push(format!("{at}.trusting_period is zero"));
            }
            if let Err(e) = c.parsed_proof_specs() {
                out.push(format!("{at}.proof_specs: {e}"));
            }
            for (p, ch) in &c.packet_filter.list {
                if p.is_empty() || ch.is_empty() {
                    out.push(format!(
                        "{at}.packet_filter.list: [{p:?}, {ch:?}]: port and channel must be non-empty (use \"*\" for any)"
                    ));
                }
            }
        }
        if self.relay.max_msg_num == 0 {
            out.push("relay.max_msg_num = 0: at least 1 message per transaction".into());
        }
        if self.relay.max_tx_size < 1024 {
            out.push(format!(
                "relay.max_tx_size = {}: too small for one packet (≥ 1024)",
                self.relay.max_tx_size
            ));
        }
        if !(self.relay.refresh_fraction > 0.0 && self.relay.refresh_fraction < 1.0) {
            out.push(format!(
                "relay.refresh_fraction = {}: must be between 0 and 1 (1/3 refreshes a 14-day client every ~4.7 days)",
                self.relay.refresh_fraction
            ));
        }
        if self.relay.poll_interval.is_zero() {
            out.push("relay.poll_interval is zero: e.g. \"500ms\"".into());
        }
        if self.telemetry.enabled && self.telemetry.listen.parse::<std::net::SocketAddr>().is_err() {
            out.push(format!(
                "telemetry.listen = {:?}: not an address like \"127.0.0.1:3010\"",
                self.telemetry.listen
            ));
        }
        out
    }
}

fn config_dir(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [relay]
        clear_interval = 50
        [[chains]]
        id = "chimera-1"
        rpc = "http://127.0.0.1:26657"
        grpc = "http://127.0.0.1:9090"
        account_prefix = "chimera"
        key = "relayer"
        gas_price = { price = 0.025, denom = "uchim" }
        proof_specs = '[{"leafSpec":{"hash":"SHA256","prefix":"AA=="},"innerSpec":{"childOrder":[0,1],"childSize":32,"hash":"SHA256"},"maxDepth":1}]'
        [[chains]]
        id = "columbus-5"
        rpc = "http://127.0.0.1:36657"
        grpc = "http://127.0.0.1:39090"
        account_prefix = "terra"
        coin_type = 330
        key = "relayer"
        gas_price = { price = 28.325, denom = "uluna" }
        trusting_period = "2days"
        packet_filter = { policy = "allow", list = [["transfer", "channel-*"], ["inference", "channel-0"]] }
    "#;

    fn parse(s: &str) -> Config {
        toml::from_str(s).unwrap()
    }

    #[test]
    fn a_good_config_has_no_problems() {
        let c = parse(GOOD);
        assert_eq!(c.problems(), Vec::<String>::new());
        let terra = c.chain("columbus-5").unwrap();
        assert_eq!(terra.coin_type, 330);
        assert_eq!(terra.trusting_period, Duration::from_secs(2 * 86400));
        assert_eq!(terra.websocket_url(), "ws://127.0.0.1:36657/websocket");
        assert_eq!(
            c.chain("chimera-1").unwrap().parsed_proof_specs().unwrap()[0].max_depth,
            1
        );
        assert_eq!(
            terra.parsed_proof_specs().unwrap(),
            vec![ics23::iavl_spec(), ics23::tendermint_spec()]
        );
        assert!(terra.packet_filter.allows("transfer", "channel-7"));
        assert!(terra.packet_filter.allows("inference", "channel-0"));
        assert!(!terra.packet_filter.allows("inference", "channel-1"));
        assert!(c
            .chain("chimera-1")
            .unwrap()
            .packet_filter
            .allows("icahost", "channel-3"));
    }

    #[test]
    fn every_mistake_is_listed() {
        let bad = GOOD
            .replace("http://127.0.0.1:9090", "127.0.0.1:9090")
            .replace("\"terra\"", "\"Terra\"")
            .replace("28.325", "-1")
            .replace("\"2days\"", "\"30days\"");
        let p = parse(&bad).problems();
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(p[0].contains("grpc") && p[0].contains("http://"), "{}", p[0]);
        assert!(p.iter().any(|l| l.contains("account_prefix")));
        assert!(p.iter().any(|l| l.contains("gas_price.price")));
        assert!(p.iter().any(|l| l.contains("trusting_period")));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = toml::from_str::<Config>(&GOOD.replace("key = \"relayer\"", "key_name = \"relayer\""))
            .unwrap_err();
        assert!(e.to_string().contains("key_name"), "{e}");
    }
}
