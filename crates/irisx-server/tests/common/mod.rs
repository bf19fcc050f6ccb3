//! The end-to-end harness: runs the real `irisx` binary on port 0 against either the embedded backends or the
//! real PostgreSQL, NATS and Redis named by `IRISX_TEST_POSTGRES_URL`, `IRISX_TEST_NATS_URL` and
//! `IRISX_TEST_REDIS_URL`, with a fresh database, stream and cache prefix per test.
#![allow(dead_code)]

pub mod calls;
pub mod email;
pub mod receiver;
pub mod sipp;
pub mod sms;
pub mod world;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_irisx");
pub const ADMIN_EMAIL: &str = "root@irisx.test";
pub const ADMIN_PASSWORD: &str = "Root-Passw0rd!";
pub const OWNER_PASSWORD: &str = "Owner-Passw0rd!";

/// Which backends a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// SQLite, in-memory queue and cache.
    Embedded,
    /// PostgreSQL, NATS JetStream, Redis.
    Services,
}

fn service_urls() -> Option<(String, String, String)> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Some((
        get("IRISX_TEST_POSTGRES_URL")?,
        get("IRISX_TEST_NATS_URL")?,
        get("IRISX_TEST_REDIS_URL")?,
    ))
}

/// The profiles to run: always embedded; the services profile when its three URLs are set. With
/// `IRISX_TEST_PROFILES=services` (CI's second pass, after a pass on the embedded backends) only the services
/// profile runs.
pub fn profiles(test: &str) -> Vec<Profile> {
    if std::env::var("IRISX_TEST_PROFILES").is_ok_and(|v| v == "services") {
        assert!(
            service_urls().is_some(),
            "IRISX_TEST_PROFILES=services needs the three service URLs"
        );
        return vec![Profile::Services];
    }
    if service_urls().is_some() {
        vec![Profile::Embedded, Profile::Services]
    } else {
        eprintln!(
            "skipped: {test} on PostgreSQL + NATS + Redis (set IRISX_TEST_POSTGRES_URL, IRISX_TEST_NATS_URL, IRISX_TEST_REDIS_URL)"
        );
        vec![Profile::Embedded]
    }
}

/// One test's backends: a data dir and, for services, a fresh database, stream and cache prefix.
pub struct TestEnv {
    pub profile: Profile,
    pub dir: tempfile::TempDir,
    pub vars: Vec<(String, String)>,
    pg: Option<(String, String)>,
    nats: Option<(String, String)>,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let root = base.rsplit_once('/').map_or(base, |(r, _)| r);
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

impl TestEnv {
    pub async fn new(profile: Profile) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut vars = vec![
            ("IRISX_DATA_DIR".to_owned(), dir.path().display().to_string()),
            ("IRISX_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
            ("IRISX_LOG_LEVEL".to_owned(), "info".to_owned()),
            // The voice engine on loopback and a free port, so parallel tests never meet on 5060.
            ("IRISX_VOICE__SIP_BIND".to_owned(), "127.0.0.1".to_owned()),
            ("IRISX_VOICE__SIP_PORT".to_owned(), "0".to_owned()),
        ];
        let (mut pg, mut nats) = (None, None);
        if profile == Profile::Services {
            let (pg_url, nats_url, redis_url) = service_urls().expect("service URLs");
            let db = unique("irisx_e2e_");
            let pool = sqlx::PgPool::connect(&pg_url)
                .await
                .expect("connect to IRISX_TEST_POSTGRES_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
                .execute(&pool)
                .await
                .expect("create database");
            pool.close().await;
            let stream = unique("E2E_");
            vars.push(("IRISX_DATABASE_URL".into(), with_database(&pg_url, &db)));
            vars.push(("IRISX_QUEUE_URL".into(), nats_url.clone()));
            vars.push(("IRISX_NATS_STREAM".into(), stream.clone()));
            vars.push(("IRISX_NATS_SUBJECT_PREFIX".into(), stream.to_lowercase()));
            vars.push(("IRISX_CACHE_URL".into(), redis_url));
            vars.push(("IRISX_CACHE_KEY_PREFIX".into(), format!("{}:", unique("e2e"))));
            pg = Some((pg_url, db));
            nats = Some((nats_url, stream));
        }
        Self {
            profile,
            dir,
            vars,
            pg,
            nats,
        }
    }

    /// Sets (or replaces) a variable for every later process.
    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_owned(), value.to_owned()));
    }

    /// Removes a variable for every later process.
    pub fn unset(&mut self, key: &str) {
        self.vars.retain(|(k, _)| k != key);
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .kill_on_drop(true);
        c
    }

    /// Runs `irisx admin create` and returns its JSON output.
    pub async fn admin_create(&self, email: &str, password: &str, role: &str) -> Value {
        let out = self
            .command(&[
                "admin",
                "create",
                "--email",
                email,
                "--password",
                password,
                "--role",
                role,
            ])
            .output()
            .await
            .expect("run irisx admin create");
        assert!(
            out.status.success(),
            "admin create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("admin create prints JSON")
    }

    /// Starts `irisx serve` with extra arguments and waits until it listens.
    pub async fn serve(&self, args: &[&str]) -> Server {
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        if self.profile == Profile::Services && !all.contains(&"--migrate") {
            all.push("--migrate");
        }
        Server::start(self.command(&all)).await
    }

    /// Drops the database and the stream.
    pub async fn cleanup(mut self) {
        if let Some((url, stream)) = self.nats.take()
            && let Ok(client) = async_nats::connect(&url).await
        {
            let _ = async_nats::jetstream::new(client).delete_stream(&stream).await;
        }
        if let Some((url, db)) = self.pg.take()
            && let Ok(pool) = sqlx::PgPool::connect(&url).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
            )))
            .execute(&pool)
            .await;
        }
    }
}

