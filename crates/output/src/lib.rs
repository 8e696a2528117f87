//! Results, presented as k6 v1.1 presents them.
//!
//! k6 renders its summary in JavaScript, so the number formatting here
//! follows JavaScript's (`toFixed`, `Number#toString`, see [`jsfmt`]) and the
//! metric order follows `localeCompare` ([`collate`]).

pub mod ansi;
pub mod collate;
pub mod humanize;
pub mod jsfmt;
pub mod jsjson;
