//! `PUT` / `DELETE /v2/images/{id}/tags/{tag}`: 204. Adding is idempotent; removing an
//! absent tag is a 404.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::Error;

use super::delete::no_content;
use crate::AppState;
use crate::face::InScope;
use crate::face::PathParams;
use crate::glance::{Glance, Result, Scoped};

pub async fn put(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams((id, tag), _): PathParams<(String, String), Glance>,
) -> Result<Response> {
    if tag.is_empty() || tag.chars().count() > 255 {
        return Err(
            Error::invalid("Provided object does not match schema 'image': tags must be 1 to 255 characters").into()
        );
    }
    state
        .catalog
        .update_image(&scope.writer()?, super::parse_id(&id)?, |image| {
            image.tags.insert(tag);
            Ok(())
        })
        .await?;
    Ok(no_content())
}

pub async fn delete(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams((id, tag), _): PathParams<(String, String), Glance>,
) -> Result<Response> {
    state
        .catalog
        .update_image(&scope.writer()?, super::parse_id(&id)?, |image| {
            if image.tags.remove(&tag) { Ok(()) } else { Err(Error::NotFound(format!("Tag {tag} not found"))) }
        })
        .await?;
    Ok(no_content())
}
