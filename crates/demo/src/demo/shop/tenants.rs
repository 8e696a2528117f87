//! Seed 001's tenants: one login per tier, a bearer token tied to the
//! tenant, and the tier's rate limit on every authenticated request.
//!
//! Tokens are API keys: derived from the seed and the tenant, the same for
//! every login, valid until the target stops. Rate limits are per tenant
//! (all tokens and VUs of a tenant share one bucket), like a multi-tenant
//! API's plan limits. Requests without a token are anonymous and unlimited.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::demo::api::{bearer, json, ApiError, Body};
use crate::demo::config::TierRates;
use crate::demo::rate_limit::{TokenBucket, Verdict};
use crate::demo::DemoState;

/// A tenant of the shop API.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub(crate) email: &'static str,
    pub(crate) tier: &'static str,
    pub(crate) token: String,
    /// Requests per second; 0 is unlimited.
    pub(crate) rps: u32,
    bucket: Option<TokenBucket>,
}

/// The four tenants.
#[derive(Debug)]
pub(crate) struct Tenants(Vec<Arc<Tenant>>);

impl Tenants {
    pub(crate) fn new(seed: u64, rates: TierRates) -> Tenants {
        let tiers = [
            ("free-tier@example.com", "free", rates.free),
            ("starter-tier@example.com", "starter", rates.starter),
            ("pro-tier@example.com", "professional", rates.professional),
            (
                "enterprise-tier@example.com",
                "enterprise",
                rates.enterprise,
            ),
        ];
        Tenants(
            tiers
                .into_iter()
                .map(|(email, tier, rps)| {
                    let digest = Sha256::digest(format!("stampede-demo-shop:{seed}:{email}"));
                    let hex: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
                    Arc::new(Tenant {
                        email,
                        tier,
                        token: format!("shop_{tier}_{hex}"),
                        rps,
                        bucket: (rps > 0).then(|| TokenBucket::new(rps, rps)),
                    })
                })
                .collect(),
        )
    }

    fn by_email(&self, email: &str) -> Option<&Arc<Tenant>> {
        self.0
            .iter()
            .find(|t| t.email.eq_ignore_ascii_case(email.trim()))
    }

    fn by_token(&self, token: &str) -> Option<&Arc<Tenant>> {
        self.0.iter().find(|t| t.token == token)
    }
}

#[derive(Deserialize)]
pub(crate) struct LoginRequest {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Serialize)]
struct LoginResponse<'a> {
    token: &'a str,
    access_token: &'a str,
    token_type: &'static str,
    tenant: &'a str,
    tier: &'a str,
    rate_limit_rps: u32,
}

/// `POST /api/auth/login {email, password}`: any non-empty password.
pub(crate) async fn login(
    State(state): State<Arc<DemoState>>,
    Body(req): Body<LoginRequest>,
) -> Result<Response, ApiError> {
    if req.email.trim().is_empty() || req.password.is_empty() {
        return Err(ApiError::bad_request("email and password are required"));
    }
    let tenant = state.shop.tenants.by_email(&req.email).ok_or_else(|| {
        ApiError::unauthorized(
            "unknown user; the demo shop knows free-tier@, starter-tier@, \
             pro-tier@ and enterprise-tier@example.com (any password)",
        )
    })?;
    Ok(json(
        StatusCode::OK,
        &LoginResponse {
            token: &tenant.token,
            access_token: &tenant.token,
            token_type: "Bearer",
            tenant: tenant.email,
            tier: tenant.tier,
            rate_limit_rps: tenant.rps,
        },
    ))
}

/// Middleware of the shop API: authenticates a bearer token if there is
/// one and applies its tenant's rate limit (429 with `Retry-After`).
/// Handlers find the tenant in the request's extensions.
pub(crate) async fn limit(
    State(state): State<Arc<DemoState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer(req.headers()) else {
        return next.run(req).await;
    };
    let Some(tenant) = state.shop.tenants.by_token(token).cloned() else {
        return ApiError::unauthorized("invalid token").into_response();
    };
    let Some(bucket) = &tenant.bucket else {
        req.extensions_mut().insert(tenant);
        return next.run(req).await;
    };
    let limit = HeaderValue::from(tenant.rps);
    match bucket.try_take() {
        Verdict::Allowed { remaining } => {
            req.extensions_mut().insert(tenant.clone());
            let mut res = next.run(req).await;
            let h = res.headers_mut();
            h.insert("x-ratelimit-limit", limit);
            h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
            res
        }
        Verdict::Limited { retry_after } => {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            let mut res = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "rate limit exceeded: the {} tier allows {} requests per second",
                    tenant.tier, tenant.rps
                ),
            )
            .into_response();
            let h = res.headers_mut();
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            h.insert("x-ratelimit-limit", limit);
            h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_seed_and_tenant() {
        let a = Tenants::new(1, TierRates::default());
        let b = Tenants::new(1, TierRates::default());
        let c = Tenants::new(2, TierRates::default());
        assert_eq!(a.0[0].token, b.0[0].token);
        assert_ne!(a.0[0].token, a.0[1].token);
        assert_ne!(a.0[0].token, c.0[0].token);
        let free = a.by_email("Free-Tier@example.com").unwrap();
        assert_eq!(free.tier, "free");
        assert_eq!(a.by_token(&free.token).unwrap().email, free.email);
    }
}
