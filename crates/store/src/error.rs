//! `StoreError`: what a repository call can fail with, phrased for users.
//!
//! The server maps these to HTTP statuses (404, 409, 422, 500), so each
//! variant is one answer a client can act on. Database failures keep the
//! driver's error as the `source()` for logs, but their `Display` never
//! carries SQL text, bound values or connection strings: those can hold
//! secrets (password hashes, token hashes, database passwords).

use std::fmt;

/// The error of every store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed record does not exist (or was deleted).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `"run 42"`.
        what: String,
    },
    /// A uniqueness rule would be broken, e.g. a taken username.
    #[error("{0}")]
    Conflict(String),
    /// A run status change that the state machine does not allow.
    #[error("a run cannot go from {from} to {to}")]
    InvalidTransition {
        /// The run's current status.
        from: crate::RunStatus,
        /// The requested status.
        to: crate::RunStatus,
    },
    /// The caller passed a value the store cannot accept (empty name,
    /// negative quota, malformed snapshot, ...).
    #[error("{0}")]
    Invalid(String),
    /// The database failed or holds data this version cannot read.
    #[error("storage error: {what}")]
    Backend {
        /// A short, secret-free description ("database unavailable", ...).
        what: &'static str,
        /// The underlying error, for logs only.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The result of every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub(crate) fn not_found(what: impl fmt::Display) -> Self {
        StoreError::NotFound {
            what: what.to_string(),
        }
    }

    pub(crate) fn corrupt(what: &'static str, source: impl fmt::Display) -> Self {
        StoreError::Backend {
            what,
            source: source.to_string().into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let what = match &e {
            sqlx::Error::RowNotFound => return StoreError::not_found("record"),
            sqlx::Error::Database(db) => match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => {
                    return StoreError::Conflict("already exists".into())
                }
                sqlx::error::ErrorKind::ForeignKeyViolation => {
                    return StoreError::Invalid("refers to a record that does not exist".into())
                }
                _ => "database error",
            },
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                "database unavailable"
            }
            sqlx::Error::Tls(_) => "database TLS error",
            sqlx::Error::Configuration(_) => "invalid database configuration",
            sqlx::Error::Migrate(_) => "database migration failed",
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
                "database holds a value this version cannot read"
            }
            _ => "database error",
        };
        StoreError::Backend {
            what,
            source: Box::new(e),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Backend {
            what: "database migration failed",
            source: Box::new(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_errors_hide_their_details() {
        let e = StoreError::from(sqlx::Error::Configuration(
            "postgres://admin:hunter2@db/x".into(),
        ));
        assert_eq!(
            e.to_string(),
            "storage error: invalid database configuration"
        );
        let src = std::error::Error::source(&e).unwrap().to_string();
        assert!(
            src.contains("hunter2"),
            "the source keeps the detail for logs"
        );
    }
}
