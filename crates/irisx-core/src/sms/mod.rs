//! SMS: phone numbers, encodings and segments, the normalized delivery status, and the provider port.

mod encoding;
pub mod model;
mod number;
pub mod provider;
mod status;

pub use encoding::{Encoding, Segments, segments};
pub use number::E164;
pub use status::DeliveryStatus;
