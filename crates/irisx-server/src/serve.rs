//! Wiring: open the backends named by the configuration, build the platform, and run the role's loops until
//! a shutdown signal; in-flight requests and tasks finish first.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use irisx_api::{ApiSettings, AppState};
use irisx_core::auth::TokenSigner;
use irisx_core::crypto::SecretBox;
use irisx_core::ports::cache::Rate;
use irisx_core::ports::queue::Queue;
use irisx_core::usecase::webhooks::WebhookPolicy;
use irisx_core::usecase::{LoginPolicy, PlanLimit, PlanLimits, PlanMarkup, Platform, Policy};
use irisx_queue::{OutboxRelay, QueueOptions, RelayOptions};
use irisx_worker::{Maintenance, Worker, WorkerOptions};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::secrets;

/// Which loops a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// The HTTP API, the outbox relay and the worker.
    All,
    /// The HTTP API and the outbox relay.
    Api,
    /// The worker and the outbox relay.
    Worker,
    /// The voice engine: places queued calls and takes incoming ones; and the outbox relay.
    Voice,
}

/// The opened backends.
pub struct Backends {
    /// Ports and policies.
    pub platform: Arc<Platform>,
    /// The queue.
    pub queue: Arc<dyn Queue>,
    /// The relay, not yet running.
    pub relay: OutboxRelay,
}

fn policy(cfg: &Config) -> Policy {
    let plan = |key: u32, tenant: u32| PlanLimit {
        per_key_per_minute: key,
        per_tenant_per_minute: tenant,
    };
    let (k, t) = (cfg.plan_key_limits, cfg.plan_tenant_limits);
    Policy {
        signup_enabled: cfg.signup_enabled,
        login: LoginPolicy {
            max_failures: cfg.login_max_failures,
            lockout: Duration::from_secs(cfg.login_lockout_secs),
            ..LoginPolicy::default()
        },
        plans: PlanLimits {
            free: plan(k.free, t.free),
            starter: plan(k.starter, t.starter),
            growth: plan(k.growth, t.growth),
            enterprise: plan(k.enterprise, t.enterprise),
        },
        public_rate: Rate {
            limit: cfg.public_rate_per_minute,
            period: Duration::from_secs(60),
        },
        markup: {
            let m = cfg.plan_markup_percent;
            PlanMarkup {
                free: m.free,
                starter: m.starter,
                growth: m.growth,
                enterprise: m.enterprise,
            }
        },
        sms_pace: cfg.sms_pace,
        webhooks: WebhookPolicy {
            schedule: cfg.webhooks.schedule().unwrap_or_default(),
            timeout: Duration::from_secs(cfg.webhooks.timeout_secs),
            disable_after: Duration::from_secs(u64::from(cfg.webhooks.disable_after_days) * 24 * 3600),
            per_endpoint_concurrency: cfg.webhooks.per_endpoint_concurrency,
            event_retention: Duration::from_secs(u64::from(cfg.event_retention_days) * 24 * 3600),
        },
        voice: cfg.voice.policy(),
    }
}

/// Opens the store (migrating when asked, and always on SQLite), the cache and the queue.
pub async fn open(cfg: &Config, migrate: bool, public_url: String) -> anyhow::Result<Backends> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating the data dir {}", cfg.data_dir.display()))?;
    let secrets = secrets::load_or_generate(cfg)?;
    secrets.encryption_key_bytes()?;
    let store_opts = irisx_store::OpenOptions {
        max_connections: cfg.database_pool_size,
        migrate,
        ..Default::default()
    };
    let irisx_store::Stores {
        store,
        messaging,
        email,
        objects: object_index,
        calls,
    } = irisx_store::open_all(&cfg.database_url(), &store_opts)
        .await
        .context("opening the database")?;
    let s3 = irisx_objects::S3Settings {
        endpoint: cfg.s3_endpoint.clone(),
        region: cfg.s3_region.clone(),
        access_key_id: cfg.s3_access_key_id.clone(),
        secret_access_key: cfg.s3_secret_access_key.as_ref().map(|s| s.expose_secret().to_owned()),
        allow_http: cfg.s3_allow_http,
    };
    let objects = irisx_objects::open(&cfg.object_store_url(), &s3).context("opening the object store")?;
    let cache = irisx_cache::open(&cfg.cache_url, &cfg.cache_key_prefix)
        .await
        .context("opening the cache")?;
    let queue_opts = QueueOptions {
        stream_name: cfg.nats_stream.clone(),
        subject_prefix: cfg.nats_subject_prefix.clone(),
        ack_wait: Duration::from_secs(cfg.queue_ack_wait_secs),
        ..Default::default()
    };
    let queue = irisx_queue::open(&cfg.queue_url, &queue_opts)
        .await
        .context("opening the queue")?;
    let relay_opts = RelayOptions {
        batch_size: cfg.relay_batch,
        poll_interval: Duration::from_millis(cfg.relay_poll_ms),
        republish_after: Duration::from_secs(cfg.republish_after_secs),
        max_in_flight: cfg.relay_max_in_flight,
        restart_republish_window: queue_opts.duplicate_window.saturating_sub(Duration::from_secs(20)),
        ..Default::default()
    };
    let relay = OutboxRelay::new(store.clone(), queue.clone(), relay_opts);
    let tokens = TokenSigner::new(
        secrets.jwt.expose_secret().as_bytes(),
        secrets.admin_jwt.expose_secret().as_bytes(),
        Duration::from_secs(24 * 3600),
        Duration::from_secs(4 * 3600),
    );
    let platform = Arc::new(Platform {
        store,
        messaging,
        email,
        calls,
        objects,
        object_index,
        secrets: SecretBox::new(&secrets.encryption_key_bytes()?),
        providers: Arc::new(irisx_providers::Factory::new(irisx_providers::http::HttpOptions {
            timeout: Duration::from_millis(cfg.provider_timeout_ms),
            ..Default::default()
        })),
        cache,
        tokens,
        policy: policy(cfg),
        outbox_wake: relay.wake(),
        public_url,
        webhook_sender: Arc::new(
            irisx_webhooks::HttpWebhookSender::new(irisx_webhooks::SenderConfig {
                allowlist: cfg.webhooks.allowlist(),
                ..Default::default()
            })
            .context("IRISX_WEBHOOKS__ALLOWLIST")?,
        ),
    });
    Ok(Backends { platform, queue, relay })
}

