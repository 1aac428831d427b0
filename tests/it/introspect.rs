//! The schema as a client sees it, from introspection: object types, their fields and
//! arguments, so tests can generate documents for every field (a field added later is
//! covered without touching the tests).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::server::TestServer;

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    /// The named type at the bottom of the field's type.
    pub type_name: String,
    pub type_kind: String,
    /// Arguments as (name, required).
    pub args: Vec<(String, bool)>,
    /// Argument types (the named type at the bottom), by argument name.
    pub arg_types: BTreeMap<String, String>,
}

pub struct Schema {
    pub query: String,
    pub types: BTreeMap<String, Vec<FieldDef>>,
    /// Enum types and their values.
    pub enums: BTreeMap<String, Vec<String>>,
}

const INTROSPECTION: &str = r#"{
  __schema {
    queryType { name }
    types { name kind enumValues { name } fields { name args { name defaultValue type { ...T } } type { ...T } } }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"#;

fn named(t: &Value) -> (String, String) {
    let mut t = t;
    while t["ofType"].is_object() {
        t = &t["ofType"];
    }
    (
        t["name"].as_str().unwrap_or_default().to_string(),
        t["kind"].as_str().unwrap_or_default().to_string(),
    )
}

pub async fn schema(s: &TestServer, token: &str) -> Schema {
    let res = s.gql(token, INTROSPECTION, json!({})).await;
    let data = res.data();
    let mut types = BTreeMap::new();
    let mut enums = BTreeMap::new();
    for t in data["__schema"]["types"].as_array().unwrap() {
        if t["kind"] == "ENUM" {
            let values = t["enumValues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string())
                .collect();
            enums.insert(t["name"].as_str().unwrap().to_string(), values);
        }
        if t["kind"] != "OBJECT" {
            continue;
        }
        let fields = t["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let (type_name, type_kind) = named(&f["type"]);
                let arg_types = f["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| (a["name"].as_str().unwrap().to_string(), named(&a["type"]).0))
                    .collect();
                let args = f["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| {
                        let required =
                            a["type"]["kind"] == "NON_NULL" && a["defaultValue"].is_null();
                        (a["name"].as_str().unwrap().to_string(), required)
                    })
                    .collect();
                FieldDef {
                    name: f["name"].as_str().unwrap().to_string(),
                    type_name,
                    type_kind,
                    args,
                    arg_types,
                }
            })
            .collect();
        types.insert(t["name"].as_str().unwrap().to_string(), fields);
    }
    Schema {
        query: data["__schema"]["queryType"]["name"]
            .as_str()
            .unwrap()
            .to_string(),
        types,
        enums,
    }
}

/// How many relationship hops the walk follows below each root field. Two: every relationship
/// is walked from every row of its parent's root list and from every parent one hop away.
/// Each hop applies its own target's visibility, so longer chains add no new kind of path
/// (three hops multiply the statements by ten for nothing).
pub const WALK_DEPTH: usize = 2;

impl Schema {
    pub fn has_id(&self, type_name: &str) -> bool {
        self.types
            .get(type_name)
            .is_some_and(|fields| fields.iter().any(|f| f.name == "id"))
    }

    pub fn node_type(&self, connection: &str) -> Option<&str> {
        let fields = self.types.get(connection)?;
        let nodes = fields.iter().find(|f| f.name == "nodes")?;
        Some(&nodes.type_name)
    }

    pub fn is_connection(&self, type_name: &str) -> bool {
        type_name.ends_with("Connection") && self.node_type(type_name).is_some()
    }

    /// A connection field with its whole page (the demo's lists are far below 100).
    pub fn connection(&self, f: &FieldDef, depth: usize) -> String {
        let node = self.node_type(&f.type_name).unwrap();
        let args = if f.args.iter().any(|(a, _)| a == "first") {
            "(first: 100)"
        } else {
            ""
        };
        format!(
            "{}{args} {{ totalCount pageInfo {{ hasNextPage hasPreviousPage }} nodes {{ {} }} }}",
            f.name,
            self.selection(node, depth)
        )
    }

    /// `__typename id` and every relationship of `type_name`, `depth` levels down.
    pub fn selection(&self, type_name: &str, depth: usize) -> String {
        let mut out = vec!["__typename".to_string()];
        if self.has_id(type_name) {
            out.push("id".into());
        }
        if depth < WALK_DEPTH {
            for f in &self.types[type_name] {
                if f.type_kind != "OBJECT" || f.args.iter().any(|(_, required)| *required) {
                    continue;
                }
                if self.is_connection(&f.type_name) {
                    out.push(self.connection(f, depth + 1));
                } else if self.has_id(&f.type_name) {
                    out.push(format!(
                        "{} {{ {} }}",
                        f.name,
                        self.selection(&f.type_name, depth + 1)
                    ));
                }
            }
        }
        out.join(" ")
    }

    /// One document per root field that lists or returns rows without an id argument, and
    /// whether it is a connection (paged through with `$after`).
    pub fn root_documents(&self) -> Vec<(String, String, bool)> {
        let mut docs = Vec::new();
        for f in &self.types[&self.query] {
            if f.type_kind != "OBJECT" || f.args.iter().any(|(_, required)| *required) {
                continue;
            }
            if self.is_connection(&f.type_name) {
                let node = self.node_type(&f.type_name).unwrap();
                let doc = format!(
                    "query($after: String) {{ {}(first: 100, after: $after) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {} }} }} }}",
                    f.name,
                    self.selection(node, 0)
                );
                docs.push((f.name.clone(), doc, true));
            } else if self.has_id(&f.type_name) {
                let doc = format!("{{ {} {{ {} }} }}", f.name, self.selection(&f.type_name, 0));
                docs.push((f.name.clone(), doc, false));
            }
        }
        docs
    }

    /// Root lookups: fields taking a required `id` and returning a row type.
    pub fn lookups(&self) -> Vec<(String, String)> {
        self.types[&self.query]
            .iter()
            .filter(|f| {
                f.args.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>() == ["id"]
                    && self.has_id(&f.type_name)
            })
            .map(|f| (f.name.clone(), f.type_name.clone()))
            .collect()
    }
}
