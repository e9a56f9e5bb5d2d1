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
//!
//! The devnet (`chimera-e2e devnet`) is the one place where processes must
//! outlive the program that started them: [`ManagedProcess::detach`] disarms
//! the stop on drop, and a [`DetachedProcess`] (its spec, group and the
//! leader's identity, saved as JSON) lets a later run check the group, stop
//! it, or start it again with exactly the same command line.

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
    /// What it was started from (for [`ManagedProcess::into_detached`]).
    spec: ProcessSpec,
    /// Set by [`ManagedProcess::detach`]: `Drop` leaves it running.
    detached: bool,
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
        let recorded = spec.clone();
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
        // Only stdin, stdout and stderr go to the child. Descriptors our
        // caller inherited without close-on-exec (a `flock` lock, a CI
        // runner's pipe) would otherwise live on in every node, and in the
        // devnet's detached processes long after this program: a lock never
        // released, a CI step that never sees EOF.
        // SAFETY: close_range is async-signal-safe; nothing is allocated.
        unsafe {
            cmd.pre_exec(|| {
                if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
                    // Kernels before 5.9: close what a process usually has.
                    for fd in 3..1024 {
                        libc::close(fd);
                    }
                }
                Ok(())
            });
        }
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
            spec: recorded,
            detached: false,
        })
    }

    /// The spec it was started from.
    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// How long [`stop`](Self::stop) waits between SIGTERM and SIGKILL.
    pub fn stop_grace(&self) -> Duration {
        self.stop_grace
    }

    /// Leaves the process (and its group) running when this value goes:
    /// `Drop` no longer stops it. Returns its process group id, by which a
    /// later program finds and stops it ([`stop_group`]).
    ///
    /// Why: the devnet keeps its chains and relayer running after
    /// `chimera-e2e devnet up` exits. The process already leads its own
    /// group with stdin closed and its output in its log file, so nothing
    /// ties it to this program; it is re-parented when this program exits.
    pub fn detach(mut self) -> i32 {
        self.detached = true;
        self.pgid()
    }

    /// [`detach`](Self::detach), returning everything a later program needs
    /// to check, stop or respawn the process: its spec, group, stop grace
    /// and the leader's identity (start time since boot, boot id), so a
    /// recycled pid is never taken for it.
    pub fn into_detached(self) -> DetachedProcess {
        let pgid = self.pgid();
        let start_ticks = proc_stat(pgid).map(|s| s.start_ticks);
        let spec = self.spec.clone();
        let stop_grace = self.stop_grace;
        self.detach();
        DetachedProcess {
            spec,
            pgid,
            start_ticks,
            boot_id: boot_id(),
            stop_grace,
        }
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
        if self.detached {
            return;
        }
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

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcStat {
    state: char,
    ppid: i32,
    pgrp: i32,
    start_ticks: u64,
}

/// Reads `/proc/<pid>/stat` (None if there is no such process).
fn proc_stat(pid: i32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
    // majflt cmajflt utime stime cutime cstime priority nice threads
    // itrealvalue starttime ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        pgrp: f.get(2)?.parse().ok()?,
        start_ticks: f.get(19)?.parse().ok()?,
    })
}

/// Every process in `/proc` with its stat.
fn all_processes() -> Vec<(i32, ProcStat)> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            Some((pid, proc_stat(pid)?))
        })
        .collect()
}

/// The live (not zombie) processes of group `pgid`.
///
/// Why: a detached group's members are re-parented to init; whether it
/// reaps them at once is up to init, so "alive" must not count zombies.
pub fn group_members(pgid: i32) -> Vec<i32> {
    if pgid <= 0 {
        return Vec::new();
    }
    all_processes()
        .into_iter()
        .filter(|(_, s)| s.pgrp == pgid && !matches!(s.state, 'Z' | 'X'))
        .map(|(pid, _)| pid)
        .collect()
}

