//! Glance's error bodies: webob's three variants, chosen by the request's `Accept`
//! (spec/glance.md §8). python-glanceclient sends `Accept: */*` and needs the HTML one;
//! openstacksdk sends `application/json` or an empty `Accept`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The text of a Glance error, kept on the response until [`negotiate`] renders it.
#[derive(Clone)]
pub struct GlanceError(pub String);

/// A Glance error response; its body is rendered by [`negotiate`].
pub fn error(status: StatusCode, text: String) -> Response {
    let mut resp = status.into_response();
    resp.extensions_mut().insert(GlanceError(text));
    resp
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Html,
    Json,
    Plain,
}

/// The q-value the `Accept` header gives a media type (its most specific matching range).
fn quality(accept: &str, offer: &str) -> Option<f32> {
    let (otype, osub) = offer.split_once('/')?;
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next()?.trim().to_ascii_lowercase();
        let q =
            parts.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        let (t, s) = media.split_once('/').unwrap_or((media.as_str(), ""));
        let specificity = match (t, s) {
            (t, s) if t == otype && s == osub => 3,
            (t, "*") if t == otype => 2,
            ("*", "*") => 1,
            _ => continue,
        };
        if best.is_none_or(|(sp, _)| specificity > sp) {
            best = Some((specificity, q));
        }
    }
    best.map(|(_, q)| q).filter(|q| *q > 0.0)
}

fn variant(headers: &HeaderMap) -> Variant {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).filter(|a| !a.trim().is_empty())
    else {
        return Variant::Plain;
    };
    let html = quality(accept, "text/html");
    let json = quality(accept, "application/json");
    match (html, json) {
        (Some(h), Some(j)) if j > h => Variant::Json,
        (Some(_), _) => Variant::Html,
        (None, Some(_)) => Variant::Json,
        (None, None) => Variant::Plain,
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn render(status: StatusCode, text: &str, variant: Variant) -> (HeaderValue, String) {
    let code = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
    let title = status.canonical_reason().unwrap_or("");
    match variant {
        Variant::Json => (
            HeaderValue::from_static("application/json"),
            serde_json::json!({ "message": format!("{text}<br /><br />\n\n\n"), "code": code, "title": title })
                .to_string(),
        ),
        Variant::Html => (
            HeaderValue::from_static("text/html; charset=UTF-8"),
            format!(
                "<html>\n <head>\n  <title>{code}</title>\n </head>\n <body>\n  <h1>{code}</h1>\n  {}<br /><br />\n\n\n\n </body>\n</html>",
                escape_html(text)
            ),
        ),
        Variant::Plain => (HeaderValue::from_static("text/plain; charset=UTF-8"), format!("{code}\n\n{text}\n\n   ")),
    }
}

/// Renders Glance error bodies as the request asks, and gives every Glance response an
/// `x-openstack-request-id` (the client's own `req-…` id echoed, else the response's
/// `x-request-id` as a hyphenated UUID).
pub async fn negotiate(req: Request, next: Next) -> Response {
    let variant = variant(req.headers());
    let client_id = req
        .headers()
        .get("x-openstack-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("req-") && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_owned);
    let mut resp = next.run(req).await;
    let is_glance = if let Some(GlanceError(text)) = resp.extensions().get::<GlanceError>().cloned() {
        let (ct, body) = render(resp.status(), &text, variant);
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
        resp.headers_mut().remove(header::CONTENT_LENGTH);
        *resp.body_mut() = Body::from(body);
        true
    } else {
        resp.extensions().get::<GlanceResponse>().is_some()
    };
    if is_glance {
        // The request id `observe` gave, spelled as Glance spells its own.
        let ours = || {
            let id = resp
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| uuid::Uuid::parse_str(v).ok());
            format!("req-{}", id.unwrap_or_else(uuid::Uuid::new_v4).hyphenated())
        };
        let id = client_id.unwrap_or_else(ours);
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert("x-openstack-request-id", v);
        }
    }
    resp
}

/// Marks a successful response as the Glance face's (it gets an `x-openstack-request-id`).
#[derive(Clone, Copy)]
pub struct GlanceResponse;

#[cfg(test)]
mod tests {
    use super::*;

    fn v(accept: Option<&str>) -> Variant {
        let mut h = HeaderMap::new();
        if let Some(a) = accept {
            h.insert(header::ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        variant(&h)
    }

    #[test]
    fn accept_negotiation_follows_webob() {
        assert!(v(Some("*/*")) == Variant::Html);
        assert!(v(Some("application/json")) == Variant::Json);
        assert!(v(Some("application/*")) == Variant::Json);
        assert!(v(Some("application/json, */*")) == Variant::Html);
        assert!(v(Some("application/json, text/html;q=0.5")) == Variant::Json);
        assert!(v(Some("text/csv")) == Variant::Plain);
        assert!(v(Some("")) == Variant::Plain);
        assert!(v(None) == Variant::Plain);
    }

    #[test]
    fn bodies_have_webob_shapes() {
        let (_, html) = render(StatusCode::NOT_FOUND, "No image found with ID <x>", Variant::Html);
        assert!(
            html.contains("<title>404 Not Found</title>")
                && html.contains("No image found with ID &lt;x&gt;<br /><br />")
        );
        let (_, json) = render(StatusCode::NOT_FOUND, "gone", Variant::Json);
        let j: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(j["code"], "404 Not Found");
        assert_eq!(j["title"], "Not Found");
        assert_eq!(j["message"], "gone<br /><br />\n\n\n");
        let (_, plain) = render(StatusCode::NOT_FOUND, "gone", Variant::Plain);
        assert_eq!(plain, "404 Not Found\n\ngone\n\n   ");
    }
}
