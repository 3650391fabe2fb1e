//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writes go through a pool of exactly one connection, so writers queue inside the process
//! instead of failing with `database is locked`; `busy_timeout` covers other processes on
//! the same file (e.g. `imagehub token create` while the server runs). `synchronous=FULL`
//! makes every acknowledged commit durable before the 2xx is sent.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use imagehub_catalog::{
    AccessScope, Error, GroupId, GroupMeta, GroupQuery, Image, ImageGroup, ImageId, ImageQuery, Millis, Page,
    PageRequest, ProjectId, Result, Role, Store, TokenRecord,
};
use sea_query::{Expr, ExprTrait, OnConflict, Query, SqliteQueryBuilder, Value, Values};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Arguments, Row};

use crate::migrations;
use crate::render;
use crate::row::{image_from_row, insert_image};

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
}

fn db_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::Duplicate(d.message().to_owned()),
        sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("5" | "6" | "517" | "261")) => {
            Error::Unavailable(format!("database busy: {}", d.message()))
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Error::Unavailable(e.to_string()),
        _ => Error::Internal(format!("sqlite: {e}")),
    }
}

fn args(values: Values) -> Result<SqliteArguments<'static>> {
    let mut a = SqliteArguments::default();
    for v in values.0 {
        let r = match v {
            Value::Bool(b) => a.add(b),
            Value::BigInt(i) => a.add(i),
            Value::Int(i) => a.add(i),
            Value::BigUnsigned(u) => a.add(u.map(|u| i64::try_from(u).unwrap_or(i64::MAX))),
            Value::String(s) => a.add(s),
            other => return Err(Error::Internal(format!("unsupported SQL value {other:?}"))),
        };
        r.map_err(|e| Error::Internal(format!("bind: {e}")))?;
    }
    Ok(a)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().create_if_missing(true))
            .await
            .map_err(|e| Error::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        let store = Self {
            readers: SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(30))
                .connect_lazy_with(base.read_only(true)),
            writer,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens a database given as a URL `sqlite://path` or a plain path.
    pub async fn open_url(url: &str) -> Result<Self> {
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        let _ = SqliteConnectOptions::from_str(&format!("sqlite:{path}"))
            .map_err(|e| Error::invalid(format!("bad sqlite URL {url:?}: {e}")))?;
        Self::open(Path::new(path)).await
    }

    /// Applies pending migrations; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        let mut applied = Vec::new();
        for m in migrations::SQLITE {
            let mut tx = self.writer.begin().await.map_err(db_error)?;
            let done: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
            if done.is_some() {
                continue;
            }
            for stmt in migrations::statements(m.sql) {
                sqlx::query(&stmt).execute(&mut *tx).await.map_err(db_error)?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                .bind(m.version)
                .bind(m.name)
                .bind(Millis::now().0)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            applied.push(m.version);
        }
        Ok(applied)
    }

    /// `EXPLAIN QUERY PLAN` of the page query of a list (one line a step).
    pub async fn explain_list(&self, access: &AccessScope, query: &ImageQuery) -> Result<Vec<String>> {
        let (sql, values) = render::list_images(access, query, None).build(SqliteQueryBuilder);
        self.explain(&sql, values).await
    }

    /// `EXPLAIN QUERY PLAN` of the count query of a list.
    pub async fn explain_count(&self, access: &AccessScope, query: &ImageQuery) -> Result<Vec<String>> {
        let (sql, values) = render::count_images(access, &query.filters).build(SqliteQueryBuilder);
        self.explain(&sql, values).await
    }

    /// `EXPLAIN QUERY PLAN` of the page and count queries of a group list.
    pub async fn explain_groups(&self, access: &AccessScope, query: &GroupQuery) -> Result<Vec<String>> {
        let (sql, values) = render::list_groups(access, query).build(SqliteQueryBuilder);
        let mut plan = self.explain(&sql, values).await?;
        let (sql, values) = render::count_groups(access, &query.filters).build(SqliteQueryBuilder);
        plan.extend(self.explain(&sql, values).await?);
        Ok(plan)
    }

    async fn explain(&self, sql: &str, values: Values) -> Result<Vec<String>> {
        let rows = sqlx::query_with(&format!("EXPLAIN QUERY PLAN {sql}"), args(values)?)
            .fetch_all(&self.readers)
            .await
            .map_err(db_error)?;
        rows.iter().map(|r| r.try_get::<String, _>("detail").map_err(db_error)).collect()
    }

    async fn fetch_images(&self, conn: &mut sqlx::SqliteConnection, sql: &str, values: Values) -> Result<Vec<Image>> {
        let rows: Vec<SqliteRow> = sqlx::query_with(sql, args(values)?).fetch_all(conn).await.map_err(db_error)?;
        rows.iter().map(image_from_row).collect()
    }

    async fn group_meta(&self, conn: &mut sqlx::SqliteConnection, ids: &[String]) -> Result<Vec<(String, GroupMeta)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, values) = Query::select()
            .columns(["group_id", "read_me", "kv_tags"])
            .from("image_groups")
            .and_where(Expr::col("group_id").is_in(ids.iter().cloned()))
            .build(SqliteQueryBuilder);
        let rows = sqlx::query_with(&sql, args(values)?).fetch_all(conn).await.map_err(db_error)?;
        rows.iter()
            .map(|r| {
                let kv: String = r.try_get("kv_tags").map_err(db_error)?;
                Ok((
                    r.try_get("group_id").map_err(db_error)?,
                    GroupMeta {
                        read_me: r.try_get("read_me").map_err(db_error)?,
                        kv_tags: serde_json::from_str(&kv)
                            .map_err(|e| Error::Internal(format!("stored group tags unreadable: {e}")))?,
                    },
                ))
            })
            .collect()
    }

    async fn groups_from_rows(&self, conn: &mut sqlx::SqliteConnection, rows: &[SqliteRow]) -> Result<Vec<ImageGroup>> {
        let ids: Vec<String> = rows.iter().map(|r| r.try_get("group_id").map_err(db_error)).collect::<Result<_>>()?;
        let metas = self.group_meta(conn, &ids).await?;
        rows.iter()
            .map(|r| {
                let gid: String = r.try_get("group_id").map_err(db_error)?;
                let owner: String = r.try_get("group_owner").map_err(db_error)?;
                Ok(ImageGroup {
                    id: GroupId::parse(&gid).ok_or_else(|| Error::Internal(format!("bad stored group id {gid}")))?,
                    owner: ProjectId::parse(&owner)
                        .ok_or_else(|| Error::Internal(format!("bad stored owner {owner}")))?,
                    namespace: r.try_get("group_namespace").map_err(db_error)?,
                    name: r.try_get("group_name").map_err(db_error)?,
                    version_count: r.try_get("version_count").map_err(db_error)?,
                    created_at: Millis(r.try_get("created_min").map_err(db_error)?),
                    updated_at: Millis(r.try_get("updated_max").map_err(db_error)?),
                    meta: metas.iter().find(|(id, _)| *id == gid).map(|(_, m)| m.clone()).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn read_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.readers.begin().await.map_err(db_error)
    }
}

fn split_page<T>(mut items: Vec<T>, limit: u64) -> (Vec<T>, bool) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > limit;
    items.truncate(limit);
    (items, more)
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_image(&self, image: &Image, group_read_me: Option<&str>) -> Result<()> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let (sql, values) = insert_image(image).build(SqliteQueryBuilder);
        sqlx::query_with(&sql, args(values)?).execute(&mut *tx).await.map_err(db_error)?;
        if let Some(read_me) = group_read_me {
            let (sql, values) = Query::insert()
                .into_table("image_groups")
                .columns(["group_id", "read_me", "kv_tags", "updated_at"])
                .values_panic([
                    image.group_id().to_string().into(),
                    read_me.into(),
                    "[]".into(),
                    image.updated_at.0.into(),
                ])
                .on_conflict(OnConflict::column("group_id").update_columns(["read_me", "updated_at"]).to_owned())
                .build(SqliteQueryBuilder);
            sqlx::query_with(&sql, args(values)?).execute(&mut *tx).await.map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn insert_image_if_absent(&self, image: &Image) -> Result<bool> {
        let (sql, values) =
            insert_image(image).on_conflict(OnConflict::new().do_nothing().to_owned()).build(SqliteQueryBuilder);
        let r = sqlx::query_with(&sql, args(values)?).execute(&self.writer).await.map_err(db_error)?;
        Ok(r.rows_affected() == 1)
    }

    async fn get_image(&self, id: ImageId) -> Result<Option<Image>> {
        let (sql, values) = Query::select()
            .columns(render::IMAGE_COLUMNS.iter().copied())
            .from(render::IMAGES)
            .and_where(Expr::col("id").eq(id.to_string()))
            .build(SqliteQueryBuilder);
        let row = sqlx::query_with(&sql, args(values)?).fetch_optional(&self.readers).await.map_err(db_error)?;
        row.as_ref().map(image_from_row).transpose()
    }

    async fn delete_image(&self, id: ImageId) -> Result<bool> {
        let r = sqlx::query("DELETE FROM images WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(r.rows_affected() > 0)
    }

    async fn list_images(&self, access: &AccessScope, query: &ImageQuery) -> Result<Page<Image>> {
        let mut tx = self.read_tx().await?;
        let marker = match &query.page {
            PageRequest::After { marker, .. } => Some(
                self.get_image(*marker).await?.ok_or_else(|| Error::invalid(format!("marker {marker} not found")))?,
            ),
            PageRequest::Offset { .. } => None,
        };
        let (sql, values) = render::list_images(access, query, marker.as_ref()).build(SqliteQueryBuilder);
        let items = self.fetch_images(&mut tx, &sql, values).await?;
        let (items, has_more) = split_page(items, query.page.limit());
        let total = if query.with_total {
            let (sql, values) = render::count_images(access, &query.filters).build(SqliteQueryBuilder);
            let n: i64 = sqlx::query_scalar_with(&sql, args(values)?).fetch_one(&mut *tx).await.map_err(db_error)?;
            Some(u64::try_from(n).unwrap_or(0))
        } else {
            None
        };
        tx.commit().await.map_err(db_error)?;
        Ok(Page { items, total, has_more })
    }

    async fn list_groups(&self, access: &AccessScope, query: &GroupQuery) -> Result<Page<ImageGroup>> {
        let mut tx = self.read_tx().await?;
        let (sql, values) = render::list_groups(access, query).build(SqliteQueryBuilder);
        let rows = sqlx::query_with(&sql, args(values)?).fetch_all(&mut *tx).await.map_err(db_error)?;
        let (rows, has_more) = split_page(rows, query.limit);
        let items = self.groups_from_rows(&mut tx, &rows).await?;
        let (sql, values) = render::count_groups(access, &query.filters).build(SqliteQueryBuilder);
        let n: i64 = sqlx::query_scalar_with(&sql, args(values)?).fetch_one(&mut *tx).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Page { items, total: Some(u64::try_from(n).unwrap_or(0)), has_more })
    }

    async fn get_group(&self, access: &AccessScope, id: GroupId) -> Result<Option<ImageGroup>> {
        let mut tx = self.read_tx().await?;
        let (sql, values) = render::get_group(access, &id).build(SqliteQueryBuilder);
        let rows = sqlx::query_with(&sql, args(values)?).fetch_all(&mut *tx).await.map_err(db_error)?;
        let mut groups = self.groups_from_rows(&mut tx, &rows).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(groups.pop())
    }

    async fn delete_group(&self, id: GroupId) -> Result<u64> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let r = sqlx::query("DELETE FROM images WHERE group_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query("DELETE FROM image_groups WHERE group_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(r.rows_affected())
    }

    async fn put_group_meta(&self, id: GroupId, meta: &GroupMeta) -> Result<()> {
        let kv = serde_json::to_string(&meta.kv_tags).map_err(|e| Error::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO image_groups (group_id, read_me, kv_tags, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (group_id) DO UPDATE SET read_me = excluded.read_me, kv_tags = excluded.kv_tags, \
             updated_at = excluded.updated_at",
        )
        .bind(id.to_string())
        .bind(meta.read_me.as_deref())
        .bind(kv)
        .bind(Millis::now().0)
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        sqlx::query("INSERT INTO tokens (hash, project, role, created_at, label) VALUES (?, ?, ?, ?, ?)")
            .bind(&token.hash)
            .bind(token.project.as_str())
            .bind(token.role.as_str())
            .bind(token.created_at.0)
            .bind(token.label.as_deref())
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query("SELECT hash, project, role, created_at, label FROM tokens WHERE hash = ?")
            .bind(hash)
            .fetch_optional(&self.readers)
            .await
            .map_err(db_error)?;
        let Some(r) = row else { return Ok(None) };
        let project: String = r.try_get("project").map_err(db_error)?;
        let role: String = r.try_get("role").map_err(db_error)?;
        Ok(Some(TokenRecord {
            hash: r.try_get("hash").map_err(db_error)?,
            project: ProjectId::parse(&project)
                .ok_or_else(|| Error::Internal(format!("bad stored project {project}")))?,
            role: Role::parse(&role).ok_or_else(|| Error::Internal(format!("bad stored role {role}")))?,
            created_at: Millis(r.try_get("created_at").map_err(db_error)?),
            label: r.try_get("label").map_err(db_error)?,
        }))
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_error)
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
