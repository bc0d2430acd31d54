//! Where a bench's figures come from: the commit (and whether the tree was dirty), the machine,
//! the tools. A dirty tree is refused unless `BENCH_ALLOW_DIRTY=1`, and then the file says so.

use std::process::Command;

use crate::repo_path;

fn output(program: &str, args: &[&str]) -> Option<String> {
    Command::new(program)
        .args(args)
        .current_dir(repo_path(""))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

pub struct Provenance {
    /// `git describe --always --dirty`.
    pub describe: String,
    pub dirty: bool,
    pub cpu: String,
    pub cores: usize,
    pub tools: Vec<String>,
}

impl Provenance {
    pub fn read(python: &str) -> Self {
        let describe =
            output("git", &["describe", "--always", "--dirty"]).unwrap_or_else(|| "unknown".into());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let tools = [
            ("rustc", vec!["--version"]),
            ("cargo", vec!["lambda", "--version"]),
            (python, vec!["--version"]),
            (
                python,
                vec![
                    "-c",
                    "import moto, boto3; print('moto', moto.__version__, '/ boto3', boto3.__version__)",
                ],
            ),
        ]
        .iter()
        .filter_map(|(program, args)| output(program, args))
        .collect();
        Self {
            dirty: describe.ends_with("-dirty"),
            describe,
            cpu,
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            tools,
        }
    }

    /// Refuses a dirty tree unless allowed; the reason names the way out.
    pub fn check(&self, allow_dirty: bool) -> Result<(), String> {
        if self.dirty && !allow_dirty {
            return Err(format!(
                "the tree is dirty ({}): commit first, so the results name what was measured, or set BENCH_ALLOW_DIRTY=1 (the results then say so)",
                self.describe
            ));
        }
        Ok(())
    }

    /// The results' first lines.
    pub fn header(&self, when: &str) -> String {
        let dirty = if self.dirty {
            " **(uncommitted changes: BENCH_ALLOW_DIRTY=1; these figures do not belong to that commit)**"
        } else {
            ""
        };
        format!(
            "Measured by `make bench` on {} × {}; `git describe --always --dirty`: {}{dirty}; {when}. Tools: {}.",
            self.cores,
            self.cpu,
            self.describe,
            self.tools.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dirty_tree_is_refused_unless_allowed_and_then_said() {
        let p = Provenance {
            describe: "8e3c1fa-dirty".into(),
            dirty: true,
            cpu: "AMD EPYC".into(),
            cores: 2,
            tools: vec!["rustc 1.95.0".into()],
        };
        assert!(p.check(false).unwrap_err().contains("BENCH_ALLOW_DIRTY=1"));
        assert!(p.check(true).is_ok());
        assert!(p.header("2026-12-04 03:00 UTC").contains("uncommitted changes"));
        let clean = Provenance {
            describe: "8e3c1fa".into(),
            dirty: false,
            ..p
        };
        assert!(clean.check(false).is_ok());
        assert!(!clean.header("now").contains("uncommitted"));
    }
}
