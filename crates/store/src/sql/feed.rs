//! The SQL side of the change feed ([`crate::feed`]): every write transaction records
//! what it touched under the next version of the clock ([`SqlStore::record`]), and a
//! follower reads the clock and the changes since the version it holds.

use async_trait::async_trait;
use imagehub_catalog::{GroupId, ImageId, Result};
use sea_query::{Expr, ExprTrait, Query};
use sqlx::Postgres;

use super::dialect::{Clock, Columns, DbResult, Dialect};
use super::{SqlStore, corrupt};
use crate::feed::{ChangeFeed, Changes};

impl<DB: Dialect> SqlStore<DB> {
    /// Records a write in the change feed as the last step of its transaction: takes the
    /// clock's next version (its row stays locked until the commit) and lists what the
    /// write touched under it; prunes the changes older than `keep` versions, a tenth of
    /// `keep` at a time. Nothing on a backend without a feed.
    pub(super) async fn record(conn: &mut DB::Connection, images: &[ImageId], groups: &[GroupId]) -> Result<()> {
        if !DB::CHANGE_FEED || (images.is_empty() && groups.is_empty()) {
            return Ok(());
        }
        let touched = images
            .iter()
            .map(|i| (Some(i.to_string()), None))
            .chain(groups.iter().map(|g| (None, Some(g.to_string()))))
            .collect();
        let Clock { version, kept_from, keep } = DB::advance_clock(&mut *conn, touched).await?;
        if version.saturating_sub(kept_from) >= keep.saturating_add(keep / 10) {
            let from = version.saturating_sub(keep) + 1;
            Self::exec(&mut *conn, Query::delete().from_table("changes").and_where(Expr::col("version").lt(from)))
                .await?;
            Self::exec(
                &mut *conn,
                Query::update().table("change_clock").value("kept_from", from).and_where(Expr::col("id").eq(1)),
            )
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ChangeFeed for SqlStore<Postgres> {
    async fn version(&self) -> Result<i64> {
        let mut conn = self.readers.acquire().await.db()?;
        let rows = Self::rows(
            &mut conn,
            Query::select()
                .columns(["version", "kept_from", "keep"])
                .from("change_clock")
                .and_where(Expr::col("id").eq(1)),
        )
        .await?;
        Clock::of(&rows).map(|c| c.version)
    }

    async fn since(&self, from: i64) -> Result<Option<Changes>> {
        let mut tx = self.read_tx().await?;
        let rows = Self::rows(
            &mut tx,
            Query::select()
                .columns(["version", "kept_from", "keep"])
                .from("change_clock")
                .and_where(Expr::col("id").eq(1)),
        )
        .await?;
        let Clock { version, kept_from, .. } = Clock::of(&rows)?;
        if from + 1 < kept_from {
            return Ok(None);
        }
        let rows = Self::rows(
            &mut tx,
            Query::select()
                .columns(["image_id", "group_id"])
                .from("changes")
                .and_where(Expr::col("version").gt(from))
                .and_where(Expr::col("version").lte(version)),
        )
        .await?;
        tx.commit().await.db()?;
        let mut changes = Changes { version, images: Vec::new(), groups: Vec::new() };
        for r in &rows {
            if let Some(id) = r.opt_text("image_id")? {
                changes.images.push(ImageId::parse(&id).ok_or_else(|| corrupt("changed image", &id))?);
            }
            if let Some(id) = r.opt_text("group_id")? {
                changes.groups.push(GroupId::parse(&id).ok_or_else(|| corrupt("changed group", &id))?);
            }
        }
        changes.images.sort_unstable();
        changes.images.dedup();
        changes.groups.sort_unstable();
        changes.groups.dedup();
        Ok(Some(changes))
    }
}