/// A running `irisx serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub stderr: Arc<Mutex<String>>,
    pub started_in: Duration,
    /// Reads stderr into `stderr` until the process closes it.
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    async fn start(mut cmd: Command) -> Server {
        let started = Instant::now();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn irisx serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let sink = stderr.clone();
        let stderr_reader = tokio::spawn(async move {
            while let Ok(Some(l)) = err_lines.next_line().await {
                let mut s = sink.lock().unwrap();
                s.push_str(&l);
                s.push('\n');
            }
        });
        let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(l)) = out.next_line().await {
                if l.starts_with("irisx listening on ") || l.starts_with("irisx worker started") {
                    return Some(l);
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let Some(line) = line else {
            let _ = child.start_kill();
            tokio::time::sleep(Duration::from_millis(200)).await;
            panic!("irisx serve did not start:\n{}", stderr.lock().unwrap());
        };
        tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
        let base = line.strip_prefix("irisx listening on ").unwrap_or("").to_owned();
        Server {
            child,
            base,
            stderr,
            started_in: started.elapsed(),
            stderr_reader: Some(stderr_reader),
        }
    }

    /// Kills the process with SIGKILL and waits for it.
    pub async fn kill9(&mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("pid").to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill -TERM");
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("exit in time")
            .expect("wait");
        // The last lines may still be on their way into `stderr`: read to the end before anyone looks.
        if let Some(reader) = self.stderr_reader.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        status
    }

    /// Waits until the server's log contains `needle`.
    pub async fn wait_log(&self, needle: &str, within: Duration) {
        let started = Instant::now();
        while started.elapsed() < within {
            if self.stderr.lock().unwrap().contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("`{needle}` never appeared in the log:\n{}", self.stderr.lock().unwrap());
    }

    pub fn api(&self) -> Api {
        Api {
            base: self.base.clone(),
            http: reqwest::Client::new(),
        }
    }
}

/// Credentials for a request.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Key(&'a str),
}

/// A small client for the API.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

/// A response: status, headers and JSON body (Null when empty).
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    /// Asserts the status and, for errors, the one error shape; returns the body.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        if status >= 400 {
            assert_error_shape(&self.body);
        }
        self.body
    }
}

