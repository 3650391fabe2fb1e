//! SCNet's access-key login (`POST /api/user/v3/tokens`) and token check (`GET /ac/openapi/v2/tokens/state`).

use imagehub_catalog::Millis;
use serde_json::json;

use crate::common::{PROJECT_A, Resp, Server};
use imagehub_catalog::secrets::{hex, hmac_sha256};

use crate::signed::{Key, key};

fn scnet_login_headers(k: &Key, user: &str, ts: i64, secret: &str) -> Vec<(String, String)> {
    let message = format!(r#"{{"accessKey":"{}","timestamp":"{ts}","user":"{user}"}}"#, k.ak);
    let sig = hex(&hmac_sha256(secret.as_bytes(), message.as_bytes()));
    vec![
        ("user".into(), user.into()),
        ("accessKey".into(), k.ak.clone()),
        ("timestamp".into(), ts.to_string()),
        ("signature".into(), sig),
    ]
}

async fn login(s: &Server, headers: &[(String, String)]) -> Resp {
    let mut req = s.http.post(format!("{}/api/user/v3/tokens", s.base));
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    Server::read(req.send().await.unwrap()).await
}

async fn scnet_access_key_login(s: Server) {
    let k = key(&s, PROJECT_A).await;
    let now = Millis::now().0 / 1000;
    let r = login(&s, &scnet_login_headers(&k, "alice", now, &k.sk)).await;
    assert_eq!(r.body["code"], "0", "{}", r.text);
    let entry = &r.body["data"][0];
    assert!(entry["clusterId"].is_string() && entry["clusterName"].is_string());
    let token = entry["token"].as_str().unwrap().to_owned();
    let state = Server::read(
        s.http.get(format!("{}/ac/openapi/v2/tokens/state", s.base)).header("token", &token).send().await.unwrap(),
    )
    .await;
    assert_eq!(state.body, json!({"code": "0", "msg": "success", "data": "token is valid"}));
    let images = Server::read(
        s.http
            .get(format!("{}/ai/openapi/v2/instance-service/images", s.base))
            .header("token", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(images.body["code"], "0");
    // Refusals.
    for (what, headers, code) in [
        ("wrong secret", scnet_login_headers(&k, "alice", now, "wrong"), "10009"),
        ("20 minutes old", scnet_login_headers(&k, "alice", now - 1200, &k.sk), "10009"),
        ("the earliest time there is", scnet_login_headers(&k, "alice", i64::MIN, &k.sk), "10009"),
        ("the latest time there is", scnet_login_headers(&k, "alice", i64::MAX, &k.sk), "10009"),
        (
            "signature for another user",
            {
                let mut h = scnet_login_headers(&k, "alice", now, &k.sk);
                h[0].1 = "mallory".into();
                h
            },
            "10009",
        ),
        ("missing signature", scnet_login_headers(&k, "alice", now, &k.sk)[..3].to_vec(), "10003"),
    ] {
        let r = login(&s, &headers).await;
        assert_eq!(r.body["code"], code, "{what}: {}", r.text);
        assert!(r.body["data"].is_null());
    }
    // Tokens expire: 10008, which SCNet clients read as "log in again".
    let caller = s.catalog.authenticate_token(&token).await.unwrap();
    let (short, _) = s.catalog.issue_token(&caller, 1, None, &k.ak).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    for path in ["/ac/openapi/v2/tokens/state", "/ai/openapi/v2/instance-service/images"] {
        let r =
            Server::read(s.http.get(format!("{}{path}", s.base)).header("token", &short).send().await.unwrap()).await;
        assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (401, Some("10008")), "{path}: {}", r.text);
    }
    let r = s.get(&format!("/v1/{PROJECT_A}/images"), &short).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (401, Some("ModelArts.0203")));
    assert_eq!(s.get("/v2/images", &short).await.status, 401, "the Glance face refuses it too");

    // An unknown key and a wrong signature get the same words.
    let wrong = login(&s, &scnet_login_headers(&k, "alice", now, "wrong")).await;
    let ghost = Key { ak: "NOSUCHKEY00000000000".into(), sk: k.sk.clone() };
    let unknown = login(&s, &scnet_login_headers(&ghost, "alice", now, &k.sk)).await;
    assert_eq!((unknown.body["code"].as_str(), &unknown.body["msg"]), (Some("10009"), &wrong.body["msg"]));
    // A user name that is not ASCII is there, and invalid.
    let mut headers = scnet_login_headers(&k, "alice", now, &k.sk);
    let r = {
        let mut req = s.http.post(format!("{}/api/user/v3/tokens", s.base));
        for (name, v) in &headers[1..] {
            req = req.header(name.as_str(), v.as_str());
        }
        let user = reqwest::header::HeaderValue::from_bytes("j\u{f6}rg".as_bytes()).unwrap();
        Server::read(req.header("user", user).send().await.unwrap()).await
    };
    assert_eq!(r.body["code"], "10004", "{}", r.text);
    assert!(r.body["msg"].as_str().unwrap().contains("user"), "{}", r.text);

    // Revoking the key ends the tokens its logins issued, for reads and writes alike.
    headers = scnet_login_headers(&k, "bob", now, &k.sk);
    let second = login(&s, &headers).await.body["data"][0]["token"].as_str().unwrap().to_owned();
    assert!(s.catalog.revoke_access_key(&k.ak).await.unwrap());
    for t in [&token, &second] {
        let r = Server::read(
            s.http.get(format!("{}/ac/openapi/v2/tokens/state", s.base)).header("token", t).send().await.unwrap(),
        )
        .await;
        assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (401, Some("10009")), "{}", r.text);
        let body = json!({"swr_path": "swr.example.com/ns/after-revoke:1"});
        let r = s.call(reqwest::Method::POST, &format!("/v1/{PROJECT_A}/images"), Some(t), Some(body)).await;
        assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (401, Some("ModelArts.0203")), "{}", r.text);
    }
    // And the token list says so (the same rule).
    let listed = s.catalog.list_tokens_with_state().await.unwrap();
    let hash = imagehub_catalog::token::hash(&second);
    let (_, state) = listed.iter().find(|(t, _)| t.hash == hash).expect("the login's token is listed");
    assert_eq!(*state, imagehub_catalog::TokenState::Revoked);
}

/// Tokens that expired more than a week ago are deleted by a login; younger ones stay
/// listed as expired.
async fn long_expired_tokens_are_purged(s: Server) {
    let k = key(&s, PROJECT_A).await;
    let caller = s.catalog.authenticate_token(&s.token(PROJECT_A, "member").await).await.unwrap();
    let day = 86_400_000;
    // The first login of this process purges (the next only an hour later).
    let (old, _) = s.catalog.issue_token(&caller, -8 * day, Some("eight days ago".into()), &k.ak).await.unwrap();
    let (recent, _) = s.catalog.issue_token(&caller, -day, Some("a day ago".into()), &k.ak).await.unwrap();
    let hashes = [imagehub_catalog::token::hash(&recent), imagehub_catalog::token::hash(&old)];
    let mut listed = Vec::new();
    for _ in 0..100 {
        listed = s.catalog.list_tokens().await.unwrap();
        if !listed.iter().any(|t| t.hash == hashes[1]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!listed.iter().any(|t| t.hash == hashes[1]), "the week-old token was not purged");
    assert!(listed.iter().any(|t| t.hash == hashes[0]), "a day-old token was purged");
}

both_backends!(scnet_access_key_login, long_expired_tokens_are_purged,);
