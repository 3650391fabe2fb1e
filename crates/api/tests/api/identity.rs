//! The identity face (Keystone v3) through HTTP on both backends: password and token
//! logins, the token's shape, validation and revocation, the refusals, the lookups, and
//! the tokens working on every other face.

use imagehub_catalog::{ProjectId, Role, UserRecord};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{ADMIN_TOKEN, PROJECT_A, PROJECT_B, Resp, Server};

const PASSWORD: &str = "s3cret-password";

/// Projects `alpha` (A) and `beta` (B); users `alice` (member of alpha, reader of beta)
/// and `bob` (member of beta).
async fn people(s: &Server) -> (UserRecord, UserRecord) {
    let a = ProjectId::parse(PROJECT_A).unwrap();
    let b = ProjectId::parse(PROJECT_B).unwrap();
    s.catalog.create_project(Some("alpha"), None, Some(a.clone())).await.unwrap();
    let beta = s.catalog.create_project(Some("beta"), None, Some(b.clone())).await.unwrap();
    let alice = s.catalog.create_user("alice", None, PASSWORD, &a, Role::Member).await.unwrap();
    let bob = s.catalog.create_user("bob", None, PASSWORD, &b, Role::Member).await.unwrap();
    s.catalog.assign_role(&alice, &beta, Role::Reader).await.unwrap();
    (alice, bob)
}

fn password_body(user: Value, password: &str, scope: Option<Value>) -> Value {
    let mut user = user;
    user["password"] = json!(password);
    let mut auth = json!({ "identity": { "methods": ["password"], "password": { "user": user } } });
    if let Some(scope) = scope {
        auth["scope"] = scope;
    }
    json!({ "auth": auth })
}

fn by_name(name: &str) -> Value {
    json!({ "name": name, "domain": { "name": "Default" } })
}

fn project_named(name: &str) -> Value {
    json!({ "project": { "name": name, "domain": { "id": "default" } } })
}

async fn login(s: &Server, body: Value) -> Resp {
    s.call(Method::POST, "/v3/auth/tokens", None, Some(body)).await
}

