//! The SQL store, written once for every backend ([`Dialect`]). Every statement is built
//! with sea-query; the query model's rendering is in [`crate::render`].

use std::sync::Arc;

use async_trait::async_trait;
use imagehub_catalog::{
    AccessKeyRecord, AccessScope, Error, GroupId, GroupMeta, GroupQuery, Image, ImageBatches, ImageGroup, ImageId,
    ImageQuery, Member, MemberStatus, Millis, Page, PageRequest, ProjectId, Result, Role, Store, TokenRecord,
};
use sea_query::{Expr, ExprTrait, OnConflict, Query, QueryStatementWriter};
use sqlx::{ColumnIndex, Database, Decode, Executor, IntoArguments, Pool, Row, Transaction, Type};

use crate::dialect::Dialect;
use crate::feed::Changes;
use crate::migrations;
use crate::render;
use crate::row::{image_from_row, image_values, insert_image};

/// A catalog store on a SQL database: a pool for writes and one for reads (the same pool
/// where the backend has no reason to split them).
pub struct SqlStore<DB: Dialect> {
    pub(crate) writer: Pool<DB>,
    pub(crate) readers: Pool<DB>,
}

impl<DB: Dialect> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self { writer: self.writer.clone(), readers: self.readers.clone() }
    }
}

fn split_page<T>(mut items: Vec<T>, limit: u64) -> (Vec<T>, bool) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > limit;
    items.truncate(limit);
    (items, more)
}

