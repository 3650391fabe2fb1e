//! Images, their members and their groups on the SQL store ([`ImageStore`]).

use std::sync::Arc;

use async_trait::async_trait;
use imagehub_catalog::{
    AccessScope, Error, Filter, GroupId, GroupMeta, GroupQuery, Image, ImageBatches, ImageGroup, ImageId, ImageQuery,
    ImageStore, Member, MemberStatus, Millis, Page, PageRequest, ProjectId, Result, Status,
};
use sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement};

use super::dialect::{Columns, DbResult, Dialect};
use super::row::{image_from_row, image_values, insert_image};
use super::{SqlStore, corrupt, render, split_page};

/// secondary indexes again after its rows ([`ImageStore::load_images`]): rebuilding them costs
/// a sort of the images already there, worth it below this size whatever the load's.
const LOAD_REBUILDS_INDEXES_BELOW: u64 = 100_000;

impl<DB: Dialect> SqlStore<DB> {
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

    /// Rewrites an image's record and index rows, if it exists (and has the status and
    /// `updated_at` of `was`, when given); whether it did.
    async fn rewrite_image(&self, image: &Image, was: Option<(Status, Millis)>) -> Result<bool> {
        let image = image.clone();
        self.write(move |c, t| {
            let image = image.clone();
            Box::pin(async move {
                let columns = render::IMAGE_COLUMNS.iter().chain(render::DERIVED_COLUMNS).copied();
                let values =
                    columns.zip(image_values(&image)).filter(|(c, _)| *c != "id").map(|(c, v)| (c, Expr::val(v)));
                let mut stmt = Query::update();
                stmt.table(render::IMAGES)
                    .values(values.collect::<Vec<_>>())
                    .and_where(Expr::col("id").eq(image.id.to_string()));
                if let Some((status, updated_at)) = was {
                    stmt.and_where(Expr::col("status").eq(status.as_str()));
                    stmt.and_where(Expr::col("updated_at").eq(updated_at.0));
                }
                if Self::exec(&mut *c, &stmt).await? == 0 {
                    return Ok(false);
                }
                Self::write_side_tables(&mut *c, &image, true).await?;
                t.image(image.id);
                Ok(true)
            })
        })
        .await
    }

    fn member_query() -> SelectStatement {
        Query::select()
            .columns(["image_id", "member", "status", "created_at", "updated_at"])
            .from("image_members")
            .to_owned()
    }

    fn member_from_row(r: &DB::Row) -> Result<Member> {
        let image = r.text("image_id")?;
        let member = r.text("member")?;
        let status = r.text("status")?;
        Ok(Member {
            image_id: ImageId::parse(&image).ok_or_else(|| corrupt("member image", &image))?,
            member: ProjectId::parse(&member).ok_or_else(|| corrupt("member", &member))?,
            status: MemberStatus::parse(&status).ok_or_else(|| corrupt("member status", &status))?,
            created_at: Millis(r.int("created_at")?),
            updated_at: Millis(r.int("updated_at")?),
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
                let kv = r.text("kv_tags")?;
                Ok((
                    r.text("group_id")?,
                    GroupMeta {
                        read_me: r.opt_text("read_me")?,
                        kv_tags: serde_json::from_str(&kv).map_err(|_| corrupt("group tags", &kv))?,
                    },
                ))
            })
            .collect()
    }

    async fn groups_from_rows(conn: &mut DB::Connection, rows: &[DB::Row]) -> Result<Vec<ImageGroup>> {
        let ids: Vec<String> = rows.iter().map(|r| r.text("group_id")).collect::<Result<_>>()?;
        let metas = Self::group_meta(conn, &ids).await?;
        rows.iter()
            .zip(&ids)
            .map(|(r, gid)| {
                let owner = r.text("group_owner")?;
                Ok(ImageGroup {
                    id: GroupId::parse(gid).ok_or_else(|| corrupt("group id", gid))?,
                    owner: ProjectId::parse(&owner).ok_or_else(|| corrupt("owner", &owner))?,
                    namespace: r.opt_text("group_namespace")?,
                    name: r.opt_text("group_name")?,
                    version_count: r.int("version_count")?,
                    created_at: Millis(r.int("created_min")?),
                    updated_at: Millis(r.int("updated_max")?),
                    meta: metas.iter().find(|(id, _)| id == gid).map(|(_, m)| m.clone()).unwrap_or_default(),
                })
            })
            .collect()
    }
}