/// Runs a role until SIGINT or SIGTERM.
pub async fn run(cfg: Config, role: Role, migrate: bool) -> anyhow::Result<()> {
    if cfg.queue_url == "memory" && role != Role::All {
        anyhow::bail!(
            "IRISX_QUEUE_URL=memory keeps tasks inside one process: run `--role all`, or set a nats:// queue to split roles"
        );
    }
    let prometheus = if cfg.metrics_enabled {
        Some(crate::telemetry::init_metrics()?)
    } else {
        None
    };
    let listener = if matches!(role, Role::All | Role::Api) {
        let l = TcpListener::bind(cfg.listen)
            .await
            .with_context(|| format!("binding {}", cfg.listen))?;
        Some(l)
    } else {
        None
    };
    let bound = listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?
        .unwrap_or(cfg.listen);
    let public_url = cfg.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
    let b = open(&cfg, migrate, public_url).await?;
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    tasks.spawn(b.relay.run(cancel.clone()));
    let voice = if role == Role::Voice || (role == Role::All && cfg.voice.enabled) {
        let rt = crate::voice::start(&cfg.voice, &b.platform, cfg.webhooks.allowlist(), cancel.clone()).await?;
        tasks.spawn(rt.clone().run(b.platform.clone(), cancel.clone()));
        Some(rt)
    } else {
        None
    };
    if matches!(role, Role::All | Role::Worker | Role::Voice) {
        let failpoint = cfg
            .failpoint
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        let worker = Worker::new(
            b.platform.clone(),
            b.queue.clone(),
            WorkerOptions {
                failpoint,
                batch_size: cfg.worker_batch,
                ..Default::default()
            },
        );
        let worker = match voice {
            Some(rt) => worker.with_voice(rt, role == Role::Voice),
            None => worker,
        };
        tasks.spawn(worker.run(cancel.clone()));
        if role != Role::Voice {
            tasks.spawn(Maintenance::new(b.platform.clone()).run(cancel.clone()));
        }
    }
    if let Some(listener) = listener {
        let settings = ApiSettings {
            body_limit: cfg.body_limit_bytes,
            cors_origins: cfg.cors_origins.clone(),
            request_timeout: Duration::from_secs(cfg.request_timeout_secs),
            ..Default::default()
        };
        let state = AppState {
            platform: b.platform.clone(),
            queue: b.queue.clone(),
            settings: Arc::new(settings),
            prometheus,
        };
        let addr = listener.local_addr()?;
        tracing::info!(%addr, role = ?role, "IRISX is listening");
        println!("irisx listening on http://{addr}");
        let app = irisx_api::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        let c = cancel.clone();
        tasks.spawn(async move {
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(c.cancelled_owned())
                .await
            {
                tracing::error!(error = %e, "the HTTP server stopped");
            }
        });
    } else {
        tracing::info!(role = ?role, "IRISX worker started");
        println!("irisx worker started");
    }
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight work");
    cancel.cancel();
    let grace = Duration::from_secs(cfg.shutdown_grace_secs);
    if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::warn!("in-flight work did not finish within the grace period");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