fn corrupt(what: &str, value: &str) -> Error {
    Error::Internal(format!("stored {what} is unreadable: {value:?}"))
}

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c str: ColumnIndex<<DB as Database>::Row>,
    usize: ColumnIndex<<DB as Database>::Row>,
    String: Type<DB> + for<'r> Decode<'r, DB>,
    i64: Type<DB> + for<'r> Decode<'r, DB>,
    bool: Type<DB> + for<'r> Decode<'r, DB>,
{
    pub(crate) fn from_pools(writer: Pool<DB>, readers: Pool<DB>) -> Self {
        Self { writer, readers }
    }

    /// Runs a statement on a connection; returns the rows it changed.
    async fn exec<S: QueryStatementWriter>(conn: &mut DB::Connection, stmt: &S) -> Result<u64> {
        let (sql, values) = DB::build(stmt);
        let r = sqlx::query_with(&sql, DB::arguments(values)?).execute(conn).await.map_err(DB::map_error)?;
        Ok(DB::rows_affected(&r))
    }

    async fn rows<S: QueryStatementWriter>(conn: &mut DB::Connection, stmt: &S) -> Result<Vec<DB::Row>> {
        let (sql, values) = DB::build(stmt);
        sqlx::query_with(&sql, DB::arguments(values)?).fetch_all(conn).await.map_err(DB::map_error)
    }

    async fn count<S: QueryStatementWriter>(conn: &mut DB::Connection, stmt: &S) -> Result<u64> {
        let rows = Self::rows(conn, stmt).await?;
        let n: i64 = rows.first().map(|r| r.try_get(0)).transpose().map_err(DB::map_error)?.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Rewrites an image's rows in the tag and property index tables.
    async fn write_side_tables(conn: &mut DB::Connection, image: &Image, replace: bool) -> Result<()> {
        let id = image.id.to_string();
        if replace {
            for table in ["image_tags", "image_properties"] {
                Self::exec(
                    &mut *conn,
                    Query::delete().from_table(table).and_where(Expr::col("image_id").eq(id.as_str())),
                )
                .await?;
            }
        }
        if !image.tags.is_empty() {
            let mut stmt = Query::insert();
            stmt.into_table("image_tags").columns(["image_id", "tag"]);
            for t in &image.tags {
                stmt.values_panic([id.as_str().into(), t.as_str().into()]);
            }
            Self::exec(&mut *conn, &stmt).await?;
        }
        if !image.properties.is_empty() {
            let mut stmt = Query::insert();
            stmt.into_table("image_properties").columns(["image_id", "key", "value"]);
            for (k, v) in &image.properties {
                stmt.values_panic([id.as_str().into(), k.as_str().into(), v.as_str().into()]);
            }
            Self::exec(&mut *conn, &stmt).await?;
        }
        Ok(())
    }

    /// Records a write in the change feed ([`crate::feed`]) as the last step of its
    /// transaction: takes the clock's next version (its row stays locked until the commit)
    /// and lists what the write touched under it; prunes the changes older than `keep`
    /// versions, a tenth of `keep` at a time.
    async fn record(conn: &mut DB::Connection, images: &[ImageId], groups: &[GroupId]) -> Result<()> {
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
        let clock = Self::clock(&rows)?;
        let get = |c: &str| clock.try_get::<i64, _>(c).map_err(DB::map_error);
        let (version, kept_from, keep) = (get("version")?, get("kept_from")?, get("keep")?);
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

    /// The change clock's one row among `rows` (a query of `change_clock`).
    fn clock(rows: &[DB::Row]) -> Result<&DB::Row> {
        rows.first().ok_or_else(|| Error::Internal("the change clock row is missing".into()))
    }

    /// `SELECT <every record column> FROM images`.
    fn select_images() -> sea_query::SelectStatement {
        Query::select().columns(render::IMAGE_COLUMNS.iter().copied()).from(render::IMAGES).to_owned()
    }

    /// The rows `query` selects for `ids`, asked 500 ids at a time (`query` gets a chunk's
    /// ids as text), each parsed with `parse`.
    async fn rows_for_ids<T>(
        &self,
        ids: &[ImageId],
        query: impl Fn(Vec<String>) -> sea_query::SelectStatement,
        parse: impl Fn(&DB::Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = Self::rows(&mut conn, &query(chunk.iter().map(ToString::to_string).collect())).await?;
            for r in &rows {
                out.push(parse(r)?);
            }
        }
        Ok(out)
    }

    /// The change feed's version: that of the last committed write.
    pub(crate) async fn feed_version(&self) -> Result<i64> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let rows = Self::rows(
            &mut conn,
            Query::select().column("version").from("change_clock").and_where(Expr::col("id").eq(1)),
        )
        .await?;
        let clock = Self::clock(&rows)?;
        clock.try_get("version").map_err(DB::map_error)
    }

    /// The changes after version `from` up to the current one, read in one snapshot;
    /// `None` if some of them are no longer kept.
    pub(crate) async fn changes_since(&self, from: i64) -> Result<Option<Changes>> {
        let mut tx = self.read_tx().await?;
        let rows = Self::rows(
            &mut tx,
            Query::select().columns(["version", "kept_from"]).from("change_clock").and_where(Expr::col("id").eq(1)),
        )
        .await?;
        let clock = Self::clock(&rows)?;
        let version: i64 = clock.try_get("version").map_err(DB::map_error)?;
        let kept_from: i64 = clock.try_get("kept_from").map_err(DB::map_error)?;
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
        tx.commit().await.map_err(DB::map_error)?;
        let mut changes = Changes { version, images: Vec::new(), groups: Vec::new() };
        for r in &rows {
            if let Some(id) = r.try_get::<Option<String>, _>("image_id").map_err(DB::map_error)? {
                changes.images.push(ImageId::parse(&id).ok_or_else(|| corrupt("changed image", &id))?);
            }
            if let Some(id) = r.try_get::<Option<String>, _>("group_id").map_err(DB::map_error)? {
                changes.groups.push(GroupId::parse(&id).ok_or_else(|| corrupt("changed group", &id))?);
            }
        }
        changes.images.sort_unstable();
        changes.images.dedup();
        changes.groups.sort_unstable();
        changes.groups.dedup();
        Ok(Some(changes))
    }

    fn access_key_query() -> sea_query::SelectStatement {
        Query::select()
            .columns(["ak", "sealed_secret", "project", "role", "created_at", "revoked_at", "label"])
            .from("access_keys")
            .to_owned()
    }

    fn access_key_from_row(r: &DB::Row) -> Result<AccessKeyRecord> {
        let project: String = r.try_get("project").map_err(DB::map_error)?;
        let role: String = r.try_get("role").map_err(DB::map_error)?;
        Ok(AccessKeyRecord {
            ak: r.try_get("ak").map_err(DB::map_error)?,
            sealed_secret: r.try_get("sealed_secret").map_err(DB::map_error)?,
            project: ProjectId::parse(&project).ok_or_else(|| corrupt("project", &project))?,
            role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
            created_at: Millis(r.try_get("created_at").map_err(DB::map_error)?),
            revoked_at: r.try_get::<Option<i64>, _>("revoked_at").map_err(DB::map_error)?.map(Millis),
            label: r.try_get("label").map_err(DB::map_error)?,
        })
    }

    fn member_query() -> sea_query::SelectStatement {
        Query::select()
            .columns(["image_id", "member", "status", "created_at", "updated_at"])
            .from("image_members")
            .to_owned()
    }

    fn member_from_row(r: &DB::Row) -> Result<Member> {
        let image: String = r.try_get("image_id").map_err(DB::map_error)?;
        let member: String = r.try_get("member").map_err(DB::map_error)?;
        let status: String = r.try_get("status").map_err(DB::map_error)?;
        Ok(Member {
            image_id: ImageId::parse(&image).ok_or_else(|| corrupt("member image", &image))?,
            member: ProjectId::parse(&member).ok_or_else(|| corrupt("member", &member))?,
            status: MemberStatus::parse(&status).ok_or_else(|| corrupt("member status", &status))?,
            created_at: Millis(r.try_get("created_at").map_err(DB::map_error)?),
            updated_at: Millis(r.try_get("updated_at").map_err(DB::map_error)?),
        })
    }

    /// Writes the rows of `images` (records, tags, properties) the fastest way the backend has.
    async fn insert_rows(conn: &mut DB::Connection, images: &[Image]) -> Result<()> {
        let columns = render::IMAGE_COLUMNS.iter().chain(render::DERIVED_COLUMNS).copied().collect();
        DB::bulk_insert(&mut *conn, render::IMAGES, columns, images.iter().map(image_values).collect()).await?;
        let tags = images
            .iter()
            .flat_map(|i| i.tags.iter().map(move |t| vec![i.id.to_string().into(), t.as_str().into()]))
            .collect();
        DB::bulk_insert(&mut *conn, "image_tags", vec!["image_id", "tag"], tags).await?;
        let properties = images
            .iter()
            .flat_map(|i| {
                i.properties
                    .iter()
                    .map(move |(k, v)| vec![i.id.to_string().into(), k.as_str().into(), v.as_str().into()])
            })
            .collect();
        DB::bulk_insert(&mut *conn, "image_properties", vec!["image_id", "key", "value"], properties).await
    }

    async fn write_tx(&self) -> Result<Transaction<'static, DB>> {
        self.writer.begin().await.map_err(DB::map_error)
    }

    /// A read-only transaction that sees one snapshot (page and count agree).
    async fn read_tx(&self) -> Result<Transaction<'static, DB>> {
        let mut tx = self.readers.begin().await.map_err(DB::map_error)?;
        if let Some(stmt) = DB::SNAPSHOT {
            sqlx::query(stmt).execute(&mut *tx).await.map_err(DB::map_error)?;
        }
        Ok(tx)
    }

    /// Applies pending migrations; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        let mut conn = self.writer.acquire().await.map_err(DB::map_error)?;
        if let Some((lock, _)) = DB::MIGRATION_LOCK {
            sqlx::query(lock).execute(&mut *conn).await.map_err(DB::map_error)?;
        }
        let result = self.migrate_on(&mut conn).await;
        if let Some((_, unlock)) = DB::MIGRATION_LOCK {
            sqlx::query(unlock).execute(&mut *conn).await.map_err(DB::map_error)?;
        }
        result
    }

    /// Refreshes the planner's statistics ([`Dialect::OPTIMIZE`]).
    pub async fn optimize(&self) -> Result<()> {
        let mut conn = self.writer.acquire().await.map_err(DB::map_error)?;
        sqlx::query(DB::OPTIMIZE).execute(&mut *conn).await.map_err(DB::map_error)?;
        Ok(())
    }

    async fn migrate_on(&self, conn: &mut DB::Connection) -> Result<Vec<i64>> {
        sqlx::query(migrations::LEDGER_DDL).execute(&mut *conn).await.map_err(DB::map_error)?;
        let mut applied = Vec::new();
        for m in DB::MIGRATIONS {
            let done = Self::rows(
                &mut *conn,
                Query::select()
                    .column("version")
                    .from("schema_migrations")
                    .and_where(Expr::col("version").eq(m.version)),
            )
            .await?;
            if !done.is_empty() {
                continue;
            }
            let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(DB::map_error)?;
            for stmt in migrations::statements(m.sql) {
                sqlx::query(&stmt).execute(&mut *tx).await.map_err(DB::map_error)?;
            }
            Self::exec(
                &mut tx,
                Query::insert()
                    .into_table("schema_migrations")
                    .columns(["version", "name", "applied_at"])
                    .values_panic([m.version.into(), m.name.into(), Millis::now().0.into()]),
            )
            .await?;
            tx.commit().await.map_err(DB::map_error)?;
            applied.push(m.version);
        }
        Ok(applied)
    }

    async fn explain_rows<S: QueryStatementWriter>(&self, stmt: &S) -> Result<Vec<String>> {
        let (sql, values) = DB::build(stmt);
        let mut tx = self.readers.begin().await.map_err(DB::map_error)?;
        if let Some(setup) = DB::EXPLAIN_SETUP {
            sqlx::query(setup).execute(&mut *tx).await.map_err(DB::map_error)?;
        }
        let rows = sqlx::query_with(&format!("{} {sql}", DB::EXPLAIN), DB::arguments(values)?)
            .fetch_all(&mut *tx)
            .await
            .map_err(DB::map_error)?;
        tx.rollback().await.map_err(DB::map_error)?;
        rows.iter().map(|r| r.try_get::<String, _>(r.len().saturating_sub(1)).map_err(DB::map_error)).collect()
    }

    async fn explain_shape(&self, shape: Explained<'_>) -> Result<Vec<String>> {
        match shape {
            Explained::List(access, q) => self.explain_rows(&render::list_images(access, q, None)).await,
            Explained::ListAfter(access, q, marker) => {
                self.explain_rows(&render::list_images(access, q, Some(marker))).await
            }
            Explained::Count(access, q) => self.explain_rows(&render::count_images(access, &q.filters)).await,
            Explained::Groups(access, q) => {
                let mut plan = self.explain_rows(&render::list_groups(access, q)).await?;
                plan.extend(self.explain_rows(&render::count_groups(access, &q.filters)).await?);
                Ok(plan)
            }
        }
    }

    async fn group_meta(conn: &mut DB::Connection, ids: &[String]) -> Result<Vec<(String, GroupMeta)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = Self::rows(
            conn,
            Query::select()
                .columns(["group_id", "read_me", "kv_tags"])
                .from("image_groups")
                .and_where(Expr::col("group_id").is_in(ids.iter().cloned())),
        )
        .await?;
        rows.iter()
            .map(|r| {
                let kv: String = r.try_get("kv_tags").map_err(DB::map_error)?;
                Ok((
                    r.try_get("group_id").map_err(DB::map_error)?,
                    GroupMeta {
                        read_me: r.try_get("read_me").map_err(DB::map_error)?,
                        kv_tags: serde_json::from_str(&kv).map_err(|_| corrupt("group tags", &kv))?,
                    },
                ))
            })
            .collect()
    }

    async fn groups_from_rows(conn: &mut DB::Connection, rows: &[DB::Row]) -> Result<Vec<ImageGroup>> {
        let ids: Vec<String> =
            rows.iter().map(|r| r.try_get("group_id").map_err(DB::map_error)).collect::<Result<_>>()?;
        let metas = Self::group_meta(conn, &ids).await?;
        rows.iter()
            .zip(&ids)
            .map(|(r, gid)| {
                let owner: String = r.try_get("group_owner").map_err(DB::map_error)?;
                Ok(ImageGroup {
                    id: GroupId::parse(gid).ok_or_else(|| corrupt("group id", gid))?,
                    owner: ProjectId::parse(&owner).ok_or_else(|| corrupt("owner", &owner))?,
                    namespace: r.try_get("group_namespace").map_err(DB::map_error)?,
                    name: r.try_get("group_name").map_err(DB::map_error)?,
                    version_count: r.try_get("version_count").map_err(DB::map_error)?,
                    created_at: Millis(r.try_get("created_min").map_err(DB::map_error)?),
                    updated_at: Millis(r.try_get("updated_max").map_err(DB::map_error)?),
                    meta: metas.iter().find(|(id, _)| id == gid).map(|(_, m)| m.clone()).unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// Which query [`Explain::explain`] shows.
pub enum Explained<'a> {
    List(&'a AccessScope, &'a ImageQuery),
    /// A list's page after a marker record (keyset paging).
    ListAfter(&'a AccessScope, &'a ImageQuery, &'a Image),
    Count(&'a AccessScope, &'a ImageQuery),
    Groups(&'a AccessScope, &'a GroupQuery),
}

/// Query plans, for tests and the benchmark.
#[async_trait]
pub trait Explain: Send + Sync {
    /// The plan lines (`EXPLAIN QUERY PLAN` details on SQLite, `EXPLAIN` lines on
    /// PostgreSQL) of a list's page query, its count query, or a group list's page and
    /// count queries.
    async fn explain(&self, shape: Explained<'_>) -> Result<Vec<String>>;
}

#[async_trait]
impl Explain for SqlStore<sqlx::Sqlite> {
    async fn explain(&self, shape: Explained<'_>) -> Result<Vec<String>> {
        self.explain_shape(shape).await
    }
}

#[async_trait]
impl Explain for SqlStore<sqlx::Postgres> {
    async fn explain(&self, shape: Explained<'_>) -> Result<Vec<String>> {
        self.explain_shape(shape).await
    }
}

/// A bulk load into a catalog of fewer images than this builds the image tables'
/// secondary indexes again after its rows ([`Store::load_images`]): rebuilding them costs
/// a sort of the images already there, worth it below this size whatever the load's.
const LOAD_REBUILDS_INDEXES_BELOW: u64 = 100_000;

#[async_trait]
impl<DB> Store for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c str: ColumnIndex<<DB as Database>::Row>,
    usize: ColumnIndex<<DB as Database>::Row>,
    String: Type<DB> + for<'r> Decode<'r, DB>,
    i64: Type<DB> + for<'r> Decode<'r, DB>,
    bool: Type<DB> + for<'r> Decode<'r, DB>,
{
    async fn insert_image(&self, image: &Image, group_read_me: Option<&str>) -> Result<()> {
        let mut tx = self.write_tx().await?;
        Self::exec(&mut tx, &insert_image(image)).await?;
        Self::write_side_tables(&mut tx, image, false).await?;
        if let Some(read_me) = group_read_me {
            Self::exec(
                &mut tx,
                Query::insert()
                    .into_table("image_groups")
                    .columns(["group_id", "read_me", "kv_tags", "updated_at"])
                    .values_panic([
                        image.group_id().to_string().into(),
                        read_me.into(),
                        "[]".into(),
                        image.updated_at.0.into(),
                    ])
                    .on_conflict(OnConflict::column("group_id").update_columns(["read_me", "updated_at"]).to_owned()),
            )
            .await?;
        }
        let groups = if group_read_me.is_some() { vec![image.group_id()] } else { vec![] };
        Self::record(&mut tx, &[image.id], &groups).await?;
        tx.commit().await.map_err(DB::map_error)
    }

    async fn insert_images(&self, images: &[Image]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        Self::insert_rows(&mut tx, images).await?;
        Self::record(&mut tx, &images.iter().map(|i| i.id).collect::<Vec<_>>(), &[]).await?;
        tx.commit().await.map_err(DB::map_error)
    }

    async fn load_images(&self, batches: &mut dyn ImageBatches) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let existing =
            Self::count(&mut tx, Query::select().expr(sea_query::Func::count(Expr::col("id"))).from(render::IMAGES))
                .await?;
        // Into a small catalog, each secondary index is built once from all the rows (a
        // sort) instead of updated for every loaded row, which was most of a million-image
        // load's time. Dropped and created in the load's transaction: all or nothing.
        let mut deferred = Vec::new();
        if existing < LOAD_REBUILDS_INDEXES_BELOW {
            for row in sqlx::query(DB::SECONDARY_INDEXES).fetch_all(&mut *tx).await.map_err(DB::map_error)? {
                let name: String = row.try_get(0).map_err(DB::map_error)?;
                let create: String = row.try_get(1).map_err(DB::map_error)?;
                deferred.push((name, create));
            }
        }
        for (name, _) in &deferred {
            sqlx::query(&format!("DROP INDEX \"{name}\"")).execute(&mut *tx).await.map_err(DB::map_error)?;
        }
        let mut loaded = 0;
        while let Some(batch) = batches.next_batch().await? {
            Self::insert_rows(&mut tx, &batch).await?;
            Self::record(&mut tx, &batch.iter().map(|i| i.id).collect::<Vec<_>>(), &[]).await?;
            loaded += batch.len() as u64;
        }
        for (_, create) in &deferred {
            sqlx::query(create).execute(&mut *tx).await.map_err(DB::map_error)?;
        }
        tx.commit().await.map_err(DB::map_error)?;
        // The load stands once committed; stale statistics only slow the planner down
        // until the next refresh (every open runs one).
        if let Err(e) = self.optimize().await {
            tracing::warn!(error = %e.log_detail(), "planner statistics not refreshed after a bulk load");
        }
        Ok(loaded)
    }

    async fn insert_image_if_absent(&self, image: &Image) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let stmt = insert_image(image).on_conflict(OnConflict::new().do_nothing().to_owned()).to_owned();
        let inserted = Self::exec(&mut tx, &stmt).await? == 1;
        if inserted {
            Self::write_side_tables(&mut tx, image, false).await?;
            Self::record(&mut tx, &[image.id], &[]).await?;
        }
        tx.commit().await.map_err(DB::map_error)?;
        Ok(inserted)
    }

    async fn update_image(&self, image: &Image) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let columns = render::IMAGE_COLUMNS.iter().chain(render::DERIVED_COLUMNS).copied();
        let values = columns.zip(image_values(image)).filter(|(c, _)| *c != "id").map(|(c, v)| (c, Expr::val(v)));
        let n = Self::exec(
            &mut tx,
            Query::update()
                .table(render::IMAGES)
                .values(values.collect::<Vec<_>>())
                .and_where(Expr::col("id").eq(image.id.to_string())),
        )
        .await?;
        if n == 0 {
            return Err(Error::not_found_image(image.id));
        }
        Self::write_side_tables(&mut tx, image, true).await?;
        Self::record(&mut tx, &[image.id], &[]).await?;
        tx.commit().await.map_err(DB::map_error)
    }

    async fn add_member(&self, m: &Member) -> Result<()> {
        let mut tx = self.write_tx().await?;
        Self::exec(
            &mut tx,
            Query::insert()
                .into_table("image_members")
                .columns(["image_id", "member", "status", "created_at", "updated_at"])
                .values_panic([
                    m.image_id.to_string().into(),
                    m.member.to_string().into(),
                    m.status.as_str().into(),
                    m.created_at.0.into(),
                    m.updated_at.0.into(),
                ]),
        )
        .await?;
        Self::record(&mut tx, &[m.image_id], &[]).await?;
        tx.commit().await.map_err(DB::map_error)
    }

    async fn get_member(&self, image: ImageId, project: &ProjectId) -> Result<Option<Member>> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let rows = Self::rows(
            &mut conn,
            Self::member_query()
                .and_where(Expr::col("image_id").eq(image.to_string()))
                .and_where(Expr::col("member").eq(project.as_str())),
        )
        .await?;
        rows.first().map(Self::member_from_row).transpose()
    }

    async fn list_members(&self, image: ImageId) -> Result<Vec<Member>> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let rows = Self::rows(
            &mut conn,
            Self::member_query()
                .and_where(Expr::col("image_id").eq(image.to_string()))
                .order_by("created_at", sea_query::Order::Asc)
                .order_by("member", sea_query::Order::Asc),
        )
        .await?;
        rows.iter().map(Self::member_from_row).collect()
    }

    async fn members_of(&self, images: &[ImageId]) -> Result<Vec<Member>> {
        self.rows_for_ids(
            images,
            |chunk| Self::member_query().and_where(Expr::col("image_id").is_in(chunk)).to_owned(),
            Self::member_from_row,
        )
        .await
    }

    async fn all_members(&self) -> Result<Vec<Member>> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let rows = Self::rows(
            &mut conn,
            Self::member_query()
                .order_by("image_id", sea_query::Order::Asc)
                .order_by("created_at", sea_query::Order::Asc)
                .order_by("member", sea_query::Order::Asc),
        )
        .await?;
        rows.iter().map(Self::member_from_row).collect()
    }

    async fn update_member(&self, m: &Member) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = Self::exec(
            &mut tx,
            Query::update()
                .table("image_members")
                .values([("status", Expr::val(m.status.as_str())), ("updated_at", Expr::val(m.updated_at.0))])
                .and_where(Expr::col("image_id").eq(m.image_id.to_string()))
                .and_where(Expr::col("member").eq(m.member.as_str())),
        )
        .await?;
        if n == 0 {
            return Err(Error::NotFound(format!("{} is not a member of image {}", m.member, m.image_id)));
        }
        Self::record(&mut tx, &[m.image_id], &[]).await?;
        tx.commit().await.map_err(DB::map_error)
    }

    async fn delete_member(&self, image: ImageId, project: &ProjectId) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let n = Self::exec(
            &mut tx,
            Query::delete()
                .from_table("image_members")
                .and_where(Expr::col("image_id").eq(image.to_string()))
                .and_where(Expr::col("member").eq(project.as_str())),
        )
        .await?;
        if n > 0 {
            Self::record(&mut tx, &[image], &[]).await?;
        }
        tx.commit().await.map_err(DB::map_error)?;
        Ok(n > 0)
    }

    async fn get_image(&self, id: ImageId) -> Result<Option<Image>> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let rows = Self::rows(&mut conn, Self::select_images().and_where(Expr::col("id").eq(id.to_string()))).await?;
        rows.first().map(image_from_row).transpose()
    }

    async fn get_images(&self, ids: &[ImageId]) -> Result<Vec<Image>> {
        self.rows_for_ids(
            ids,
            |chunk| Self::select_images().and_where(Expr::col("id").is_in(chunk)).to_owned(),
            image_from_row,
        )
        .await
    }

    async fn images_after(&self, after: Option<ImageId>, limit: u64) -> Result<Vec<Image>> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let mut stmt = Self::select_images();
        stmt.order_by("id", sea_query::Order::Asc).limit(limit);
        if let Some(after) = after {
            stmt.and_where(Expr::col("id").gt(after.to_string()));
        }
        let rows = Self::rows(&mut conn, &stmt).await?;
        rows.iter().map(image_from_row).collect()
    }

    async fn delete_image(&self, id: ImageId) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let n = Self::exec(
            &mut tx,
            Query::delete().from_table(render::IMAGES).and_where(Expr::col("id").eq(id.to_string())),
        )
        .await?;
        if n > 0 {
            Self::record(&mut tx, &[id], &[]).await?;
        }
        tx.commit().await.map_err(DB::map_error)?;
        Ok(n > 0)
    }

    async fn list_images(&self, access: &AccessScope, query: &ImageQuery) -> Result<Page<Arc<Image>>> {
        let marker = match &query.page {
            PageRequest::After { marker, .. } => Some(
                self.get_image(*marker).await?.ok_or_else(|| Error::invalid(format!("marker {marker} not found")))?,
            ),
            PageRequest::Offset { .. } => None,
        };
        let mut tx = self.read_tx().await?;
        let rows = Self::rows(&mut tx, &render::list_images(access, query, marker.as_ref())).await?;
        let (rows, has_more) = split_page(rows, query.page.limit());
        let items = rows.iter().map(|r| image_from_row(r).map(Arc::new)).collect::<Result<Vec<_>>>()?;
        let total = if query.with_total {
            Some(Self::count(&mut tx, &render::count_images(access, &query.filters)).await?)
        } else {
            None
        };
        tx.commit().await.map_err(DB::map_error)?;
        Ok(Page { items, total, has_more })
    }

    async fn list_groups(&self, access: &AccessScope, query: &GroupQuery) -> Result<Page<ImageGroup>> {
        let mut tx = self.read_tx().await?;
        let rows = Self::rows(&mut tx, &render::list_groups(access, query)).await?;
        let (rows, has_more) = split_page(rows, query.limit);
        let items = Self::groups_from_rows(&mut tx, &rows).await?;
        let total = Self::count(&mut tx, &render::count_groups(access, &query.filters)).await?;
        tx.commit().await.map_err(DB::map_error)?;
        Ok(Page { items, total: Some(total), has_more })
    }

    async fn get_group(&self, access: &AccessScope, id: GroupId) -> Result<Option<ImageGroup>> {
        let mut tx = self.read_tx().await?;
        let rows = Self::rows(&mut tx, &render::get_group(access, &id)).await?;
        let mut groups = Self::groups_from_rows(&mut tx, &rows).await?;
        tx.commit().await.map_err(DB::map_error)?;
        Ok(groups.pop())
    }

    async fn delete_group(&self, id: GroupId) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let deleted = Self::rows(
            &mut tx,
            Query::delete()
                .from_table(render::IMAGES)
                .and_where(Expr::col("group_id").eq(id.to_string()))
                .returning_col("id"),
        )
        .await?;
        let deleted = deleted
            .iter()
            .map(|r| {
                let image: String = r.try_get("id").map_err(DB::map_error)?;
                ImageId::parse(&image).ok_or_else(|| corrupt("image id", &image))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::exec(
            &mut tx,
            Query::delete().from_table("image_groups").and_where(Expr::col("group_id").eq(id.to_string())),
        )
        .await?;
        Self::record(&mut tx, &deleted, &[id]).await?;
        tx.commit().await.map_err(DB::map_error)?;
        Ok(deleted.len() as u64)
    }

    async fn put_group_meta(&self, id: GroupId, meta: &GroupMeta) -> Result<()> {
        let kv = serde_json::to_string(&meta.kv_tags).map_err(|e| Error::Internal(e.to_string()))?;
        let mut tx = self.write_tx().await?;
        Self::exec(
            &mut tx,
            Query::insert()
                .into_table("image_groups")
                .columns(["group_id", "read_me", "kv_tags", "updated_at"])
                .values_panic([id.to_string().into(), meta.read_me.clone().into(), kv.into(), Millis::now().0.into()])
                .on_conflict(
                    OnConflict::column("group_id").update_columns(["read_me", "kv_tags", "updated_at"]).to_owned(),
                ),
        )
        .await?;
        Self::record(&mut tx, &[], &[id]).await?;
        tx.commit().await.map_err(DB::map_error)
    }

    async fn group_metas(&self, ids: &[GroupId]) -> Result<Vec<(GroupId, GroupMeta)>> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        Self::group_meta(&mut conn, &ids)
            .await?
            .into_iter()
            .map(|(id, meta)| Ok((GroupId::parse(&id).ok_or_else(|| corrupt("group id", &id))?, meta)))
            .collect()
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        let mut conn = self.writer.acquire().await.map_err(DB::map_error)?;
        Self::exec(
            &mut conn,
            Query::insert()
                .into_table("tokens")
                .columns(["hash", "project", "role", "created_at", "label", "expires_at"])
                .values_panic([
                    token.hash.clone().into(),
                    token.project.to_string().into(),
                    token.role.as_str().into(),
                    token.created_at.0.into(),
                    token.label.clone().into(),
                    token.expires_at.map(|e| e.0).into(),
                ]),
        )
        .await?;
        Ok(())
    }

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let rows = Self::rows(
            &mut conn,
            Query::select()
                .columns(["hash", "project", "role", "created_at", "label", "expires_at"])
                .from("tokens")
                .and_where(Expr::col("hash").eq(hash)),
        )
        .await?;
        let Some(r) = rows.first() else { return Ok(None) };
        let project: String = r.try_get("project").map_err(DB::map_error)?;
        let role: String = r.try_get("role").map_err(DB::map_error)?;
        Ok(Some(TokenRecord {
            hash: r.try_get("hash").map_err(DB::map_error)?,
            project: ProjectId::parse(&project).ok_or_else(|| corrupt("project", &project))?,
            role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
            created_at: Millis(r.try_get("created_at").map_err(DB::map_error)?),
            label: r.try_get("label").map_err(DB::map_error)?,
            expires_at: r.try_get::<Option<i64>, _>("expires_at").map_err(DB::map_error)?.map(Millis),
        }))
    }

    async fn insert_access_key(&self, k: &AccessKeyRecord) -> Result<()> {
        let mut conn = self.writer.acquire().await.map_err(DB::map_error)?;
        Self::exec(
            &mut conn,
            Query::insert()
                .into_table("access_keys")
                .columns(["ak", "sealed_secret", "project", "role", "created_at", "revoked_at", "label"])
                .values_panic([
                    k.ak.clone().into(),
                    k.sealed_secret.clone().into(),
                    k.project.to_string().into(),
                    k.role.as_str().into(),
                    k.created_at.0.into(),
                    k.revoked_at.map(|r| r.0).into(),
                    k.label.clone().into(),
                ]),
        )
        .await?;
        Ok(())
    }

    async fn find_access_key(&self, ak: &str) -> Result<Option<AccessKeyRecord>> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let rows =
            Self::rows(&mut conn, &Self::access_key_query().and_where(Expr::col("ak").eq(ak)).to_owned()).await?;
        rows.first().map(Self::access_key_from_row).transpose()
    }

    async fn list_access_keys(&self) -> Result<Vec<AccessKeyRecord>> {
        let mut conn = self.readers.acquire().await.map_err(DB::map_error)?;
        let rows = Self::rows(
            &mut conn,
            &Self::access_key_query()
                .order_by("created_at", sea_query::Order::Asc)
                .order_by("ak", sea_query::Order::Asc)
                .to_owned(),
        )
        .await?;
        rows.iter().map(Self::access_key_from_row).collect()
    }

    async fn revoke_access_key(&self, ak: &str, at: Millis) -> Result<bool> {
        let mut conn = self.writer.acquire().await.map_err(DB::map_error)?;
        let n = Self::exec(
            &mut conn,
            Query::update()
                .table("access_keys")
                .values([("revoked_at", Expr::val(at.0))])
                .and_where(Expr::col("ak").eq(ak))
                .and_where(Expr::col("revoked_at").is_null()),
        )
        .await?;
        Ok(n > 0)
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        let mut conn = self.writer.acquire().await.map_err(DB::map_error)?;
        let rows =
            Self::rows(&mut conn, Query::select().column("value").from("settings").and_where(Expr::col("key").eq(key)))
                .await?;
        rows.first().map(|r| r.try_get("value")).transpose().map_err(DB::map_error)
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        let mut conn = self.writer.acquire().await.map_err(DB::map_error)?;
        Self::exec(
            &mut conn,
            Query::insert()
                .into_table("settings")
                .columns(["key", "value"])
                .values_panic([key.into(), value.into()])
                .on_conflict(OnConflict::column("key").update_column("value").to_owned()),
        )
        .await?;
        Ok(())
    }
}
