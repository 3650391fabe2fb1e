//! The identity face's projects, users and role assignments on the SQL store
//! ([`IdentityStore`]).

use async_trait::async_trait;
use imagehub_catalog::{IdentityStore, Millis, ProjectId, ProjectRecord, Result, Role, UserRecord};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};

use super::dialect::{Columns, DbResult, Dialect};
use super::{SqlStore, corrupt};

const PROJECT_COLUMNS: [&str; 4] = ["id", "name", "domain", "created_at"];
const USER_COLUMNS: [&str; 7] = ["id", "name", "domain", "password_hash", "enabled", "default_project", "created_at"];

fn project_id(text: &str, col: &str) -> Result<ProjectId> {
    ProjectId::parse(text).ok_or_else(|| corrupt(col, text))
}

fn role(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| corrupt("role", text))
}

impl<DB: Dialect> SqlStore<DB> {
    fn project_query() -> SelectStatement {
        Query::select().columns(PROJECT_COLUMNS).from("projects").to_owned()
    }

    fn project_from_row(r: &DB::Row) -> Result<ProjectRecord> {
        Ok(ProjectRecord {
            id: project_id(&r.text("id")?, "id")?,
            name: r.text("name")?,
            domain: r.text("domain")?,
            created_at: Millis(r.int("created_at")?),
        })
    }

    fn user_query() -> SelectStatement {
        Query::select().columns(USER_COLUMNS).from("users").to_owned()
    }

    fn user_from_row(r: &DB::Row) -> Result<UserRecord> {
        Ok(UserRecord {
            id: r.text("id")?,
            name: r.text("name")?,
            domain: r.text("domain")?,
            password_hash: r.text("password_hash")?,
            enabled: r.int("enabled")? != 0,
            default_project: r.opt_text("default_project")?.map(|p| project_id(&p, "default_project")).transpose()?,
            created_at: Millis(r.int("created_at")?),
        })
    }

    async fn one<T>(&self, query: &SelectStatement, parse: fn(&DB::Row) -> Result<T>) -> Result<Option<T>> {
        let mut conn = self.readers.acquire().await.db()?;
        Self::rows(&mut conn, query).await?.first().map(parse).transpose()
    }

    async fn all<T>(&self, query: &SelectStatement, parse: fn(&DB::Row) -> Result<T>) -> Result<Vec<T>> {
        let mut conn = self.readers.acquire().await.db()?;
        Self::rows(&mut conn, query).await?.iter().map(parse).collect()
    }
}

#[async_trait]
impl<DB: Dialect> IdentityStore for SqlStore<DB> {
    async fn insert_project(&self, p: &ProjectRecord) -> Result<()> {
        let mut conn = self.writer.acquire().await.db()?;
        Self::exec(
            &mut conn,
            Query::insert().into_table("projects").columns(PROJECT_COLUMNS).values_panic([
                p.id.as_str().into(),
                p.name.clone().into(),
                p.domain.clone().into(),
                p.created_at.0.into(),
            ]),
        )
        .await?;
        Ok(())
    }

    async fn get_project(&self, id: &ProjectId) -> Result<Option<ProjectRecord>> {
        self.one(&Self::project_query().and_where(Expr::col("id").eq(id.as_str())).to_owned(), Self::project_from_row)
            .await
    }

    async fn find_project(&self, domain: &str, name: &str) -> Result<Option<ProjectRecord>> {
        let q = Self::project_query()
            .and_where(Expr::col("domain").eq(domain))
            .and_where(Expr::col("name").eq(name))
            .to_owned();
        self.one(&q, Self::project_from_row).await
    }

    async fn list_projects(&self) -> Result<Vec<ProjectRecord>> {
        let q = Self::project_query().order_by("domain", Order::Asc).order_by("name", Order::Asc).to_owned();
        self.all(&q, Self::project_from_row).await
    }

