//! Four eyes: a campaign is approved, and a model version approved to
//! score, only from the state that waits for approval and only by someone
//! other than the person who designed or trained it.

use panorama_store::Store;
use panorama_store::campaigns::{self, CampaignRow};
use panorama_store::models::{self, ModelRow};

use crate::{OcrmError, Result};

/// Whether `approver` may approve what `author` made; `refusal` says what
/// was made and by whom.
pub fn four_eyes(author: &str, approver: &str, refusal: impl FnOnce() -> String) -> Result<()> {
    if author == approver {
        return Err(OcrmError::Refused(format!(
            "{}: a second person approves it",
            refusal()
        )));
    }
    Ok(())
}

/// Approves draft campaign `id` on behalf of `by` (audited by the store).
pub async fn approve_campaign(store: &Store, id: i64, by: &str) -> Result<CampaignRow> {
    let c = campaigns::get(store, id)
        .await?
        .ok_or_else(|| OcrmError::NotFound(format!("there is no campaign {id}")))?;
    if c.status != "draft" {
        return Err(OcrmError::Conflict(format!(
            "campaign {id} is {}: only a draft can be approved",
            c.status
        )));
    }
    four_eyes(&c.created_by, by, || {
        format!("campaign {id} was designed by {by}")
    })?;
    if !campaigns::record_approval(store, &c, by).await? {
        return Err(OcrmError::Conflict(format!(
            "campaign {id} changed while it was being approved"
        )));
    }
    Ok(CampaignRow {
        status: "approved".into(),
        approved_by: Some(by.to_owned()),
        ..c
    })
}

/// Approves trained model version `id` on behalf of `by`: it scores from
/// now on, and the version of its name approved before is retired (the
/// store keeps it and audits the approval).
pub async fn approve_model(store: &Store, id: i64, by: &str) -> Result<ModelRow> {
    let row = models::get(store, id)
        .await?
        .ok_or_else(|| OcrmError::NotFound(format!("there is no model {id}")))?;
    if row.status != "trained" {
        return Err(OcrmError::Conflict(format!(
            "model {id} is {}: only a trained version can be approved",
            row.status
        )));
    }
    four_eyes(&row.created_by, by, || {
        format!("model {id} was trained by {by}")
    })?;
    models::record_approval(store, &row, by)
        .await?
        .ok_or_else(|| {
            OcrmError::Conflict(format!("model {id} changed while it was being approved"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_author_never_approves_their_own_work() {
        let err = four_eyes("ana", "ana", || "campaign 3 was designed by ana".into())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("campaign 3 was designed by ana: a second person approves it")
        );
        assert!(four_eyes("ana", "bo", || unreachable!()).is_ok());
    }
}
