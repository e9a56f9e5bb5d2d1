//! `chimera fees ...` at the binary's edge: read the host chain's fee
//! records (`chimera.fees.v1.Query`, docs/tokenomics.md) from any chimerad
//! gRPC endpoint and print them as text tables or JSON. Exit codes: 0 ok,
//! 1 the node failed or refused, 2 a usage mistake; errors are one line.
//!
//! The tonic client is `chimera_host::services::fees`, which builds without
//! chimera-host's `node` feature (no libtorch, no RocksDB), as the blob
//! client of `chimera fetch` does. No config file and no key: the queries
//! are public.

use std::process::ExitCode;

use crate::edge::one_line;
use std::time::Duration;

use anyhow::anyhow;
use chimera_host::services::fees::QueryClient;
use chimera_packets::proto::fees as pb;
use clap::{Args, Subcommand};
use ibc_proto::cosmos::base::v1beta1::Coin;
use serde_json::{json, Value};
use tonic::transport::{Channel, Endpoint};

/// The gRPC header that picks the height of a query (Cosmos SDK's).
const HEIGHT_HEADER: &str = "x-cosmos-block-height";

/// Which node, at which height, and how to print.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// A Chimera host node's gRPC endpoint (chimerad's `grpc_address`), e.g.
    /// http://127.0.0.1:9090.
    #[arg(long, env = "CHIMERA_HOST_GRPC", value_name = "GRPC_URL")]
    node: String,
    /// Read the state committed at this block height (default: the latest;
    /// the node must still keep that version).
    #[arg(long, value_parser = parse_height)]
    height: Option<u64>,
    /// Print JSON (amounts as decimal strings, as on the chain) instead of
    /// a table.
    #[arg(long)]
    json: bool,
}

/// `chimera fees ...`.
#[derive(Subcommand, Debug)]
pub enum FeesCommand {
    /// The fee parameters: prices per model and denom, the split of each
    /// fee (executors, burn, community) in basis points, the fault limit,
    /// and the route of Terra Classic denoms home.
    Params(Target),
    /// What fees have done per denom since genesis: collected, paid to
    /// executors, burned, sent to the community, refunded, and the burn and
    /// community parts still pending or in flight to Terra Classic.
    Totals(Target),
    /// Every validator's record as an executor: consensus address (hex),
    /// operator account (paid here), coins earned, jobs paid, faults and
    /// whether it is excluded from jobs until it re-registers its key.
    Executors(Target),
}

fn parse_height(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("the height must be at least 1 (leave --height out for the latest)".into()),
        Ok(h) if h > i64::MAX as u64 => Err(format!("{s:?} is beyond any block height")),
        Ok(h) => Ok(h),
        Err(_) => Err(format!("{s:?} is not a block height (a positive integer)")),
    }
}

/// A usage mistake found after parsing (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

/// Runs one `chimera fees` command; prints its own errors.
pub fn run(cmd: FeesCommand) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(dispatch(cmd)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let usage = e.chain().any(|c| c.downcast_ref::<Usage>().is_some());
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// The endpoint of `--node`: a malformed URL is a usage mistake; one that
/// does not answer is a failure.
async fn connect(node: &str) -> anyhow::Result<QueryClient<Channel>> {
    if !(node.starts_with("http://") || node.starts_with("https://")) {
        return Err(Usage(format!(
            "--node {node:?} is not a gRPC URL: write it as http://HOST:PORT (chimerad's grpc_address)"
        ))
        .into());
    }
    let ep = Endpoint::from_shared(node.to_string())
        .map_err(|e| Usage(format!("--node {node:?} is not a URL: {e}")))?
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30));
    let channel = ep
        .connect()
        .await
        .map_err(|e| anyhow!("cannot reach {node}: {}", source_chain(&e)))?;
    Ok(QueryClient::new(channel))
}

fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut s = e.source();
    while let Some(x) = s {
        let t = x.to_string();
        if !parts.contains(&t) {
            parts.push(t);
        }
        s = x.source();
    }
    parts.join(": ")
}

/// A request with the height header when `--height` is given.
fn request<T>(msg: T, height: Option<u64>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some(h) = height {
        r.metadata_mut().insert(HEIGHT_HEADER, h.into());
    }
    r
}

