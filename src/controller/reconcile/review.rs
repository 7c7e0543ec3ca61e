//! Step 5: SubjectAccessReviews of the inference service accounts on the training data,
//! asked once the RBAC this reconcile applied is in place (answers are cached).

use super::apply::Applied;
use crate::api::ModelDeployment;
use crate::controller::Context;

/// The applied plan with fresh access reviews: only [`review`] makes one, and only this feeds
/// the status.
pub struct Reviewed(Applied);

impl Reviewed {
    pub fn applied(&self) -> &Applied {
        &self.0
    }
}

pub async fn review(
    ctx: &Context,
    deployment: &ModelDeployment,
    mut applied: Applied,
) -> Result<Reviewed, kube::Error> {
    let answers = ctx
        .reviews
        .answer(&ctx.client, &ctx.stores, deployment, applied.snapshot())
        .await?;
    applied.snapshot_mut().access_reviews = answers;
    Ok(Reviewed(applied))
}
