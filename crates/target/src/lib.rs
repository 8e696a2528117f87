//! Systems under test: an httpbin-like server for tests and the demo target.
