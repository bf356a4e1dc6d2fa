//! Who asked for a change. Travels in event metadata and decides some rules
//! (the last-admin rule binds org admins, not the project's backend).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A tenant owner in the console (`op_…`).
    Operator(String),
    /// A project's backend using a secret key (`key_…`).
    ApiKey(String),
    /// A signed-in end user (`user_…`), e.g. an org admin.
    User(String),
    /// An organization's SCIM directory (`dir_…`): the customer's identity provider.
    Directory(String),
    /// The system itself (CLI bootstrap, cascades).
    System,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Operator(_) => "operator",
            Actor::ApiKey(_) => "api_key",
            Actor::User(_) => "user",
            Actor::Directory(_) => "directory",
            Actor::System => "system",
        }
    }
    pub fn id(&self) -> Option<&str> {
        match self {
            Actor::Operator(id) | Actor::ApiKey(id) | Actor::User(id) | Actor::Directory(id) => Some(id),
            Actor::System => None,
        }
    }
}
