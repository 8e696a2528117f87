//! Opening the database: URL or data directory, backend-specific session
//! settings, migrations, and the small conversions every repository shares.
//!
//! One code path serves both backends through sqlx's `Any` driver: the
//! queries use `$n` placeholders (PostgreSQL's, which SQLite understands as
//! numbered parameters too), only portable SQL (`RETURNING`, `ON CONFLICT`,
//! partial and expression indexes) and only portable column types (BIGINT
//! integers, TEXT, BLOB/BYTEA). Migrations are one directory per backend,
//! because DDL differs (identity columns, blob type) even where the queries
//! do not; both are embedded in the binary, so nothing is read from disk.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Row};
use time::OffsetDateTime;

use crate::error::{Result, StoreError};

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (WAL mode, foreign keys on).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The file the default SQLite database lives in, inside the data dir.
pub const SQLITE_FILE: &str = "stampede.db";

/// Per-connection SQLite settings: write-ahead log (readers never block
/// the writer), foreign keys enforced, a 10 s wait for another writer's
/// lock instead of failing at once, and fsync at checkpoints only (WAL's
/// recommended durability: a power loss may lose the last transactions,
/// never corrupt the file).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                              PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;";

/// The control plane's storage. Cheap to clone (a pool handle); every
/// method is one short transaction at most.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// The leader's fencing token, on the handle of a leader's exclusive
    /// writes (`fence.rs`); `None` everywhere else.
    pub(crate) fence: Option<crate::fence::Fence>,
}

/// Pool settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long to keep trying to get a connection (also at start, while
    /// the database comes up) before failing.
    pub connect_timeout: Duration,
    /// Pool size (default 8 for SQLite, 16 for PostgreSQL).
    pub max_connections: Option<u32>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            connect_timeout: Duration::from_secs(30),
            max_connections: None,
        }
    }
}

/// (version, description, SQL) of each embedded migration.
type Embedded = &'static [(i64, &'static str, &'static str)];

const SQLITE_MIGRATIONS: Embedded = &[
    (
        1,
        "core",
        include_str!("../migrations/sqlite/0001_core.sql"),
    ),
    (
        2,
        "alerts_schedules",
        include_str!("../migrations/sqlite/0002_alerts_schedules.sql"),
    ),
    (
        3,
        "scenario_archives",
        include_str!("../migrations/sqlite/0003_scenario_archives.sql"),
    ),
    (
        4,
        "pipelines",
        include_str!("../migrations/sqlite/0004_pipelines.sql"),
    ),
    (
        5,
        "baselines",
        include_str!("../migrations/sqlite/0005_baselines.sql"),
    ),
    (
        6,
        "scenario_kind",
        include_str!("../migrations/sqlite/0006_scenario_kind.sql"),
    ),
    (
        7,
        "alerts_durable",
        include_str!("../migrations/sqlite/0007_alerts_durable.sql"),
    ),
    (
        8,
        "leader_fence",
        include_str!("../migrations/sqlite/0008_leader_fence.sql"),
    ),
    (
        9,
        "run_views",
        include_str!("../migrations/sqlite/0009_run_views.sql"),
    ),
    (
        10,
        "run_faults",
        include_str!("../migrations/sqlite/0010_run_faults.sql"),
    ),
    (
        11,
        "alert_episodes",
        include_str!("../migrations/sqlite/0011_alert_episodes.sql"),
    ),
];

const POSTGRES_MIGRATIONS: Embedded = &[
    (
        1,
        "core",
        include_str!("../migrations/postgres/0001_core.sql"),
    ),
    (
        2,
        "alerts_schedules",
        include_str!("../migrations/postgres/0002_alerts_schedules.sql"),
    ),
    (
        3,
        "scenario_archives",
        include_str!("../migrations/postgres/0003_scenario_archives.sql"),
    ),
    (
        4,
        "pipelines",
        include_str!("../migrations/postgres/0004_pipelines.sql"),
    ),
    (
        5,
        "baselines",
        include_str!("../migrations/postgres/0005_baselines.sql"),
    ),
    (
        6,
        "scenario_kind",
        include_str!("../migrations/postgres/0006_scenario_kind.sql"),
    ),
    (
        7,
        "alerts_durable",
        include_str!("../migrations/postgres/0007_alerts_durable.sql"),
    ),
    (
        8,
        "leader_fence",
        include_str!("../migrations/postgres/0008_leader_fence.sql"),
    ),
    (
        9,
        "run_views",
        include_str!("../migrations/postgres/0009_run_views.sql"),
    ),
    (
        10,
        "run_faults",
        include_str!("../migrations/postgres/0010_run_faults.sql"),
    ),
    (
        11,
        "alert_episodes",
        include_str!("../migrations/postgres/0011_alert_episodes.sql"),
    ),
];

