//! `GET /v2/images`: filters, sort, marker paging, `first`/`next` links (spec/glance.md §5).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use imagehub_catalog::{ImageQuery, Listing, PageRequest};
use percent_encoding::utf8_percent_encode;

use crate::AppState;
use crate::face::InScope;
use crate::face::{QueryPairs, WriteJson};
use crate::glance::{Glance, Result, Scoped, params, render};
use crate::jsonout::{self, Object};

/// A query component, percent-encoded.
fn encode(s: &str) -> String {
    utf8_percent_encode(s, crate::face::URI_UNRESERVED).to_string()
}

/// The request's query without `marker`, every other parameter kept in order (the
/// repeatable ones, tags and sort keys, included).
fn query_without_marker(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .filter(|(k, _)| k != "marker")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    q: QueryPairs<Glance>,
) -> Result<Response> {
    let req = params::parse(&q.0, scope.project())?;
    let base = query_without_marker(&q.0);
    let first = if base.is_empty() { "/v2/images".to_owned() } else { format!("/v2/images?{base}") };
    let mut body = PageJson { first, images: Vec::new(), next: None, schema: "/v2/schemas/images" };
    if req.limit == 0 {
        return Ok(super::answer_written(StatusCode::OK, &body));
    }
    let page = match req.marker {
        Some(marker) => PageRequest::After { marker, limit: req.limit },
        None => PageRequest::Offset { offset: 0, limit: req.limit },
    };
    let query = ImageQuery { filters: req.filters, sort: req.sort, page, with_total: false };
    let page = state.catalog.list_images(&scope, Listing::Images, req.view, query).await?;
    body.images = page.items.iter().map(|i| render::image(i)).collect();
    if page.has_more
        && let Some(last) = page.items.last()
    {
        let marker = format!("marker={}", last.id);
        let query = if base.is_empty() { marker } else { format!("{base}&{marker}") };
        body.next = Some(format!("/v2/images?{query}"));
    }
    Ok(super::answer_written(StatusCode::OK, &body))
}

/// The list's envelope (keys in byte order, as Glance's JSON has them).
struct PageJson<'a> {
    first: String,
    images: Vec<render::ImageJson<'a>>,
    next: Option<String>,
    schema: &'static str,
}

impl WriteJson for PageJson<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = Object::new(out);
        o.str("first", &self.first)
            .with("images", |out| jsonout::array(out, &self.images, |out, i| i.write_json(out)))
            .opt_str("next", self.next.as_deref())
            .str("schema", self.schema);
        o.end();
    }

    fn size_hint(&self) -> usize {
        // An image is 700-1,000 bytes in Glance's words.
        512 + 1024 * self.images.len()
    }
}
