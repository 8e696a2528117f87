//! The stored records and their value types, shared by both backends.
//!
//! Records are plain data with serde derives so that the server can put
//! them in API answers directly; secrets (password and token hashes) are
//! `#[serde(skip)]` so that they can never leak that way. Ids are typed
//! (`RunId` is not a `UserId`) and serialize as bare integers. Timestamps
//! are UTC `OffsetDateTime`s (RFC 3339 in JSON) stored as Unix
//! milliseconds, the one representation both backends compare alike.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    )*};
}

id_type!(
    /// A user's id.
    UserId,
    /// An API token's id.
    TokenId,
    /// A scenario's id.
    ScenarioId,
    /// A run's id.
    RunId,
    /// An audit log entry's id.
    AuditId,
);

/// Names of enums stored as text: parsing, printing and serde in one place.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stored (and JSON) name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = crate::StoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(crate::StoreError::Invalid(format!(
                        concat!("unknown ", stringify!($name), " '{}' (expected one of: {})"),
                        s,
                        [$($text),*].join(", ")
                    ))),
                }
            }
        }
    };
}

text_enum!(
    /// What a user may do (PLATFORM.md "API contract"): viewers read,
    /// editors also write scenarios and start runs, admins manage everything.
    Role {
        /// Manages users, tokens, workers and settings.
        Admin = "admin",
        /// Creates, edits, starts and stops scenarios.
        Editor = "editor",
        /// Reads.
        Viewer = "viewer",
    }
);

text_enum!(
    /// A run's life cycle: `queued → starting → running → finishing →
    /// passed | failed | aborted | errored` (see [`RunStatus::can_become`]).
    RunStatus {
        /// Accepted, waiting for workers.
        Queued = "queued",
        /// Workers are preparing (init context, setup).
        Starting = "starting",
        /// VUs are iterating.
        Running = "running",
        /// Teardown, summary and last intervals.
        Finishing = "finishing",
        /// Ended, every threshold held (k6 exit code 0).
        Passed = "passed",
        /// Ended with a breached threshold (k6 exit code 99).
        Failed = "failed",
        /// Stopped by a user, `abortOnFail`, or `test.abort()`.
        Aborted = "aborted",
        /// Could not run or crashed (script error, lost workers, restart).
        Errored = "errored",
    }
);

impl RunStatus {
    /// Whether the run is over (no transition leaves these states).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Passed | RunStatus::Failed | RunStatus::Aborted | RunStatus::Errored
        )
    }

    /// The allowed transitions. Any live state may end as `aborted` or
    /// `errored`; `passed`/`failed` need a run that got to `running`
    /// (from `running` directly when there is nothing to finish).
    pub fn can_become(self, to: RunStatus) -> bool {
        use RunStatus::*;
        matches!(
            (self, to),
            (Queued, Starting)
                | (Starting, Running)
                | (Running, Finishing)
                | (Running | Finishing, Passed | Failed)
                | (Queued | Starting | Running | Finishing, Aborted | Errored)
        )
    }

    /// The states from which `to` may be entered.
    pub fn predecessors(to: RunStatus) -> Vec<RunStatus> {
        RunStatus::ALL
            .iter()
            .copied()
            .filter(|from| from.can_become(to))
            .collect()
    }
}

/// Per-user limits; `None` means unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotas {
    /// Most VUs one run may use.
    pub max_vus: Option<i64>,
    /// Longest run, in seconds.
    pub max_duration_secs: Option<i64>,
    /// Most runs in a non-terminal state at once.
    pub max_concurrent_runs: Option<i64>,
}

/// A user account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Unique login name.
    pub username: String,
    /// The argon2id PHC string, as given by the server's auth (never serialized).
    #[serde(skip)]
    pub password_hash: String,
    /// What the user may do.
    pub role: Role,
    /// Limits.
    pub quotas: Quotas,
    /// When created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When disabled (a disabled user cannot log in), if so.
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
}

/// What [`crate::Store::create_user`] needs.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Unique login name (1..=64 characters, no control characters).
    pub username: String,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Limits.
    pub quotas: Quotas,
}

/// A partial update of a user: `None` fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    /// A new password hash.
    pub password_hash: Option<String>,
    /// A new role.
    pub role: Option<Role>,
    /// New limits (replacing all three).
    pub quotas: Option<Quotas>,
    /// `Some(true)` disables the account, `Some(false)` enables it.
    pub disabled: Option<bool>,
}

