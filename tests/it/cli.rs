//! The `stepgraph` binary end to end: migrations, seeds, tokens, schema, and `serve` with a
//! graceful shutdown on SIGTERM. (Always on a SQLite file: this is about the command line.)

use std::process::{Command, Output, Stdio};

pub(crate) struct Cli {
    dir: std::path::PathBuf,
}

impl Cli {
    pub(crate) fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "stepgraph-cli-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    /// Seeds the demo data and returns a new API token of `email`.
    pub(crate) fn demo_token(&self, email: &str) -> String {
        self.ok(&["seed", "--demo"]);
        self.ok(&["token", "create", "--user", email])
            .trim()
            .to_string()
    }

    pub(crate) fn url(&self) -> String {
        format!("sqlite://{}/cli.db", self.dir.display())
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_stepgraph"))
            .args(["--database-url", &self.url(), "--log", "warn"])
            .args(args)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn migrate_seed_token_and_schema_commands() {
    let cli = Cli::new();
    assert!(cli.ok(&["migrate", "status"]).contains("pending"));
    let all = {
        use migration::MigratorTrait;
        migration::Migrator::migrations().len()
    };
    let applied = cli.ok(&["migrate", "up"]);
    assert!(
        applied.contains(&format!("applied {all} migration")),
        "{applied}"
    );
    let status = cli.ok(&["migrate", "status"]);
    assert!(
        status.contains("applied") && !status.contains("pending"),
        "{status}"
    );
    assert!(
        cli.ok(&["seed", "--demo"])
            .contains("4 users, 5 sequences, 14 steps")
    );
    // The demo refuses a second load, with a clear message and a failing exit code.
    let again = cli.run(&["seed", "--demo"]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("empty database"), "{stderr}");
    assert!(
        !stderr.contains("Custom Error"),
        "a plain sentence: {stderr}"
    );

    let token = cli.ok(&[
        "token",
        "create",
        "--user",
        "ada.admin@example.com",
        "--name",
        "ci",
    ]);
    let token = token.trim();
    assert!(token.starts_with("sgt_") && token.len() == 68, "{token}");
    let list = cli.ok(&["token", "list"]);
    assert!(list.contains("ada.admin@example.com") && list.contains("active"));
    // Expiry and last use are columns of their own.
    let header = list.lines().next().unwrap();
    assert!(
        header.contains("expires") && header.contains("last used"),
        "{header}"
    );
    assert!(list.contains("never"), "a token without expiry: {list}");
    assert!(!list.contains(&token[12..]), "the secret is never listed");
    let prefix = &token[..12];
    assert!(cli.ok(&["token", "revoke", prefix]).contains("revoked"));
    assert!(cli.ok(&["token", "list"]).contains("revoked"));
    let missing = cli.run(&["token", "create", "--user", "nobody@example.com"]);
    assert!(!missing.status.success());
    // A token may expire; a duration without a unit is refused.
    let expiring = cli.run(&[
        "token",
        "create",
        "--user",
        "ada.admin@example.com",
        "--expires-in",
        "2h",
    ]);
    assert!(expiring.status.success());
    assert!(String::from_utf8_lossy(&expiring.stderr).contains("valid until"));
    let bad = cli.run(&[
        "token",
        "create",
        "--user",
        "ada.admin@example.com",
        "--expires-in",
        "2",
    ]);
    assert!(!bad.status.success());
    // Out of range: a clear usage error (exit 2), never a panic (101).
    for lifetime in ["99999999999d", "36501d"] {
        let far = cli.run(&[
            "token",
            "create",
            "--user",
            "ada.admin@example.com",
            "--expires-in",
            lifetime,
        ]);
        assert_eq!(far.status.code(), Some(2), "{lifetime}");
        let stderr = String::from_utf8_lossy(&far.stderr);
        assert!(
            stderr.contains("at most 36500d") && !stderr.contains("panicked"),
            "{stderr}"
        );
    }

    let sdl = cli.ok(&["schema"]);
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(sdl, committed);

    let sized = cli.ok(&[
        "seed",
        "--sequences",
        "3",
        "--steps-per-sequence",
        "4",
        "--seed",
        "1",
    ]);
    assert!(sized.contains("12 steps"), "{sized}");
    // The sized seed says which users it made and how to get a token for one.
    assert!(
        sized.contains("users:")
            && sized.contains("admin ")
            && sized.contains("token create --user"),
        "{sized}"
    );
    // Only the users this seed made, not the demo's already there.
    assert!(!sized.contains("ada.admin@example.com"), "{sized}");
    // Bad arguments: clap explains, nothing runs.
    let bad = cli.run(&["seed", "--sequences", "3"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--steps-per-sequence"));

    cli.ok(&["migrate", "down"]);
    assert!(cli.ok(&["migrate", "status"]).contains("pending"));
    cli.ok(&["migrate", "fresh"]);
    assert!(!cli.ok(&["migrate", "status"]).contains("pending"));
}

/// One HTTP/1.1 request to a local port; the whole response as text.
fn http(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf
}

/// One GraphQL POST of `body` with `token`, over [`http`]; the whole response as text.
fn post_graphql(port: u16, token: &str, body: &str) -> String {
    http(
        port,
        &format!(
            "POST /graphql HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

pub(crate) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// What one `serve --demo` run showed: its standard output and the GraphiQL page, and whether
/// the token pre-filled in that page answered a GraphQL query.
struct DemoRun {
    stdout: String,
    page: String,
    prefilled_token_works: bool,
}

/// Starts `serve --demo` on `host`, reads GraphiQL, tries its token, then stops the server
/// with SIGTERM and checks it exits cleanly.
fn serve_demo(cli: &Cli, host: &str) -> DemoRun {
    let port = free_port();
    let child = spawn_serve(cli, host, port, &["--demo"], Stdio::piped);
    let page = http(
        port,
        "GET /graphiql HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    let prefilled_token_works = match page.split("Bearer ").nth(1) {
        Some(rest) if rest.starts_with("sgt_") => {
            let token: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let body = r#"{"query":"{ viewer { email } }"}"#;
            let res = post_graphql(port, &token, body);
            res.starts_with("HTTP/1.1 200") && res.contains("mia.member@example.com")
        }
        _ => false,
    };
    // A frontend's dev server may call the demo from the browser: the preflight passes.
    let preflight = http(
        port,
        "OPTIONS /graphql HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:5173\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\nConnection: close\r\n\r\n",
    )
    .to_ascii_lowercase();
    assert!(
        preflight.starts_with("http/1.1 200")
            && preflight.contains("access-control-allow-origin: http://localhost:5173"),
        "{preflight}"
    );
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit after SIGTERM: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    DemoRun {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        page,
        prefilled_token_works,
    }
}

#[test]
fn serve_demo_answers_and_stops_gracefully_on_sigterm() {
    let cli = Cli::new();
    let first = serve_demo(&cli, "127.0.0.1");
    for role in ["admin", "member", "viewer"] {
        assert!(
            first.stdout.contains(&format!("  {role}")),
            "a token per role: {}",
            first.stdout
        );
    }
    assert!(
        first.stdout.contains("Authorization: Bearer sgt_") && first.stdout.contains("/graphiql")
    );
    assert!(first.stdout.contains("loaded demo data"));
    assert!(
        first.prefilled_token_works,
        "GraphiQL is pre-filled with a working token"
    );
    // The welcome says what to do: run, since the token is there.
    assert!(first.page.contains("holds a demo member"), "{}", first.page);

    // A second start on the same database: the data stays, fresh tokens are printed again and
    // GraphiQL is pre-filled with one that works; the first start's tokens are revoked, so
    // restarts do not pile up live tokens.
    let second = serve_demo(&cli, "127.0.0.1");
    assert!(
        second.stdout.contains("revoked the 4 demo tokens"),
        "{}",
        second.stdout
    );
    let active = cli
        .ok(&["token", "list"])
        .lines()
        .filter(|l| l.contains(" active "))
        .count();
    assert_eq!(active, 4, "one live demo token per role");
    assert!(
        second.stdout.contains("already loaded"),
        "{}",
        second.stdout
    );
    assert!(second.stdout.contains("Authorization: Bearer sgt_"));
    assert!(
        second.prefilled_token_works,
        "the second start's token works too"
    );

    // Listening beyond loopback: tokens are printed, but the page carries none.
    let open = serve_demo(&cli, "0.0.0.0");
    assert!(open.stdout.contains("Authorization: Bearer sgt_"));
    assert!(open.page.starts_with("HTTP/1.1 200"));
    assert!(
        !open.page.contains("sgt_"),
        "no token in a page others can open"
    );
    assert!(open.page.contains("Put your token in the Headers tab"));
    assert!(!open.prefilled_token_works);
}

/// `kill -9` of the server during a stream of writes, five times over: no acknowledged write is
/// lost, no write is half done (orders stay 1..n in every sequence), and SQLite's integrity
/// check passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_writes_leaves_a_consistent_database() {
    use serde_json::json;
    let cli = Cli::new();
    cli.ok(&["migrate", "up"]);
    cli.ok(&["seed", "--demo"]);
    let token = cli
        .ok(&["token", "create", "--user", "mia.member@example.com"])
        .trim()
        .to_string();
    let http = reqwest::Client::new();
    let mut acknowledged: Vec<i64> = Vec::new();
    for round in 0..5u64 {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_stepgraph"))
            .args(["--database-url", &cli.url(), "--log", "warn", "serve"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut up = false;
        for _ in 0..200 {
            if http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(up, "the server came up in round {round}");
        // Four writers insert steps at the front of sequence 1 (shifting every order) until
        // the server dies under them.
        let mut writers = Vec::new();
        for w in 0..4 {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            writers.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0.. {
                    let body = json!({
                        "query": "mutation($input: CreateSequenceStepInput!) { createSequenceStep(input: $input) { id } }",
                        "variables": { "input": {
                            "sequenceId": "1", "stepType": "TASK", "order": 1 + (w + i) % 3,
                            "interval": 60, "taskNote": format!("round {round} writer {w} #{i}")
                        } }
                    });
                    let Ok(res) = http.post(format!("{base}/graphql")).bearer_auth(&token).json(&body).send().await else {
                        break;
                    };
                    let Ok(v) = res.json::<serde_json::Value>().await else { break };
                    if let Some(id) = v["data"]["createSequenceStep"]["id"].as_str() {
                        ids.push(id.parse::<i64>().unwrap());
                    }
                }
                ids
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(300 + 150 * round)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for w in writers {
            acknowledged.extend(w.await.unwrap());
        }
    }
    assert!(
        acknowledged.len() > 20,
        "writes went through before the kills"
    );
    let db = stepgraph::db::connect(&stepgraph::db::DbConfig::new(cli.url()))
        .await
        .unwrap();
    use sea_orm::{ConnectionTrait, Statement};
    let check = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(check.try_get_by_index::<String>(0).unwrap(), "ok");
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, sequence_id, \"order\" FROM sequence_steps",
        ))
        .await
        .unwrap();
    let mut by_sequence: std::collections::BTreeMap<i64, Vec<i32>> = Default::default();
    let mut present = std::collections::HashSet::new();
    for r in rows {
        present.insert(r.try_get_by_index::<i64>(0).unwrap());
        by_sequence
            .entry(r.try_get_by_index::<i64>(1).unwrap())
            .or_default()
            .push(r.try_get_by_index::<i32>(2).unwrap());
    }
    for (seq, mut orders) in by_sequence {
        orders.sort_unstable();
        assert_eq!(
            orders,
            (1..=orders.len() as i32).collect::<Vec<_>>(),
            "sequence {seq}"
        );
    }
    let lost: Vec<&i64> = acknowledged
        .iter()
        .filter(|id| !present.contains(id))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    eprintln!(
        "kill -9 x5: {} acknowledged creates, none lost; integrity_check ok",
        acknowledged.len()
    );
    db.close().await.unwrap();
}

/// Boolean environment variables take the usual spellings (`1`, `yes`, `true`, ...), and a
/// log written anywhere but a terminal carries no colour codes.
#[test]
fn boolean_environment_values_and_plain_logs() {
    let cli = Cli::new();
    for (value, on) in [
        ("1", true),
        ("yes", true),
        ("true", true),
        ("0", false),
        ("no", false),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_stepgraph"))
            .args(["--database-url", &cli.url(), "--log", "info", "seed"])
            .env_remove("DATABASE_URL")
            .env("STEPGRAPH_SEED_DEMO", value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Off, the seed needs its sized arguments: a usage error (exit 2) that says so, not
        // a refusal of the value.
        assert!(!stderr.contains("invalid value"), "{value}: {stderr}");
        if on {
            assert!(
                !stderr.contains('\x1b'),
                "no ANSI escape in a piped log: {stderr:?}"
            );
        } else {
            assert_eq!(out.status.code(), Some(2), "{value}: {stderr}");
            assert!(stderr.contains("--sequences"), "{value}: {stderr}");
        }
    }
}

/// `--worker-threads` sets how many threads run requests: tokio's workers (named
/// `tokio-rt-worker`; its blocking threads are named otherwise), or with 1 the main thread
/// alone (the current-thread scheduler), which still answers queries. 0 is refused before
/// anything starts.
#[cfg(target_os = "linux")]
#[test]
fn worker_threads_sets_the_runtime_threads() {
    let cli = Cli::new();
    cli.ok(&["migrate", "up"]);
    let token = cli.demo_token("ada.admin@example.com");
    let workers = |pid: u32| {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .filter(|task| {
                let comm = task.as_ref().unwrap().path().join("comm");
                std::fs::read_to_string(comm).is_ok_and(|c| c.trim() == "tokio-rt-worker")
            })
            .count()
    };
    for (threads, expected_workers) in [("1", 0), ("3", 3)] {
        let port = free_port();
        // A global argument, given after the subcommand as clap allows.
        let extra = ["--worker-threads", threads];
        let child = spawn_serve(&cli, "127.0.0.1", port, &extra, Stdio::null);
        let body = r#"{"query":"{ viewer { email } }"}"#;
        let answer = post_graphql(port, &token, body);
        let running = workers(child.id());
        stop(child);
        assert!(
            answer.contains(r#"{"data":{"viewer":{"email":"ada.admin@example.com"}}}"#),
            "{threads}: {answer}"
        );
        assert_eq!(running, expected_workers, "{threads} worker threads");
    }
    let out = cli.run(&["--worker-threads", "0", "serve"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--worker-threads"), "{stderr}");
}

/// A manifest of trusted documents that is wrong stops `serve` before it listens, naming the
/// file and the entry; `--only-trusted-documents` without documents is refused too.
#[test]
fn a_bad_trusted_documents_manifest_stops_serve() {
    let cli = Cli::new();
    cli.ok(&["migrate", "up"]);
    let manifest = cli.dir.join("persisted-documents.json");
    let wrong = "0".repeat(64);
    std::fs::write(
        &manifest,
        format!("{{\"{wrong}\": \"{{ viewer {{ id }} }}\"}}"),
    )
    .unwrap();
    let path = manifest.display().to_string();
    let out = cli.run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--trusted-documents",
        &path,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&path) && stderr.contains(&wrong) && stderr.contains("not the SHA-256"),
        "{stderr}"
    );
    let out = cli.run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--only-trusted-documents",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--trusted-documents"), "{stderr}");
    // The scope that lets an operator's token send other documents.
    cli.ok(&["seed", "--demo"]);
    let token = cli.ok(&[
        "token",
        "create",
        "--user",
        "ada.admin@example.com",
        "--scopes",
        "api,adhoc",
    ]);
    assert!(token.contains("sgt_"), "{token}");
    assert!(cli.ok(&["token", "list"]).contains("api adhoc"));
}

/// The configuration table in README.md lists exactly the environment variables and flags
/// the binary has (`serve --help`), each with the default the binary uses.
#[test]
fn readme_configuration_table_matches_the_binary() {
    use clap::CommandFactory;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut documented = std::collections::BTreeMap::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let is_env = |c: &str| {
            let name = c.trim_matches('`');
            c.starts_with('`')
                && !name.is_empty()
                && name.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_')
        };
        if cells.len() >= 4 && is_env(cells[1]) && cells[2].contains("--") {
            let env = cells[1].trim_matches('`').to_string();
            let flag = cells[2]
                .trim_matches('`')
                .rsplit(' ')
                .next()
                .unwrap()
                .to_string();
            documented.insert(env, (flag, cells[3].to_string()));
        }
    }
    let command = stepgraph::cli::Cli::command();
    let serve = command.find_subcommand("serve").expect("a serve command");
    let outreach = command
        .find_subcommand("sync")
        .and_then(|sync| sync.find_subcommand("outreach"))
        .expect("a sync outreach command");
    let mut actual = std::collections::BTreeMap::new();
    for arg in command
        .get_arguments()
        .chain(serve.get_arguments())
        .chain(outreach.get_arguments())
    {
        if arg.is_hide_set() {
            continue;
        }
        if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
            let default = arg
                .get_default_values()
                .first()
                .map(|v| v.to_string_lossy().into_owned());
            actual.insert(
                env.to_string_lossy().into_owned(),
                (format!("--{long}"), default),
            );
        }
    }
    let missing: Vec<_> = actual
        .keys()
        .filter(|k| !documented.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "not in README's configuration table: {missing:?}"
    );
    let extra: Vec<_> = documented
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    assert!(
        extra.is_empty(),
        "in README's table but not in the binary: {extra:?}"
    );
    for (env, (flag, default)) in &actual {
        let (doc_flag, doc_default) = &documented[env];
        assert_eq!(doc_flag, flag, "{env}");
        if let Some(default) = default {
            assert!(
                doc_default.starts_with(&format!("`{default}`")),
                "{env}: README says {doc_default:?}, the binary defaults to {default}"
            );
        }
    }
}

/// Starts `serve` (with `extra` arguments) on the CLI's database, listening on
/// `host:port`, and waits until it is ready.
pub(crate) fn spawn_serve(
    cli: &Cli,
    host: &str,
    port: u16,
    extra: &[&str],
    output: fn() -> Stdio,
) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_stepgraph"))
        .args(["--database-url", &cli.url(), "--log", "warn", "serve"])
        .args(extra)
        .args(["--listen", &format!("{host}:{port}")])
        .env_remove("DATABASE_URL")
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap();
    wait_ready(port);
    child
}

/// Waits until the server on `port` answers `/readyz`.
pub(crate) fn wait_ready(port: u16) {
    let ready = (0..200).any(|_| {
        let up = http(
            port,
            "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .starts_with("HTTP/1.1 200");
        if !up {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        up
    });
    assert!(ready, "the server became ready");
}

pub(crate) fn stop(mut child: std::process::Child) {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = child.wait();
}

/// Stops a server started with piped output, and returns what it wrote to stderr.
/// Sends SIGTERM to a server started here.
fn sigterm(child: &std::process::Child) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
}

pub(crate) fn stop_with_stderr(child: std::process::Child) -> String {
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn sync_outreach_mirrors_a_server_and_the_mirror_refuses_local_writes() {
    // "Outreach": a stepgraph with the demo data, and an admin's token for it.
    let upstream = Cli::new();
    let token = upstream.demo_token("ada.admin@example.com");
    let up_port = free_port();
    let server = spawn_serve(&upstream, "127.0.0.1", up_port, &[], Stdio::null);
    let base = format!("http://127.0.0.1:{up_port}");

    let mirror = Cli::new();
    let sync = |with_token: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stepgraph"));
        cmd.args(["--database-url", &mirror.url(), "--log", "warn"])
            .args(["sync", "outreach", "--base-url", &base, "--page-size", "50"])
            .env_remove("DATABASE_URL")
            .env_remove("OUTREACH_ACCESS_TOKEN")
            .env_remove("OUTREACH_CLIENT_ID");
        if with_token {
            cmd.env("OUTREACH_ACCESS_TOKEN", &token);
        }
        cmd.output().unwrap()
    };
    // No credentials: a clear error naming what to set, and nothing written.
    let out = sync(false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("OUTREACH_ACCESS_TOKEN"), "{err}");

    let out = sync(true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sequenceSteps"), "{stdout}");
    assert!(!stdout.contains("(0 written"), "{stdout}");
    // Nothing changed upstream: nothing written.
    let out = sync(true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("(0 written, 0 deleted)"), "{stdout}");
    // The token never reaches the output.
    assert!(!stdout.contains(&token) && !String::from_utf8_lossy(&out.stderr).contains(&token));

    // `kill -9` in the middle of a sync (one resource per page, so it takes a while), then
    // the same command again: it resumes from the committed checkpoints.
    let resumed = Cli::new();
    let sync_into = |cli: &Cli| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stepgraph"));
        cmd.args(["--database-url", &cli.url(), "--log", "warn"])
            .args(["sync", "outreach", "--base-url", &base, "--page-size", "1"])
            .env_remove("DATABASE_URL")
            .env("OUTREACH_ACCESS_TOKEN", &token)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    };
    let mut child = sync_into(&resumed).spawn().unwrap();
    let db = resumed.dir.join("cli.db");
    let checkpoints = || {
        Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys\ntry:\n print(sqlite3.connect(sys.argv[1]).execute('select count(*) from mirror_checkpoints').fetchone()[0])\nexcept Exception:\n print(0)",
                db.to_str().unwrap(),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<u32>().unwrap_or(0))
            .unwrap_or(0)
    };
    // Resources are pulled in order, each with its checkpoint row from its first page on:
    // a second row means the users are all in (one row only meant their first page was).
    let started = std::time::Instant::now();
    while checkpoints() < 2 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync ended before it could be killed"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    let _ = child.wait();
    let out = sync_into(&resumed).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Users came before the kill: the resumed run writes none of them again.
    let users = report
        .lines()
        .find(|l| l.starts_with("users "))
        .unwrap_or_else(|| panic!("{report}"));
    let columns: Vec<&str> = users.split_whitespace().collect();
    assert_eq!(&columns[1..3], &["0", "0"], "{report}");
    assert!(
        !report.contains("(0 written"),
        "the rest was written: {report}"
    );
    let again = sync_into(&resumed).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("(0 written, 0 deleted)"));
    let upstream_server = server;

    // Serving the mirror: reads work, writes of mirrored data are refused with 409.
    let mirror_token = mirror
        .ok(&["token", "create", "--user", "ada.admin@example.com"])
        .trim()
        .to_string();
    let port = free_port();
    let server = spawn_serve(&mirror, "127.0.0.1", port, &[], Stdio::null);
    let read = http(
        port,
        &format!(
            "GET /api/v2/sequences HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {mirror_token}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(read.starts_with("HTTP/1.1 200"), "{read}");
    let body = r#"{"data":{"type":"sequenceStep","attributes":{"stepType":"task"},"relationships":{"sequence":{"data":{"type":"sequence","id":1}}}}}"#;
    let write = http(
        port,
        &format!(
            "POST /api/v2/sequenceSteps HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {mirror_token}\r\nContent-Type: application/vnd.api+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(write.starts_with("HTTP/1.1 409"), "{write}");
    assert!(write.contains("mirrors an Outreach account"), "{write}");
    stop(server);

    // `serve --mirror-outreach`: an empty database mirrored in the background, and a step
    // created through it made by "Outreach" first.
    let live = Cli::new();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_stepgraph"))
        .args(["--database-url", &live.url(), "--log", "warn", "serve"])
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--mirror-outreach",
            &base,
        ])
        .env_remove("DATABASE_URL")
        .env("OUTREACH_ACCESS_TOKEN", &token)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(port);
    let started = std::time::Instant::now();
    let live_token = loop {
        // The admin exists here once the first sync has brought the users.
        let out = live.run(&["token", "create", "--user", "ada.admin@example.com"]);
        if out.status.success() {
            break String::from_utf8(out.stdout).unwrap().trim().to_string();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "never mirrored"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    // The sequence exists once the sync has reached it.
    let sequence = |port: u16, token: &str| {
        http(
            port,
            &format!(
                "GET /api/v2/sequences/1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    while !sequence(port, &live_token).starts_with("HTTP/1.1 200") {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "never mirrored"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let body = r#"{"data":{"type":"sequenceStep","attributes":{"stepType":"call","interval":86400},"relationships":{"sequence":{"data":{"type":"sequence","id":1}}}}}"#;
    let created = http(
        port,
        &format!(
            "POST /api/v2/sequenceSteps HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {live_token}\r\nContent-Type: application/vnd.api+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let id = created
        .split("\"id\":")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    let there = http(
        up_port,
        &format!(
            "GET /api/v2/sequenceSteps/{id} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(there.starts_with("HTTP/1.1 200"), "made upstream: {there}");
    stop(child);
    stop(upstream_server);
}

/// `--log-format json`: every line a JSON object with its time, level and target, the
/// message and its fields under `fields` (the request line's method, path, status).
#[test]
fn json_logs_are_one_object_a_line() {
    let cli = Cli::new();
    let port = free_port();
    let child = spawn_serve(
        &cli,
        "127.0.0.1",
        port,
        &["--log", "info", "--log-format", "json"],
        Stdio::piped,
    );
    let res = http(
        port,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let stderr = stop_with_stderr(child);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for line in &lines {
        for key in ["timestamp", "level", "target", "fields"] {
            assert!(line.get(key).is_some(), "{key} in {line}");
        }
    }
    let request = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request" && l["fields"]["path"] == "/healthz")
        .unwrap_or_else(|| panic!("a request line in {stderr}"));
    assert_eq!(request["fields"]["status"], 200);
    assert_eq!(request["fields"]["method"], "GET");
    assert_eq!(request["level"], "INFO");
    assert!(
        lines.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutting down"))),
        "{stderr}"
    );
}

/// `--metrics-listen`: Prometheus's text format on a listener of its own; the API's listener
/// has no `/metrics`.
#[test]
fn metrics_are_served_on_their_own_listener() {
    let cli = Cli::new();
    let port = free_port();
    let metrics_port = free_port();
    let listen = format!("127.0.0.1:{metrics_port}");
    let child = spawn_serve(
        &cli,
        "127.0.0.1",
        port,
        &["--metrics-listen", &listen],
        Stdio::null,
    );
    let get = |port: u16, path: &str| {
        http(
            port,
            &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
        )
    };
    assert!(get(port, "/healthz").starts_with("HTTP/1.1 200"));
    assert!(get(port, "/readyz").starts_with("HTTP/1.1 200"));
    let scraped = get(metrics_port, "/metrics");
    let on_api = get(port, "/metrics");
    stop(child);
    assert!(on_api.starts_with("HTTP/1.1 404"), "{on_api}");
    assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
    assert!(
        scraped.contains("content-type: text/plain; version=0.0.4"),
        "{scraped}"
    );
    assert!(
        scraped.contains(
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/healthz\",http_response_status_code=\"200\"}"
        ),
        "{scraped}"
    );
    assert!(scraped.contains("db_client_connection_max"), "{scraped}");
    // The readiness check's checkout (and the startup's) waited for a pooled connection, as
    // sqlx measured it.
    let waits = scraped
        .lines()
        .find_map(|l| l.strip_prefix("db_client_connection_wait_time_seconds_count "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no connection waits in {scraped}"));
    assert!(waits >= 1, "{scraped}");
}

/// `--slow-operation-ms`: a GraphQL request at least that slow is logged with its operation,
/// its measured cost, its statement count and its slowest statement, whose SQL carries
/// placeholders, never the values a client sent (0 logs every request).
#[test]
fn slow_operations_are_logged_with_their_cost_and_slowest_statement() {
    let cli = Cli::new();
    cli.ok(&["seed", "--demo"]);
    let token = cli
        .ok(&["token", "create", "--user", "ada.admin@example.com"])
        .trim()
        .to_string();
    let port = free_port();
    let child = spawn_serve(
        &cli,
        "127.0.0.1",
        port,
        &["--slow-operation-ms", "0", "--log-format", "json"],
        Stdio::piped,
    );
    let body = r#"{"query":"query Steps { sequenceSteps(filter: { id: [\"987654321\"] }, first: 5) { nodes { id sequence { name } } } }"}"#;
    let res = post_graphql(port, &token, body);
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let stderr = stop_with_stderr(child);
    let slow: serde_json::Value = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "slow operation")
        .unwrap_or_else(|| panic!("a slow-operation line in {stderr}"));
    let f = &slow["fields"];
    assert_eq!(slow["level"], "WARN");
    assert_eq!(f["operations"], "Steps");
    assert!(f["complexity"].as_u64().unwrap() > 0, "{slow}");
    assert_eq!(f["sql_statements"], 1, "{slow}");
    let sql = f["slowest_statement"].as_str().unwrap();
    assert!(sql.contains("SELECT"), "{slow}");
    assert!(!sql.contains("987654321"), "no bound value: {slow}");
    assert!(!stderr.contains(&token), "no token in the log");
}

/// `--drain-secs`: on SIGTERM `/readyz` answers 503 at once while requests are still served;
/// when the grace period ends, WebSockets are closed with 1012 (graphql-ws clients reconnect
/// on it) and the process exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_closes_websockets_with_a_code_clients_retry_on() {
    let cli = Cli::new();
    let token = cli.demo_token("ada.admin@example.com");
    let port = free_port();
    let mut child = spawn_serve(&cli, "127.0.0.1", port, &["--drain-secs", "2"], Stdio::null);
    let base = format!("http://127.0.0.1:{port}");
    let mut socket = crate::live::Client::connect(&base, &token).await;
    socket
        .subscribe(
            "1",
            "subscription { sequenceStepChanged { kind id } }",
            serde_json::json!({}),
        )
        .await;

    let signalled = std::time::Instant::now();
    sigterm(&child);
    let http = reqwest::Client::new();
    // Not ready at once, still serving.
    let mut not_ready = false;
    for _ in 0..20 {
        let res = http.get(format!("{base}/readyz")).send().await.unwrap();
        if res.status() == 503 {
            assert_eq!(res.text().await.unwrap(), "draining");
            not_ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(not_ready, "/readyz kept answering 200 after SIGTERM");
    let res = http
        .post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "query": "{ viewer { email } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a request during the drain is served");
    assert!(signalled.elapsed() < std::time::Duration::from_secs(2));

    // The grace period ends: the socket is closed with 1012, then the process exits.
    let closed = socket.next(std::time::Duration::from_secs(10)).await;
    assert_eq!(
        closed,
        Some(serde_json::json!({"type": "close", "code": 1012})),
        "{closed:?}"
    );
    assert!(signalled.elapsed() >= std::time::Duration::from_secs(2));
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}
