//! Operator: a tenant owner of the console. Signs in by email link or CLI bootstrap.
use crate::ids::OperatorId;
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub enum OperatorCommand {
    Create {
        operator_id: OperatorId,
        email: String,
        at: DateTime<Utc>,
    },
    /// Records that a console session was opened (the token itself never enters an event).
    OpenConsoleSession {
        session_id: String,
        method: String,
        at: DateTime<Utc>,
    },
    /// Records that the operator signed a console session out (its token stops working).
    CloseConsoleSession {
        session_id: String,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum OperatorEvent {
    #[serde(rename = "operator.created")]
    Created { operator_id: OperatorId, email: String, created_at: DateTime<Utc> },
    #[serde(rename = "operator.console_session_opened")]
    ConsoleSessionOpened { session_id: String, method: String, opened_at: DateTime<Utc> },
    #[serde(rename = "operator.console_session_closed")]
    ConsoleSessionClosed { session_id: String, closed_at: DateTime<Utc> },
}

crate::event_names!(OperatorEvent {
    Created => "operator.created",
    ConsoleSessionOpened => "operator.console_session_opened",
    ConsoleSessionClosed => "operator.console_session_closed",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    #[error("the operator already exists")]
    AlreadyExists,
    #[error("no such operator")]
    NotFound,
    #[error("the email address is not valid")]
    InvalidEmail,
}

impl OperatorError {
    pub fn code(&self) -> &'static str {
        match self {
            OperatorError::AlreadyExists => "operator_exists",
            OperatorError::NotFound => "not_found",
            OperatorError::InvalidEmail => "invalid_request",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Operator {
    pub created: bool,
}

impl Aggregate for Operator {
    const TYPE: &'static str = "operator";
    type Command = OperatorCommand;
    type Event = OperatorEvent;
    type Error = OperatorError;
    type Services = ();

    async fn handle(&mut self, command: OperatorCommand, _: &(), sink: &EventSink<Self>) -> Result<(), OperatorError> {
        match command {
            OperatorCommand::Create { operator_id, email, at } => {
                if self.created {
                    return Err(OperatorError::AlreadyExists);
                }
                if !crate::is_valid_email(&email) {
                    return Err(OperatorError::InvalidEmail);
                }
                let ev = OperatorEvent::Created { operator_id, email: crate::normalize_email(&email), created_at: at };
                sink.write(ev, self).await;
            }
            OperatorCommand::OpenConsoleSession { session_id, method, at } => {
                if !self.created {
                    return Err(OperatorError::NotFound);
                }
                let ev = OperatorEvent::ConsoleSessionOpened { session_id, method, opened_at: at };
                sink.write(ev, self).await;
            }
            OperatorCommand::CloseConsoleSession { session_id, at } => {
                if !self.created {
                    return Err(OperatorError::NotFound);
                }
                sink.write(OperatorEvent::ConsoleSessionClosed { session_id, closed_at: at }, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: OperatorEvent) {
        if let OperatorEvent::Created { .. } = event {
            self.created = true;
        }
    }
}
