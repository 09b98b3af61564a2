//! The processes of a chaos run: the real `mujibak` binary as one `web` and N `worker`
//! processes (each with its own log file), SIGKILLed and restarted on demand, and the
//! Postgres restart the run performs through a command it is given.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

/// The running processes and how to start more.
pub struct Fleet {
    bin: PathBuf,
    env: Vec<(String, String)>,
    /// Variables that replace `env`'s for every worker (not `web`), e.g. the worker's pool.
    worker_env: Vec<(String, String)>,
    /// Variables that replace `env`'s for worker 0 (and whoever replaces it), e.g. a
    /// `DATABASE_URL` through a proxy.
    first_worker: Vec<(String, String)>,
    logs: PathBuf,
    web: Child,
    workers: Vec<Child>,
    started: usize,
    pub kills: usize,
}

impl Fleet {
    /// Starts `web` and `workers` worker processes of `bin` with exactly `env`.
    pub async fn start(
        bin: &Path,
        env: Vec<(String, String)>,
        logs: &Path,
        workers: usize,
    ) -> anyhow::Result<Self> {
        Self::start_with(bin, env, logs, workers, Vec::new()).await
    }

    /// As [`Self::start`]; worker 0 (and each worker that replaces it) runs with
    /// `first_worker` over `env`.
    pub async fn start_with(
        bin: &Path,
        env: Vec<(String, String)>,
        logs: &Path,
        workers: usize,
        first_worker: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        Self::start_split(bin, env, Vec::new(), logs, workers, first_worker).await
    }

    /// As [`Self::start_with`]; every worker also gets `worker_env` over `env` (the web
    /// process does not), before worker 0's `first_worker`.
    pub async fn start_split(
        bin: &Path,
        env: Vec<(String, String)>,
        worker_env: Vec<(String, String)>,
        logs: &Path,
        workers: usize,
        first_worker: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        let web = spawn(bin, &env, logs, "web", "web")?;
        let mut fleet = Self {
            bin: bin.into(),
            env,
            worker_env,
            first_worker,
            logs: logs.into(),
            web,
            workers: Vec::new(),
            started: 0,
            kills: 0,
        };
        for n in 0..workers {
            let child = fleet.spawn_worker(n)?;
            fleet.workers.push(child);
        }
        Ok(fleet)
    }

    /// Runs `mujibak migrate` to completion.
    pub async fn migrate(bin: &Path, env: &[(String, String)], logs: &Path) -> anyhow::Result<()> {
        let status = spawn(bin, env, logs, "migrate", "migrate")?.wait().await?;
        if !status.success() {
            bail!("mujibak migrate failed ({status}); see {}", logs.join("migrate.log").display());
        }
        Ok(())
    }

    fn spawn_worker(&mut self, slot: usize) -> anyhow::Result<Child> {
        self.started += 1;
        let mut env = self.env.clone();
        let first = if slot == 0 { self.first_worker.as_slice() } else { &[] };
        for (k, v) in self.worker_env.iter().chain(first) {
            env.retain(|(name, _)| name != k);
            env.push((k.clone(), v.clone()));
        }
        spawn(&self.bin, &env, &self.logs, "worker", &format!("worker-{}", self.started))
    }

    /// SIGKILLs worker `n` (no clean-up, as the OOM killer or a host failure would) and
    /// starts a fresh one in its place.
    pub async fn kill_worker(&mut self, n: usize) -> anyhow::Result<()> {
        let n = n % self.workers.len();
        self.workers[n].start_kill().context("SIGKILL a worker")?;
        let _ = self.workers[n].wait().await;
        self.kills += 1;
        self.workers[n] = self.spawn_worker(n)?;
        Ok(())
    }

    /// Peak resident memory (`VmHWM`, KiB) of the web process and of each worker.
    pub fn peak_rss_kib(&self) -> (u64, Vec<u64>) {
        self.memory_kib("VmHWM:")
    }

    /// Resident memory now (`VmRSS`, KiB) of the web process and of each worker.
    pub fn rss_kib(&self) -> (u64, Vec<u64>) {
        self.memory_kib("VmRSS:")
    }

    fn memory_kib(&self, field: &str) -> (u64, Vec<u64>) {
        let read = |child: &Child| -> u64 {
            let Some(pid) = child.id() else { return 0 };
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
                .unwrap_or(0)
        };
        (read(&self.web), self.workers.iter().map(read).collect())
    }

    /// Fails if a process the run did not kill has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.web.try_wait()? {
            bail!("web exited on its own ({status}); see {}", self.logs.join("web.log").display());
        }
        for (n, w) in self.workers.iter_mut().enumerate() {
            if let Some(status) = w.try_wait()? {
                bail!(
                    "worker {n} exited on its own ({status}); see the worker logs in {}",
                    self.logs.display()
                );
            }
        }
        Ok(())
    }

    /// SIGTERM to every process, as a deploy does; waits up to 30 s for each.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let mut all: Vec<&mut Child> = self.workers.iter_mut().collect();
        all.push(&mut self.web);
        for child in &all {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
            }
        }
        for child in all {
            if tokio::time::timeout(Duration::from_secs(30), child.wait()).await.is_err() {
                child.start_kill()?;
                bail!("a process ignored SIGTERM for 30 s");
            }
        }
        Ok(())
    }
}

/// Restarts Postgres with `command` (a shell command line given by `scripts/chaos`).
pub async fn restart_postgres(command: &str) -> anyhow::Result<()> {
    let status = Command::new("sh").arg("-c").arg(command).stdout(Stdio::null()).status().await?;
    if !status.success() {
        bail!("the Postgres restart command failed ({status})");
    }
    Ok(())
}

fn spawn(bin: &Path, env: &[(String, String)], logs: &Path, role: &str, name: &str) -> anyhow::Result<Child> {
    let log = std::fs::File::create(logs.join(format!("{name}.log")))?;
    Command::new(bin)
        .arg(role)
        .env_clear()
        .envs(env.iter().cloned())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {} {role}", bin.display()))
}
