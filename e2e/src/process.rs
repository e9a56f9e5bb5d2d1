//! Real processes under test: started in their own process group, logged to a
//! file, waited on until ready, and always stopped.
//!
//! End-to-end tests run real binaries (`terrad`, `cometbft`, `simd`,
//! `chimerad`, relayers). A test that panics must not leave nodes running
//! (they would hold ports and CPU for every later test), and a test that
//! fails must show what the node said. So every process gets its own process
//! group (its children die with it), its stdout and stderr go to one log file,
//! every readiness wait reports the log tail when it gives up, and `Drop`
//! stops the whole group and, while panicking, prints the log path and tail.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::http;

/// How many log lines errors and panic reports show.
///
/// Why: enough to see a node's last startup messages and its fatal error,
/// short enough to read in a test failure.
pub const LOG_TAIL_LINES: usize = 50;

/// How long [`ManagedProcess::stop`] waits after SIGTERM before SIGKILL.
///
/// Why: Cosmos nodes flush their databases on SIGTERM in well under this;
/// a hung one must not hang the test.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(5);

const POLL: Duration = Duration::from_millis(100);

/// What to run: program, arguments, environment, working directory and the
/// log file that receives both stdout and stderr.
///
/// Why: one value that a chain module builds and [`ManagedProcess::spawn`]
/// consumes, so every process in the harness is started the same way.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Short name used in errors and reports, e.g. "terrad localterra-1".
    pub name: String,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Extra environment variables (the rest is inherited).
    pub env: Vec<(OsString, OsString)>,
    /// Working directory; the test's own when `None`.
    pub cwd: Option<PathBuf>,
    /// Where stdout and stderr go (appended, created if missing).
    pub log_path: PathBuf,
}

impl ProcessSpec {
    /// A spec with no arguments, no extra environment and the current
    /// directory.
    ///
    /// Why: the builder methods below read better than a struct literal.
    pub fn new(name: impl Into<String>, program: impl Into<PathBuf>, log_path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            log_path: log_path.into(),
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets one environment variable for the process.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// The command line as one readable string, for error messages.
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|s| s.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Everything that can go wrong starting, waiting on or stopping a process.
///
/// Why: readiness failures carry the log path and tail, so the test output
/// alone says why a node did not come up.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The log file could not be created.
    #[error("{name}: cannot open log file {}: {source}", path.display())]
    Log {
        /// The process's name.
        name: String,
        /// The log path.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The program could not be started at all.
    #[error("{name}: cannot start `{command}`: {source}")]
    Spawn {
        /// The process's name.
        name: String,
        /// The full command line.
        command: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The process is running but did not become ready in time.
    #[error(
        "{name} did not become ready ({what}) within {timeout:?}\n--- last lines of {} ---\n{tail}",
        log.display()
    )]
    NotReady {
        /// The process's name.
        name: String,
        /// What was being waited for.
        what: String,
        /// How long the wait lasted.
        timeout: Duration,
        /// The log path.
        log: PathBuf,
        /// The last [`LOG_TAIL_LINES`] lines of the log.
        tail: String,
    },
    /// The process exited while something was waiting for it.
    #[error(
        "{name} exited ({status}) while waiting for {what}\n--- last lines of {} ---\n{tail}",
        log.display()
    )]
    Exited {
        /// The process's name.
        name: String,
        /// What was being waited for.
        what: String,
        /// Its exit status.
        status: ExitStatus,
        /// The log path.
        log: PathBuf,
        /// The last [`LOG_TAIL_LINES`] lines of the log.
        tail: String,
    },
    /// Waiting for or signalling the process failed.
    #[error("{name}: {action}: {source}")]
    Os {
        /// The process's name.
        name: String,
        /// What the harness was doing.
        action: &'static str,
        /// The I/O error.
        source: io::Error,
    },
}

/// A running process in its own process group, stopped (group and all) when
/// dropped.
///
/// Why: the one way the harness runs long-lived nodes, so no test can leak a
/// node or lose its log.
#[derive(Debug)]
pub struct ManagedProcess {
    name: String,
    command: String,
    child: Child,
    log_path: PathBuf,
    log_start: u64,
    exit: Option<ExitStatus>,
    stopped: bool,
    stop_grace: Duration,
}

