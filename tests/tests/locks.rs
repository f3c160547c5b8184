//! The Python bindings are their own cargo workspace with their own `Cargo.lock`; the library
//! crates they compile must resolve to exactly the versions the root lock gives them (issue #28):
//! `gemm.rs`'s bit-identity, for one, rests on the exact `matrixmultiply`. This test walks the
//! dependency closure of the workspace crates in the Python lock and finds each package, at the
//! same version, in the root lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// (name, version) → dependencies as (name, optional version) of a `Cargo.lock`.
type Lock = BTreeMap<(String, String), Vec<(String, Option<String>)>>;

fn read(path: &Path) -> Lock {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    let mut lock = Lock::new();
    for p in doc["package"].as_array().unwrap() {
        let p = p.as_table().unwrap();
        let key = (
            p["name"].as_str().unwrap().to_string(),
            p["version"].as_str().unwrap().to_string(),
        );
        let deps = p
            .get("dependencies")
            .and_then(|d| d.as_array())
            .map(|d| {
                d.iter()
                    .map(|s| {
                        let mut it = s.as_str().unwrap().split(' ');
                        let name = it.next().unwrap().to_string();
                        (name, it.next().map(str::to_string))
                    })
                    .collect()
            })
            .unwrap_or_default();
        lock.insert(key, deps);
    }
    lock
}

/// The packages reachable from `roots` in `lock`.
fn closure(lock: &Lock, roots: &[&str]) -> BTreeSet<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<(String, String)> = lock
        .keys()
        .filter(|(n, _)| roots.contains(&n.as_str()))
        .cloned()
        .collect();
    while let Some(key) = todo.pop() {
        if !seen.insert(key.clone()) {
            continue;
        }
        for (name, version) in &lock[&key] {
            let next = lock
                .keys()
                .find(|(n, v)| n == name && version.as_ref().is_none_or(|want| want == v))
                .unwrap_or_else(|| panic!("{name} {version:?} not in the lock"));
            todo.push(next.clone());
        }
    }
    seen
}

#[test]
fn the_python_lock_resolves_the_library_crates_as_the_root_lock_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let main = read(&root.join("Cargo.lock"));
    let python = read(&root.join("crates/python/Cargo.lock"));
    let libraries = [
        "fpe",
        "fpe-model",
        "fpe-metrics",
        "fpe-datasets",
        "fpe-experiments",
        "fpe-io",
    ];
    let shared = closure(&python, &libraries);
    assert!(
        shared.iter().any(|(n, _)| n == "matrixmultiply"),
        "the walk reaches the GEMM crate"
    );
    let differ: Vec<String> = shared
        .iter()
        .filter(|key| !main.contains_key(*key))
        .map(|(n, v)| {
            let have: Vec<&str> = main
                .keys()
                .filter(|(m, _)| m == n)
                .map(|(_, v)| v.as_str())
                .collect();
            format!("{n} {v} (root lock: {})", have.join(", "))
        })
        .collect();
    assert!(
        differ.is_empty(),
        "crates/python/Cargo.lock resolves these library dependencies differently from \
         Cargo.lock; run `cargo update --manifest-path crates/python/Cargo.toml -p NAME \
         --precise VERSION`:\n  {}",
        differ.join("\n  ")
    );
}
