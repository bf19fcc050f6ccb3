//! The platform's aggregates: tenants, users, platform staff, sessions and API keys.

mod api_key;
mod tenant;
mod user;

pub use api_key::{ApiKey, ApiKeyEnvironment, GeneratedKey, Scope, hash_api_key, looks_like_api_key};
pub use tenant::{Plan, Tenant, TenantStatus};
pub use user::{AdminRole, AdminSession, AdminUser, Role, Session, User, UserStatus};

/// Declares a string-backed enum with its wire names, `as_str`, `FromStr` and serde in one place.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::error::FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(crate::error::FieldError::new(
                        $what,
                        concat!("invalid_", $what),
                        format!(
                            "`{s}` is not a valid {}; expected one of: {}",
                            $what,
                            [$($wire),+].join(", ")
                        ),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;
