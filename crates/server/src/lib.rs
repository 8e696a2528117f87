//! `stampede server`: the control plane. An axum API (REST under
//! `/api/v1`, a WebSocket for live runs, health and Prometheus endpoints)
//! over a [`Store`] (SQLite or PostgreSQL) and a [`Transport`] (in-process
//! child processes today, Redis workers in issue 15).
//!
//! This is the only crate that knows axum. Handlers stay thin (extract,
//! authorize, call the store or the [`Orchestrator`], map the error), so
//! the same code serves every backend. [`serve`] wires it all up; tests
//! and the CLI use [`ServerConfig`] and [`Server::bind`].

pub mod alerts;
pub mod allow;
pub mod api;
pub mod auth;
pub mod chaos;
pub mod error;
pub mod hub;
pub mod leader;
pub mod merge;
pub mod metrics;
pub mod orchestrator;
pub mod pipelines;
pub mod retention;
pub mod schedules;
pub mod state;
pub mod supervise;
pub mod tls;
pub mod upload;
pub mod verdict;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use stampede_cluster::{LocalTransport, RedisTransport, RedisTransportConfig, Transport};
use stampede_store::{NewUser, Quotas, Role, Store};

pub use orchestrator::Orchestrator;
pub use state::AppState;

/// How the server is set up (from `stampede server`'s flags).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Data directory (SQLite file, JWT secret).
    pub data_dir: PathBuf,
    /// `postgres://…` to store in PostgreSQL instead of SQLite.
    pub database: Option<String>,
    /// The largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// The first admin's password (`STAMPEDE_ADMIN_PASSWORD`); generated
    /// and printed once when unset.
    pub admin_password: Option<String>,
    /// The JWT secret in base64 (`STAMPEDE_JWT_SECRET`); else read from or
    /// generated into the data directory.
    pub jwt_secret: Option<String>,
    /// API requests per second allowed per token or address.
    pub rate_limit_per_sec: u32,
    /// Whether the session cookie gets `Secure` (TLS).
    pub secure_cookies: bool,
    /// Networks runs may send load to (`--allow-target`).
    pub allow_targets: Vec<String>,
    /// PEM certificate chain and private key for HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `redis://…`: hand segments to `stampede worker`s through Redis
    /// instead of child processes (issue 15).
    pub redis: Option<String>,
    /// Alerts, schedules and retention.
    pub platform: PlatformConfig,
    /// The data size cap of each run's segment process
    /// (`--run-memory-limit`; default half of the RAM; `None`: no cap).
    pub run_memory_limit: Option<u64>,
}

/// Settings of alerts, schedules and retention (issue 17).
#[derive(Clone, Debug, Default)]
pub struct PlatformConfig {
    /// The key sealing channel secrets, 32 bytes in base64
    /// (`STAMPEDE_SECRET_KEY`); else the data directory's `secret-key`.
    pub secret_key: Option<String>,
    /// How long data is kept.
    pub retention: retention::RetentionPolicy,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("stampede-data"),
            database: None,
            max_body_bytes: 16 * 1024 * 1024,
            admin_password: None,
            jwt_secret: None,
            rate_limit_per_sec: 50,
            secure_cookies: false,
            allow_targets: allow::DEFAULT_ALLOWED.map(String::from).to_vec(),
            tls: None,
            redis: None,
            platform: PlatformConfig::default(),
            run_memory_limit: stampede_cluster::memory::default_limit(),
        }
    }
}

/// Unix seconds now.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The stored form of a scenario's files: a JSON object of path → text.
pub fn encode_files(files: &BTreeMap<String, String>) -> Vec<u8> {
    serde_json::to_vec(files).expect("a map of strings serializes")
}

/// A scenario's files from their stored form.
pub fn scenario_files(archive: &[u8]) -> Result<BTreeMap<String, String>, String> {
    serde_json::from_slice(archive)
        .map_err(|e| format!("the stored scenario archive cannot be read: {e}"))
}

/// Opens the store the configuration names.
pub async fn open_store(config: &ServerConfig) -> Result<Store, String> {
    match &config.database {
        Some(url) => Store::connect(url).await.map_err(|e| {
            let src = std::error::Error::source(&e)
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            format!("cannot open the database: {e}{src}")
        }),
        None => Store::open_data_dir(&config.data_dir)
            .await
            .map_err(|e| format!("cannot open the data directory: {e}")),
    }
}

/// The JWT secret: from the configuration, else the data directory's
/// `jwt-secret` file (created with mode 0600 on first start).
pub fn jwt_secret(config: &ServerConfig) -> Result<String, String> {
    if let Some(s) = &config.jwt_secret {
        return Ok(s.clone());
    }
    let path = config.data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
            let secret = auth::crypto::JwtKey::generate_base64();
            write_private(&path, &secret)?;
            Ok(secret)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes `text` to a new file readable by its owner only.
pub fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// On first start (no users): creates `admin` with the configured password,
/// or a generated one that is returned to be printed once.
pub async fn bootstrap_admin(
    store: &Store,
    password: Option<&str>,
) -> Result<Option<String>, String> {
    if store.count_users().await.map_err(|e| e.to_string())? > 0 {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) if p.chars().count() < 12 => {
            return Err("STAMPEDE_ADMIN_PASSWORD must be at least 12 characters".into())
        }
        Some(p) => (p.to_string(), false),
        None => (auth::crypto::random_secret(18), true),
    };
    store
        .create_user(&NewUser {
            username: "admin".into(),
            password_hash: auth::crypto::hash_password(&password),
            role: Role::Admin,
            quotas: Quotas::default(),
        })
        .await
        .map_err(|e| format!("cannot create the admin user: {e}"))?;
    Ok(generated.then_some(password))
}