/// A password login that must succeed; returns the token and its body.
async fn token_of(s: &Server, user: &str, scope: Option<Value>) -> (String, Value) {
    let r = login(s, password_body(by_name(user), PASSWORD, scope)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.headers["x-subject-token"].to_str().unwrap().to_owned();
    (token, r.body)
}

/// A Keystone time: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn assert_keystone_time(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    assert_eq!(s.len(), 27, "{s}");
    assert!(s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.', "{s}");
}

async fn versions_and_the_token_shape(s: Server) {
    let (alice, _) = people(&s).await;
    for path in ["/v3", "/v3/"] {
        let r = s.call(Method::GET, path, None, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["version"]["status"], "stable");
        assert!(r.body["version"]["id"].as_str().unwrap().starts_with("v3."));
        assert_eq!(r.body["version"]["links"][0]["href"], format!("{}/v3/", s.base));
    }
    // The root stays Glance's versions document.
    let root = s.call(Method::GET, "/", None, None).await;
    assert_eq!(root.status, 300, "{}", root.text);
    assert!(root.body["versions"].is_array());

    let (token, body) = token_of(&s, "alice", Some(project_named("alpha"))).await;
    assert!(token.starts_with("ih_"));
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["id"], alice.id);
    assert_eq!(t["user"]["name"], "alice");
    assert_eq!(t["user"]["domain"], json!({ "id": "default", "name": "Default" }));
    assert_eq!(t["project"]["id"], PROJECT_A);
    assert_eq!(t["project"]["name"], "alpha");
    assert_eq!(t["project"]["domain"], json!({ "id": "default", "name": "Default" }));
    let roles: Vec<&str> = t["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(roles, ["member", "reader"]);
    assert!(t["roles"][0]["id"].as_str().is_some_and(|id| id.len() == 32));
    assert_keystone_time(&t["expires_at"]);
    assert_keystone_time(&t["issued_at"]);
    let expires = imagehub_api::time::parse_datetime(t["expires_at"].as_str().unwrap()).unwrap();
    let left = expires.0 - imagehub_catalog::Millis::now().0;
    assert!((3_590_000..=3_600_000).contains(&left), "an hour by default, not {left} ms");
    let catalog = t["catalog"].as_array().unwrap();
    let image = catalog.iter().find(|c| c["type"] == "image").unwrap();
    let interfaces: Vec<&str> =
        image["endpoints"].as_array().unwrap().iter().map(|e| e["interface"].as_str().unwrap()).collect();
    assert_eq!(interfaces, ["public", "internal", "admin"]);
    for e in image["endpoints"].as_array().unwrap() {
        assert_eq!(e["url"], s.base);
        assert_eq!(e["region"], "RegionOne");
        assert_eq!(e["region_id"], "RegionOne");
        assert!(e["id"].as_str().is_some_and(|id| !id.is_empty()));
    }
    let identity = catalog.iter().find(|c| c["type"] == "identity").unwrap();
    assert_eq!(identity["endpoints"][0]["url"], format!("{}/v3", s.base));

    // By ids, and without a catalog.
    let r = s
        .call(
            Method::POST,
            "/v3/auth/tokens?nocatalog",
            None,
            Some(password_body(json!({ "id": alice.id }), PASSWORD, Some(json!({ "project": { "id": PROJECT_B } })))),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["token"]["project"]["name"], "beta");
    assert_eq!(r.body["token"]["roles"][0]["name"], "reader");
    assert!(r.body["token"].get("catalog").is_none());
    // A project by its name alone (Huawei IAM's logins): in the user's domain.
    let (_, body) = token_of(&s, "alice", Some(json!({ "project": { "name": "beta" } }))).await;
    assert_eq!(body["token"]["project"]["id"], PROJECT_B);
    // Without a scope: the default project.
    let (_, body) = token_of(&s, "alice", None).await;
    assert_eq!(body["token"]["project"]["id"], PROJECT_A);
}

async fn the_tokens_work_on_every_face(s: Server) {
    people(&s).await;
    let (member, _) = token_of(&s, "alice", Some(project_named("alpha"))).await;
    let (reader, _) = token_of(&s, "alice", Some(project_named("beta"))).await;
    let r = s.get(&format!("/v1/{PROJECT_A}/images"), &member).await;
    assert_eq!(r.status, 200, "ModelArts: {}", r.text);
    let r = s.get(&format!("/v1/{PROJECT_B}/images"), &member).await;
    assert_eq!(r.status, 403, "another project on ModelArts: {}", r.text);
    let r = s.raw(Method::GET, "/v2/images", Some(&member), &[("Accept", "application/json")], None).await;
    assert_eq!(r.status, 200, "Glance: {}", r.text);
    let r =
        s.raw(Method::GET, "/ai/openapi/v2/instance-service/images", None, &[("token", member.as_str())], None).await;
    assert_eq!(r.status, 200, "SCNet: {}", r.text);
    // A member writes; a reader does not.
    let created = s.call(Method::POST, "/v2/images", Some(&member), Some(json!({ "name": "mine" }))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["owner"], PROJECT_A);
    let refused = s.call(Method::POST, "/v2/images", Some(&reader), Some(json!({ "name": "no" }))).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
}

async fn every_refused_login_reads_the_same(s: Server) {
    let (alice, _) = people(&s).await;
    s.catalog.create_user("carol", None, PASSWORD, &ProjectId::parse(PROJECT_B).unwrap(), Role::Member).await.unwrap();
    let carol = s.catalog.user_by_name_or_id("carol", None).await.unwrap();
    s.catalog.set_user_enabled(&carol, false).await.unwrap();
    let cases = [
        ("wrong password", password_body(by_name("alice"), "wrong-password", None)),
        ("unknown user", password_body(by_name("nobody"), PASSWORD, None)),
        ("unknown user id", password_body(json!({ "id": "f".repeat(32) }), PASSWORD, None)),
        ("another domain", password_body(json!({ "name": "alice", "domain": { "name": "Other" } }), PASSWORD, None)),
        ("disabled user", password_body(by_name("carol"), PASSWORD, None)),
        ("no role on the project", password_body(by_name("bob"), PASSWORD, Some(project_named("alpha")))),
        ("unknown project", password_body(by_name("alice"), PASSWORD, Some(project_named("gamma")))),
        // Names no store holds (PostgreSQL text cannot hold NUL): refused, not a 500.
        ("a NUL in the name", password_body(by_name("al\u{0}ice"), PASSWORD, None)),
        (
            "a NUL in the domain",
            password_body(json!({ "name": "alice", "domain": { "name": "\u{0}" } }), PASSWORD, None),
        ),
        ("a NUL in the id", password_body(json!({ "id": "\u{0}" }), PASSWORD, None)),
        ("a NUL in the project", password_body(by_name("alice"), PASSWORD, Some(project_named("al\u{0}pha")))),
    ];
    let mut bodies = Vec::new();
    for (case, body) in cases {
        let r = login(&s, body).await;
        assert_eq!(r.status, 401, "{case}: {}", r.text);
        assert_eq!(
            r.headers["www-authenticate"].to_str().unwrap(),
            format!("Keystone uri=\"{}/v3\"", s.base),
            "{case}"
        );
        assert!(r.headers.get("x-subject-token").is_none(), "{case}");
        bodies.push(r.body);
    }
    assert_eq!(
        bodies[0],
        json!({ "error": { "code": 401, "title": "Unauthorized",
            "message": "The request you have made requires authentication." } })
    );
    assert!(bodies.iter().all(|b| *b == bodies[0]), "every cause reads alike: {bodies:?}");
    // Alice herself is not locked out by the others' failures, only slowed after hers.
    let (_, body) = token_of(&s, "alice", None).await;
    assert_eq!(body["token"]["user"]["id"], alice.id);

    // Malformed requests are 400s in the same envelope.
    let malformed = [
        r#"{"auth": "#.to_owned(),
        json!({ "auth": {} }).to_string(),
        password_body(json!({ "name": "alice" }), PASSWORD, None).to_string(),
        json!({ "auth": { "identity": { "methods": ["password"] } } }).to_string(),
        password_body(by_name("alice"), PASSWORD, Some(json!({ "domain": { "id": "default" } }))).to_string(),
    ];
    for body in malformed {
        let r =
            s.raw(Method::POST, "/v3/auth/tokens", None, &[("Content-Type", "application/json")], Some(&body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.body["error"]["code"], 400, "{}", r.text);
        assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // A password where Keystone has none, or of another type, is not echoed (the reason
    // of a 400 is logged).
    let r =
        login(&s, json!({ "auth": { "identity": { "methods": ["password"], "password": "hunter2-secret" } } })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(!r.text.contains("hunter2"), "{}", r.text);
    let mut numeric = password_body(by_name("alice"), PASSWORD, None);
    numeric["auth"]["identity"]["password"]["user"]["password"] = json!(987_654_321);
    let r = login(&s, numeric).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(!r.text.contains("987654321"), "{}", r.text);
    let r = login(&s, json!({ "auth": { "identity": { "methods": ["totp"], "totp": {} } } })).await;
    assert_eq!(r.status, 401, "an unsupported method: {}", r.text);
    let r = s.call(Method::GET, "/v3/no/such/thing", None, None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["message"], "The resource could not be found.");
}

async fn repeated_failures_slow_the_next_login_down(s: Server) {
    people(&s).await;
    for _ in 0..3 {
        assert_eq!(login(&s, password_body(by_name("bob"), "wrong-password", None)).await.status, 401);
    }
    let started = std::time::Instant::now();
    assert_eq!(login(&s, password_body(by_name("bob"), "wrong-password", None)).await.status, 401);
    let fourth = started.elapsed();
    assert!(fourth >= std::time::Duration::from_millis(250), "the fourth failure waited {fourth:?}");
    let started = std::time::Instant::now();
    let (_, _) = token_of(&s, "bob", None).await;
    let waited = started.elapsed();
    assert!(waited >= std::time::Duration::from_millis(500), "the next login waits too");
    // After a success no wait: the next login takes its hash's time, not 500 ms more
    // (compared with the login before, so that a slow machine's hash cannot fail it).
    let started = std::time::Instant::now();
    let (_, _) = token_of(&s, "bob", None).await;
    let after = started.elapsed();
    assert!(
        after + std::time::Duration::from_millis(300) < waited,
        "a success ends the backoff: {after:?} vs {waited:?}"
    );

    // Guesses made at once wait for each other: of six wrong passwords sent together,
    // three are checked at once, the rest one at a time, and the last two of those wait
    // at least 250 and 1000 ms (the user has at least three and five failures by then):
    // 1.25 s and more, where six hashes side by side take a fraction of that.
    let started = std::time::Instant::now();
    let guesses = (0..6).map(|i| login(&s, password_body(by_name("bob"), &format!("guess-{i}"), None)));
    let answers = futures_util::future::join_all(guesses).await;
    assert!(answers.iter().all(|r| r.status == 401));
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_millis(1_200), "six parallel guesses took {took:?}");
}

async fn validation_rescoping_and_revocation(s: Server) {
    people(&s).await;
    let (alice, body) = token_of(&s, "alice", Some(project_named("alpha"))).await;
    let (bob, _) = token_of(&s, "bob", None).await;
    let subject = |caller: &str, subject: &str| {
        let (caller, subject) = (caller.to_owned(), subject.to_owned());
        let s = &s;
        move |method: Method| {
            let (caller, subject) = (caller.clone(), subject.clone());
            async move {
                s.raw(method, "/v3/auth/tokens", Some(&caller), &[("X-Subject-Token", subject.as_str())], None).await
            }
        }
    };
    let own = subject(&alice, &alice);
    let r = own(Method::GET).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["x-subject-token"], alice.as_str());
    assert_eq!(r.body["token"]["project"], body["token"]["project"]);
    assert_eq!(r.body["token"]["user"], body["token"]["user"]);
    assert_eq!(r.body["token"]["expires_at"], body["token"]["expires_at"]);
    assert_eq!(own(Method::HEAD).await.status, 200);
    let r = subject(&bob, &alice)(Method::GET).await;
    assert_eq!(r.status, 403, "another user's token: {}", r.text);
    assert_eq!(
        r.body["error"]["message"],
        "You are not authorized to perform the requested action: identity:validate_token."
    );
    assert_eq!(subject(ADMIN_TOKEN, &alice)(Method::GET).await.status, 200, "an administrator validates any");
    assert_eq!(subject(&alice, "ih_not-a-token")(Method::GET).await.status, 404);
    let r = s.raw(Method::GET, "/v3/auth/tokens", Some(&alice), &[], None).await;
    assert_eq!(r.status, 400, "no X-Subject-Token: {}", r.text);
    let r = s.raw(Method::GET, "/v3/auth/tokens", None, &[("X-Subject-Token", alice.as_str())], None).await;
    assert_eq!(r.status, 401, "no X-Auth-Token: {}", r.text);

    // Rescoping: to a project the user has a role on, no later than the first expires.
    let rescope = |token: &str, scope: Value| json!({ "auth": { "identity": { "methods": ["token"], "token": { "id": token } }, "scope": scope } });
    let r = login(&s, rescope(&alice, json!({ "project": { "id": PROJECT_B } }))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["token"]["methods"], json!(["token"]));
    assert_eq!(r.body["token"]["project"]["id"], PROJECT_B);
    assert_eq!(r.body["token"]["roles"][0]["name"], "reader");
    assert!(r.body["token"]["expires_at"].as_str().unwrap() <= body["token"]["expires_at"].as_str().unwrap());
    let rescoped = r.headers["x-subject-token"].to_str().unwrap().to_owned();
    assert_ne!(rescoped, alice);
    let r = login(&s, rescope(&bob, project_named("alpha"))).await;
    assert_eq!(r.status, 401, "no role there: {}", r.text);
    let r = login(&s, rescope(ADMIN_TOKEN, project_named("alpha"))).await;
    assert_eq!(r.status, 401, "a token no user was issued cannot be rescoped: {}", r.text);

    // Revocation: the token stops working at once, everywhere.
    let r = own(Method::DELETE).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = s.raw(Method::GET, "/v2/images", Some(&alice), &[("Accept", "application/json")], None).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(subject(ADMIN_TOKEN, &alice)(Method::GET).await.status, 404, "a revoked token is not found");
    assert_eq!(subject(&bob, &bob)(Method::DELETE).await.status, 204);
    // The rescoped one is a token of its own.
    assert_eq!(s.get(&format!("/v1/{PROJECT_B}/images"), &rescoped).await.status, 200);
}

async fn user_changes_end_their_tokens(s: Server) {
    let (alice, bob) = people(&s).await;
    let beta = s.catalog.project_by_name_or_id("beta", None).await.unwrap();
    let works = |t: String| {
        let s = &s;
        async move { s.raw(Method::GET, "/v2/images", Some(&t), &[("Accept", "application/json")], None).await.status }
    };
    let (on_alpha, _) = token_of(&s, "alice", None).await;
    let (on_beta, _) = token_of(&s, "alice", Some(project_named("beta"))).await;
    // Each token is used first, so that the server holds it in its credential cache.
    assert_eq!(works(on_alpha.clone()).await, 200);
    assert_eq!(works(on_beta.clone()).await, 200);
    // Another role on a project ends the tokens for it (they carry the old role).
    s.catalog.assign_role(&alice, &beta, Role::Member).await.unwrap();
    assert_eq!(works(on_beta).await, 401);
    assert_eq!(works(on_alpha.clone()).await, 200);
    let (on_beta, body) = token_of(&s, "alice", Some(project_named("beta"))).await;
    assert_eq!(body["token"]["roles"][0]["name"], "member");
    assert_eq!(works(on_beta.clone()).await, 200);
    // A role taken away ends the tokens for that project only.
    assert!(s.catalog.unassign_role(&alice, &beta).await.unwrap());
    assert_eq!(works(on_beta).await, 401);
    assert_eq!(works(on_alpha.clone()).await, 200);
    // A new password ends them all; the old password no longer logs in.
    s.catalog.set_password(&alice, "another-password").await.unwrap();
    assert_eq!(works(on_alpha).await, 401);
    assert_eq!(login(&s, password_body(by_name("alice"), PASSWORD, None)).await.status, 401);
    assert_eq!(login(&s, password_body(by_name("alice"), "another-password", None)).await.status, 201);
    // Disabling and deleting.
    let (bobs, _) = token_of(&s, "bob", None).await;
    assert_eq!(works(bobs.clone()).await, 200);
    s.catalog.set_user_enabled(&bob, false).await.unwrap();
    assert_eq!(works(bobs).await, 401);
    s.catalog.set_user_enabled(&bob, true).await.unwrap();
    let (bobs, _) = token_of(&s, "bob", None).await;
    assert_eq!(works(bobs.clone()).await, 200);
    assert!(s.catalog.delete_user(&bob).await.unwrap());
    assert_eq!(works(bobs).await, 401);
    assert_eq!(login(&s, password_body(by_name("bob"), PASSWORD, None)).await.status, 401);
}

async fn lookups_answer_what_the_caller_may_know(s: Server) {
    let (alice, bob) = people(&s).await;
    let (member, _) = token_of(&s, "alice", None).await;
    let r = s.get(&format!("/v3/projects/{PROJECT_A}"), &member).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["project"]["name"], "alpha");
    assert_eq!(r.body["project"]["domain_id"], "default");
    let r = s.get(&format!("/v3/projects/{PROJECT_B}"), &member).await;
    assert_eq!(r.status, 403, "another project: {}", r.text);
    assert_eq!(
        r.body["error"]["message"],
        "You are not authorized to perform the requested action: identity:get_project."
    );
    assert_eq!(s.get("/v3/projects?name=beta", &member).await.status, 403);
    assert_eq!(s.get(&format!("/v3/users/{}", alice.id), &member).await.body["user"]["name"], "alice");
    assert_eq!(s.get(&format!("/v3/users/{}", bob.id), &member).await.status, 403);
    assert_eq!(s.get("/v3/users?name=bob", &member).await.status, 403);
    let r = s.get("/v3/auth/projects", &member).await;
    let mut names: Vec<&str> =
        r.body["projects"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["alpha", "beta"], "{}", r.text);
    assert_eq!(s.get(&format!("/v3/users/{}/projects", alice.id), &member).await.status, 200);
    assert_eq!(s.get(&format!("/v3/users/{}/projects", bob.id), &member).await.status, 403);
    let r = s.get("/v3/domains/default", &member).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["domain"]["name"], "Default");
    assert_eq!(s.get("/v3/domains/Other", &member).await.status, 404);

    // An administrator reads everything.
    let r = s.get(&format!("/v3/projects/{PROJECT_B}"), ADMIN_TOKEN).await;
    assert_eq!(r.body["project"]["name"], "beta", "{}", r.text);
    let r = s.get("/v3/projects?name=beta&domain_id=default", ADMIN_TOKEN).await;
    assert_eq!(r.body["projects"].as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(r.body["projects"][0]["id"], PROJECT_B);
    let r = s.get("/v3/projects?name=gamma", ADMIN_TOKEN).await;
    assert_eq!(r.body["projects"], json!([]));
    let r = s.get("/v3/users?name=bob", ADMIN_TOKEN).await;
    assert_eq!(r.body["users"][0]["id"], bob.id, "{}", r.text);
    assert!(r.body["users"][0].get("password").is_none() && !r.text.contains("argon2"), "no password: {}", r.text);
    assert_eq!(s.get("/v3/domains?name=Default", ADMIN_TOKEN).await.body["domains"][0]["id"], "default");
    let r = s.get(&format!("/v3/projects/{}", "c".repeat(32)), ADMIN_TOKEN).await;
    assert_eq!(r.status, 404, "{}", r.text);
    // No token: 401 with where to log in.
    let r = s.call(Method::GET, &format!("/v3/projects/{PROJECT_A}"), None, None).await;
    assert_eq!(r.status, 401);
    assert!(r.headers.contains_key("www-authenticate"));
}

both_backends!(
    versions_and_the_token_shape,
    the_tokens_work_on_every_face,
    every_refused_login_reads_the_same,
    repeated_failures_slow_the_next_login_down,
    validation_rescoping_and_revocation,
    user_changes_end_their_tokens,
    lookups_answer_what_the_caller_may_know,
);

/// `publicize = admin` and `communitize = admin`: members are refused on every face that
/// sets a visibility, administrators are not, and an image that is public already may be
/// changed otherwise by its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publicizing_follows_the_operators_policy() {
    use imagehub_catalog::{Policy, PolicyRule};
    let s = Server::sqlite_with_policy(Policy { publicize: PolicyRule::Admin, communitize: PolicyRule::Admin }).await;
    let member = s.token(PROJECT_A, "member").await;
    let json_accept = [("Accept", "application/json")];
    let patch_to =
        |visibility: &str| json!([{ "op": "replace", "path": "/visibility", "value": visibility }]).to_string();
    for visibility in ["public", "community"] {
        let r = s
            .call(Method::POST, "/v2/images", Some(&member), Some(json!({ "name": "x", "visibility": visibility })))
            .await;
        assert_eq!(r.status, 403, "{visibility}: {}", r.text);
        let rule = if visibility == "public" { "publicize_image" } else { "communitize_image" };
        assert!(r.text.contains(&format!("Policy doesn't allow {rule} to be performed.")), "{}", r.text);
    }
    let mine = s.call(Method::POST, "/v2/images", Some(&member), Some(json!({ "name": "mine" }))).await;
    let id = mine.body["id"].as_str().unwrap().to_owned();
    let patch = json!([{ "op": "replace", "path": "/visibility", "value": "public" }]).to_string();
    let ct = ("Content-Type", "application/openstack-images-v2.1-json-patch");
    let r = s.raw(Method::PATCH, &format!("/v2/images/{id}"), Some(&member), &[ct, json_accept[0]], Some(&patch)).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = s
        .raw(
            Method::PATCH,
            &format!("/v2/images/{id}"),
            Some(&member),
            &[ct, json_accept[0]],
            Some(&patch_to("community")),
        )
        .await;
    assert_eq!(r.status, 403, "to community: {}", r.text);
    assert!(r.text.contains("communitize_image"), "{}", r.text);
    let r = s
        .call(
            Method::POST,
            &format!("/v1/{PROJECT_A}/images"),
            Some(&member),
            Some(json!({ "swr_path": "swr.example.com/ns/pub:1", "visibility": "PUBLIC" })),
        )
        .await;
    assert_eq!(r.status, 403, "ModelArts RegisterImage PUBLIC: {}", r.text);
    assert!(r.body["error_msg"].as_str().unwrap().contains("publicize_image"), "{}", r.text);
    let r = s
        .call(
            Method::POST,
            &format!("/v1/{PROJECT_A}/images"),
            Some(&member),
            Some(json!({ "swr_path": "swr.example.com/ns/pub:1", "visibility": "PRIVATE" })),
        )
        .await;
    assert_eq!(r.status, 200, "PRIVATE stays allowed: {}", r.text);
    // An administrator publicizes; the owner then changes the public image otherwise.
    let r =
        s.raw(Method::PATCH, &format!("/v2/images/{id}"), Some(ADMIN_TOKEN), &[ct, json_accept[0]], Some(&patch)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rename = json!([{ "op": "replace", "path": "/name", "value": "renamed" }]).to_string();
    let r =
        s.raw(Method::PATCH, &format!("/v2/images/{id}"), Some(&member), &[ct, json_accept[0]], Some(&rename)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["visibility"], "public");
}

/// A credential store that, when the token of a login of `user` is about to be stored,
/// first disables the user and revokes its tokens, as `imagehub user disable` would
/// between the login's check of the password and its storing of the token.
struct DisablesFirst {
    inner: std::sync::Arc<dyn imagehub_catalog::CredentialStore>,
    identity: std::sync::Arc<dyn imagehub_catalog::IdentityStore>,
    user: std::sync::Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl imagehub_catalog::CredentialStore for DisablesFirst {
    async fn insert_token(&self, token: &imagehub_catalog::TokenRecord) -> imagehub_catalog::Result<()> {
        let target = self.user.lock().unwrap().clone();
        if let (Some(target), Some(user)) = (target, &token.user)
            && *user == target
        {
            let u = self.identity.get_user(user).await?.unwrap();
            self.identity.update_user(&UserRecord { enabled: false, ..u }).await?;
            self.inner.revoke_user_tokens(user, None, imagehub_catalog::Millis::now()).await?;
        }
        self.inner.insert_token(token).await
    }
    async fn find_token(&self, hash: &str) -> imagehub_catalog::Result<Option<imagehub_catalog::TokenRecord>> {
        self.inner.find_token(hash).await
    }
    async fn list_tokens(&self) -> imagehub_catalog::Result<Vec<imagehub_catalog::TokenRecord>> {
        self.inner.list_tokens().await
    }
    async fn revoke_token(&self, id: &str, at: imagehub_catalog::Millis) -> imagehub_catalog::Result<bool> {
        self.inner.revoke_token(id, at).await
    }
    async fn touch_token(&self, hash: &str, at: imagehub_catalog::Millis) -> imagehub_catalog::Result<()> {
        self.inner.touch_token(hash, at).await
    }
    async fn delete_tokens_expired_before(&self, before: imagehub_catalog::Millis) -> imagehub_catalog::Result<u64> {
        self.inner.delete_tokens_expired_before(before).await
    }
    async fn insert_access_key(&self, key: &imagehub_catalog::AccessKeyRecord) -> imagehub_catalog::Result<()> {
        self.inner.insert_access_key(key).await
    }
    async fn find_access_key(&self, ak: &str) -> imagehub_catalog::Result<Option<imagehub_catalog::AccessKeyRecord>> {
        self.inner.find_access_key(ak).await
    }
    async fn list_access_keys(&self) -> imagehub_catalog::Result<Vec<imagehub_catalog::AccessKeyRecord>> {
        self.inner.list_access_keys().await
    }
    async fn revoke_access_key(&self, ak: &str, at: imagehub_catalog::Millis) -> imagehub_catalog::Result<bool> {
        self.inner.revoke_access_key(ak, at).await
    }
    async fn revoke_user_tokens(
        &self,
        user: &str,
        project: Option<&ProjectId>,
        at: imagehub_catalog::Millis,
    ) -> imagehub_catalog::Result<u64> {
        self.inner.revoke_user_tokens(user, project, at).await
    }
}

/// A user disabled while its login runs (after the password was checked, before the
/// token was stored) gets no token that works: the login sees the change when it reads
/// the user again, and undoes its token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_racing_a_disable_gives_no_live_token() {
    let racing = std::sync::Arc::new(std::sync::Mutex::new(None::<std::sync::Arc<DisablesFirst>>));
    let slot = racing.clone();
    let s = Server::sqlite_wrapped(move |stores| {
        let store = std::sync::Arc::new(DisablesFirst {
            inner: stores.credentials.clone(),
            identity: stores.identity.clone(),
            user: std::sync::Mutex::new(None),
        });
        *slot.lock().unwrap() = Some(store.clone());
        imagehub_catalog::Stores { credentials: store, ..stores }
    })
    .await;
    let (alice, _) = people(&s).await;
    let store = racing.lock().unwrap().clone().unwrap();
    *store.user.lock().unwrap() = Some(alice.id.clone());
    let r = login(&s, password_body(by_name("alice"), PASSWORD, None)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.headers.get("x-subject-token").is_none());
    let tokens = s.catalog.list_tokens().await.unwrap();
    let theirs: Vec<_> = tokens.iter().filter(|t| t.user.as_deref() == Some(alice.id.as_str())).collect();
    assert_eq!(theirs.len(), 1, "{tokens:?}");
    assert!(theirs[0].revoked_at.is_some(), "the token stored meanwhile is undone: {:?}", theirs[0]);
}

/// A token revoked a moment ago cannot be rescoped, even on a node that still holds it
/// in its credential cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_a_moment_ago_cannot_be_rescoped() {
    let s = Server::sqlite().await;
    people(&s).await;
    let (token, _) = token_of(&s, "alice", None).await;
    // Used: the server holds it now.
    let r = s.raw(Method::GET, "/v2/images", Some(&token), &[("Accept", "application/json")], None).await;
    assert_eq!(r.status, 200);
    // Revoked in the store directly (no wait for caches).
    let id = imagehub_catalog::token::id_of(&imagehub_catalog::token::hash(&token)).to_owned();
    assert!(s.stores.credentials.revoke_token(&id, imagehub_catalog::Millis::now()).await.unwrap());
    let body = json!({ "auth": { "identity": { "methods": ["token"], "token": { "id": token } },
        "scope": { "project": { "id": PROJECT_B } } } });
    let r = login(&s, body).await;
    assert_eq!(r.status, 401, "{}", r.text);
}
