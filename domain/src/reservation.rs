//! Reservation streams guard uniqueness across streams: a user's email per project,
//! an organization's slug per project, an operator's email. The stream id names the
//! unique value (see the `*_key` helpers); claiming it appends to that stream, so two
//! racing claims collide on the stream's version and exactly one wins.
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

pub fn user_email_key(project_id: &str, email: &str) -> String {
    format!("user_email:{project_id}:{}", crate::normalize_email(email))
}
pub fn organization_slug_key(project_id: &str, slug: &str) -> String {
    format!("organization_slug:{project_id}:{slug}")
}
pub fn team_slug_key(organization_id: &str, slug: &str) -> String {
    format!("team_slug:{organization_id}:{slug}")
}
/// Held by the pending invitation of `email` to organization `organization_id` (`""`:
/// to the project), so there is one at a time.
pub fn pending_invitation_key(project_id: &str, organization_id: &str, email: &str) -> String {
    format!("pending_invitation:{project_id}:{organization_id}:{}", crate::normalize_email(email))
}
/// Held by the organization whose claim of `domain` is verified.
pub fn verified_domain_key(project_id: &str, domain: &str) -> String {
    format!("verified_domain:{project_id}:{domain}")
}
pub fn operator_email_key(email: &str) -> String {
    format!("operator_email:{}", crate::normalize_email(email))
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReservationCommand {
    Claim { owner: String },
    Release { owner: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ReservationEvent {
    #[serde(rename = "reservation.claimed")]
    Claimed { owner: String },
    #[serde(rename = "reservation.released")]
    Released { owner: String },
}

crate::event_names!(ReservationEvent {
    Claimed => "reservation.claimed",
    Released => "reservation.released",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReservationError {
    #[error("the value is already taken")]
    Taken,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Reservation {
    pub owner: Option<String>,
}

impl Aggregate for Reservation {
    const TYPE: &'static str = "reservation";
    type Command = ReservationCommand;
    type Event = ReservationEvent;
    type Error = ReservationError;
    type Services = ();

    async fn handle(
        &mut self,
        command: ReservationCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ReservationError> {
        match command {
            ReservationCommand::Claim { owner } => match &self.owner {
                Some(o) if *o == owner => {}
                Some(_) => return Err(ReservationError::Taken),
                None => sink.write(ReservationEvent::Claimed { owner }, self).await,
            },
            ReservationCommand::Release { owner } => {
                if self.owner.as_deref() == Some(owner.as_str()) {
                    sink.write(ReservationEvent::Released { owner }, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: ReservationEvent) {
        match event {
            ReservationEvent::Claimed { owner } => self.owner = Some(owner),
            ReservationEvent::Released { .. } => self.owner = None,
        }
    }
}
