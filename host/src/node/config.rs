//! `DIR/config/chimerad.toml`: the app side of a node's configuration.
//!
//! CometBFT keeps its own `config.toml`; this file holds what only `chimerad`
//! reads: where the ABCI and gRPC servers listen, where state lives and how
//! much history it keeps, how (and whether) to run the `cometbft` child, and
//! log output. `chimerad init` writes it with comments; relative paths are
//! resolved against the home directory so a home can be moved or copied (as
//! `chimerad testnet` output is).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The config file's path inside a home directory.
pub const CONFIG_FILE: &str = "config/chimerad.toml";

/// Default number of state versions kept for historical queries and proofs.
///
/// Why: relayers prove packets at recent heights; 100,000 blocks (about a
/// day at 1 s blocks) covers any relayer that is merely slow, while bounding
/// disk use.
pub const DEFAULT_KEEP_VERSIONS: u64 = 100_000;

/// Everything `chimerad start` reads from `chimerad.toml`.
///
/// Why: one typed value, validated at load, instead of scattered lookups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Where the ABCI server listens on TCP (when `abci_socket` is unset);
    /// CometBFT's `proxy_app` points here.
    pub abci_address: SocketAddr,
    /// A Unix socket for ABCI, used instead of `abci_address` when set.
    ///
    /// Why: the default. tower-abci's TCP connections do not set
    /// TCP_NODELAY, so every ABCI round trip waited ~40 ms for CometBFT's
    /// delayed ACK (measured: `/abci_info` 44 ms over TCP); a Unix socket has
    /// no Nagle delay.
    #[serde(default)]
    pub abci_socket: Option<PathBuf>,
    /// Where the gRPC query services listen (once they land).
    pub grpc_address: SocketAddr,
    /// The state store.
    pub state: StateConfig,
    /// The consensus engine.
    pub cometbft: CometbftConfig,
    /// Log output.
    #[serde(default)]
    pub log: LogConfig,
    /// Running inference jobs (validators).
    #[serde(default)]
    pub executor: ExecutorSection,
    /// Prometheus metrics (`/metrics`).
    #[serde(default)]
    pub telemetry: TelemetrySection,
}

/// How far above a node's P2P port `chimerad init` puts its metrics
/// listener: inside the node's block of `chimerad testnet`'s layout
/// (`base + 10i + {0..3}` are P2P, RPC, ABCI, gRPC), and clear of
/// CometBFT's own Prometheus default (P2P + 4, 26660).
pub const METRICS_PORT_OFFSET: u16 = 5;

/// `[telemetry]`: chimerad's Prometheus endpoint (`GET /metrics`): the
/// blob store's `chimera_blob_*` and the fee gauges read from the latest
/// committed state.
///
/// Why off when the section is missing: a config written before this
/// section existed keeps its listeners; `chimerad init` writes it on, on
/// loopback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySection {
    /// Serve `/metrics`.
    pub enabled: bool,
    /// Where; keep it on loopback or behind a firewall (no authentication).
    pub listen: SocketAddr,
}

impl Default for TelemetrySection {
    fn default() -> Self {
        TelemetrySection {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 26656 + METRICS_PORT_OFFSET)),
        }
    }
}

impl TelemetrySection {
    /// What `chimerad init` writes for a node with `ports`: on, at
    /// 127.0.0.1:(P2P + [`METRICS_PORT_OFFSET`]); off if that port does
    /// not exist or is one of the node's other ports.
    pub fn beside(ports: &super::Ports) -> TelemetrySection {
        let port = ports
            .p2p
            .checked_add(METRICS_PORT_OFFSET)
            .filter(|p| ![ports.rpc, ports.abci, ports.grpc].contains(p));
        match port {
            Some(p) => TelemetrySection {
                enabled: true,
                listen: SocketAddr::from(([127, 0, 0, 1], p)),
            },
            None => TelemetrySection::default(),
        }
    }
}

