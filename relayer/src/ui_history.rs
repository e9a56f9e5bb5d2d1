//! `GET /api/fees/history?points=N` (a submodule of `ui.rs`): the fee
//! totals over time, for the Tokenomics page's chart.
//!
//! Samples up to N heights (default [`DEFAULT_POINTS`], at most
//! [`MAX_POINTS`]) from the oldest height chimerad still retains
//! (`cosmos.base.node.v1beta1.Service/Status`) to the latest, each with its
//! block time (`cosmos.base.tendermint` `GetBlockByHeight`), and answers
//! per-denom series of what `chimera.fees.v1.Query/Totals` calls
//! collected, paid_to_executors, burned and community_paid.
//!
//! A past height is read with the `x-cosmos-block-height` header (chimerad
//! answers `Totals` at any height it retains: `fees::store::totals_committed`).
//! The sampled heights sit on multiples of a
//! power-of-two step, so they stay the same as the chain grows (until the
//! step doubles, which keeps every other one), and each height's sample
//! is kept: it never changes. A reload reads the latest height and what
//! the chain added since.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::extract::{Query, State};
use axum::Json;
use chimera_host::services::fees::QueryClient as FeesClient;
use chimera_packets::proto::fees as feespb;
use cosmrs::proto::cosmos::base::tendermint::v1beta1::{
    service_client::ServiceClient as TmClient, GetBlockByHeightRequest,
};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{grpc_error, read_height, ApiError, ApiResult, Ctx, Shared};

/// Points when `?points` is not given, and the most one call samples.
pub const DEFAULT_POINTS: usize = 48;
pub const MAX_POINTS: usize = 200;
/// Heights read at once.
const CONCURRENCY: usize = 8;

/// The four amounts of one denom at one height, in [`FIELDS`] order.
type Amounts = [u128; 4];
const FIELDS: [&str; 4] = ["collected", "paid_to_executors", "burned", "community_paid"];

#[derive(Debug, Default, Deserialize)]
pub(super) struct HistoryQuery {
    points: Option<usize>,
}

/// One sampled height.
#[derive(Clone, Debug, PartialEq)]
struct Sample {
    height: u64,
    time_ms: Option<i64>,
    totals: BTreeMap<String, Amounts>,
}

/// Samples read so far, for one chain (its id and the time of its oldest
/// sampled block: a chain reset behind the same address starts afresh).
#[derive(Default)]
struct Cache {
    chain: Option<(String, Option<i64>)>,
    samples: BTreeMap<u64, Sample>,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

fn with_cache<T>(f: impl FnOnce(&mut Cache) -> T) -> T {
    let mut g = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(Cache::default))
}

/// At most `points` heights from `oldest` to `latest`, both included: every
/// height when they fit, else the ends and the multiples of the smallest
/// power-of-two step that keeps the count within `points`.
pub fn sample_heights(oldest: u64, latest: u64, points: usize) -> Vec<u64> {
    let points = points.clamp(2, MAX_POINTS) as u64;
    if latest < oldest {
        return Vec::new();
    }
    let span = latest - oldest;
    if span < points {
        return (oldest..=latest).collect();
    }
    let inner = (points - 2).max(1);
    let step = span.div_ceil(inner).next_power_of_two();
    let mut out = vec![oldest];
    let mut h = (oldest / step + 1) * step;
    while h < latest {
        out.push(h);
        h += step;
    }
    out.push(latest);
    out
}

fn amount(s: &str) -> u128 {
    s.parse().unwrap_or(0)
}

fn amounts_of(t: &feespb::Total) -> Amounts {
    [
        amount(&t.collected),
        amount(&t.paid_to_executors),
        amount(&t.burned),
        amount(&t.community_paid),
    ]
}