    async fn insert_user(&self, u: &UserRecord, role: Option<Role>) -> Result<()> {
        let mut tx = self.write_tx().await?;
        Self::exec(
            &mut *tx,
            Query::insert().into_table("users").columns(USER_COLUMNS).values_panic([
                u.id.clone().into(),
                u.name.clone().into(),
                u.domain.clone().into(),
                u.password_hash.clone().into(),
                i64::from(u.enabled).into(),
                u.default_project.as_ref().map(|p| p.as_str().to_owned()).into(),
                u.created_at.0.into(),
            ]),
        )
        .await?;
        if let (Some(role), Some(project)) = (role, &u.default_project) {
            Self::exec(&mut *tx, &put_role(&u.id, project, role)).await?;
        }
        tx.commit().await.db()
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRecord>> {
        self.one(&Self::user_query().and_where(Expr::col("id").eq(id)).to_owned(), Self::user_from_row).await
    }

    async fn find_user(&self, domain: &str, name: &str) -> Result<Option<UserRecord>> {
        let q = Self::user_query()
            .and_where(Expr::col("domain").eq(domain))
            .and_where(Expr::col("name").eq(name))
            .to_owned();
        self.one(&q, Self::user_from_row).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        let q = Self::user_query().order_by("domain", Order::Asc).order_by("name", Order::Asc).to_owned();
        self.all(&q, Self::user_from_row).await
    }

    async fn update_user(&self, u: &UserRecord) -> Result<()> {
        let mut conn = self.writer.acquire().await.db()?;
        let n = Self::exec(
            &mut conn,
            Query::update()
                .table("users")
                .values([
                    ("password_hash", u.password_hash.clone().into()),
                    ("enabled", i64::from(u.enabled).into()),
                    ("default_project", u.default_project.as_ref().map(|p| p.as_str().to_owned()).into()),
                ])
                .and_where(Expr::col("id").eq(u.id.as_str())),
        )
        .await?;
        if n == 0 {
            return Err(imagehub_catalog::Error::NotFound(format!("no user {}", u.id)));
        }
        Ok(())
    }

    async fn delete_user(&self, id: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        Self::exec(&mut *tx, Query::delete().from_table("role_assignments").and_where(Expr::col("user_id").eq(id)))
            .await?;
        let n = Self::exec(&mut *tx, Query::delete().from_table("users").and_where(Expr::col("id").eq(id))).await?;
        tx.commit().await.db()?;
        Ok(n > 0)
    }

    async fn put_role(&self, user: &str, project: &ProjectId, role: Role) -> Result<()> {
        let mut conn = self.writer.acquire().await.db()?;
        Self::exec(&mut conn, &put_role(user, project, role)).await?;
        Ok(())
    }

    async fn delete_role(&self, user: &str, project: &ProjectId) -> Result<bool> {
        let mut conn = self.writer.acquire().await.db()?;
        let n = Self::exec(
            &mut conn,
            Query::delete()
                .from_table("role_assignments")
                .and_where(Expr::col("user_id").eq(user))
                .and_where(Expr::col("project").eq(project.as_str())),
        )
        .await?;
        Ok(n > 0)
    }

    async fn role_of(&self, user: &str, project: &ProjectId) -> Result<Option<Role>> {
        let q = Query::select()
            .column("role")
            .from("role_assignments")
            .and_where(Expr::col("user_id").eq(user))
            .and_where(Expr::col("project").eq(project.as_str()))
            .to_owned();
        let found = self.one(&q, |r| r.text("role")).await?;
        found.as_deref().map(role).transpose()
    }

    async fn list_roles(&self) -> Result<Vec<(String, ProjectId, Role)>> {
        let q = Query::select()
            .columns(["user_id", "project", "role"])
            .from("role_assignments")
            .order_by("user_id", Order::Asc)
            .order_by("project", Order::Asc)
            .to_owned();
        self.all(&q, |r| Ok((r.text("user_id")?, project_id(&r.text("project")?, "project")?, role(&r.text("role")?)?)))
            .await
    }
}

/// Gives `user` `role` on `project`, replacing the role it had there.
fn put_role(user: &str, project: &ProjectId, role: Role) -> sea_query::InsertStatement {
    Query::insert()
        .into_table("role_assignments")
        .columns(["user_id", "project", "role"])
        .values_panic([user.into(), project.as_str().into(), role.as_str().into()])
        .on_conflict(OnConflict::columns(["user_id", "project"]).update_column("role").to_owned())
        .to_owned()
}
