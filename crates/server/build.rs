//! Embeds GraphiQL's JavaScript and CSS so the playground works offline.
//!
//! Where the files come from, in order:
//! 1. `graphiql/vendor/`, when `graphiql/fetch-assets.sh` has filled it;
//! 2. otherwise the npm registry, fetched here with `npm pack` into `OUT_DIR` (never into the
//!    source tree), each tarball checked against its pinned `sha512` integrity;
//! 3. otherwise (no npm, no network, or `STEPGRAPH_GRAPHIQL_ASSETS=cdn`) nothing is embedded,
//!    the build warns, and the page loads the same files from a CDN with `integrity`
//!    attributes, so the browser refuses anything but these exact bytes.
//!
//! Every embedded file is checked against its pinned SHA-384 (the same hash the CDN page uses),
//! so what is served offline and what a browser accepts online are byte for byte the same.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha384, Sha512};

/// A pinned npm package: its tarball's `dist.integrity`, and the files taken from it.
struct Package {
    spec: &'static str,
    tarball: &'static str,
    integrity: &'static str,
    files: &'static [&'static str],
}

const PACKAGES: [Package; 3] = [
    Package {
        spec: "graphiql@3.9.0",
        tarball: "graphiql-3.9.0.tgz",
        integrity: "sha512-rJYFlHdBbug9+YbFSwRVvgfPjCayC7wHecZkx/qB4XLuQPFQZw/yB9pmHFtOJV6RiNBBHro3u1GdocKa3YcGRA==",
        files: &["package/graphiql.min.js", "package/graphiql.min.css"],
    },
    Package {
        spec: "react@18.3.1",
        tarball: "react-18.3.1.tgz",
        integrity: "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
        files: &["package/umd/react.production.min.js"],
    },
    Package {
        spec: "react-dom@18.3.1",
        tarball: "react-dom-18.3.1.tgz",
        integrity: "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
        files: &["package/umd/react-dom.production.min.js"],
    },
];

/// The embedded files: constant name, file name, and the SHA-384 (subresource integrity) of
/// the pinned version.
const FILES: [(&str, &str, &str); 4] = [
    (
        "GRAPHIQL_JS",
        "graphiql.min.js",
        "sha384-8NGfVj4CVlqHajlZj+bPJT4thxPMHMJYn7DWK2CvtopLd02E7qsPHazniBYvVjOO",
    ),
    (
        "GRAPHIQL_CSS",
        "graphiql.min.css",
        "sha384-QMux00XgRtwRLSYIY3kw2rj1ovk5AuuliAchk+HSQbqdbGFnz9GYuqIlOqxhwCE2",
    ),
    (
        "REACT_JS",
        "react.production.min.js",
        "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
    ),
    (
        "REACT_DOM_JS",
        "react-dom.production.min.js",
        "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
    ),
];

fn sri384(bytes: &[u8]) -> String {
    format!("sha384-{}", STANDARD.encode(Sha384::digest(bytes)))
}

fn sri512(bytes: &[u8]) -> String {
    format!("sha512-{}", STANDARD.encode(Sha512::digest(bytes)))
}

fn complete(dir: &Path) -> bool {
    FILES.iter().all(|(_, file, _)| dir.join(file).is_file())
}

/// `npm pack`s the pinned packages into `out/npm` and extracts the files into `out/assets`.
fn fetch(out: &Path) -> Result<PathBuf, String> {
    let npm_dir = out.join("npm");
    let assets = out.join("assets");
    std::fs::create_dir_all(&npm_dir).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&assets).map_err(|e| e.to_string())?;
    if complete(&assets) {
        return Ok(assets);
    }
    let status = Command::new("npm")
        .args([
            "pack",
            "--silent",
            "--fetch-retries=1",
            "--fetch-timeout=30000",
        ])
        .args(PACKAGES.iter().map(|p| p.spec))
        .current_dir(&npm_dir)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("npm is not available ({e})"))?;
    if !status.success() {
        return Err(format!("`npm pack` failed ({status})"));
    }
    for pkg in &PACKAGES {
        let tarball = npm_dir.join(pkg.tarball);
        let bytes = std::fs::read(&tarball).map_err(|e| format!("{}: {e}", pkg.tarball))?;
        let got = sri512(&bytes);
        if got != pkg.integrity {
            return Err(format!(
                "{} does not match its pinned integrity (got {got})",
                pkg.tarball
            ));
        }
        let unpack = npm_dir.join(pkg.spec);
        std::fs::create_dir_all(&unpack).map_err(|e| e.to_string())?;
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&unpack)
            .args(pkg.files)
            .status()
            .map_err(|e| format!("tar is not available ({e})"))?;
        if !status.success() {
            return Err(format!("cannot extract {}", pkg.tarball));
        }
        for file in pkg.files {
            let name = Path::new(file).file_name().expect("a file name");
            std::fs::copy(unpack.join(file), assets.join(name)).map_err(|e| e.to_string())?;
        }
    }
    Ok(assets)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The folder, not `graphiql/vendor`: a path that does not exist makes cargo rerun this
    // script (and rebuild the crate) on every build. Cargo scans a folder for changes, so
    // filling or emptying vendor/ is noticed.
    println!("cargo:rerun-if-changed=../../graphiql");
    println!("cargo:rerun-if-env-changed=STEPGRAPH_GRAPHIQL_ASSETS");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let vendor = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../graphiql/vendor");
    let cdn_only = std::env::var("STEPGRAPH_GRAPHIQL_ASSETS").as_deref() == Ok("cdn");

    let source = if cdn_only {
        println!(
            "cargo:warning=GraphiQL assets not embedded (STEPGRAPH_GRAPHIQL_ASSETS=cdn); /graphiql will load them from a CDN (with integrity checks)."
        );
        None
    } else if complete(&vendor) {
        Some(vendor)
    } else {
        match fetch(&out) {
            Ok(dir) => Some(dir),
            Err(why) => {
                println!(
                    "cargo:warning=GraphiQL assets not embedded ({why}); /graphiql will load them from a CDN (with integrity checks) and needs internet access. Run graphiql/fetch-assets.sh, or build where npm can reach its registry."
                );
                None
            }
        }
    };

    let mut code = format!("pub const OFFLINE: bool = {};\n", source.is_some());
    for (name, file, sri) in FILES {
        code.push_str(&format!("pub const {name}_SRI: &str = {sri:?};\n"));
        match &source {
            Some(dir) => {
                let path = dir.join(file);
                let bytes = std::fs::read(&path).expect("read a GraphiQL asset");
                let got = sri384(&bytes);
                assert_eq!(
                    got,
                    sri,
                    "{} is not the pinned version (delete graphiql/vendor and build again)",
                    path.display()
                );
                code.push_str(&format!(
                    "pub static {name}: &[u8] = include_bytes!({:?});\n",
                    path.display().to_string()
                ));
            }
            None => code.push_str(&format!("pub static {name}: &[u8] = b\"\";\n")),
        }
    }
    std::fs::write(out.join("graphiql_assets.rs"), code).expect("write generated assets module");
}
