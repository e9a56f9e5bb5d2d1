//! The web app's Explore pages in a real browser against a real chain with
//! fees on: a 1-validator chimerad localnet whose genesis prices
//! `digits-cnn` at 1000 uchim and whose validator has an operator account
//! (so it earns its share), one free `digits-ddpm` "7" job (an image) and
//! three paid `digits-cnn` jobs a few blocks apart, then a `tiny-lm` job
//! (text) and a `minilm-l6` one (an embedding), whose Job pages must show
//! the verified text as text and the tensor as a chart
//! (relayer/web/tests/job.mjs). The real `chimera ui`
//! serves the built app; `/api/fees/history` is checked against the fee
//! totals (zero at the oldest height, 3 × the price at the latest, the
//! split of each fee, a second read served from its cache); then Debian's
//! Chromium (relayer/web/tests/pages.mjs) visits Models, Jobs, the Job
//! page, Validators and Tokenomics at desktop width and at 375×812 (data,
//! the chart's points, the jobs filter, no sideways scrolling, names on
//! every control, alt on every image, landmarks; screenshots of each) and
//! times each page load against its bare API calls. Last, chimerad is
//! stopped and every page must say it is unreachable and how to fix it.
//!
//! Needs `cometbft`, a built chimerad (`cargo build -p chimera-host --bin
//! chimerad`), the models, a built `chimera` (`cargo build -p
//! chimera-relayer --bin chimera`), Node.js, /usr/bin/chromium and the
//! built web app with its node_modules (`scripts/setup web`). Screenshots
//! go to a kept temporary directory whose path is printed.

use std::net::SocketAddr;
use std::time::Duration;

use chimera_e2e::chimera::{self, ChimeraNet, ChimeraNetConfig};
use chimera_e2e::inference::{self, Job, GOLDEN_SEVEN};
use chimera_e2e::web;
use serde_json::Value;

const RESULT_WAIT: Duration = Duration::from_secs(240);
const PRICE: u128 = 1000;
const PAID_JOBS: u64 = 3;
const PAID_MODEL: &str = "digits-cnn";

fn prepare(_: usize, home: &std::path::Path) -> Result<(), String> {
    chimera::edit_genesis(home, |g| {
        g["app_state"]["fees"] = serde_json::json!({
            "prices": [{"model": PAID_MODEL, "denom": "uchim", "amount": PRICE.to_string()}],
        });
    })
}

fn api(addr: SocketAddr, path: &str) -> Value {
    let r =
        chimera_e2e::http::get(addr, path, Duration::from_secs(60)).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(r.is_success(), "{path}: {} {}", r.status, r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body))
}

