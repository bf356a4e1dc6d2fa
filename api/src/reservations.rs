//! Uniqueness held by reservations (`authio_domain::reservation`): a user's email, an
//! organization's or team's slug, a verified domain, a pending invitation. The commands
//! claim or release one in the same commit as the change that needs it.
use crate::error::{ApiError, ApiResult};
use authio_domain::reservation::{Reservation, ReservationCommand, ReservationError};
use authio_eventstore::{Db, Loaded, StoreError};

/// Claim `key` for `owner` (a no-op when `owner` holds it); another owner's is
/// `409 code` ("`what` is already taken").
pub async fn claim(db: &Db, key: &str, owner: &str, code: &'static str, what: &str) -> ApiResult<Loaded<Reservation>> {
    let mut r = db.load::<Reservation>(key).await?;
    r.exec(ReservationCommand::Claim { owner: owner.to_string() })
        .await
        .map_err(|ReservationError::Taken| ApiError::conflict(code, format!("{what} is already taken")))?;
    Ok(r)
}

/// Give `key` up, if `owner` holds it (nothing happens otherwise).
pub async fn release(db: &Db, key: &str, owner: &str) -> Result<Loaded<Reservation>, StoreError> {
    let mut r = db.load::<Reservation>(key).await?;
    r.exec(ReservationCommand::Release { owner: owner.to_string() })
        .await
        .map_err(|e| StoreError::Corrupt(format!("releasing a reservation: {e}")))?;
    Ok(r)
}
