//! `irisx`: the one binary. `serve` runs IRISX; `migrate` updates a PostgreSQL schema; `admin create`
//! bootstraps platform staff; `openapi` prints the API document; `version` prints the version.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use irisx_core::domain::AdminRole;
use irisx_server::config::Config;
use irisx_server::serve::{self, Role};

#[derive(Parser)]
#[command(name = "irisx", version, about = "IRISX: a self-hostable communications platform")]
struct Cli {
    /// A TOML configuration file (default: ./irisx.toml when present). IRISX_* variables override it.
    #[arg(long, global = true, env = "IRISX_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run IRISX.
    Serve {
        /// Which loops to run.
        #[arg(long, value_enum, default_value = "all")]
        role: Role,
        /// Apply pending PostgreSQL migrations first (SQLite always migrates).
        #[arg(long)]
        migrate: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage platform staff.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Print the version.
    Version,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff member (works on an empty database).
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Password (at least 12 characters, three kinds of character).
        #[arg(long, env = "IRISX_ADMIN_PASSWORD")]
        password: String,
        /// Staff role.
        #[arg(long, value_parser = parse_role, default_value = "superadmin")]
        role: AdminRole,
        /// Display name (default: the email).
        #[arg(long)]
        name: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<AdminRole, String> {
    s.parse().map_err(|e: irisx_core::FieldError| e.message)
}

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&irisx_api::openapi())?);
            Ok(())
        }
        Command::Version => {
            println!("irisx {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Serve { role, migrate } => {
            let cfg = Config::load(cli.config.as_deref())?;
            irisx_server::telemetry::init_logs(&cfg);
            if !cfg.ignored_env.is_empty() {
                tracing::warn!(variables = ?cfg.ignored_env, "these IRISX_ variables name no setting and are ignored");
            }
            serve::run(cfg, role, migrate).await
        }
        Command::Migrate => {
            let cfg = Config::load(cli.config.as_deref())?;
            irisx_server::telemetry::init_logs(&cfg);
            irisx_store::migrate(&cfg.database_url())
                .await
                .context("migrating the database")?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password,
                    role,
                    name,
                },
        } => {
            let cfg = Config::load(cli.config.as_deref())?;
            irisx_server::telemetry::init_logs(&cfg);
            let b = serve::open(&cfg, true, cfg.public_url.clone().unwrap_or_default()).await?;
            let admin = irisx_core::usecase::users::create_staff(&b.platform, &email, &password, role, name.as_deref())
                .await
                .map_err(describe)?;
            println!(
                "{}",
                serde_json::json!({"id": admin.id, "email": admin.email, "role": admin.role})
            );
            Ok(())
        }
    }
}

fn describe(e: irisx_core::CoreError) -> anyhow::Error {
    match e {
        irisx_core::CoreError::Validation(fields) => {
            let list: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
            anyhow::anyhow!("{}", list.join("; "))
        }
        other => anyhow::Error::new(other),
    }
}