pub fn assert_error_shape(body: &Value) {
    let e = &body["error"];
    assert!(
        e["code"].as_str().is_some_and(|c| !c.is_empty()),
        "error without code: {body}"
    );
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error without message: {body}"
    );
    assert!(e["details"].is_array(), "error without details: {body}");
    assert!(
        e["request_id"].as_str().is_some_and(|r| r.starts_with("req_")),
        "error without request id: {body}"
    );
}

impl Api {
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        rb = match auth {
            Auth::None => rb,
            Auth::Bearer(t) => rb.bearer_auth(t),
            Auth::Key(k) => rb.header("x-api-key", k),
        };
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let r = rb.send().await.expect("request");
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Resp { status, headers, body }
    }

    pub async fn call(&self, method: Method, path: &str, auth: Auth<'_>, body: Option<Value>) -> Resp {
        let headers: &[(&str, &str)] = if body.is_some() {
            &[("content-type", "application/json")]
        } else {
            &[]
        };
        self.raw(
            method,
            path,
            auth,
            headers,
            body.map(|b| serde_json::to_vec(&b).unwrap()),
        )
        .await
    }

    pub async fn get(&self, path: &str, auth: Auth<'_>) -> Resp {
        self.call(Method::GET, path, auth, None).await
    }

    pub async fn post(&self, path: &str, auth: Auth<'_>, body: Value) -> Resp {
        self.call(Method::POST, path, auth, Some(body)).await
    }

    pub async fn patch(&self, path: &str, auth: Auth<'_>, body: Value) -> Resp {
        self.call(Method::PATCH, path, auth, Some(body)).await
    }

    pub async fn delete(&self, path: &str, auth: Auth<'_>) -> Resp {
        self.call(Method::DELETE, path, auth, None).await
    }

    /// Logs staff in; returns the token.
    pub async fn admin_login(&self, email: &str, password: &str) -> String {
        let b = self
            .post(
                "/admin/auth/login",
                Auth::None,
                json!({"email": email, "password": password}),
            )
            .await
            .expect(200);
        b["token"].as_str().expect("token").to_owned()
    }

    /// Logs a user in; returns the token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let b = self
            .post(
                "/v1/auth/login",
                Auth::None,
                json!({"email": email, "password": password}),
            )
            .await
            .expect(200);
        b["token"].as_str().expect("token").to_owned()
    }

    /// Creates a tenant with its owner through the staff API; returns (tenant id, owner token).
    pub async fn tenant_with_owner(&self, admin_token: &str, name: &str, owner_email: &str) -> (String, String) {
        let body = json!({"name": name, "owner": {"email": owner_email, "password": OWNER_PASSWORD, "name": "Owner"}});
        let t = self
            .post("/admin/tenants", Auth::Bearer(admin_token), body)
            .await
            .expect(201);
        (
            t["id"].as_str().unwrap().to_owned(),
            self.login(owner_email, OWNER_PASSWORD).await,
        )
    }

    /// Creates an API key; returns (id, key).
    pub async fn api_key(&self, token: &str, scopes: &[&str]) -> (String, String) {
        let b = self
            .post(
                "/v1/api-keys",
                Auth::Bearer(token),
                json!({"name": "test key", "scopes": scopes}),
            )
            .await
            .expect(201);
        (
            b["id"].as_str().unwrap().to_owned(),
            b["key"].as_str().unwrap().to_owned(),
        )
    }
}

/// A server with one superadmin, ready for a test; returns (env, server, staff token).
pub async fn boot(profile: Profile) -> (TestEnv, Server, String) {
    let env = TestEnv::new(profile).await;
    boot_in(env).await
}

/// As [`boot`], in a prepared environment.
pub async fn boot_in(env: TestEnv) -> (TestEnv, Server, String) {
    env.admin_create(ADMIN_EMAIL, ADMIN_PASSWORD, "superadmin").await;
    let server = env.serve(&[]).await;
    let token = server.api().admin_login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    (env, server, token)
}
