//! The endpoints the UI's newer pages use (issue 16), with their roles:
//! a scenario's baseline run (marked by editors, refused to viewers, only
//! a finished run of that scenario; the default of `compare`, also from
//! the CLI as `stampede compare -b baseline RUN`), changing a run's VUs
//! (editors, runs in flight), the script's thresholds stored with the run,
//! and the admin page's
//! reads (`GET /settings`, `GET /users/{id}/tokens` without secrets, the
//! `/admin` page itself) refused to everyone but admins.

use serde_json::json;

use super::harness::*;

fn create_user(addr: &str, admin: &str, name: &str, role: &str) -> (i64, String) {
    let password = format!("{name}-password-1");
    let (s, v) = call(
        addr,
        "POST",
        "/api/v1/users",
        Some(admin),
        Some(json!({"username": name, "password": password, "role": role})),
    );
    assert_eq!(s, 201, "{v}");
    (v["id"].as_i64().unwrap(), login(addr, name, &password))
}

fn finished_run(addr: &str, token: &str, scenario: i64, base: &str) -> i64 {
    let run = start_run(
        addr,
        token,
        scenario,
        json!({"vus": 1, "iterations": 3, "env": {"BASE": base}}),
    );
    wait_final(addr, token, run);
    run
}

#[test]
fn baselines_and_admin_reads_with_their_roles() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let addr = server.addr.clone();
    let admin = login(&addr, "admin", ADMIN_PASSWORD);
    let (editor_id, editor) = create_user(&addr, &admin, "eddie", "editor");
    let (_, viewer) = create_user(&addr, &admin, "vera", "viewer");

    // Baselines: none yet; only a finished run of the scenario; editors.
    let scenario = create_scenario(&addr, &editor, "smoke", SCRIPT);
    let other = create_scenario(&addr, &editor, "other", SCRIPT);
    let first = finished_run(&addr, &editor, scenario, &target.url());
    let second = finished_run(&addr, &editor, scenario, &target.url());
    let foreign = finished_run(&addr, &editor, other, &target.url());
    let path = format!("/api/v1/scenarios/{scenario}/baseline");
    let (s, v) = call(&addr, "GET", &path, Some(&viewer), None);
    assert_eq!(s, 404, "{v}");
    let (s, v) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{second}/compare/baseline"),
        Some(&viewer),
        None,
    );
    assert_eq!(s, 404, "{v}");
    let (s, _) = call(
        &addr,
        "PUT",
        &path,
        Some(&viewer),
        Some(json!({"run_id": first})),
    );
    assert_eq!(s, 403);
    let (s, v) = call(
        &addr,
        "PUT",
        &path,
        Some(&editor),
        Some(json!({"run_id": foreign})),
    );
    assert!((400..500).contains(&s) && s != 404, "{s} {v}");
    let (s, v) = call(
        &addr,
        "PUT",
        &path,
        Some(&editor),
        Some(json!({"run_id": "x"})),
    );
    assert!((400..500).contains(&s), "{s} {v}");
    let (s, v) = call(
        &addr,
        "PUT",
        &path,
        Some(&editor),
        Some(json!({"run_id": first})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["run_id"].as_i64(), Some(first), "{v}");
    let (s, v) = call(&addr, "GET", "/api/v1/baselines", Some(&viewer), None);
    assert_eq!(s, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(
        (
            items[0]["scenario_id"].as_i64(),
            items[0]["run_id"].as_i64()
        ),
        (Some(scenario), Some(first))
    );
    // The run compared with its scenario's baseline, as /compare/{a}/{b}.
    let (s, by_mark) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{second}/compare/baseline"),
        Some(&viewer),
        None,
    );
    assert_eq!(s, 200, "{by_mark}");
    let (_, by_ids) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{first}/compare/{second}"),
        Some(&viewer),
        None,
    );
    assert_eq!(by_mark["comparison"], by_ids["comparison"]);
    assert!(by_mark["passed"].is_boolean(), "{by_mark}");

    // The CLI, as CI calls it: the baseline compared with itself passes.
    let cfg = tempfile::tempdir().unwrap();
    let cfg_dir = cfg.path().to_str().unwrap();
    let out = stampede(
        &["login", &server.url()],
        &[("STAMPEDE_CONFIG_DIR", cfg_dir)],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let envs = [("STAMPEDE_CONFIG_DIR", cfg_dir)];
    let out = stampede(
        &["compare", "-b", "baseline", &first.to_string()],
        &envs,
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = stampede(
        &["compare", "-b", "baseline", &foreign.to_string()],
        &envs,
        "",
    );
    assert_eq!(out.status.code(), Some(2), "no baseline for that scenario");
    assert!(
        text(&out.stderr).contains("no baseline"),
        "{}",
        text(&out.stderr)
    );

    // Replaced, then cleared (editors); clearing nothing is a 404.
    let (s, v) = call(
        &addr,
        "PUT",
        &path,
        Some(&editor),
        Some(json!({"run_id": second})),
    );
    assert_eq!((s, v["run_id"].as_i64()), (200, Some(second)), "{v}");
    let (s, _) = call(&addr, "DELETE", &path, Some(&viewer), None);
    assert_eq!(s, 403);
    let (s, _) = call(&addr, "DELETE", &path, Some(&editor), None);
    assert_eq!(s, 204);
    let (s, _) = call(&addr, "DELETE", &path, Some(&editor), None);
    assert_eq!(s, 404);

    // Changing VUs: editors only, and only a run in flight with an
    // externally-controlled scenario (the browser test changes one).
    let run_path = format!("/api/v1/runs/{first}");
    let (s, _) = call(
        &addr,
        "PATCH",
        &run_path,
        Some(&viewer),
        Some(json!({"vus": 2})),
    );
    assert_eq!(s, 403);
    let (s, v) = call(
        &addr,
        "PATCH",
        &run_path,
        Some(&editor),
        Some(json!({"vus": 2})),
    );
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not in flight"),
        "{v}"
    );
    let (s, _) = call(
        &addr,
        "PATCH",
        &run_path,
        Some(&editor),
        Some(json!({"vus": -1})),
    );
    assert!((400..500).contains(&s) && s != 409, "{s}");
    // The script's own thresholds are stored with the run as resolved:
    // the run view and the reports list them.
    let (_, r) = call(&addr, "GET", &run_path, Some(&viewer), None);
    assert_eq!(
        r["options"]["thresholds"]["http_req_failed"][0]["threshold"], "rate<0.01",
        "{r}"
    );

    // Admin reads: the settings, with where each is set.
    for who in [&viewer, &editor] {
        let (s, _) = call(&addr, "GET", "/api/v1/settings", Some(who), None);
        assert_eq!(s, 403);
    }
    let (s, v) = call(&addr, "GET", "/api/v1/settings", Some(&admin), None);
    assert_eq!(s, 200, "{v}");
    assert!(v["allow_targets"]["value"].is_array(), "{v}");
    assert!(
        v["allow_targets"]["set_by"]
            .as_str()
            .unwrap()
            .contains("--allow-target"),
        "{v}"
    );

    // Another user's tokens: listed for admins, never with their secret.
    let (s, t) = call(
        &addr,
        "POST",
        "/api/v1/tokens",
        Some(&editor),
        Some(json!({"name": "ci"})),
    );
    assert_eq!(s, 201, "{t}");
    let secret = t["token"].as_str().unwrap().to_string();
    let tokens = format!("/api/v1/users/{editor_id}/tokens");
    let (s, list) = call(&addr, "GET", &tokens, Some(&admin), None);
    assert_eq!(s, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["name"], "ci");
    assert!(!list.to_string().contains(&secret[4..]), "{list}");
    let (s, _) = call(&addr, "GET", &tokens, Some(&editor), None);
    assert_eq!(s, 403, "not even one's own through the admin route");
    let (s, _) = call(
        &addr,
        "GET",
        "/api/v1/users/999999/tokens",
        Some(&admin),
        None,
    );
    assert_eq!(s, 404);
    // The users list carries no password hash.
    let (_, users) = call(&addr, "GET", "/api/v1/users", Some(&admin), None);
    assert!(!users.to_string().contains("argon2"), "{users}");

    // The admin page: admins only; without a session, the login page.
    let page = |token: Option<&str>| {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let (s, head, body) = http_raw(&addr, "GET", "/admin", &headers, b"");
        (s, head, text(&body))
    };
    let (s, _, body) = page(Some(&admin));
    assert_eq!(s, 200);
    assert!(body.contains("<title>Admin"), "{body}");
    for who in [&viewer, &editor] {
        let (s, _, body) = page(Some(who));
        assert_eq!(s, 403, "{body}");
        assert!(!body.contains("<title>Admin"), "{body}");
    }
    let (s, head, _) = page(None);
    assert!((300..400).contains(&s), "{s} {head}");
    assert!(head.contains("/login?next=%2Fadmin"), "{head}");
}