/// The answer: the sampled heights and times, and per denom (in order) one
/// series of decimal strings per field; a denom a sample lacks is 0 there.
fn history_json(samples: &[Sample], oldest: u64, latest: u64, cached: usize) -> Value {
    let denoms: std::collections::BTreeSet<&String> = samples.iter().flat_map(|s| s.totals.keys()).collect();
    let series: Vec<Value> = denoms
        .iter()
        .map(|d| {
            let mut o = serde_json::Map::new();
            o.insert("denom".into(), json!(d));
            for (i, f) in FIELDS.iter().enumerate() {
                let col: Vec<String> = samples
                    .iter()
                    .map(|s| s.totals.get(*d).map_or(0, |a| a[i]).to_string())
                    .collect();
                o.insert((*f).into(), json!(col));
            }
            Value::Object(o)
        })
        .collect();
    json!({
        "oldest": oldest,
        "latest": latest,
        "samples": samples.iter().map(|s| json!({"height": s.height, "time_ms": s.time_ms})).collect::<Vec<_>>(),
        "series": series,
        "cached": cached,
    })
}

/// Block time of `height` in ms since the epoch (None when the node has no
/// such block, e.g. pruned by CometBFT).
async fn block_time(ctx: &Ctx, height: u64) -> Result<Option<i64>, ApiError> {
    Ok(block_header(ctx, height).await?.and_then(|(_, t)| t))
}

/// The chain id and block time of `height`.
async fn block_header(ctx: &Ctx, height: u64) -> Result<Option<(String, Option<i64>)>, ApiError> {
    let r = TmClient::new(ctx.host.clone())
        .get_block_by_height(GetBlockByHeightRequest {
            height: height as i64,
        })
        .await;
    match r {
        Ok(r) => Ok(r.into_inner().block.and_then(|b| b.header).map(|h| {
            let t = h.time.map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000);
            (h.chain_id, t)
        })),
        Err(s) if is_node_down(&s) => Err(grpc_error(
            "cosmos.base.tendermint GetBlockByHeight",
            &ctx.host_url,
            s,
        )),
        Err(_) => Ok(None),
    }
}

fn is_node_down(s: &tonic::Status) -> bool {
    use tonic::Code;
    matches!(
        s.code(),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown
    )
}

/// `Totals` at `height`.
async fn totals_at(ctx: &Ctx, height: u64) -> Result<BTreeMap<String, Amounts>, ApiError> {
    let mut req = tonic::Request::new(feespb::QueryTotalsRequest {});
    req.metadata_mut().insert(
        "x-cosmos-block-height",
        height.to_string().parse().expect("a number is a header value"),
    );
    let r = FeesClient::new(ctx.host.clone())
        .totals(req)
        .await
        .map_err(|s| grpc_error("chimera.fees.v1.Query/Totals", &ctx.host_url, s))?;
    Ok(r.into_inner()
        .totals
        .iter()
        .map(|t| (t.denom.clone(), amounts_of(t)))
        .collect())
}

/// Reads one past height: its block time and totals.
async fn read_sample(ctx: Shared, height: u64) -> Result<Sample, ApiError> {
    Ok(Sample {
        height,
        time_ms: block_time(&ctx, height).await?,
        totals: totals_at(&ctx, height).await?,
    })
}