/// The processes this program started that lead their own group (as
/// [`ManagedProcess::spawn`] starts them), detached or not.
///
/// Why: an interrupted `devnet up` stops the groups it started but had
/// not yet recorded.
pub fn own_group_leaders() -> Vec<i32> {
    let me = std::process::id() as i32;
    all_processes()
        .into_iter()
        .filter(|(pid, s)| s.ppid == me && s.pgrp == *pid && !matches!(s.state, 'Z' | 'X'))
        .map(|(pid, _)| pid)
        .collect()
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`).
fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Stops every process of group `pgid`: SIGTERM, up to `grace` for all of
/// them to exit, then SIGKILL. Returns true if SIGKILL was needed. Works on
/// groups this program did not start (it does not reap them).
pub fn stop_group(pgid: i32, grace: Duration) -> bool {
    if group_members(pgid).is_empty() {
        return false;
    }
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if group_members(pgid).is_empty() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    signal_group(pgid, libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !group_members(pgid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Where a detached process group stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// The leader (the very process started) runs.
    Running,
    /// The leader is gone but `n` other members of its group still run
    /// (e.g. a node's CometBFT child).
    Leaderless(usize),
    /// Nothing of it runs (or the machine was rebooted since).
    Gone,
}

/// A process left running by [`ManagedProcess::into_detached`], as a later
/// program sees it: enough to check it, stop it, or start it again.
///
/// Why: the devnet's state file holds one per long-running process.
#[derive(Debug, Clone)]
pub struct DetachedProcess {
    /// What it was started from (respawned with exactly this).
    pub spec: ProcessSpec,
    /// Its process group (= the leader's pid).
    pub pgid: i32,
    /// The leader's start time in clock ticks since boot
    /// (`/proc/<pid>/stat` field 22), to tell it from a recycled pid.
    pub start_ticks: Option<u64>,
    /// The boot it was started in.
    pub boot_id: Option<String>,
    /// SIGTERM-to-SIGKILL grace when stopping it.
    pub stop_grace: Duration,
}

impl DetachedProcess {
    /// Where the group stands now.
    pub fn state(&self) -> GroupState {
        if self.pgid <= 0 {
            return GroupState::Gone;
        }
        if let (Some(then), Some(now)) = (&self.boot_id, boot_id()) {
            if *then != now {
                return GroupState::Gone;
            }
        }
        match proc_stat(self.pgid) {
            Some(s) if s.pgrp == self.pgid && !matches!(s.state, 'Z' | 'X') => {
                if self.start_ticks.is_none_or(|t| t == s.start_ticks) {
                    GroupState::Running
                } else {
                    // The pid now leads someone else's group.
                    GroupState::Gone
                }
            }
            Some(s) if s.pgrp != self.pgid && !matches!(s.state, 'Z' | 'X') => GroupState::Gone,
            _ => match group_members(self.pgid).len() {
                0 => GroupState::Gone,
                n => GroupState::Leaderless(n),
            },
        }
    }

    /// Stops the group ([`stop_group`] with its grace) unless it is gone
    /// (or the pgid now belongs to another program). Returns the state it
    /// was in and whether SIGKILL was needed.
    pub fn stop(&self) -> (GroupState, bool) {
        let state = self.state();
        let killed = match state {
            GroupState::Gone => false,
            _ => stop_group(self.pgid, self.stop_grace),
        };
        (state, killed)
    }

    /// Starts the recorded spec again (a new group; the log is appended
    /// to), with the recorded stop grace.
    pub fn respawn(&self) -> Result<ManagedProcess, ProcessError> {
        let mut p = ManagedProcess::spawn(self.spec.clone())?;
        p.set_stop_grace(self.stop_grace);
        Ok(p)
    }

    /// As JSON: `{name, program, args, env, cwd, log, pgid, start_ticks,
    /// boot_id, stop_grace_ms}` (strings lossily UTF-8).
    pub fn to_json(&self) -> serde_json::Value {
        let s = |o: &OsStr| o.to_string_lossy().into_owned();
        serde_json::json!({
            "name": self.spec.name,
            "program": s(self.spec.program.as_os_str()),
            "args": self.spec.args.iter().map(|a| s(a)).collect::<Vec<_>>(),
            "env": self.spec.env.iter().map(|(k, v)| [s(k), s(v)]).collect::<Vec<_>>(),
            "cwd": self.spec.cwd.as_ref().map(|c| s(c.as_os_str())),
            "log": s(self.spec.log_path.as_os_str()),
            "pgid": self.pgid,
            "start_ticks": self.start_ticks,
            "boot_id": self.boot_id,
            "stop_grace_ms": self.stop_grace.as_millis() as u64,
        })
    }

    /// Reads [`to_json`](Self::to_json)'s form; the error names the field.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, String> {
        let text = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("process record: no string {k:?}"))
        };
        let strings = |x: &serde_json::Value| -> Option<Vec<String>> {
            x.as_array()?
                .iter()
                .map(|e| e.as_str().map(str::to_string))
                .collect()
        };
        let args = v
            .get("args")
            .and_then(strings)
            .ok_or("process record: no string array \"args\"")?;
        let env = v
            .get("env")
            .and_then(|e| e.as_array())
            .ok_or("process record: no \"env\" array")?
            .iter()
            .map(|pair| match strings(pair).as_deref() {
                Some([k, val]) => Ok((OsString::from(k), OsString::from(val))),
                _ => Err("process record: an \"env\" entry is not [name, value]".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut spec = ProcessSpec::new(text("name")?, text("program")?, text("log")?).args(args);
        spec.env = env;
        spec.cwd = v.get("cwd").and_then(|c| c.as_str()).map(PathBuf::from);
        Ok(Self {
            spec,
            pgid: v
                .get("pgid")
                .and_then(serde_json::Value::as_i64)
                .ok_or("process record: no \"pgid\"")? as i32,
            start_ticks: v.get("start_ticks").and_then(serde_json::Value::as_u64),
            boot_id: v.get("boot_id").and_then(|b| b.as_str()).map(str::to_string),
            stop_grace: Duration::from_millis(
                v.get("stop_grace_ms")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(DEFAULT_STOP_GRACE.as_millis() as u64),
            ),
        })
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
    fn children_inherit_no_descriptor_beyond_stderr() {
        // A descriptor without close-on-exec, as `flock FILE cmd` hands its
        // command: the node must not keep it.
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(dir.path().join("lock")).unwrap();
        let inherited = unsafe { libc::dup(std::os::fd::AsRawFd::as_raw_fd(&file)) };
        assert!(inherited > 2);
        let mut p = sh(
            dir.path(),
            "fds",
            &format!("if [ -e /proc/self/fd/{inherited} ]; then echo kept {inherited}; else echo closed; fi; sleep 30"),
        );
        let line = p.wait_for_log_line("closed", Duration::from_secs(10));
        unsafe { libc::close(inherited) };
        assert!(line.is_ok(), "{}", p.log_tail(5));
        p.stop().unwrap();
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
    fn detached_groups_outlive_their_handle_and_respawn_from_json() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sh(dir.path(), "detached", "sleep 300 & echo up; wait");
        p.wait_for_log_line("up", Duration::from_secs(10)).unwrap();
        let d = p.into_detached();
        assert_eq!(d.state(), GroupState::Running);
        assert_eq!(group_members(d.pgid).len(), 2, "the shell and its sleep");
        let back = DetachedProcess::from_json(&d.to_json()).unwrap();
        assert_eq!(back.spec.command_line(), d.spec.command_line());
        assert_eq!((back.pgid, back.start_ticks), (d.pgid, d.start_ticks));
        // The leader alone dies: its child keeps the group.
        unsafe {
            libc::kill(d.pgid, libc::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while d.state() == GroupState::Running && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(d.state(), GroupState::Leaderless(1));
        let (was, killed) = d.stop();
        assert_eq!((was, killed), (GroupState::Leaderless(1), false));
        assert_eq!(d.state(), GroupState::Gone);
        assert_eq!(d.stop(), (GroupState::Gone, false));
        let mut again = back.respawn().unwrap();
        again.wait_for_log_line("up", Duration::from_secs(10)).unwrap();
        assert_ne!(again.pgid(), d.pgid);
        let log = std::fs::read_to_string(again.log_path()).unwrap();
        assert_eq!(log.matches("=== chimera-e2e: starting detached").count(), 2);
    }

    #[test]
    fn a_recycled_pid_is_not_the_recorded_process() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sh(dir.path(), "recycled", "echo up; sleep 300");
        p.wait_for_log_line("up", Duration::from_secs(10)).unwrap();
        let mut d = p.into_detached();
        d.start_ticks = d.start_ticks.map(|t| t + 1);
        assert_eq!(d.state(), GroupState::Gone);
        assert_eq!(d.stop(), (GroupState::Gone, false), "not signalled");
        d.start_ticks = d.start_ticks.map(|t| t - 1);
        assert_eq!(d.state(), GroupState::Running);
        d.stop();
        assert_eq!(d.state(), GroupState::Gone);
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
