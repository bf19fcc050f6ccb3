//! IRISX provider adapters: one module per vendor, each reproducing the vendor's documented wire contract
//! (path, auth, content type, fields, responses, error codes, callback signatures), over one shared HTTP
//! client whose failures are classified once (see [`irisx_core::sms::provider::ProviderError`]).
//!
//! Base URLs are configurable so tests point adapters at local mock servers speaking the same contract
//! (`tests/contracts/` holds the vendors' documented payloads).

pub mod http;
pub mod signing;
pub mod sms;
