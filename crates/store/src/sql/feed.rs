//! The SQL side of the change feed ([`crate::feed`]): every write transaction records
//! what it touched under the next version of the clock ([`SqlStore::record`]), and a
//! follower reads the clock and the changes since the version it holds.

use async_trait::async_trait;
use imagehub_catalog::{Error, GroupId, ImageId, Result};
use sea_query::{Expr, ExprTrait, Query};
use sqlx::Postgres;

use super::dialect::{Columns, DbResult, Dialect};
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
        let rows = Self::rows(
            &mut *conn,
            Query::update()
                .table("change_clock")
                .value("version", Expr::col("version").add(1))
                .and_where(Expr::col("id").eq(1))
                .returning(Query::returning().columns(["version", "kept_from", "keep"])),
        )
        .await?;
        let clock = clock(&rows)?;
        let (version, kept_from, keep) = (clock.int("version")?, clock.int("kept_from")?, clock.int("keep")?);
        let touched: Vec<(Option<String>, Option<String>)> = images
            .iter()
            .map(|i| (Some(i.to_string()), None))
            .chain(groups.iter().map(|g| (None, Some(g.to_string()))))
            .collect();
        for part in touched.chunks(4000) {
            let mut stmt = Query::insert();
            stmt.into_table("changes").columns(["version", "image_id", "group_id"]);
            for (image, group) in part {
                stmt.values_panic([version.into(), image.clone().into(), group.clone().into()]);
            }
            Self::exec(&mut *conn, &stmt).await?;
        }
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

/// The change clock's one row among `rows` (a query of `change_clock`).
fn clock<R>(rows: &[R]) -> Result<&R> {
    rows.first().ok_or_else(|| Error::Internal("the change clock row is missing".into()))
}

#[async_trait]
impl ChangeFeed for SqlStore<Postgres> {
    async fn version(&self) -> Result<i64> {
        let mut conn = self.readers.acquire().await.db()?;
        let rows = Self::rows(
            &mut conn,
            Query::select().column("version").from("change_clock").and_where(Expr::col("id").eq(1)),
        )
        .await?;
        clock(&rows)?.int("version")
    }

    async fn since(&self, from: i64) -> Result<Option<Changes>> {
        let mut tx = self.read_tx().await?;
        let rows = Self::rows(
            &mut tx,
            Query::select().columns(["version", "kept_from"]).from("change_clock").and_where(Expr::col("id").eq(1)),
        )
        .await?;
        let (version, kept_from) = (clock(&rows)?.int("version")?, clock(&rows)?.int("kept_from")?);
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
