//! Embeds GraphiQL's JavaScript and CSS when `graphiql/fetch-assets.sh` has fetched them, so
//! the playground works offline. Without them the build still succeeds and the page falls
//! back to a CDN (the generated module says which, through `OFFLINE`).

use std::path::Path;

const FILES: [(&str, &str); 4] = [
    ("GRAPHIQL_JS", "graphiql.min.js"),
    ("GRAPHIQL_CSS", "graphiql.min.css"),
    ("REACT_JS", "react.production.min.js"),
    ("REACT_DOM_JS", "react-dom.production.min.js"),
];

fn main() {
    let vendor = Path::new(env!("CARGO_MANIFEST_DIR")).join("graphiql/vendor");
    println!("cargo:rerun-if-changed=graphiql/vendor");
    for (_, file) in FILES {
        println!("cargo:rerun-if-changed=graphiql/vendor/{file}");
    }
    let present = FILES.iter().all(|(_, f)| vendor.join(f).is_file());
    let mut code = format!("pub const OFFLINE: bool = {present};\n");
    for (name, file) in FILES {
        if present {
            let path = vendor.join(file);
            code.push_str(&format!(
                "pub static {name}: &[u8] = include_bytes!({:?});\n",
                path.display().to_string()
            ));
        } else {
            code.push_str(&format!("pub static {name}: &[u8] = b\"\";\n"));
        }
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("graphiql_assets.rs");
    std::fs::write(out, code).expect("write generated assets module");
}