fn amounts(series: &Value, field: &str) -> Vec<u128> {
    series[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} in {series}"))
        .iter()
        .map(|v| v.as_str().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn the_explore_pages_show_jobs_validators_and_fees_over_time() {
    chimera_e2e::bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let out = web::browser_test_dir("web_pages");

    let config = ChimeraNetConfig {
        chain_id: "chimera-web-pages".into(),
        prepare_node: Some(prepare),
        operators: vec![chimera_e2e::fees::operator_address()],
        ..ChimeraNetConfig::default()
    };
    let mut net = ChimeraNet::start(config).unwrap_or_else(|e| panic!("{e}"));
    let grpc = format!("http://127.0.0.1:{}", net.ports(0).unwrap().grpc);

    let (height, image_job) = inference::submit_job(&net, 0, &Job::digits_ddpm('7', 7), 600_000)
        .unwrap_or_else(|e| panic!("MsgRunInference: {e}"));
    let found = inference::wait_job(&net, 0, height, image_job, RESULT_WAIT)
        .unwrap_or_else(|e| panic!("job {image_job}: {e}"));
    eprintln!("job {image_job} (digits-ddpm): result at height {}", found.height);
    let mut paid_job = 0;
    for _ in 0..PAID_JOBS {
        let mut job = Job::digits_cnn(&GOLDEN_SEVEN);
        job.fee = vec![("uchim".into(), PRICE * 2)];
        let (height, id) =
            inference::submit_job(&net, 0, &job, 400_000).unwrap_or_else(|e| panic!("MsgRunInference: {e}"));
        let found =
            inference::wait_job(&net, 0, height, id, RESULT_WAIT).unwrap_or_else(|e| panic!("job {id}: {e}"));
        assert_eq!(found.event.get("status"), "completed", "{:?}", found.event);
        // A few blocks between fees: steps on the chart.
        net.wait_for_height(found.height + 3, RESULT_WAIT)
            .expect("blocks");
        eprintln!(
            "job {id} ({PAID_MODEL}, {PRICE} uchim): result at height {}",
            found.height
        );
        paid_job = id;
    }

    // Outputs that are not images: tiny-lm writes text, minilm-l6 an
    // embedding (a tensor).
    let mut others = Vec::new();
    for (job, kind) in [
        (Job::text("tiny-lm", "The validators agree", 1), "text"),
        (Job::text("minilm-l6", "inference over IBC", 0), "chart"),
    ] {
        let (height, id) =
            inference::submit_job(&net, 0, &job, 600_000).unwrap_or_else(|e| panic!("MsgRunInference: {e}"));
        let found =
            inference::wait_job(&net, 0, height, id, RESULT_WAIT).unwrap_or_else(|e| panic!("job {id}: {e}"));
        assert_eq!(found.event.get("status"), "completed", "{:?}", found.event);
        others.push((id, kind));
    }

    let (mut ui, addr) = web::start_ui("chimera-ui", &out, &["--host-grpc", &grpc], &[]);
    for (id, kind) in &others {
        let (ok, _, stderr) = web::run_script(
            "job.mjs",
            &[
                &format!("http://{addr}"),
                &out.display().to_string(),
                &id.to_string(),
                kind,
            ],
        );
        assert!(ok, "job {id} ({kind}): {stderr}");
    }

    // The history: zero at the oldest retained height, every fee at the latest.
    let h = api(addr, "/api/fees/history");
    let samples = h["samples"].as_array().expect("samples");
    assert!(
        samples.len() >= 8 && samples.len() <= 48,
        "{} samples: {h}",
        samples.len()
    );
    assert_eq!(samples[0]["height"], h["oldest"], "{h}");
    assert_eq!(samples.last().unwrap()["height"], h["latest"], "{h}");
    assert!(
        samples
            .iter()
            .all(|s| s["time_ms"].as_i64().is_some_and(|t| t > 0)),
        "block times: {h}"
    );
    let uchim = h["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["denom"] == "uchim")
        .unwrap_or_else(|| panic!("no uchim series: {h}"));
    let collected = amounts(uchim, "collected");
    let executors = amounts(uchim, "paid_to_executors");
    let burned = amounts(uchim, "burned");
    let community = amounts(uchim, "community_paid");
    let total = PRICE * PAID_JOBS as u128;
    assert_eq!(collected[0], 0, "{h}");
    assert_eq!(*collected.last().unwrap(), total, "{h}");
    assert!(
        collected.windows(2).all(|w| w[0] <= w[1]),
        "totals only grow: {collected:?}"
    );
    let i = collected.len() - 1;
    assert_eq!(
        executors[i] + burned[i] + community[i],
        total,
        "the split adds up: {h}"
    );
    // The latest point is what /api/fees/totals says.
    let totals = api(addr, "/api/fees/totals");
    let t = totals["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["denom"] == "uchim")
        .unwrap();
    assert_eq!(t["collected"], total.to_string());
    assert_eq!(t["burned"], burned[i].to_string(), "{totals}");
    // Intermediate points: at least one height saw some fees but not all.
    assert!(
        collected.iter().any(|&c| c > 0 && c < total),
        "no step in between: {collected:?}"
    );
    eprintln!(
        "history: {} samples {}..{}, collected {collected:?}",
        samples.len(),
        h["oldest"],
        h["latest"]
    );
    // A reload reads only what is new: the earlier heights come from the cache.
    let again = api(addr, "/api/fees/history");
    assert!(again["cached"].as_u64().unwrap() > 0, "{again}");
    let few = api(addr, "/api/fees/history?points=3");
    assert!(few["samples"].as_array().unwrap().len() <= 3, "{few}");

    let (ok, stdout, stderr) = web::run_script(
        "pages.mjs",
        &[
            &format!("http://{addr}"),
            &out.display().to_string(),
            "live",
            &image_job.to_string(),
            &paid_job.to_string(),
            PAID_MODEL,
        ],
    );
    assert!(ok, "pages check (live) failed: {stderr}");
    for line in stdout.lines().filter(|l| l.starts_with("timing")) {
        println!("web_pages {line}");
    }

    // chimerad down: every page says so, and what to do.
    let statuses = net.stop().expect("stop chimerad");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
    let down = chimera_e2e::http::get(addr, "/api/fees/history", Duration::from_secs(60)).unwrap();
    assert_eq!(down.status, 502, "{}", down.body);
    assert!(down.body.contains("unreachable"), "{}", down.body);
    let (ok, _, stderr) = web::run_script(
        "pages.mjs",
        &[
            &format!("http://{addr}"),
            &out.display().to_string(),
            "down",
            &image_job.to_string(),
        ],
    );
    assert!(ok, "pages check (down) failed: {stderr}");
    ui.stop().unwrap();

    web::expect_screenshots(
        &out,
        ["models", "jobs", "job", "validators", "tokenomics"]
            .iter()
            .flat_map(|page| ["desktop", "phone", "down"].map(|suffix| format!("{page}-{suffix}"))),
    );
    eprintln!("web_pages: screenshots in {}", out.display());
}