/// `[executor]`: whether and how this node runs inference jobs, and where
/// their outputs are kept and served.
///
/// Why: a validator that runs models reports results in its votes; a node
/// that does not (no GPU, a pure RPC node) abstains and still serves the
/// blobs it fetched. Defaults run every registered model on the CPU or the
/// first GPU, with one libtorch thread (validators must agree on thread
/// counts: they change float reduction order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorSection {
    /// Run jobs (and report them in vote extensions).
    pub enabled: bool,
    /// The model registry directory; unset: `$CHIMERA_MODELS_DIR` or the
    /// source tree's `host/models`.
    pub models_dir: Option<PathBuf>,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// libtorch intra-op threads.
    pub threads: usize,
    /// Most jobs queued in the executor.
    pub queue_capacity: usize,
    /// The blob store of outputs (relative to home if not absolute); its
    /// BlobService is served on `grpc_address`.
    pub blob_dir: PathBuf,
    /// Other nodes' gRPC endpoints (`http://host:port`) to fetch agreed
    /// outputs from when this node did not produce the reference itself.
    pub blob_peers: Vec<String>,
    /// For fault tests only: `wrong-results` makes this node report results
    /// that no honest node agrees with. Never set it on a real validator.
    pub fault: String,
}

impl Default for ExecutorSection {
    fn default() -> Self {
        ExecutorSection {
            enabled: true,
            models_dir: None,
            device: "auto".into(),
            threads: 1,
            queue_capacity: 256,
            blob_dir: PathBuf::from("data/blobs"),
            blob_peers: Vec::new(),
            fault: "none".into(),
        }
    }
}

/// `[state]`: the versioned store under the app.
///
/// Why: retention and durability are operator choices with real costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// The RocksDB directory (relative to home if not absolute).
    pub dir: PathBuf,
    /// How many versions to keep (0 = all).
    pub keep_versions: u64,
    /// fsync every commit.
    pub sync: bool,
}

/// `[cometbft]`: the consensus engine `chimerad start` runs.
///
/// Why: operators who supervise CometBFT themselves turn `spawn` off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CometbftConfig {
    /// The binary: a bare name is looked up on `PATH`.
    pub binary: PathBuf,
    /// CometBFT's home (relative to the node home if not absolute).
    pub home: PathBuf,
    /// Whether `chimerad start` spawns `cometbft start` itself.
    pub spawn: bool,
    /// Where the spawned CometBFT's output is appended (relative to home).
    pub log_file: PathBuf,
}

/// `[log]`: `chimerad`'s own tracing output (on stderr).
///
/// Why: plain text for people, JSON lines for log shippers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `plain` or `json`.
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info` or `info,chimera_host=debug`;
    /// `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Plain,
            level: "info".into(),
        }
    }
}

/// The tracing output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines with `key=value` fields.
    Plain,
    /// One JSON object per line.
    Json,
}

impl NodeConfig {
    /// The defaults `chimerad init` writes, listening on loopback with the
    /// given ABCI and gRPC ports.
    ///
    /// Why: the app's listeners are local by default; only CometBFT's P2P
    /// port is meant to face the network.
    pub fn with_ports(abci_port: u16, grpc_port: u16) -> NodeConfig {
        NodeConfig {
            abci_address: SocketAddr::from(([127, 0, 0, 1], abci_port)),
            abci_socket: Some(PathBuf::from("data/abci.sock")),
            grpc_address: SocketAddr::from(([127, 0, 0, 1], grpc_port)),
            state: StateConfig {
                dir: PathBuf::from("data/state"),
                keep_versions: DEFAULT_KEEP_VERSIONS,
                sync: true,
            },
            cometbft: CometbftConfig {
                binary: PathBuf::from("cometbft"),
                home: PathBuf::from("cometbft"),
                spawn: true,
                log_file: PathBuf::from("cometbft.log"),
            },
            log: LogConfig::default(),
            executor: ExecutorSection::default(),
            telemetry: TelemetrySection::default(),
        }
    }