/// An API token (the secret itself is never stored; only its hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Its id.
    pub id: TokenId,
    /// Whose token it is.
    pub user_id: UserId,
    /// A label chosen by the user.
    pub name: String,
    /// The hash of the secret, as computed by the server (never serialized).
    #[serde(skip)]
    pub secret_hash: String,
    /// What it may be used for (empty: everything its user may do).
    pub scopes: Vec<String>,
    /// When created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When last used to authenticate.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// When it stops working, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When revoked, if so.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiToken {
    /// Whether the token authenticates at `now`: not revoked, not expired.
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// What [`crate::Store::create_token`] needs.
#[derive(Clone, Debug)]
pub struct NewToken {
    /// Whose token.
    pub user_id: UserId,
    /// Label (1..=128 characters).
    pub name: String,
    /// Hash of the secret (unique).
    pub secret_hash: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Expiry.
    pub expires_at: Option<OffsetDateTime>,
}

/// A scenario (a stored test) with its current version's content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Its id.
    pub id: ScenarioId,
    /// Who created it.
    pub owner_id: UserId,
    /// Unique name among scenarios not deleted.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Labels to search by.
    pub tags: Vec<String>,
    /// The current version number (1 for a new scenario, +1 per save).
    pub version: i64,
    /// The current version's script archive, entry and options.
    pub content: ScenarioContent,
    /// When created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When last saved.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A scenario without its archive, for lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    /// Its id.
    pub id: ScenarioId,
    /// Who created it.
    pub owner_id: UserId,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Labels.
    pub tags: Vec<String>,
    /// Current version number.
    pub version: i64,
    /// When created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When last saved.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What a version of a scenario holds: what a run executes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioContent {
    /// The script archive (the entry file and the files it imports/opens),
    /// as the server packs it. Not serialized: fetch it explicitly.
    #[serde(skip)]
    pub archive: Vec<u8>,
    /// The entry file's name inside the archive.
    pub entry: String,
    /// A k6 archive (tar) that runs of this version execute instead of
    /// `archive`'s files, which then hold the entry script for the editor.
    /// Not serialized: fetch it explicitly.
    #[serde(skip)]
    pub k6_archive: Option<Vec<u8>>,
    /// Default options (k6 options JSON), overridden by a start request.
    pub options: Value,
}

/// One kept version of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioVersion {
    /// The scenario.
    pub scenario_id: ScenarioId,
    /// Version number.
    pub version: i64,
    /// What it held.
    pub content: ScenarioContent,
    /// Who saved it.
    pub created_by: Option<UserId>,
    /// When it was saved.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What [`crate::Store::create_scenario`] needs.
#[derive(Clone, Debug)]
pub struct NewScenario {
    /// Owner.
    pub owner_id: UserId,
    /// Unique name (1..=200 characters).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Labels (each 1..=64 characters; duplicates are dropped).
    pub tags: Vec<String>,
    /// The first version's content.
    pub content: ScenarioContent,
}

/// A save of a scenario: `None` fields keep their value; a new version is
/// written whenever the call succeeds (even when only metadata changed, so
/// that the history shows every save).
#[derive(Clone, Debug, Default)]
pub struct ScenarioUpdate {
    /// Who saves.
    pub saved_by: Option<UserId>,
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// New archive.
    pub archive: Option<Vec<u8>>,
    /// New entry name.
    pub entry: Option<String>,
    /// New k6 archive: `Some(None)` removes it (the files are the script
    /// again), `None` keeps it.
    pub k6_archive: Option<Option<Vec<u8>>>,
    /// New default options.
    pub options: Option<Value>,
}

/// Scenario list filter.
#[derive(Clone, Debug, Default)]
pub struct ScenarioFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// Exact tag.
    pub tag: Option<String>,
    /// Only this owner's.
    pub owner_id: Option<UserId>,
}

/// Who or what started a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "ref", rename_all = "lowercase")]
pub enum StartedBy {
    /// A user, through the UI or the API with a session/JWT.
    User,
    /// An API token (CI).
    Token(TokenId),
    /// A schedule (its id).
    Schedule(i64),
    /// A pipeline (its name or id).
    Pipeline(String),
}

/// A run of a scenario version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Its id.
    pub id: RunId,
    /// The scenario.
    pub scenario_id: ScenarioId,
    /// The scenario version it executes.
    pub scenario_version: i64,
    /// The user it is charged to (quotas), if any.
    pub user_id: Option<UserId>,
    /// What started it.
    pub started_by: StartedBy,
    /// The resolved options it runs with (k6 options JSON).
    pub options: Value,
    /// Where it is in its life cycle.
    pub status: RunStatus,
    /// k6's exit code, once ended.
    pub exit_code: Option<i64>,
    /// Why it errored or aborted, if it did.
    pub error: Option<String>,
    /// The workers executing it (ids as the transport names them).
    pub workers: Vec<String>,
    /// When queued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it entered `running`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// The final summary: the `--summary-export` document.
    pub summary: Option<Value>,
}

