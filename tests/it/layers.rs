//! The layers, as the crates' manifests declare them: the compiler already refuses a cycle
//! between crates; this keeps each crate's dependencies to its layer, so a shortcut (the
//! domain reaching for axum, the GraphQL schema for HTTP, the JSON:API for GraphQL) fails
//! here, naming the crate and the dependency, instead of creeping in.

use std::collections::BTreeSet;

/// The `[dependencies]` of a manifest (names only).
fn dependencies(manifest: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).unwrap_or_else(|e| panic!("{manifest}: {e}"));
    let mut in_deps = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps
            && !line.is_empty()
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once('=')
        {
            out.insert(name.trim().trim_end_matches(".workspace").to_string());
        }
    }
    out
}

#[test]
fn every_crate_depends_only_on_its_layer() {
    let root = env!("CARGO_MANIFEST_DIR");
    // crate -> what it must never depend on.
    let rules: [(&str, &[&str]); 5] = [
        (
            "crates/domain",
            &[
                "axum",
                "async-graphql",
                "stepgraph-web",
                "stepgraph-graphql",
                "stepgraph-rest",
                "stepgraph-server",
            ],
        ),
        (
            "crates/web",
            &[
                "async-graphql",
                "stepgraph-graphql",
                "stepgraph-rest",
                "stepgraph-server",
            ],
        ),
        (
            "crates/graphql",
            &[
                "axum",
                "stepgraph-web",
                "stepgraph-rest",
                "stepgraph-server",
            ],
        ),
        (
            "crates/rest",
            &["async-graphql", "stepgraph-graphql", "stepgraph-server"],
        ),
        ("crates/server", &["clap", "migration"]),
    ];
    for (krate, forbidden) in rules {
        let deps = dependencies(&format!("{root}/{krate}/Cargo.toml"));
        assert!(
            deps.contains("stepgraph-domain") || krate == "crates/domain",
            "{krate}: {deps:?}"
        );
        for name in forbidden {
            assert!(
                !deps.contains(*name),
                "{krate} depends on {name}, which its layer must not know (ARCHITECTURE.md, Boundaries)"
            );
        }
    }
}

/// The adapters translate; the domain runs SQL. A query built or run in an adapter's source
/// (`Entity::find()`, `select_only()`, raw statements) fails here with its file and line: what
/// the adapter needs is a service function.
#[test]
fn adapters_run_no_sql_of_their_own() {
    let root = env!("CARGO_MANIFEST_DIR");
    let needles = [
        "::find()",
        "find_by_id(",
        ".select_only()",
        "into_tuple",
        "query_all",
        "query_one",
        "execute_raw",
        "execute_unprepared",
        "update_many(",
        "delete_many(",
        "insert_many(",
    ];
    let mut found = Vec::new();
    let mut files = 0;
    for krate in ["crates/graphql/src", "crates/rest/src"] {
        let mut stack = vec![std::path::PathBuf::from(format!("{root}/{krate}"))];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files += 1;
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (i, line) in text.lines().enumerate() {
                        let code = line.split("//").next().unwrap_or_default();
                        if needles.iter().any(|n| code.contains(n)) {
                            found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                        }
                    }
                }
            }
        }
    }
    assert!(files > 20, "only {files} adapter files read");
    assert!(found.is_empty(), "SQL in an adapter:\n{}", found.join("\n"));
}