/// The height the node says it read (0 if it did not say).
fn read_height<T>(r: &tonic::Response<T>) -> u64 {
    r.metadata()
        .get(HEIGHT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// One line for a refused or failed query.
fn status_error(method: &str, node: &str, s: tonic::Status) -> anyhow::Error {
    if s.code() == tonic::Code::Unimplemented {
        return anyhow!(
            "{node} does not serve chimera.fees.v1.Query/{method} (a chimerad without the fees module?)"
        );
    }
    let msg = if s.message().is_empty() {
        format!("{:?}", s.code())
    } else {
        format!("{} ({:?})", s.message(), s.code())
    };
    anyhow!("chimera.fees.v1.Query/{method} on {node}: {msg}")
}

async fn dispatch(cmd: FeesCommand) -> anyhow::Result<()> {
    match cmd {
        FeesCommand::Params(t) => {
            let mut q = connect(&t.node).await?;
            let r = q
                .params(request(pb::QueryParamsRequest {}, t.height))
                .await
                .map_err(|s| status_error("Params", &t.node, s))?;
            let height = read_height(&r);
            let p = r.into_inner().params.unwrap_or_default();
            print_out(t.json, params_json(&p, height), || params_text(&p, height));
        }
        FeesCommand::Totals(t) => {
            let mut q = connect(&t.node).await?;
            let r = q
                .totals(request(pb::QueryTotalsRequest {}, t.height))
                .await
                .map_err(|s| status_error("Totals", &t.node, s))?;
            let height = read_height(&r);
            let totals = r.into_inner().totals;
            print_out(t.json, totals_json(&totals, height), || {
                totals_text(&totals, height)
            });
        }
        FeesCommand::Executors(t) => {
            let mut q = connect(&t.node).await?;
            let r = q
                .executors(request(pb::QueryExecutorsRequest {}, t.height))
                .await
                .map_err(|s| status_error("Executors", &t.node, s))?;
            let height = read_height(&r);
            let executors = r.into_inner().executors;
            print_out(t.json, executors_json(&executors, height), || {
                executors_text(&executors, height)
            });
        }
    }
    Ok(())
}

fn print_out(json: bool, value: Value, text: impl FnOnce() -> String) {
    if json {
        println!("{value:#}");
    } else {
        print!("{}", text());
    }
}

pub(crate) fn or_zero(s: &str) -> &str {
    if s.is_empty() {
        "0"
    } else {
        s
    }
}

fn coins(c: &[Coin]) -> String {
    if c.is_empty() {
        return "-".into();
    }
    c.iter()
        .map(|c| format!("{}{}", or_zero(&c.amount), c.denom))
        .collect::<Vec<_>>()
        .join(",")
}

fn percent(bps: u32) -> String {
    format!("{}.{:02}%", bps / 100, bps % 100)
}

fn params_json(p: &pb::Params, height: u64) -> Value {
    let r = p.route.clone().unwrap_or_default();
    json!({
        "height": height,
        "authority": p.authority,
        "prices": p.prices.iter().map(|x| json!({
            "model": x.model, "denom": x.denom, "amount": x.amount,
        })).collect::<Vec<_>>(),
        "executor_bps": p.executor_bps,
        "burn_bps": p.burn_bps,
        "community_bps": p.community_bps,
        "fault_limit": p.fault_limit,
        "route": {
            "channel": r.channel,
            "burn_address": r.burn_address,
            "community_address": r.community_address,
            "send_interval_blocks": r.send_interval_blocks,
            "timeout_seconds": r.timeout_seconds,
        },
    })
}

fn params_text(p: &pb::Params, height: u64) -> String {
    let mut out = format!("fee parameters at height {height}\n");
    let authority = if p.authority.is_empty() {
        "none (fixed at genesis)"
    } else {
        &p.authority
    };
    out += &format!("authority     {authority}\n");
    out += &format!(
        "split         executors {}, burn {}, community {}\n",
        percent(p.executor_bps),
        percent(p.burn_bps),
        percent(p.community_bps)
    );
    out += &format!(
        "fault limit   {} (faults before an executor gets no more jobs)\n",
        p.fault_limit
    );
    match &p.route {
        Some(r) if !r.channel.is_empty() => {
            out += &format!(
                "route         {} every {} blocks (timeout {}s): burn to {}, community to {}\n",
                r.channel,
                r.send_interval_blocks,
                r.timeout_seconds,
                or_dash(&r.burn_address),
                or_dash(&r.community_address)
            );
        }
        _ => out += "route         none (Terra Classic parts wait in the module accounts)\n",
    }
    if p.prices.is_empty() {
        out += "prices        none (requests pay what they offer)\n";
    } else {
        out += "prices\n";
        let rows: Vec<Vec<String>> = p
            .prices
            .iter()
            .map(|x| vec![x.model.clone(), x.denom.clone(), or_zero(&x.amount).to_string()])
            .collect();
        out += &indent(&table(&["MODEL", "DENOM", "AMOUNT"], &rows), "  ");
    }
    out
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

pub(crate) fn totals_json(totals: &[pb::Total], height: u64) -> Value {
    json!({
        "height": height,
        "totals": totals.iter().map(|t| json!({
            "denom": t.denom,
            "collected": or_zero(&t.collected),
            "paid_to_executors": or_zero(&t.paid_to_executors),
            "burned": or_zero(&t.burned),
            "burn_pending": or_zero(&t.burn_pending),
            "burn_in_flight": or_zero(&t.burn_in_flight),
            "community_paid": or_zero(&t.community_paid),
            "community_pending": or_zero(&t.community_pending),
            "community_in_flight": or_zero(&t.community_in_flight),
            "refunded": or_zero(&t.refunded),
        })).collect::<Vec<_>>(),
    })
}

fn totals_text(totals: &[pb::Total], height: u64) -> String {
    let mut out = format!("fee totals since genesis, at height {height}\n");
    if totals.is_empty() {
        out += "no fees yet\n";
        return out;
    }
    let rows: Vec<Vec<String>> = totals
        .iter()
        .map(|t| {
            [
                t.denom.as_str(),
                or_zero(&t.collected),
                or_zero(&t.paid_to_executors),
                or_zero(&t.burned),
                or_zero(&t.burn_pending),
                or_zero(&t.burn_in_flight),
                or_zero(&t.community_paid),
                or_zero(&t.community_pending),
                or_zero(&t.community_in_flight),
                or_zero(&t.refunded),
            ]
            .map(str::to_string)
            .to_vec()
        })
        .collect();
    out += &table(
        &[
            "DENOM",
            "COLLECTED",
            "TO_EXECUTORS",
            "BURNED",
            "BURN_PENDING",
            "BURN_IN_FLIGHT",
            "COMMUNITY",
            "COMMUNITY_PENDING",
            "COMMUNITY_IN_FLIGHT",
            "REFUNDED",
        ],
        &rows,
    );
    out
}

fn executors_json(executors: &[pb::Executor], height: u64) -> Value {
    json!({
        "height": height,
        "executors": executors.iter().map(|e| json!({
            "validator": hex::encode_upper(&e.validator),
            "operator": e.operator,
            "earned": e.earned.iter().map(|c| json!({"denom": c.denom, "amount": or_zero(&c.amount)})).collect::<Vec<_>>(),
            "jobs_paid": e.jobs_paid,
            "faults": e.faults,
            "excluded": e.excluded,
        })).collect::<Vec<_>>(),
    })
}

fn executors_text(executors: &[pb::Executor], height: u64) -> String {
    let mut out = format!("executors at height {height}\n");
    if executors.is_empty() {
        out += "no validators\n";
        return out;
    }
    let rows: Vec<Vec<String>> = executors
        .iter()
        .map(|e| {
            vec![
                hex::encode_upper(&e.validator),
                if e.operator.is_empty() {
                    "- (none: its share goes to the community)".into()
                } else {
                    e.operator.clone()
                },
                coins(&e.earned),
                e.jobs_paid.to_string(),
                e.faults.to_string(),
                if e.excluded { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    out += &table(
        &[
            "VALIDATOR",
            "OPERATOR",
            "EARNED",
            "JOBS_PAID",
            "FAULTS",
            "EXCLUDED",
        ],
        &rows,
    );
    out
}

/// Left-aligned columns two spaces apart, the header first.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s += c;
            } else {
                s += &format!("{c:<w$}  ");
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out += &line(r.iter().map(String::as_str).collect());
    }
    out
}

fn indent(s: &str, by: &str) -> String {
    s.lines().map(|l| format!("{by}{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_are_positive_integers() {
        assert_eq!(parse_height("42"), Ok(42));
        assert!(parse_height("0").unwrap_err().contains("at least 1"));
        assert!(parse_height("-3").is_err());
        assert!(parse_height("ten").unwrap_err().contains("not a block height"));
        assert!(parse_height("18446744073709551615").is_err());
    }

    #[test]
    fn tables_align_and_print_defaults() {
        let e = pb::Executor {
            validator: vec![0xAB; 20],
            operator: String::new(),
            earned: vec![
                Coin {
                    denom: "uchim".into(),
                    amount: "233".into(),
                },
                Coin {
                    denom: "ibc/AB".into(),
                    amount: "5".into(),
                },
            ],
            jobs_paid: 2,
            faults: 1,
            excluded: true,
        };
        let text = executors_text(std::slice::from_ref(&e), 7);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "executors at height 7");
        assert!(lines[1].starts_with("VALIDATOR"));
        assert!(lines[2].starts_with(&"AB".repeat(20)));
        assert!(lines[2].contains("233uchim,5ibc/AB"), "{text}");
        assert!(lines[2].ends_with("yes"), "{text}");
        // Columns line up: OPERATOR starts where the operator cell does.
        assert_eq!(lines[1].find("OPERATOR"), lines[2].find("- (none"));
        let j = executors_json(&[e], 7);
        assert_eq!(j["executors"][0]["validator"], "AB".repeat(20));
        assert_eq!(j["executors"][0]["earned"][1]["amount"], "5");

        let p = pb::Params {
            executor_bps: 7000,
            burn_bps: 2000,
            community_bps: 1000,
            fault_limit: 3,
            ..Default::default()
        };
        let text = params_text(&p, 1);
        assert!(
            text.contains("executors 70.00%, burn 20.00%, community 10.00%"),
            "{text}"
        );
        assert!(text.contains("prices        none"), "{text}");
        assert!(text.contains("authority     none"), "{text}");
        assert_eq!(
            totals_text(&[], 1),
            "fee totals since genesis, at height 1\nno fees yet\n"
        );
        let t = totals_json(
            &[pb::Total {
                denom: "uchim".into(),
                ..Default::default()
            }],
            3,
        );
        assert_eq!(t["totals"][0]["refunded"], "0");
    }
}
