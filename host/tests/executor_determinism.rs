//! Determinism across processes and kernels, through `chimerad infer`
//! (libtorch's settings are per process): the same request with 1 and 2
//! intra-op threads, and with libtorch's CPU kernels forced to another
//! instruction set (`ATEN_CPU_CAPABILITY=default`, as another validator's
//! CPU would pick), must give sketches that `agree`; with 1 vs 2 threads the
//! exact output bytes are also the same on these models. Token texts that
//! differ must still pass re-scoring (`--verify-output`).

mod executor_support;

use std::path::Path;
use std::process::Command;

use chimera_host::executor::{agree, Sketch};
use executor_support::{digits, registry};

struct Run {
    sha256: String,
    sketch: Sketch,
    bytes: Vec<u8>,
}

fn infer(args: &[&str], env: &[(&str, &str)], out: &Path) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chimerad"));
    cmd.arg("infer")
        .args(args)
        .arg("--json")
        .arg("--device")
        .arg("cpu")
        .arg("--out")
        .arg(out);
    cmd.env_remove("ATEN_CPU_CAPABILITY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run chimerad");
    assert!(
        o.status.success(),
        "chimerad infer {args:?} {env:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let sketch = Sketch::from_bytes(&hex::decode(v["sketch"].as_str().unwrap()).unwrap()).unwrap();
    Run {
        sha256: v["output"]["sha256"].as_str().unwrap().to_string(),
        sketch,
        bytes: std::fs::read(out).unwrap(),
    }
}

fn cases(dir: &Path) -> Vec<(&'static str, Vec<String>)> {
    let digit = dir.join("digit.f32");
    let x: Vec<u8> = digits()[4].1.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&digit, x).unwrap();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        (
            "digits-cnn",
            s(&["--model", "digits-cnn", "--input", digit.to_str().unwrap()]),
        ),
        (
            "digits-ddpm",
            s(&["--model", "digits-ddpm", "--prompt", "7", "--seed", "42"]),
        ),
        (
            "minilm-l6",
            s(&[
                "--model",
                "minilm-l6",
                "--prompt",
                "Validators agree on sketches.",
            ]),
        ),
        (
            "tiny-lm",
            s(&["--model", "tiny-lm", "--prompt", "The ", "--seed", "42"]),
        ),
    ]
}

#[test]
fn one_and_two_threads_give_the_same_bytes() {
    let reg = registry();
    let tmp = tempfile::tempdir().unwrap();
    for (id, args) in cases(tmp.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let spec = &reg.get(id).unwrap().manifest.sketch;
        let one = infer(
            &[&args[..], &["--threads", "1"]].concat(),
            &[],
            &tmp.path().join("a"),
        );
        let two = infer(
            &[&args[..], &["--threads", "2"]].concat(),
            &[],
            &tmp.path().join("b"),
        );
        assert!(
            agree(spec, &one.sketch, &two.sketch),
            "{id}: 1 vs 2 threads disagree"
        );
        assert_eq!(
            one.sha256, two.sha256,
            "{id}: 1 vs 2 threads changed the exact bytes"
        );
    }
}

#[test]
fn another_cpu_kernel_set_still_agrees() {
    let reg = registry();
    let tmp = tempfile::tempdir().unwrap();
    for (id, args) in cases(tmp.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let spec = &reg.get(id).unwrap().manifest.sketch;
        let native = infer(&args, &[], &tmp.path().join("a"));
        let generic = infer(
            &args,
            &[("ATEN_CPU_CAPABILITY", "default")],
            &tmp.path().join("b"),
        );
        if id == "tiny-lm" && native.bytes != generic.bytes {
            // A flipped draw: each side's text must re-score under the other.
            for (text, generic_kernels) in [(&native, true), (&generic, false)] {
                let f = tmp.path().join("claimed.txt");
                std::fs::write(&f, &text.bytes).unwrap();
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_chimerad"));
                cmd.args(["infer", "--device", "cpu", "--verify-output", f.to_str().unwrap()])
                    .args(&args);
                if generic_kernels {
                    cmd.env("ATEN_CPU_CAPABILITY", "default");
                } else {
                    cmd.env_remove("ATEN_CPU_CAPABILITY");
                }
                let st = cmd.status().unwrap();
                assert!(
                    st.success(),
                    "tiny-lm text does not re-score on the other kernels"
                );
            }
            continue;
        }
        assert!(
            agree(spec, &native.sketch, &generic.sketch),
            "{id}: native vs ATEN_CPU_CAPABILITY=default sketches disagree:\n{:?}\n{:?}",
            native.sketch,
            generic.sketch
        );
    }
}