    /// Reads and validates `home/config/chimerad.toml`.
    ///
    /// Why: `start`'s first step; the error names the file and the fix.
    pub fn load(home: &Path) -> Result<NodeConfig> {
        let path = home.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (is {} a node home? create one with `chimerad init --home {}`)",
                path.display(),
                home.display(),
                home.display()
            )
        })?;
        NodeConfig::parse(&text).with_context(|| format!("{}", path.display()))
    }

    /// Parses the file's text.
    ///
    /// Why: `load` without the file, for tests.
    pub fn parse(text: &str) -> Result<NodeConfig> {
        let cfg: NodeConfig = toml::from_str(text)?;
        tracing_subscriber::EnvFilter::try_new(&cfg.log.level)
            .with_context(|| format!("[log] level {:?} is not a valid filter", cfg.log.level))?;
        Ok(cfg)
    }

    /// The file's text: every value with a comment saying what it is for.
    ///
    /// Why: operators read this file before they read any docs.
    pub fn render(&self) -> String {
        let s = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
        let a = |x: &SocketAddr| toml::Value::String(x.to_string()).to_string();
        let format = match self.log.format {
            LogFormat::Plain => "plain",
            LogFormat::Json => "json",
        };
        format!(
            r#"# chimerad: the host chain's application (ABCI 2.0) and its CometBFT child.
# Written by `chimerad init`. Relative paths are resolved against the home
# directory (the directory holding config/). CometBFT's own settings are in
# the CometBFT home's config/config.toml.

# Where the ABCI server listens. CometBFT's `proxy_app` must point here:
# unix://<abci_socket, absolute> when abci_socket is set (the default: no
# Nagle delay on each ABCI round trip), else tcp://<abci_address>. Keep TCP
# on loopback: ABCI has no authentication.
{socket_line}
abci_address = {abci}

# Where the gRPC query services (cosmos.*, ibc.*) will listen.
grpc_address = {grpc}

[state]
# The state store (Jellyfish Merkle tree on RocksDB).
dir = {state_dir}
# How many block versions to keep for historical queries and proofs;
# 0 keeps all. Relayers need recent heights only.
keep_versions = {keep}
# fsync every commit. Turning this off risks losing the last blocks on a
# power failure (CometBFT replays them if it still has them).
sync = {sync}

[cometbft]
# The CometBFT 0.38 binary; a bare name is looked up on PATH.
binary = {binary}
# CometBFT's home directory (config/, data/, keys).
home = {cmt_home}
# Whether `chimerad start` starts `cometbft start --home <home>` itself,
# after the ABCI server is up, and stops it on exit. Set to false (or pass
# --no-cometbft) to run CometBFT under your own supervisor.
spawn = {spawn}
# Where the spawned CometBFT's stdout and stderr are appended.
log_file = {log_file}

[log]
# chimerad's own log on stderr: "plain" or "json".
format = "{format}"
# Filter, e.g. "info" or "info,chimera_host=debug"; RUST_LOG overrides it.
level = {level}

[executor]
# Run inference jobs and report their results in vote extensions. A node
# with this off abstains (it still serves and verifies agreed outputs).
enabled = {ex_enabled}
# The model registry directory; unset: $CHIMERA_MODELS_DIR or host/models.
{models_line}
# "auto" (first GPU if any, else CPU), "cpu", "cuda" or "cuda:N".
device = {ex_device}
# libtorch threads. Keep the same value on every validator: thread counts
# change float reduction order (docs/determinism.md).
threads = {ex_threads}
# Most jobs waiting in the executor; more wait for the next block.
queue_capacity = {ex_queue}
# Outputs (content-addressed, pinned); BlobService serves them on grpc_address.
blob_dir = {ex_blob}
# Other nodes' gRPC endpoints ("http://host:port") to fetch agreed outputs
# from, so this node can serve every result (verified by hash before pinning).
blob_peers = {ex_peers}
# Testing only: "wrong-results" reports results no honest node agrees with.
fault = {ex_fault}

[telemetry]
# Serve Prometheus metrics at http://<listen>/metrics: the blob store
# (chimera_blob_*) and fees and executor records from the latest committed
# state (chimera_fees_*, chimera_executor_*). If the address is taken the
# node logs an error and runs without metrics.
enabled = {tm_enabled}
# No authentication: keep it on loopback or behind a firewall.
listen = {tm_listen}
"#,
            abci = a(&self.abci_address),
            socket_line = match &self.abci_socket {
                Some(p) => format!("abci_socket = {}", s(p)),
                None => "# abci_socket = \"data/abci.sock\"".to_string(),
            },
            grpc = a(&self.grpc_address),
            state_dir = s(&self.state.dir),
            keep = self.state.keep_versions,
            sync = self.state.sync,
            binary = s(&self.cometbft.binary),
            cmt_home = s(&self.cometbft.home),
            spawn = self.cometbft.spawn,
            log_file = s(&self.cometbft.log_file),
            level = toml::Value::String(self.log.level.clone()),
            ex_enabled = self.executor.enabled,
            models_line = match &self.executor.models_dir {
                Some(p) => format!("models_dir = {}", s(p)),
                None => "# models_dir = \"/path/to/models\"".to_string(),
            },
            ex_device = toml::Value::String(self.executor.device.clone()),
            ex_threads = self.executor.threads,
            ex_queue = self.executor.queue_capacity,
            ex_blob = s(&self.executor.blob_dir),
            ex_fault = toml::Value::String(self.executor.fault.clone()),
            tm_enabled = self.telemetry.enabled,
            tm_listen = a(&self.telemetry.listen),
            ex_peers = toml::Value::Array(
                self.executor
                    .blob_peers
                    .iter()
                    .map(|p| toml::Value::String(p.clone()))
                    .collect()
            ),
        )
    }
}

