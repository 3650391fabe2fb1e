//! Glance's visibility rules: who lists and who shows what, by visibility, member status and the list's `visibility`/`member_status` parameters.

use reqwest::Method;
use serde_json::json;

use crate::common::{ADMIN_TOKEN, Server};

use std::collections::BTreeSet;

const OWNER: &str = "0000000000000000000000000000000a";

const PENDING: &str = "0000000000000000000000000000000b";

const ACCEPTED: &str = "0000000000000000000000000000000c";

const REJECTED: &str = "0000000000000000000000000000000d";

const OTHER: &str = "0000000000000000000000000000000e";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Viewer {
    Owner,
    Member(&'static str),
    Other,
    Admin,
}

/// The spec's rule, written out independently of the implementation.
fn expected_in_list(viewer: Viewer, vis: &str, visibility: Option<&str>, member_status: &str) -> bool {
    let base = match viewer {
        Viewer::Admin => true,
        Viewer::Owner => true,
        Viewer::Member(status) => {
            matches!(vis, "public" | "community")
                || (vis == "shared" && (member_status == "all" || member_status == status))
        }
        Viewer::Other => matches!(vis, "public" | "community"),
    };
    base && match visibility {
        Some("all") => true,
        Some(v) => v == vis,
        None => vis != "community" || viewer == Viewer::Owner,
    }
}

fn expected_show(viewer: Viewer, vis: &str) -> bool {
    match viewer {
        Viewer::Admin | Viewer::Owner => true,
        Viewer::Member(_) => vis != "private",
        Viewer::Other => matches!(vis, "public" | "community"),
    }
}

async fn visibility_matrix(s: Server) {
    let owner = s.token(OWNER, "member").await;
    let mut images = Vec::new();
    for vis in ["private", "shared", "public", "community"] {
        let r = s
            .call(
                Method::POST,
                "/v2/images",
                Some(&owner),
                Some(json!({"name": format!("matrix-{vis}"), "visibility": vis})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        images.push((vis, r.body["id"].as_str().unwrap().to_owned()));
    }
    let shared_id = images[1].1.clone();
    let mut viewers = vec![
        (Viewer::Owner, owner.clone()),
        (Viewer::Other, s.token(OTHER, "member").await),
        (Viewer::Admin, ADMIN_TOKEN.to_owned()),
    ];
    for (project, status) in [(PENDING, "pending"), (ACCEPTED, "accepted"), (REJECTED, "rejected")] {
        let r = s
            .call(
                Method::POST,
                &format!("/v2/images/{shared_id}/members"),
                Some(&owner),
                Some(json!({"member": project})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let token = s.token(project, "member").await;
        if status != "pending" {
            let r = s
                .call(
                    Method::PUT,
                    &format!("/v2/images/{shared_id}/members/{project}"),
                    Some(&token),
                    Some(json!({"status": status})),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        viewers.push((Viewer::Member(status), token));
    }
    let visibilities = [None, Some("all"), Some("private"), Some("shared"), Some("public"), Some("community")];
    let statuses = [None, Some("pending"), Some("accepted"), Some("rejected"), Some("all")];
    let mut checked = 0;
    for (viewer, token) in &viewers {
        for visibility in visibilities {
            for status in statuses {
                let mut q = vec!["limit=1000".to_owned()];
                q.extend(visibility.map(|v| format!("visibility={v}")));
                q.extend(status.map(|m| format!("member_status={m}")));
                let r = s.get(&format!("/v2/images?{}", q.join("&")), token).await;
                assert_eq!(r.status, 200, "{viewer:?} {q:?}: {}", r.text);
                let listed: BTreeSet<&str> =
                    images.iter().filter(|(_, id)| r.text.contains(id.as_str())).map(|(vis, _)| *vis).collect();
                // Admins ignore member_status.
                let ms = if *viewer == Viewer::Admin { "all" } else { status.unwrap_or("accepted") };
                let want: BTreeSet<&str> = images
                    .iter()
                    .filter(|(vis, _)| expected_in_list(*viewer, vis, visibility, ms))
                    .map(|(vis, _)| *vis)
                    .collect();
                assert_eq!(listed, want, "{viewer:?} with {q:?}");
                checked += 1;
            }
        }
        for (vis, id) in &images {
            let r = s.get(&format!("/v2/images/{id}"), token).await;
            assert_eq!(r.status == 200, expected_show(*viewer, vis), "{viewer:?} show {vis}: {}", r.status);
            if !expected_show(*viewer, vis) {
                assert_eq!(r.status, 404, "invisible is not-found, never forbidden");
            }
        }
    }
    assert_eq!(checked, viewers.len() * visibilities.len() * statuses.len());
}

both_backends!(visibility_matrix,);