/// `GET /api/fees/history?points=N`.
pub(super) async fn fee_history(State(ctx): State<Shared>, Query(q): Query<HistoryQuery>) -> ApiResult {
    let points = q.points.unwrap_or(DEFAULT_POINTS).clamp(2, MAX_POINTS);
    // The latest totals: the last point, its height, and the denoms.
    let r = FeesClient::new(ctx.host.clone())
        .totals(feespb::QueryTotalsRequest {})
        .await
        .map_err(|s| grpc_error("chimera.fees.v1.Query/Totals", &ctx.host_url, s))?;
    let latest = read_height(&r);
    let latest_totals: BTreeMap<String, Amounts> = r
        .into_inner()
        .totals
        .iter()
        .map(|t| (t.denom.clone(), amounts_of(t)))
        .collect();
    let status =
        cosmrs::proto::cosmos::base::node::v1beta1::service_client::ServiceClient::new(ctx.host.clone())
            .status(cosmrs::proto::cosmos::base::node::v1beta1::StatusRequest {})
            .await
            .map_err(|s| grpc_error("cosmos.base.node.v1beta1.Service/Status", &ctx.host_url, s))?
            .into_inner();
    let oldest = status.earliest_store_height.max(1).min(latest.max(1));
    let heights = sample_heights(oldest, latest, points);

    // The same chain as the cached samples? (id, and the oldest block's time)
    let (chain_id, oldest_time) = block_header(&ctx, oldest).await?.unwrap_or_default();
    with_cache(|c| {
        let me = Some((chain_id, oldest_time));
        if c.chain != me || c.samples.keys().next_back().is_some_and(|&h| h > latest) {
            *c = Cache {
                chain: me,
                ..Cache::default()
            };
        }
    });

    let latest_sample = Sample {
        height: latest,
        time_ms: None,
        totals: latest_totals,
    };
    let missing: Vec<u64> = with_cache(|c| {
        heights
            .iter()
            .copied()
            .filter(|h| *h != latest && !c.samples.contains_key(h))
            .collect()
    });
    let cached = heights.len() - missing.len() - usize::from(heights.contains(&latest));
    let reads: Vec<_> = missing.iter().map(|&h| read_sample(ctx.clone(), h)).collect();
    let read: Vec<Sample> = futures::stream::iter(reads)
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let latest_time = block_time(&ctx, latest).await?;
    let samples: Vec<Sample> = with_cache(|c| {
        for s in read {
            c.samples.insert(s.height, s);
        }
        c.samples.insert(
            latest,
            Sample {
                time_ms: latest_time,
                ..latest_sample
            },
        );
        heights.iter().filter_map(|h| c.samples.get(h).cloned()).collect()
    });
    tracing::debug!(points = samples.len(), cached, oldest, latest, "fee history");
    Ok(Json(history_json(&samples, oldest, latest, cached)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_cover_the_range_within_the_budget() {
        assert_eq!(sample_heights(1, 5, 48), vec![1, 2, 3, 4, 5]);
        assert_eq!(sample_heights(7, 7, 48), vec![7]);
        assert!(sample_heights(8, 7, 48).is_empty());
        assert_eq!(sample_heights(1, 100, 2), vec![1, 100]);
        for (oldest, latest, points) in [
            (1, 1000, 48),
            (1, 49, 48),
            (500, 100_000, 48),
            (1, 10_000, 200),
            (3, 50, 3),
        ] {
            let h = sample_heights(oldest, latest, points);
            assert!(
                h.len() <= points,
                "{oldest}..{latest}/{points}: {} heights",
                h.len()
            );
            assert!(
                h.len() >= points / 4,
                "{oldest}..{latest}/{points}: only {}",
                h.len()
            );
            assert_eq!(h.first(), Some(&oldest));
            assert_eq!(h.last(), Some(&latest));
            assert!(h.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn heights_stay_put_as_the_chain_grows() {
        // Between two reloads the inner heights are the same (cache hits).
        let a = sample_heights(1, 1000, 48);
        let b = sample_heights(1, 1010, 48);
        let inner = |v: &[u64]| v[1..v.len() - 1].to_vec();
        assert!(inner(&a).iter().all(|h| b.contains(h)), "{a:?} vs {b:?}");
        // When the step doubles, every other height is kept.
        let c = sample_heights(1, 2000, 48);
        assert!(inner(&c).iter().all(|h| a.contains(h) || *h > 1000), "{c:?}");
    }

    #[test]
    fn series_fill_missing_denoms_with_zero() {
        let s = |h: u64, t: &[(&str, Amounts)]| Sample {
            height: h,
            time_ms: Some(h as i64 * 1000),
            totals: t.iter().map(|(d, a)| (d.to_string(), *a)).collect(),
        };
        let v = history_json(
            &[
                s(1, &[]),
                s(5, &[("uchim", [1000, 700, 200, 100])]),
                s(9, &[("uchim", [2000, 1400, 400, 200]), ("uluna", [5, 3, 1, 1])]),
            ],
            1,
            9,
            1,
        );
        assert_eq!(v["samples"][1]["height"], 5);
        assert_eq!(v["samples"][2]["time_ms"], 9000);
        assert_eq!(v["series"][0]["denom"], "uchim");
        assert_eq!(v["series"][0]["collected"], json!(["0", "1000", "2000"]));
        assert_eq!(v["series"][0]["community_paid"], json!(["0", "100", "200"]));
        assert_eq!(v["series"][1]["denom"], "uluna");
        assert_eq!(v["series"][1]["burned"], json!(["0", "0", "1"]));
    }
}
