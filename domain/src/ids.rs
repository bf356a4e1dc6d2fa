//! Prefixed, time-sortable identifiers as newtypes.
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($name:ident, $prefix:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);
        impl $name {
            pub const PREFIX: &'static str = $prefix;
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// Whether `s` has this id's prefix and a plausible body.
            pub fn is_valid(s: &str) -> bool {
                s.strip_prefix($prefix).is_some_and(|rest| {
                    !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
                })
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }
    };
}

id_type!(OperatorId, "op_");
id_type!(TenantId, "proj_");
id_type!(UserId, "user_");
id_type!(OrganizationId, "org_");
id_type!(MembershipId, "mem_");
id_type!(ApiKeyId, "key_");
id_type!(SessionId, "sess_");
id_type!(WebhookEndpointId, "whep_");