/// What [`crate::Store::create_run`] needs.
#[derive(Clone, Debug)]
pub struct NewRun {
    /// The scenario.
    pub scenario_id: ScenarioId,
    /// Its version (`None`: the current one).
    pub scenario_version: Option<i64>,
    /// The user it is charged to.
    pub user_id: Option<UserId>,
    /// What started it.
    pub started_by: StartedBy,
    /// The resolved options.
    pub options: Value,
}

/// The extra data of a status change.
#[derive(Clone, Debug, Default)]
pub struct RunEnd {
    /// k6's exit code.
    pub exit_code: Option<i64>,
    /// The error or abort reason.
    pub error: Option<String>,
    /// The final summary.
    pub summary: Option<Value>,
}

/// Run list filter.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    /// Only runs of this scenario.
    pub scenario_id: Option<ScenarioId>,
    /// Only runs in one of these states (empty: any).
    pub statuses: Vec<RunStatus>,
    /// Only runs charged to this user.
    pub user_id: Option<UserId>,
}

/// An audit log entry: who did what to what, when, from where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its id.
    pub id: AuditId,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The acting user, if known.
    pub user_id: Option<UserId>,
    /// The API token used, if any.
    pub token_id: Option<TokenId>,
    /// What was done, e.g. `"scenario.update"`.
    pub action: String,
    /// What it was done to, e.g. `"scenario/12"`.
    pub target: String,
    /// The client's address.
    pub remote_addr: Option<String>,
    /// Extra facts (never secrets).
    pub details: Value,
}

/// What [`crate::Store::record_audit`] needs.
#[derive(Clone, Debug, Default)]
pub struct NewAudit {
    /// The acting user.
    pub user_id: Option<UserId>,
    /// The API token used.
    pub token_id: Option<TokenId>,
    /// What was done.
    pub action: String,
    /// To what.
    pub target: String,
    /// From where.
    pub remote_addr: Option<String>,
    /// Extra facts (never secrets).
    pub details: Value,
}

/// Audit log filter.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this user's actions.
    pub user_id: Option<UserId>,
    /// Only actions starting with this prefix (e.g. `"run."`).
    pub action_prefix: Option<String>,
}

/// A page request: `limit` items after skipping `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// At most this many items (clamped to 1..=[`Page::MAX_LIMIT`]).
    pub limit: u32,
    /// Items to skip.
    pub offset: u64,
}

impl Page {
    /// The largest page.
    pub const MAX_LIMIT: u32 = 500;

    /// A page of `limit` items after `offset`.
    pub fn new(limit: u32, offset: u64) -> Self {
        Page { limit, offset }
    }

    pub(crate) fn clamped_limit(self) -> i64 {
        i64::from(self.limit.clamp(1, Self::MAX_LIMIT))
    }

    pub(crate) fn sql_offset(self) -> i64 {
        i64::try_from(self.offset).unwrap_or(i64::MAX)
    }
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: 50,
            offset: 0,
        }
    }
}

/// One page of a list, with the total count of the filtered list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Paged<T> {
    /// The items.
    pub items: Vec<T>,
    /// How many items the whole filtered list has.
    pub total: u64,
    /// The effective limit.
    pub limit: u32,
    /// The offset.
    pub offset: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use RunStatus::*;
        assert!(Queued.can_become(Starting));
        assert!(Running.can_become(Passed));
        assert!(Finishing.can_become(Failed));
        assert!(Queued.can_become(Errored));
        assert!(!Queued.can_become(Passed));
        assert!(!Queued.can_become(Running));
        for t in [Passed, Failed, Aborted, Errored] {
            assert!(t.is_terminal());
            assert!(RunStatus::ALL.iter().all(|&to| !t.can_become(to)));
        }
        assert_eq!(RunStatus::predecessors(Passed), vec![Running, Finishing]);
    }

    #[test]
    fn enums_parse_and_print() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), *r);
        }
        let err = "root".parse::<Role>().unwrap_err().to_string();
        assert!(err.contains("admin, editor, viewer"), "{err}");
        assert_eq!(
            serde_json::to_string(&RunStatus::Finishing).unwrap(),
            "\"finishing\""
        );
    }

    #[test]
    fn secrets_are_not_serialized() {
        let u = User {
            id: UserId(1),
            username: "ana".into(),
            password_hash: "$argon2id$secret".into(),
            role: Role::Admin,
            quotas: Quotas::default(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            disabled_at: None,
        };
        let json = serde_json::to_string(&u).unwrap();
        assert!(!json.contains("argon2id"), "{json}");
        assert!(json.contains("\"id\":1"), "{json}");
    }
}
