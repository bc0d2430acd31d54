//! A Lambda-sized CPU for the bench: a cgroup (v1 `cpu` controller) whose quota is the share of one
//! vCPU AWS documents for a function's memory (memory / 1,769 MB). AWS does not document how init is
//! scheduled, so a cold start measured inside it is a pessimistic bound, labelled as one.

use std::path::{Path, PathBuf};

/// The CPU share AWS gives `memory_mb` of memory: a full vCPU at 1,769 MB.
pub fn share(memory_mb: u32) -> f64 {
    (memory_mb as f64 / 1769.0).min(1.0)
}

pub struct CpuLimit {
    dir: PathBuf,
    pub share: f64,
}

impl CpuLimit {
    /// Makes (or reuses) the cgroup; the error says why it could not, for the table to show.
    pub fn make(memory_mb: u32) -> Result<Self, String> {
        let root = Path::new("/sys/fs/cgroup/cpu");
        if !root.join("cpu.cfs_quota_us").exists() {
            return Err("no cgroup v1 cpu controller at /sys/fs/cgroup/cpu on this machine".into());
        }
        let dir = root.join(format!("ops-bench-{memory_mb}mb"));
        let period: u64 = 100_000;
        let share = share(memory_mb);
        let quota = (period as f64 * share).round() as u64;
        let write = |file: &str, value: String| {
            std::fs::write(dir.join(file), value)
                .map_err(|e| format!("cannot write {}/{file}: {e}", dir.display()))
        };
        if !dir.exists() {
            std::fs::create_dir(&dir)
                .map_err(|e| format!("cannot make the cgroup {}: {e}", dir.display()))?;
        }
        write("cpu.cfs_period_us", period.to_string())?;
        write("cpu.cfs_quota_us", quota.to_string())?;
        Ok(Self { dir, share })
    }

    /// Moves a process (all its threads) into the cgroup; done right after spawn, so at most the
    /// process's first microseconds run unlimited.
    pub fn enter(&self, pid: u32) -> Result<(), String> {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())
            .map_err(|e| format!("cannot move {pid} into {}: {e}", self.dir.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_memory_over_1769_mb_of_one_vcpu() {
        assert!((share(128) - 0.07236).abs() < 1e-4);
        assert_eq!(share(4096), 1.0);
    }
}
