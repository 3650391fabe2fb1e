//! Credentials and settings on the SQL store: [`CredentialStore`] (tokens, access keys)
//! and [`SettingStore`].

use async_trait::async_trait;
use imagehub_catalog::{AccessKeyRecord, CredentialStore, Millis, ProjectId, Result, Role, SettingStore, TokenRecord};
use sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement};

use super::dialect::{Columns, DbResult, Dialect};
use super::{SqlStore, corrupt};

/// The columns of `tokens`, in the order [`SqlStore::token_from_row`] reads them.
const TOKEN_COLUMNS: &[&str] = &[
    "hash",
    "id",
    "project",
    "role",
    "created_at",
    "label",
    "expires_at",
    "revoked_at",
    "issued_by",
    "last_used_at",
    "user_id",
];

impl<DB: Dialect> SqlStore<DB> {
    fn token_query() -> SelectStatement {
        Query::select().columns(TOKEN_COLUMNS.iter().copied()).from("tokens").to_owned()
    }

    fn token_from_row(r: &DB::Row) -> Result<TokenRecord> {
        let project = r.text("project")?;
        let role = r.text("role")?;
        Ok(TokenRecord {
            hash: r.text("hash")?,
            project: ProjectId::parse(&project).ok_or_else(|| corrupt("project", &project))?,
            role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
            created_at: Millis(r.int("created_at")?),
            label: r.opt_text("label")?,
            expires_at: r.opt_int("expires_at")?.map(Millis),
            revoked_at: r.opt_int("revoked_at")?.map(Millis),
            issued_by: r.opt_text("issued_by")?,
            last_used_at: r.opt_int("last_used_at")?.map(Millis),
            user: r.opt_text("user_id")?,
        })
    }

    fn access_key_query() -> SelectStatement {
        Query::select()
            .columns(["ak", "sealed_secret", "project", "role", "created_at", "revoked_at", "label"])
            .from("access_keys")
            .to_owned()
    }

    fn access_key_from_row(r: &DB::Row) -> Result<AccessKeyRecord> {
        let project = r.text("project")?;
        let role = r.text("role")?;
        Ok(AccessKeyRecord {
            ak: r.text("ak")?,
            sealed_secret: r.text("sealed_secret")?,
            project: ProjectId::parse(&project).ok_or_else(|| corrupt("project", &project))?,
            role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
            created_at: Millis(r.int("created_at")?),
            revoked_at: r.opt_int("revoked_at")?.map(Millis),
            label: r.opt_text("label")?,
        })
    }

    /// Marks the active credential of `table` whose `key` column is `value` revoked at
    /// `at`; whether there was one.
    async fn revoke(&self, table: &'static str, key: &'static str, value: &str, at: Millis) -> Result<bool> {
        let mut conn = self.writer.acquire().await.db()?;
        let n = Self::exec(
            &mut conn,
            Query::update()
                .table(table)
                .values([("revoked_at", Expr::val(at.0))])
                .and_where(Expr::col(key).eq(value))
                .and_where(Expr::col("revoked_at").is_null()),
        )
        .await?;
        Ok(n > 0)
    }
}

#[async_trait]
impl<DB: Dialect> CredentialStore for SqlStore<DB> {
    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        let mut conn = self.writer.acquire().await.db()?;
        Self::exec(
            &mut conn,
            Query::insert().into_table("tokens").columns(TOKEN_COLUMNS.iter().copied()).values_panic([
                token.hash.clone().into(),
                token.id().to_owned().into(),
                token.project.to_string().into(),
                token.role.as_str().into(),
                token.created_at.0.into(),
                token.label.clone().into(),
                token.expires_at.map(|e| e.0).into(),
                token.revoked_at.map(|e| e.0).into(),
                token.issued_by.clone().into(),
                token.last_used_at.map(|e| e.0).into(),
                token.user.clone().into(),
            ]),
        )
        .await?;
        Ok(())
    }

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let mut conn = self.readers.acquire().await.db()?;
        let rows = Self::rows(&mut conn, Self::token_query().and_where(Expr::col("hash").eq(hash))).await?;
        rows.first().map(Self::token_from_row).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        let mut conn = self.readers.acquire().await.db()?;
        let rows = Self::rows(
            &mut conn,
            Self::token_query().order_by("created_at", sea_query::Order::Asc).order_by("hash", sea_query::Order::Asc),
        )
        .await?;
        rows.iter().map(Self::token_from_row).collect()
    }

    async fn revoke_token(&self, id: &str, at: Millis) -> Result<bool> {
        self.revoke("tokens", "id", id, at).await
    }

    async fn touch_token(&self, hash: &str, at: Millis) -> Result<()> {
        let mut conn = self.writer.acquire().await.db()?;
        Self::exec(
            &mut conn,
            Query::update()
                .table("tokens")
                .values([("last_used_at", Expr::val(at.0))])
                .and_where(Expr::col("hash").eq(hash)),
        )
        .await?;
        Ok(())
    }

    async fn delete_tokens_expired_before(&self, before: Millis) -> Result<u64> {
        let mut conn = self.writer.acquire().await.db()?;
        Self::exec(
            &mut conn,
            Query::delete()
                .from_table("tokens")
                .and_where(Expr::col("expires_at").is_not_null())
                .and_where(Expr::col("expires_at").lt(before.0)),
        )
        .await
    }

    async fn insert_access_key(&self, k: &AccessKeyRecord) -> Result<()> {
        let mut conn = self.writer.acquire().await.db()?;
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
        let mut conn = self.readers.acquire().await.db()?;
        let rows =
            Self::rows(&mut conn, &Self::access_key_query().and_where(Expr::col("ak").eq(ak)).to_owned()).await?;
        rows.first().map(Self::access_key_from_row).transpose()
    }

    async fn list_access_keys(&self) -> Result<Vec<AccessKeyRecord>> {
        let mut conn = self.readers.acquire().await.db()?;
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
        self.revoke("access_keys", "ak", ak, at).await
    }

    async fn revoke_user_tokens(&self, user: &str, project: Option<&ProjectId>, at: Millis) -> Result<u64> {
        let mut conn = self.writer.acquire().await.db()?;
        let mut update = Query::update()
            .table("tokens")
            .values([("revoked_at", Expr::val(at.0))])
            .and_where(Expr::col("user_id").eq(user))
            .and_where(Expr::col("revoked_at").is_null())
            .to_owned();
        if let Some(p) = project {
            update.and_where(Expr::col("project").eq(p.as_str()));
        }
        Self::exec(&mut conn, &update).await
    }
}

#[async_trait]
impl<DB: Dialect> SettingStore for SqlStore<DB> {
    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        let mut conn = self.writer.acquire().await.db()?;
        let rows =
            Self::rows(&mut conn, Query::select().column("value").from("settings").and_where(Expr::col("key").eq(key)))
                .await?;
        rows.first().map(|r| r.text("value")).transpose()
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        let mut conn = self.writer.acquire().await.db()?;
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