#[async_trait]
impl<DB: Dialect> ImageStore for SqlStore<DB> {
    async fn insert_image(&self, image: &Image, group_read_me: Option<&str>) -> Result<()> {
        let (image, group_read_me) = (image.clone(), group_read_me.map(str::to_owned));
        self.write(move |c, t| {
            let image = image.clone();
            let group_read_me = group_read_me.clone();
            Box::pin(async move {
                Self::exec(&mut *c, &insert_image(&image)).await?;
                Self::write_side_tables(&mut *c, &image, false).await?;
                if let Some(read_me) = &group_read_me {
                    Self::exec(
                        &mut *c,
                        Query::insert()
                            .into_table("image_groups")
                            .columns(["group_id", "read_me", "kv_tags", "updated_at"])
                            .values_panic([
                                image.group_id().to_string().into(),
                                read_me.as_str().into(),
                                "[]".into(),
                                image.updated_at.0.into(),
                            ])
                            .on_conflict(
                                OnConflict::column("group_id").update_columns(["read_me", "updated_at"]).to_owned(),
                            ),
                    )
                    .await?;
                }
                if group_read_me.is_some() {
                    t.group(image.group_id());
                }
                t.image(image.id);
                Ok(())
            })
        })
        .await
    }

    async fn insert_images(&self, images: &[Image]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        Self::insert_rows(&mut tx, images).await?;
        Self::record(&mut tx, &images.iter().map(|i| i.id).collect::<Vec<_>>(), &[]).await?;
        tx.commit().await.db()
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
            for row in DB::fetch_sql(&mut tx, DB::SECONDARY_INDEXES).await? {
                deferred.push((row.text_at(0)?, row.text_at(1)?));
            }
        }
        for (name, _) in &deferred {
            DB::execute_sql(&mut tx, &format!("DROP INDEX \"{name}\"")).await?;
        }
        let mut loaded = 0;
        while let Some(batch) = batches.next_batch().await? {
            Self::insert_rows(&mut tx, &batch).await?;
            Self::record(&mut tx, &batch.iter().map(|i| i.id).collect::<Vec<_>>(), &[]).await?;
            loaded += batch.len() as u64;
        }
        for (_, create) in &deferred {
            DB::execute_sql(&mut tx, create).await?;
        }
        tx.commit().await.db()?;
        // The load stands once committed; stale statistics only slow the planner down
        // until the next refresh (every open runs one).
        if let Err(e) = self.optimize().await {
            tracing::warn!(error = %e.log_detail(), "planner statistics not refreshed after a bulk load");
        }
        Ok(loaded)
    }

    async fn insert_image_if_absent(&self, image: &Image) -> Result<bool> {
        let image = image.clone();
        self.write(move |c, t| {
            let image = image.clone();
            Box::pin(async move {
                let stmt = insert_image(&image).on_conflict(OnConflict::new().do_nothing().to_owned()).to_owned();
                let inserted = Self::exec(&mut *c, &stmt).await? == 1;
                if inserted {
                    Self::write_side_tables(&mut *c, &image, false).await?;
                    t.image(image.id);
                }
                Ok(inserted)
            })
        })
        .await
    }

    async fn update_image(&self, image: &Image) -> Result<()> {
        if self.rewrite_image(image, None).await? { Ok(()) } else { Err(Error::not_found_image(image.id)) }
    }

    async fn update_image_if(&self, image: &Image, was: &Image) -> Result<bool> {
        self.rewrite_image(image, Some((was.status, was.updated_at))).await
    }

    async fn add_member(&self, m: &Member) -> Result<()> {
        let m = m.clone();
        self.write(move |c, t| {
            let m = m.clone();
            Box::pin(async move {
                Self::exec(
                    &mut *c,
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
                t.image(m.image_id);
                Ok(())
            })
        })
        .await
    }

    async fn get_member(&self, image: ImageId, project: &ProjectId) -> Result<Option<Member>> {
        let mut conn = self.readers.acquire().await.db()?;
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
        let mut conn = self.readers.acquire().await.db()?;
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
        let mut conn = self.readers.acquire().await.db()?;
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
        let m = m.clone();
        self.write(move |c, t| {
            let m = m.clone();
            Box::pin(async move {
                let n = Self::exec(
                    &mut *c,
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
                t.image(m.image_id);
                Ok(())
            })
        })
        .await
    }

    async fn delete_member(&self, image: ImageId, project: &ProjectId) -> Result<bool> {
        let project = project.clone();
        self.write(move |c, t| {
            let project = project.clone();
            Box::pin(async move {
                let n = Self::exec(
                    &mut *c,
                    Query::delete()
                        .from_table("image_members")
                        .and_where(Expr::col("image_id").eq(image.to_string()))
                        .and_where(Expr::col("member").eq(project.as_str())),
                )
                .await?;
                if n > 0 {
                    t.image(image);
                }
                Ok(n > 0)
            })
        })
        .await
    }

    async fn get_image(&self, id: ImageId) -> Result<Option<Image>> {
        let mut conn = self.readers.acquire().await.db()?;
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

    async fn storage_used(&self, owner: &ProjectId) -> Result<u64> {
        let mut conn = self.readers.acquire().await.db()?;
        // Through the owner's index; the sum cast, as PostgreSQL sums bigints as numeric.
        // Only sizes the server measured count: images with data (a checksum) and staged
        // or importing bytes, not the size a registration states for a registry image.
        Self::count(
            &mut conn,
            Query::select()
                .expr(Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"))
                .from(render::IMAGES)
                .and_where(Expr::col("owner").eq(owner.as_str()))
                .cond_where(
                    sea_query::Cond::any()
                        .add(Expr::col("checksum").is_not_null())
                        .add(Expr::col("status").is_in([Status::Uploading.as_str(), Status::Importing.as_str()])),
                ),
        )
        .await
    }

    async fn images_after(&self, after: Option<ImageId>, limit: u64) -> Result<Vec<Image>> {
        let mut conn = self.readers.acquire().await.db()?;
        let mut stmt = Self::select_images();
        stmt.order_by("id", sea_query::Order::Asc).limit(limit);
        if let Some(after) = after {
            stmt.and_where(Expr::col("id").gt(after.to_string()));
        }
        let rows = Self::rows(&mut conn, &stmt).await?;
        rows.iter().map(image_from_row).collect()
    }

    async fn delete_image(&self, id: ImageId) -> Result<bool> {
        self.write(move |c, t| {
            Box::pin(async move {
                let n = Self::exec(
                    &mut *c,
                    Query::delete().from_table(render::IMAGES).and_where(Expr::col("id").eq(id.to_string())),
                )
                .await?;
                if n > 0 {
                    t.image(id);
                }
                Ok(n > 0)
            })
        })
        .await
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
        tx.commit().await.db()?;
        Ok(Page { items, total, has_more })
    }

    async fn list_groups(&self, access: &AccessScope, query: &GroupQuery) -> Result<Page<ImageGroup>> {
        let mut tx = self.read_tx().await?;
        let rows = Self::rows(&mut tx, &render::list_groups(access, query)).await?;
        let (rows, has_more) = split_page(rows, query.limit);
        let items = Self::groups_from_rows(&mut tx, &rows).await?;
        let total = Self::count(&mut tx, &render::count_groups(access, &query.filters)).await?;
        tx.commit().await.db()?;
        Ok(Page { items, total: Some(total), has_more })
    }

    async fn get_group(&self, access: &AccessScope, id: GroupId, filters: &[Filter]) -> Result<Option<ImageGroup>> {
        let mut tx = self.read_tx().await?;
        let rows = Self::rows(&mut tx, &render::get_group(access, &id, filters)).await?;
        let mut groups = Self::groups_from_rows(&mut tx, &rows).await?;
        tx.commit().await.db()?;
        Ok(groups.pop())
    }

    async fn delete_group(&self, id: GroupId, filters: &[Filter]) -> Result<u64> {
        let filters = filters.to_vec();
        self.write(move |c, t| {
            let filters = filters.clone();
            Box::pin(async move {
                let deleted = Self::rows(
                    &mut *c,
                    Query::delete()
                        .from_table(render::IMAGES)
                        .cond_where(render::group_images(&id, &filters))
                        .returning_col("id"),
                )
                .await?;
                let deleted = deleted
                    .iter()
                    .map(|r| {
                        let image = r.text("id")?;
                        ImageId::parse(&image).ok_or_else(|| corrupt("image id", &image))
                    })
                    .collect::<Result<Vec<_>>>()?;
                // The group's metadata goes with its last image (the filters may leave some).
                let left = Query::select()
                    .expr(Expr::val(1))
                    .from(render::IMAGES)
                    .cond_where(render::group_images(&id, &[]))
                    .take();
                Self::exec(
                    &mut *c,
                    Query::delete()
                        .from_table("image_groups")
                        .and_where(Expr::col("group_id").eq(id.to_string()))
                        .and_where(Expr::exists(left).not()),
                )
                .await?;
                t.images(&deleted);
                t.group(id);
                Ok(deleted.len() as u64)
            })
        })
        .await
    }

    async fn put_group_meta(&self, id: GroupId, meta: &GroupMeta) -> Result<()> {
        let kv = serde_json::to_string(&meta.kv_tags).map_err(|e| Error::Internal(e.to_string()))?;
        let read_me = meta.read_me.clone();
        self.write(move |c, t| {
            let kv = kv.clone();
            let read_me = read_me.clone();
            Box::pin(async move {
                Self::exec(
                    &mut *c,
                    Query::insert()
                        .into_table("image_groups")
                        .columns(["group_id", "read_me", "kv_tags", "updated_at"])
                        .values_panic([id.to_string().into(), read_me.into(), kv.into(), Millis::now().0.into()])
                        .on_conflict(
                            OnConflict::column("group_id")
                                .update_columns(["read_me", "kv_tags", "updated_at"])
                                .to_owned(),
                        ),
                )
                .await?;
                t.group(id);
                Ok(())
            })
        })
        .await
    }

    async fn group_metas(&self, ids: &[GroupId]) -> Result<Vec<(GroupId, GroupMeta)>> {
        let mut conn = self.readers.acquire().await.db()?;
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        Self::group_meta(&mut conn, &ids)
            .await?
            .into_iter()
            .map(|(id, meta)| Ok((GroupId::parse(&id).ok_or_else(|| corrupt("group id", &id))?, meta)))
            .collect()
    }
}
