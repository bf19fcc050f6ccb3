//! One IRISX under test: a fresh data dir and, for the services profile, a fresh PostgreSQL database, JetStream
//! stream and Redis key prefix; `irisx serve` started on a free port and stopped (and its backends dropped)
//! at the end.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Which backends IRISX runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// PostgreSQL, NATS JetStream, Redis.
    Services,
    /// SQLite, the in-process queue and cache.
    Embedded,
}

impl Profile {
    /// Its name in the results.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Services => "services",
            Profile::Embedded => "embedded",
        }
    }
}

/// Where the shared services are.
#[derive(Debug, Clone)]
pub struct Services {
    /// PostgreSQL server URL (any database; a fresh one is created beside it).
    pub postgres: String,
    /// NATS server.
    pub nats: String,
    /// Redis server.
    pub redis: String,
}

/// A prepared environment for one profile.
pub struct Env {
    pub profile: Profile,
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    pub vars: Vec<(String, String)>,
    /// The database URL IRISX uses (`postgres://…/irisx_bench_…` or `sqlite://…`).
    pub database_url: String,
    admin_pg: Option<(String, String)>,
    nats: Option<(String, String)>,
}

/// The URL of database `db` on the server of `url`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let root = base.rsplit_once('/').map_or(base, |(r, _)| r);
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

impl Env {
    /// A fresh environment; `extra` are further `IRISX_*` settings.
    pub async fn new(
        profile: Profile,
        bin: &Path,
        services: &Services,
        work: &Path,
        extra: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let tag = uuid::Uuid::now_v7().simple().to_string();
        let data_dir = work.join(format!("{}-{tag}", profile.name()));
        std::fs::create_dir_all(&data_dir).context("create the data dir")?;
        let mut vars: Vec<(String, String)> = vec![
            ("IRISX_DATA_DIR".into(), data_dir.display().to_string()),
            ("IRISX_LISTEN".into(), "127.0.0.1:0".into()),
            ("IRISX_LOG_LEVEL".into(), "warn".into()),
            // The message benchmark takes no calls: the engine stays off (voice has its own benchmark).
            ("IRISX_VOICE__ENABLED".into(), "false".into()),
        ];
        vars.extend(extra.iter().cloned());
        let (mut admin_pg, mut nats) = (None, None);
        let database_url = match profile {
            Profile::Embedded => format!("sqlite://{}", data_dir.join("irisx.db").display()),
            Profile::Services => {
                let db = format!("irisx_bench_{tag}");
                let pool = sqlx::PgPool::connect(&services.postgres)
                    .await
                    .context("connect to PostgreSQL")?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
                    .execute(&pool)
                    .await
                    .context("create the bench database")?;
                pool.close().await;
                let stream = format!("BENCH_{tag}");
                let url = with_database(&services.postgres, &db);
                vars.push(("IRISX_DATABASE_URL".into(), url.clone()));
                vars.push(("IRISX_QUEUE_URL".into(), services.nats.clone()));
                vars.push(("IRISX_NATS_STREAM".into(), stream.clone()));
                vars.push(("IRISX_NATS_SUBJECT_PREFIX".into(), stream.to_lowercase()));
                vars.push(("IRISX_CACHE_URL".into(), services.redis.clone()));
                vars.push(("IRISX_CACHE_KEY_PREFIX".into(), format!("bench{tag}:")));
                admin_pg = Some((services.postgres.clone(), db));
                nats = Some((services.nats.clone(), stream));
                url
            }
        };
        Ok(Self {
            profile,
            bin: bin.to_path_buf(),
            data_dir,
            vars,
            database_url,
            admin_pg,
            nats,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .kill_on_drop(true);
        c
    }

    /// Runs `irisx admin create` for a superadmin.
    pub async fn admin_create(&self, email: &str, password: &str) -> anyhow::Result<()> {
        let mut args = vec!["admin", "create", "--email", email, "--password", password];
        args.extend(["--role", "superadmin"]);
        if self.profile == Profile::Services {
            let out = self.command(&["migrate"]).output().await.context("run irisx migrate")?;
            if !out.status.success() {
                bail!("irisx migrate failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        let out = self.command(&args).output().await.context("run irisx admin create")?;
        if !out.status.success() {
            bail!("irisx admin create failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// Starts `irisx serve` and waits until it listens; returns it with its base URL.
    pub async fn serve(&self) -> anyhow::Result<Server> {
        let log = std::fs::File::create(self.data_dir.join("irisx.log")).context("create the server log")?;
        let mut child = self
            .command(&["serve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .context("spawn irisx serve")?;
        let mut out = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(l)) = out.next_line().await {
                if let Some(base) = l.strip_prefix("irisx listening on ") {
                    return Some(base.to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let Some(base) = line else {
            let _ = child.start_kill();
            bail!(
                "irisx serve did not start; see {}",
                self.data_dir.join("irisx.log").display()
            );
        };
        tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
        Ok(Server { child, base })
    }

    /// Drops the database and the stream, and removes the data dir unless `keep`.
    pub async fn cleanup(mut self, keep: bool) {
        if let Some((url, stream)) = self.nats.take()
            && let Ok(client) = async_nats::connect(&url).await
        {
            let _ = async_nats::jetstream::new(client).delete_stream(&stream).await;
        }
        if let Some((url, db)) = self.admin_pg.take()
            && !keep
            && let Ok(pool) = sqlx::PgPool::connect(&url).await
        {
            let drop = format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await;
        }
        if !keep {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// A running `irisx serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Server {
    /// The server's process id (for profilers).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the server with SIGTERM (SIGKILL after 20 s).
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
        }
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