/// A server ready to accept connections.
pub struct Server {
    /// The bound address (with the real port when `:0` was asked).
    pub addr: SocketAddr,
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// Several servers: the lease, given up at shutdown.
    replica: Option<Arc<leader::Replica>>,
}

impl Server {
    /// Opens the store, marks runs a previous process left unfinished as
    /// `errored`, bootstraps the admin, and binds the listener. Returns the
    /// server and the generated admin password, if one was generated.
    pub async fn bind(
        config: ServerConfig,
        transport: Option<Arc<dyn Transport>>,
    ) -> Result<(Server, Option<String>), String> {
        let store = open_store(&config).await?;
        // Several servers (`--redis`): the leader's exclusive writes are
        // fenced, and the leader takes over unfinished runs (`leader.rs`).
        let fence = leader::no_fence();
        let store = match &config.redis {
            Some(_) => store.fenced(fence.clone()),
            None => {
                let interrupted = store
                    .mark_interrupted()
                    .await
                    .map_err(|e| format!("cannot mark interrupted runs: {e}"))?;
                if !interrupted.is_empty() {
                    tracing::warn!(runs = ?interrupted, "runs left unfinished by a previous server are marked errored");
                }
                // A pipeline is driven by the server that started it; with
                // several servers another may still drive it.
                let pipelines = store
                    .mark_pipelines_interrupted()
                    .await
                    .map_err(|e| format!("cannot mark interrupted pipelines: {e}"))?;
                if !pipelines.is_empty() {
                    tracing::warn!(
                        ?pipelines,
                        "pipelines left running by a previous server are marked errored"
                    );
                }
                store
            }
        };
        let generated = bootstrap_admin(&store, config.admin_password.as_deref()).await?;
        let jwt = auth::crypto::JwtKey::from_base64(&jwt_secret(&config)?)?;
        let transport = match transport {
            Some(t) => t,
            None => {
                let local = LocalTransport::current_exe()
                    .map_err(|e| e.to_string())?
                    .with_memory_limit(config.run_memory_limit);
                let transport: Arc<dyn Transport> = match &config.redis {
                    Some(url) => Arc::new(
                        RedisTransport::connect(url, local, RedisTransportConfig::default())
                            .await
                            .map_err(|e| e.to_string())?,
                    ),
                    None => Arc::new(local),
                };
                transport
            }
        };
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let tls = match &config.tls {
            Some((cert, key)) => Some(tls::acceptor(cert, key)?),
            None => None,
        };
        let blocked = allow::blocked_ranges(&allow::parse(&config.allow_targets)?);
        let secrets = alerts::secret::SecretBox::load(
            config.platform.secret_key.as_deref(),
            &config.data_dir,
        )?;
        let state = AppState::new(store, jwt, transport, config, blocked, secrets);
        let mut this_replica = None;
        let leadership: Arc<dyn schedules::Leadership> = match &state.config.redis {
            Some(url) => {
                let replica = leader::Replica::connect(
                    url,
                    state.store.clone(),
                    fence,
                    state.orchestrator.clone(),
                    state.hub.clone(),
                )
                .await?;
                replica.spawn();
                state.alerting.set_probe(leader::FleetProbe::spawn(
                    state.orchestrator.transport().clone(),
                ));
                this_replica = Some(replica.clone());
                replica.leadership.clone()
            }
            None => Arc::new(schedules::SingleServer),
        };
        state.alerting.set_leadership(leadership.clone());
        state.alerting.spawn(state.orchestrator.clone());
        let scheduler = schedules::Scheduler::new(
            state.store.clone(),
            state.orchestrator.clone(),
            state.alerting.clone(),
        );
        scheduler.set_leadership(leadership.clone());
        scheduler.spawn();
        retention::spawn_led(
            state.store.clone(),
            state.config.platform.retention.clone(),
            leadership.clone(),
        );
        api::view::spawn_backfill(state.clone(), leadership);
        Ok((
            Server {
                addr,
                listener,
                state,
                tls,
                replica: this_replica,
            },
            generated,
        ))
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `shutdown` completes.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let app = api::router(self.state.clone());
        // A leader asked to stop gives its lease up at once, so another
        // replica takes over without waiting for it to expire.
        let replica = self.replica.clone();
        let shutdown = async move {
            shutdown.await;
            if let Some(r) = replica {
                r.leadership.step_down().await;
            }
        };
        if let Some(acceptor) = self.tls {
            tls::serve(self.listener, acceptor, app, shutdown).await;
            return Ok(());
        }
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("server error: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip() {
        let files = BTreeMap::from([("a.js".to_string(), "x".to_string())]);
        assert_eq!(scenario_files(&encode_files(&files)).unwrap(), files);
        assert!(scenario_files(b"\x00tar").is_err());
    }

    #[test]
    fn the_jwt_secret_file_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cfg = ServerConfig {
            data_dir: dir.path().join("data"),
            ..Default::default()
        };
        let a = jwt_secret(&cfg).unwrap();
        assert_eq!(jwt_secret(&cfg).unwrap(), a);
        let mode = std::fs::metadata(cfg.data_dir.join("jwt-secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
