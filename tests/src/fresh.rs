//! Tests run the code they test: a binary a test starts must have been built from this clone's
//! current sources, or the test fails with the command that builds it.
//!
//! Proof, without a second cargo (which would wait on the lock of the `cargo test` running us):
//! cargo's dep-info next to the binary (`target/debug/<bin>.d`) lists every source file the binary
//! was built from, by absolute path. The binary is fresh when that list names this clone's copy of
//! the package and no file of this clone in it is newer than the binary. Cargo itself decides
//! freshness by the same mtimes, so `cargo build` always brings a stale binary back.
//!
//! What it cannot see: a change to a manifest, the lockfile or `RUSTFLAGS` alone (not in dep-info;
//! `make test` builds before it tests, so this matters only to a hand-run `cargo test`), and a file
//! saved while the build that produced the binary was running.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The shared build directory, as the Makefile sets it.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").expect("HOME is set")).join(".cache/ops-lambdas/target")
        })
}

const BUILD: &str = "cargo build --workspace --bins";

/// Paths in a Makefile-style dep-info line, with `\ ` for a space in a path.
fn dep_paths(text: &str) -> Vec<PathBuf> {
    let Some((_, deps)) = text.lines().next().and_then(|l| l.split_once(": ")) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    paths.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        paths.push(PathBuf::from(current));
    }
    paths
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Why `binary` (built per `dep_info`) does not hold the current code of the package in
/// `package_dir`, inside the clone at `root`; `None` when it does.
pub fn staleness(binary: &Path, dep_info: &Path, root: &Path, package_dir: &Path) -> Option<String> {
    let Some(built) = modified(binary) else {
        return Some(format!("{} is not built", binary.display()));
    };
    let Ok(text) = std::fs::read_to_string(dep_info) else {
        return Some(format!(
            "{} has no dep-info ({})",
            binary.display(),
            dep_info.display()
        ));
    };
    let deps = dep_paths(&text);
    if deps.iter().any(|p| p.is_relative()) {
        return Some(format!(
            "{} lists relative paths: unset cargo's build.dep-info-basedir, which this check cannot read",
            dep_info.display()
        ));
    }
    if !deps.iter().any(|p| p.starts_with(package_dir)) {
        return Some(format!(
            "{} was built from another copy of the sources, not {}",
            binary.display(),
            package_dir.display()
        ));
    }
    for dep in deps.iter().filter(|p| p.starts_with(root)) {
        match modified(dep) {
            None => {
                return Some(format!(
                    "{} was built from {}, which no longer exists",
                    binary.display(),
                    dep.display()
                ))
            }
            // A clock ahead of time (an unpacked archive, a skewed clock) would stay "newer" for
            // ever, whatever is rebuilt.
            Some(changed) if changed > SystemTime::now() => {
                return Some(format!(
                    "{} is dated in the future: `touch` it, then rebuild",
                    dep.display()
                ));
            }
            Some(changed) if changed > built => {
                return Some(format!("{} is older than {}", binary.display(), dep.display()));
            }
            Some(_) => {}
        }
    }
    None
}

/// The clone this test runs from (`CARGO_MANIFEST_DIR` at run time is `tests/`).
fn repo_root() -> PathBuf {
    crate::repo_path("")
        .canonicalize()
        .expect("the repository root exists")
}

/// The debug binary of `package` (a function, `pagerduty-receiver` or `aws-proxy`), proved fresh;
/// panics with the command that rebuilds it otherwise.
pub fn binary(package: &str) -> PathBuf {
    let root = repo_root();
    let package_dir = [
        root.join("functions").join(package),
        root.join("infra/local").join(package),
    ]
    .into_iter()
    .find(|d| d.join("Cargo.toml").exists())
    .unwrap_or_else(|| panic!("no package {package} under functions/ or infra/local/"));
    fresh_binary(&root, &package_dir, package)
}

/// The `ops` command (package `cli/`), proved fresh.
pub fn ops_cli() -> PathBuf {
    let root = repo_root();
    fresh_binary(&root, &root.join("cli"), "ops")
}

fn fresh_binary(root: &Path, package_dir: &Path, name: &str) -> PathBuf {
    let debug = target_dir().join("debug");
    let binary = debug.join(name);
    if let Some(why) = staleness(&binary, &debug.join(format!("{name}.d")), root, package_dir) {
        panic!("{why}: this test would run old code. Run `{BUILD}` (make test does) and run the test again");
    }
    binary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_paths_keep_escaped_spaces() {
        let paths = dep_paths("/t/debug/x: /a/src/main.rs /a/my\\ dir/lib.rs\n");
        assert_eq!(
            paths,
            vec![PathBuf::from("/a/src/main.rs"), PathBuf::from("/a/my dir/lib.rs")]
        );
    }

    fn touch(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn an_edit_after_the_build_or_a_build_from_elsewhere_is_stale() {
        let root = std::env::temp_dir().join(crate::unique("fresh"));
        let package = root.join("functions/f");
        let source = package.join("src/main.rs");
        touch(&source, "fn main() {}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let binary = root.join("target/f");
        let dep_info = root.join("target/f.d");
        touch(&binary, "bin");
        touch(
            &dep_info,
            &format!("{}: {}\n", binary.display(), source.display()),
        );
        assert_eq!(staleness(&binary, &dep_info, &root, &package), None);

        std::thread::sleep(std::time::Duration::from_millis(20));
        touch(&source, "fn main() { edited() }");
        let why = staleness(&binary, &dep_info, &root, &package).unwrap();
        assert!(why.contains("is older than") && why.contains("main.rs"), "{why}");

        let elsewhere = root.join("other-clone/functions/f/src/main.rs");
        touch(
            &dep_info,
            &format!("{}: {}\n", binary.display(), elsewhere.display()),
        );
        let why = staleness(&binary, &dep_info, &root, &package).unwrap();
        assert!(why.contains("another copy"), "{why}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