impl NodeConfig {
    /// What CometBFT's `proxy_app` must say for this config in `home`.
    ///
    /// Why: `init` writes it and `start` listens on it; one function keeps
    /// the two from disagreeing.
    pub fn proxy_app(&self, home: &Path) -> String {
        match &self.abci_socket {
            Some(p) => format!("unix://{}", resolve(home, p).display()),
            None => format!("tcp://{}", self.abci_address),
        }
    }
}

/// `path` if absolute, else `home/path`.
///
/// Why: every path in the config is relative to the home unless the
/// operator wrote an absolute one.
pub fn resolve(home: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        home.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_parses_back_to_the_same_config() {
        let mut cfg = NodeConfig::with_ports(31000, 31001);
        cfg.state.keep_versions = 7;
        cfg.log.format = LogFormat::Json;
        cfg.cometbft.binary = PathBuf::from("/opt/with \"quote\"/cometbft");
        cfg.telemetry = TelemetrySection {
            enabled: true,
            listen: "127.0.0.1:31005".parse().unwrap(),
        };
        let text = cfg.render();
        assert_eq!(NodeConfig::parse(&text).unwrap(), cfg);
        assert!(text.contains("abci_address = \"127.0.0.1:31000\""), "{text}");
    }

    #[test]
    fn unknown_keys_and_bad_levels_are_refused() {
        let text = NodeConfig::with_ports(1, 2).render();
        let extra = text.replace("[state]\n", "[state]\nbogus = 1\n");
        assert!(format!("{:#}", NodeConfig::parse(&extra).unwrap_err()).contains("bogus"));
        let bad = text.replace("level = \"info\"", "level = \"info,=[\"");
        assert!(NodeConfig::parse(&bad).is_err());
    }

    #[test]
    fn telemetry_sits_beside_the_p2p_port_or_is_off() {
        let on = TelemetrySection::beside(&super::super::Ports::default());
        assert!(on.enabled);
        assert_eq!(on.listen, "127.0.0.1:26661".parse().unwrap());
        let clash = super::super::Ports {
            grpc: 26661,
            ..Default::default()
        };
        assert!(!TelemetrySection::beside(&clash).enabled);
        let top = super::super::Ports {
            p2p: 65533,
            ..Default::default()
        };
        assert!(!TelemetrySection::beside(&top).enabled);
        // A config without the section: off.
        let text = NodeConfig::with_ports(1, 2).render();
        let old = &text[..text.find("[telemetry]").unwrap()];
        assert!(!NodeConfig::parse(old).unwrap().telemetry.enabled);
    }

    #[test]
    fn relative_paths_resolve_against_home() {
        let home = Path::new("/h");
        assert_eq!(
            resolve(home, Path::new("data/state")),
            PathBuf::from("/h/data/state")
        );
        assert_eq!(resolve(home, Path::new("/abs")), PathBuf::from("/abs"));
    }
}
