//! What several `chimera` subcommands do the same way at the binary's
//! edge: structured logs on stderr, and errors said in one line.

/// Logs on stderr at `info` unless `RUST_LOG` says otherwise, as JSON with
/// `--json-logs`, coloured only on a terminal.
pub fn init_logs(json: bool) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if json {
        let _ = b.json().try_init();
    } else {
        let _ = b.try_init();
    }
}

/// A multi-line message (an error chain, a node's log) as one line: its
/// non-empty lines trimmed and joined with "; ".
pub fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