impl ManagedProcess {
    /// Starts `spec` in a new process group (pgid = its pid) with stdin
    /// closed and stdout+stderr appended to `spec.log_path`.
    ///
    /// Why: the process group lets [`stop`](Self::stop) reach any children the
    /// program starts; the log file outlives the test for inspection.
    pub fn spawn(spec: ProcessSpec) -> Result<Self, ProcessError> {
        let log_err = |source| ProcessError::Log {
            name: spec.name.clone(),
            path: spec.log_path.clone(),
            source,
        };
        let command = spec.command_line();
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log_path)
            .map_err(log_err)?;
        writeln!(log, "=== chimera-e2e: starting {}: {command}", spec.name).map_err(log_err)?;
        // Log-line waits start after this header, which may contain the very
        // text being waited for (it repeats the command line).
        let log_start = log.metadata().map_err(log_err)?.len();
        let stderr = log.try_clone().map_err(log_err)?;
        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .process_group(0);
        if let Some(dir) = &spec.cwd {
            cmd.current_dir(dir);
        }
        let child = cmd.spawn().map_err(|source| ProcessError::Spawn {
            name: spec.name.clone(),
            command: command.clone(),
            source,
        })?;
        Ok(Self {
            name: spec.name,
            command,
            child,
            log_path: spec.log_path,
            log_start,
            exit: None,
            stopped: false,
            stop_grace: DEFAULT_STOP_GRACE,
        })
    }

    /// The name given in the spec.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command line it was started with.
    pub fn command_line(&self) -> &str {
        &self.command
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its process group id, equal to its pid (it leads its own group).
    ///
    /// Why: tests check with [`process_group_alive`] that stopping really
    /// ended every process of the group.
    pub fn pgid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Where its stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Changes how long [`stop`](Self::stop) waits between SIGTERM and
    /// SIGKILL.
    pub fn set_stop_grace(&mut self, grace: Duration) {
        self.stop_grace = grace;
    }

    /// The last `lines` lines of its log.
    ///
    /// Why: the part of a node's log that explains a failure.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path, lines)
    }

    /// `Some(status)` once the process has exited.
    pub fn try_exit_status(&mut self) -> Result<Option<ExitStatus>, ProcessError> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().map_err(|source| ProcessError::Os {
                name: self.name.clone(),
                action: "checking whether it exited",
                source,
            })?;
        }
        Ok(self.exit)
    }

    /// Polls `probe` until it returns `Some`, failing if the process exits or
    /// `timeout` passes; both errors carry the log tail.
    ///
    /// Why: the building block of every readiness wait: "ready" means
    /// different things for different services, but giving up always needs
    /// the same report.
    pub fn wait_until<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut probe: impl FnMut() -> Option<T>,
    ) -> Result<T, ProcessError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit_status()? {
                return Err(ProcessError::Exited {
                    name: self.name.clone(),
                    what: what.to_string(),
                    status,
                    log: self.log_path.clone(),
                    tail: self.log_tail(LOG_TAIL_LINES),
                });
            }
            if let Some(v) = probe() {
                return Ok(v);
            }
            if Instant::now() >= deadline {
                return Err(ProcessError::NotReady {
                    name: self.name.clone(),
                    what: what.to_string(),
                    timeout,
                    log: self.log_path.clone(),
                    tail: self.log_tail(LOG_TAIL_LINES),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until a TCP connection to `addr` is accepted.
    ///
    /// Why: the minimal sign that a listener (gRPC, P2P) is up.
    pub fn wait_for_port(&mut self, addr: SocketAddr, timeout: Duration) -> Result<(), ProcessError> {
        self.wait_until(&format!("TCP {addr} accepting"), timeout, || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(500))
                .ok()
                .map(|_| ())
        })
    }

    /// Waits until `GET path` on `addr` answers 2xx and returns the body.
    ///
    /// Why: an HTTP service (CometBFT RPC, REST API) can accept connections
    /// before it can answer.
    pub fn wait_for_http(
        &mut self,
        addr: SocketAddr,
        path: &str,
        timeout: Duration,
    ) -> Result<String, ProcessError> {
        self.wait_until(&format!("GET http://{addr}{path} answering 2xx"), timeout, || {
            http::get(addr, path, Duration::from_secs(2))
                .ok()
                .filter(http::HttpResponse::is_success)
                .map(|r| r.body)
        })
    }

    /// Waits until a line containing `needle` appears in what the process
    /// logged (anything since it started counts; the harness's own header
    /// line does not) and returns that line.
    ///
    /// Why: some programs announce readiness only in their log.
    pub fn wait_for_log_line(&mut self, needle: &str, timeout: Duration) -> Result<String, ProcessError> {
        let path = self.log_path.clone();
        let mut offset = self.log_start;
        let mut partial = String::new();
        self.wait_until(&format!("log line containing {needle:?}"), timeout, || {
            let mut f = File::open(&path).ok()?;
            f.seek(SeekFrom::Start(offset)).ok()?;
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).ok()?;
            offset += buf.len() as u64;
            partial.push_str(&String::from_utf8_lossy(&buf));
            let found = partial.lines().find(|l| l.contains(needle)).map(str::to_string);
            // Keep only an unfinished last line for the next poll.
            let keep_from = partial.rfind('\n').map_or(0, |i| i + 1);
            partial.drain(..keep_from);
            found
        })
    }

    /// Stops the process and its whole group: SIGTERM, up to the stop grace
    /// for all of them to exit, then SIGKILL. Returns the leader's status.
    ///
    /// Why: called by `Drop` too, so a node never outlives its test; calling
    /// it explicitly lets a test check the exit and the group.
    pub fn stop(&mut self) -> Result<ExitStatus, ProcessError> {
        let pgid = self.pgid();
        if !self.stopped {
            self.stopped = true;
            signal_group(pgid, libc::SIGTERM);
            let deadline = Instant::now() + self.stop_grace;
            loop {
                let leader_done = self.try_exit_status()?.is_some();
                if leader_done && !process_group_alive(pgid) {
                    break;
                }
                if Instant::now() >= deadline {
                    signal_group(pgid, libc::SIGKILL);
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let status = match self.exit {
            Some(s) => s,
            None => {
                let s = self.child.wait().map_err(|source| ProcessError::Os {
                    name: self.name.clone(),
                    action: "waiting for it to exit",
                    source,
                })?;
                self.exit = Some(s);
                s
            }
        };
        // Orphaned group members are reaped by init after SIGKILL; give that
        // a moment so callers can rely on the group being gone.
        let deadline = Instant::now() + Duration::from_secs(2);
        while process_group_alive(pgid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(status)
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        let stopped = self.stop();
        if std::thread::panicking() {
            eprintln!(
                "\n=== chimera-e2e: {} (pid {}) log {} — last {LOG_TAIL_LINES} lines ===\n{}\n=== end of {} log ===",
                self.name,
                self.pid(),
                self.log_path.display(),
                self.log_tail(LOG_TAIL_LINES),
                self.name,
            );
        }
        if let Err(e) = stopped {
            eprintln!("chimera-e2e: stopping {}: {e}", self.name);
        }
    }
}

/// Whether any process of group `pgid` still exists (zombies included).
///
/// Why: lets tests assert that stopping a node left nothing behind.
pub fn process_group_alive(pgid: i32) -> bool {
    if pgid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(-pgid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn signal_group(pgid: i32, signal: libc::c_int) {
    if pgid > 0 {
        // SAFETY: plain kill(2) on a group this harness created; ESRCH
        // (already gone) is the only expected failure and is harmless.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// The last `lines` lines of the file at `path` (reads at most its last
/// 256 KiB), or a note saying why it could not be read.
///
/// Why: shared by process reports and by one-shot command errors.
pub fn log_tail(path: &Path, lines: usize) -> String {
    const MAX: u64 = 256 * 1024;
    let read = || -> io::Result<String> {
        let mut f = File::open(path)?;
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(MAX)))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, name: &str, script: &str) -> ManagedProcess {
        ManagedProcess::spawn(
            ProcessSpec::new(name, "/bin/sh", dir.join(format!("{name}.log"))).args(["-c", script]),
        )
        .unwrap()
    }

    #[test]
    fn log_line_wait_and_group_stop() {
        let dir = tempfile::tempdir().unwrap();
        // The shell starts a child that ignores nothing; both must die.
        let mut p = sh(
            dir.path(),
            "sleeper",
            "sleep 300 & echo child started; echo ready now; wait",
        );
        let line = p.wait_for_log_line("ready now", Duration::from_secs(10)).unwrap();
        assert_eq!(line, "ready now");
        let pgid = p.pgid();
        assert!(process_group_alive(pgid));
        let status = p.stop().unwrap();
        assert!(!status.success());
        assert!(!process_group_alive(pgid));
        assert!(std::fs::read_to_string(p.log_path())
            .unwrap()
            .contains("child started"));
    }

    #[test]
    fn sigterm_ignoring_group_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sh(
            dir.path(),
            "stubborn",
            "trap '' TERM; echo up; while :; do sleep 1; done",
        );
        p.set_stop_grace(Duration::from_millis(300));
        p.wait_for_log_line("up", Duration::from_secs(10)).unwrap();
        let pgid = p.pgid();
        p.stop().unwrap();
        assert!(!process_group_alive(pgid));
    }

    #[test]
    fn early_exit_reports_status_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sh(dir.path(), "crasher", "echo fatal: bad config >&2; exit 3");
        let err = p
            .wait_for_port(crate::ports::loopback(1), Duration::from_secs(10))
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ProcessError::Exited { .. }), "{msg}");
        assert!(
            msg.contains("fatal: bad config") && msg.contains("crasher.log"),
            "{msg}"
        );
    }

    #[test]
    fn timeout_reports_what_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sh(dir.path(), "silent", "echo starting; sleep 300");
        let err = p
            .wait_for_log_line("never", Duration::from_millis(300))
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ProcessError::NotReady { .. }), "{msg}");
        assert!(msg.contains("\"never\"") && msg.contains("starting"), "{msg}");
    }

    #[test]
    fn drop_stops_the_group_even_when_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let pgid = std::thread::spawn(move || {
            let p = sh(&path, "panicky", "sleep 300 & wait");
            let pgid = p.pgid();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                let _p = p;
                panic!("test failure inside the harness (expected)");
            }));
            assert!(r.is_err());
            pgid
        })
        .join()
        .unwrap();
        assert!(!process_group_alive(pgid));
    }
}