/// The embedded migrations of one backend, as sqlx's migrator wants them.
#[derive(Debug)]
struct EmbeddedMigrations(Embedded);

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> futures_util::future::BoxFuture<
        'static,
        std::result::Result<Vec<Migration>, sqlx::error::BoxDynError>,
    > {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Only the backend: the pool's options hold the database URL, which may
/// carry a password.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database in `data_dir`
    /// (`data_dir/stampede.db`; a new directory is created private to its
    /// owner, 0700) and migrates it.
    pub async fn open_data_dir(data_dir: &Path) -> Result<Store> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(data_dir).map_err(|e| StoreError::Backend {
            what: "cannot create the data directory",
            source: Box::new(e),
        })?;
        Store::open_sqlite(&data_dir.join(SQLITE_FILE)).await
    }

    /// Opens (creating if needed) the SQLite database file `path` and
    /// migrates it. A new file is created readable by its owner only (0600:
    /// it holds password and token hashes); SQLite gives its `-wal` and
    /// `-shm` files the same permissions.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        let mut create = std::fs::OpenOptions::new();
        create.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
        match create.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(StoreError::Backend {
                    what: "cannot create the database file",
                    source: Box::new(e),
                })
            }
        }
        let path = path.to_str().ok_or_else(|| {
            StoreError::Invalid(format!(
                "the database path {} is not valid UTF-8",
                path.display()
            ))
        })?;
        Store::connect(&format!("sqlite://{}?mode=rwc", encode_path(path))).await
    }

    /// Connects to `url` (`sqlite://PATH?mode=rwc`, `postgres://…` or
    /// `postgresql://…`) and applies the migrations this version embeds.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_with(url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool settings.
    pub async fn connect_with(url: &str, opts: &StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Invalid(
                "the database URL must start with sqlite:, postgres:// or postgresql://".into(),
            ));
        };
        let options = AnyPoolOptions::new().acquire_timeout(opts.connect_timeout);
        let pool = match backend {
            Backend::Sqlite => {
                options
                    .max_connections(opts.max_connections.unwrap_or(8))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            sqlx::Executor::execute(&mut *conn, SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
            Backend::Postgres => {
                options
                    .max_connections(opts.max_connections.unwrap_or(16))
                    .connect(url)
                    .await?
            }
        };
        let migrations = match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        Migrator::new(EmbeddedMigrations(migrations))
            .await?
            .run(&pool)
            .await?;
        Ok(Store {
            pool,
            backend,
            fence: None,
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (waits for the ones in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Percent-encodes what sqlx's SQLite URL parser would otherwise read as
/// syntax (`?`, `#`, `%`) or mangle (spaces, non-ASCII).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    to_ms(OffsetDateTime::now_utc())
}

/// `t` in Unix milliseconds (saturating far outside ±292 million years).
pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Unix milliseconds back to a UTC time.
pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::corrupt("a stored timestamp is out of range", e))
}

pub(crate) fn opt_from_ms(ms: Option<i64>) -> Result<Option<OffsetDateTime>> {
    ms.map(from_ms).transpose()
}

/// A column read, with decode failures as `Backend` errors.
pub(crate) fn col<'r, T>(row: &'r AnyRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    Ok(row.try_get(name)?)
}

/// A JSON text column.
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(row: &AnyRow, name: &str) -> Result<T> {
    let text: String = col(row, name)?;
    serde_json::from_str(&text)
        .map_err(|e| StoreError::corrupt("a stored JSON value is malformed", e))
}

/// An optional JSON text column.
pub(crate) fn opt_json_col<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    name: &str,
) -> Result<Option<T>> {
    let text: Option<String> = col(row, name)?;
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| StoreError::corrupt("a stored JSON value is malformed", e))
    })
    .transpose()
}

/// JSON text for a column.
pub(crate) fn to_json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("JSON values and string lists always serialize")
}

/// Escapes `%`, `_` and `\` for `LIKE … ESCAPE '\'`.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Checks a user-chosen name: trimmed length within `1..=max`, no control characters.
pub(crate) fn check_name(what: &str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if value.trim().is_empty() || n > max {
        return Err(StoreError::Invalid(format!(
            "{what} must have 1 to {max} characters"
        )));
    }
    if value.trim() != value {
        return Err(StoreError::Invalid(format!(
            "{what} must not start or end with spaces"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_for_the_url() {
        assert_eq!(encode_path("/tmp/a b?c#d%e"), "/tmp/a%20b%3Fc%23d%25e");
        assert_eq!(encode_path("/data/stampede.db"), "/data/stampede.db");
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_escape("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("name", "ok name", 10).is_ok());
        assert!(check_name("name", "", 10).is_err());
        assert!(check_name("name", " x", 10).is_err());
        assert!(check_name("name", "a\nb", 10).is_err());
        assert!(check_name("name", "abcdefghijk", 10).is_err());
    }

    #[test]
    fn millis_round_trip() {
        let t = from_ms(1_765_000_000_123).unwrap();
        assert_eq!(to_ms(t), 1_765_000_000_123);
    }
}
