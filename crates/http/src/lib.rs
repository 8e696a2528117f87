//! An async HTTP client with k6's semantics: per-VU connections, request timings, k6 error codes, cookies, redirects, auth.
