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
    let transport = ["axum", "async-graphql"];
    let upper = [
        "stepgraph-web",
        "stepgraph-graphql",
        "stepgraph-rest",
        "stepgraph-server",
    ];
    let domain: Vec<&str> = [
        &transport[..],
        &upper[..],
        &["stepgraph-outreach", "reqwest"],
    ]
    .concat();
    // The upstream (an HTTP client): neither API nor the server.
    let outreach: Vec<&str> = [&transport[..], &upper[..]].concat();
    let rules: [(&str, &[&str]); 6] = [
        ("crates/domain", &domain),
        ("crates/outreach", &outreach),
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

/// The adapters (and the Outreach client) translate; the domain runs SQL. A query built or run in an adapter's source
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
    for krate in [
        "crates/graphql/src",
        "crates/rest/src",
        "crates/outreach/src",
        "crates/web/src",
        "crates/server/src",
    ] {
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

/// The fields of every object and input type in an SDL, as `type -> field -> (type as written)`.
fn sdl_fields(sdl: &str) -> std::collections::BTreeMap<String, Vec<(String, String)>> {
    let mut out = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_description = false;
    let mut pending: Option<String> = None;
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("\"\"\"") {
            // A description block: one line (`"""text"""`) or several.
            if !(trimmed.len() > 3 && trimmed.ends_with("\"\"\"")) {
                in_description = !in_description;
            }
            continue;
        }
        if in_description {
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("type ")
            .or_else(|| line.strip_prefix("input "))
        {
            current = rest.split_whitespace().next().map(str::to_string);
            continue;
        }
        if line.starts_with('}') {
            current = None;
            continue;
        }
        let Some(ty) = &current else { continue };
        // A field is indented by one tab; its arguments by two, closed by `): Type`.
        let depth = line.len() - line.trim_start_matches('\t').len();
        if depth == 1 {
            let field = if let Some(name) = trimmed.strip_suffix('(') {
                pending = Some(name.to_string());
                None
            } else if let Some(field_type) = trimmed.strip_prefix("):") {
                pending.take().map(|name| (name, field_type))
            } else {
                trimmed
                    .split_once(':')
                    .map(|(name, field_type)| (name.to_string(), field_type))
            };
            if let Some((name, field_type)) = field {
                out.entry(ty.clone())
                    .or_insert_with(Vec::new)
                    .push((name, field_type.trim().to_string()));
            }
        }
    }
    out
}

/// A relationship is one declaration in `service::relations`: this fails, naming what is
/// missing, when a declared relationship is not a field of its parent in the GraphQL schema
/// with the declared target (a to-one non-null exactly when the policy shows it with its
/// parent), or not a relationship of its parent on the JSON:API; and when GraphQL exposes a
/// relationship that is not declared.
#[test]
fn every_relationship_is_declared_once_and_exposed_on_both_apis() {
    use stepgraph::rest::resources::all_types;
    use stepgraph::service::relations::ALL;

    let sdl = stepgraph::graphql::sdl();
    let types = sdl_fields(&sdl);
    let rest = all_types();
    assert!(ALL.len() > 60, "{} relationships declared", ALL.len());
    // Resource names are the JSON:API's types (`sequenceStep`); GraphQL's are capitalised.
    let object = |name: &str| format!("{}{}", name[..1].to_uppercase(), &name[1..]);
    for rel in ALL {
        let (parent, field, target) = (object(rel.parent()), rel.field(), object(rel.target()));
        let (parent, target) = (parent.as_str(), target.as_str());
        let fields = types
            .get(parent)
            .unwrap_or_else(|| panic!("{}: no GraphQL type {parent}", rel.name()));
        let (_, written) = fields.iter().find(|(f, _)| f == field).unwrap_or_else(|| {
            panic!(
                "{} is declared in service::relations, but GraphQL's {parent} has no field \
                 `{field}`: add its method in crates/graphql/src/types/",
                rel.name()
            )
        });
        match rel.to_one() {
            Some(shown) => {
                let expected = if shown {
                    format!("{target}!")
                } else {
                    target.to_string()
                };
                assert_eq!(
                    written,
                    &expected,
                    "{}: a to-one declared {} must be `{expected}` in GraphQL (to_one{})",
                    rel.name(),
                    if shown {
                        "shown_with_parent"
                    } else {
                        "without shown_with_parent"
                    },
                    if shown { "_required" } else { "" },
                );
            }
            None => assert_eq!(
                written,
                &format!("{target}Connection!"),
                "{}: a to-many is a connection of {target} in GraphQL",
                rel.name()
            ),
        }
        let info = rest
            .iter()
            .find(|t| t.name == rel.parent())
            .unwrap_or_else(|| panic!("{}: no JSON:API type {parent}", rel.name()));
        let listed = (info.relationships)()
            .into_iter()
            .find(|r| r.name == field)
            .unwrap_or_else(|| {
                panic!(
                    "{} is declared, but the JSON:API's {parent} has no relationship \
                     `{field}`",
                    rel.name()
                )
            });
        assert_eq!(
            (listed.target)().name,
            rel.target(),
            "{} on the JSON:API",
            rel.name()
        );
    }
    // The other way: every GraphQL field of an entity type that leads to another entity (or
    // a connection of them) is a declared relationship.
    let entities: Vec<String> = rest.iter().map(|t| object(t.name)).collect();
    for parent in &entities {
        for (field, written) in &types[parent] {
            let bare = written.trim_end_matches('!');
            let target = bare.strip_suffix("Connection").unwrap_or(bare);
            if entities.iter().any(|e| e == target) {
                let name = format!("{parent}.{field}");
                assert!(
                    ALL.iter().any(|r| r.name() == name),
                    "GraphQL's {name} leads to {target} but is not declared in \
                     service::relations"
                );
            }
        }
    }
}

/// A filter is one entry in its type's table on the JSON:API (`ApiResource::FILTERS`), and
/// GraphQL's `{Type}Filter` input has a field of the same name for each: this fails, naming
/// the filter, when one API gains a filter the other does not have.
#[test]
fn every_filter_has_the_same_name_on_both_apis() {
    use std::collections::BTreeSet;
    use stepgraph::rest::resources::all_types;

    let sdl = stepgraph::graphql::sdl();
    let types = sdl_fields(&sdl);
    let mut compared = 0;
    for info in all_types() {
        let input = format!("{}{}Filter", info.name[..1].to_uppercase(), &info.name[1..]);
        let graphql: BTreeSet<&str> = types
            .get(&input)
            .unwrap_or_else(|| panic!("no GraphQL input {input} for {}", info.name))
            .iter()
            .map(|(f, _)| f.as_str())
            .collect();
        let rest: BTreeSet<&str> = (info.filters)().into_iter().collect();
        if let Some(only) = graphql.difference(&rest).next() {
            panic!(
                "GraphQL's {input}.{only} has no filter[{only}] on the JSON:API's {}",
                info.name
            );
        }
        if let Some(only) = rest.difference(&graphql).next() {
            panic!(
                "the JSON:API's filter[{only}] on {} has no field in GraphQL's {input}",
                info.name
            );
        }
        compared += rest.len();
    }
    assert!(compared > 60, "only {compared} filters compared");
}
