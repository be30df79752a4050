//! `GET /api/tickets`: available tickets oldest first (`status=any` for
//! all), pages by `limit` and `after`, paging while tickets are created,
//! and odd query strings.

use super::*;

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(id_of)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_available_tickets_oldest_first_and_status_any_shows_all() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(id_of(
            &app.create_ticket(&seller, &format!("T{i}"), json!(10 + i))
                .await,
        ));
    }
    // T1 reserved, T2 sold, T3 deleted.
    app.reserve(&buyer, &created[1]).await;
    let o = app.reserve(&buyer, &created[2]).await;
    app.pay(&buyer, &id_of(&o)).await;
    app.delete(
        &format!("/api/tickets/{}", created[3]),
        Auth::Bearer(&seller),
    )
    .await
    .expect(204);

    let list = app.get("/api/tickets", Auth::None).await.json(200);
    assert_eq!(ids(&list), vec![created[0].clone(), created[4].clone()]);
    for t in list.as_array().unwrap() {
        assert_ticket_shape(t);
        assert_eq!(t["status"], json!("available"));
    }
    // Signed in, the list is the same.
    let list2 = app
        .get("/api/tickets", Auth::Bearer(&buyer))
        .await
        .json(200);
    assert_eq!(list, list2);

    let all = app
        .get("/api/tickets?status=any", Auth::None)
        .await
        .json(200);
    assert_eq!(
        ids(&all),
        vec![
            created[0].clone(),
            created[1].clone(),
            created[2].clone(),
            created[4].clone()
        ],
        "status=any lists every ticket that exists, oldest first"
    );
    let statuses: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["available", "reserved", "sold", "available"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_limit_and_after() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let mut all = Vec::new();
    for i in 0..105 {
        all.push(id_of(
            &app.create_ticket(&seller, &format!("P{i}"), json!(1)).await,
        ));
    }
    let page = |q: String| {
        let app = &app;
        async move {
            ids(&app
                .get(&format!("/api/tickets{q}"), Auth::None)
                .await
                .json(200))
        }
    };
    assert_eq!(
        page(String::new()).await,
        all[..100].to_vec(),
        "default limit is 100"
    );
    assert_eq!(page("?limit=1000".into()).await, all);
    assert_eq!(page("?limit=3".into()).await, all[..3].to_vec());
    assert_eq!(
        page(format!("?limit=3&after={}", all[2])).await,
        all[3..6].to_vec()
    );
    assert_eq!(
        page(format!("?after={}&limit=3", all[101])).await,
        all[102..105].to_vec()
    );
    assert_eq!(
        page(format!("?after={}", all[104])).await,
        Vec::<String>::new()
    );
    assert_eq!(
        page(format!("?status=any&limit=2&after={}", all[50])).await,
        all[51..53].to_vec()
    );

    // `after` a ticket that is no longer available still starts after it.
    app.reserve(&buyer, &all[10]).await;
    assert_eq!(
        page(format!("?limit=2&after={}", all[10])).await,
        all[11..13].to_vec()
    );
    assert_eq!(
        page(format!("?limit=2&after={}", all[9])).await,
        all[11..13].to_vec()
    );

    // A limit above 1000 is capped or refused, never honoured beyond 1000.
    let r = app.get("/api/tickets?limit=5000", Auth::None).await;
    assert!(r.status == 200 || r.status == 400, "{}", r.text);
    for bad in ["?limit=abc", "?limit=-1", "?limit=1.5"] {
        let r = app.get(&format!("/api/tickets{bad}"), Auth::None).await;
        r.error(400, None, None);
    }
    let r = app
        .get("/api/tickets?after=does-not-exist", Auth::None)
        .await;
    assert!([200, 400, 404].contains(&r.status), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_through_1005_tickets_created_concurrently_sees_each_once() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let mut set = tokio::task::JoinSet::new();
    for w in 0..15 {
        let (api, s) = (app.api.clone(), seller.clone());
        set.spawn(async move {
            let mut ids = Vec::new();
            for i in 0..67 {
                ids.push(id_of(
                    &api.create_ticket(&s, &format!("W{w} #{i}"), json!(1)).await,
                ));
            }
            ids
        });
    }
    let mut created = std::collections::HashSet::new();
    while let Some(ids) = set.join_next().await {
        created.extend(ids.unwrap());
    }
    assert_eq!(created.len(), 1005, "every create got its own id");

    let full = ids(&app
        .get("/api/tickets?limit=1000", Auth::None)
        .await
        .json(200));
    assert_eq!(full.len(), 1000, "limit=1000 gives 1000");
    let r = app.get("/api/tickets?limit=5000", Auth::None).await;
    match r.status {
        200 => assert!(
            r.body.as_array().unwrap().len() <= 1000,
            "at most 1000 per page"
        ),
        400 => {
            r.error(400, None, None);
        }
        s => panic!("limit=5000 got {s}"),
    }
    // Walk the pages: each ticket exactly once, in the same order as the big page.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = match &after {
            Some(a) => format!("/api/tickets?limit=97&after={a}"),
            None => "/api/tickets?limit=97".to_string(),
        };
        let page = ids(&app.get(&q, Auth::None).await.json(200));
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 97);
        after = page.last().cloned();
        seen.extend(page);
        assert!(seen.len() <= 1005, "paging does not loop");
    }
    assert_eq!(seen.len(), 1005);
    assert_eq!(
        seen.iter().collect::<std::collections::HashSet<_>>().len(),
        1005,
        "no duplicates"
    );
    assert_eq!(
        seen[..1000],
        full[..],
        "pages follow the same order as one big page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_query_strings_are_handled() {
    let app = spawn_app().await;
    app.some_ticket().await;
    for q in [
        "?",
        "?limit=10&limit=20",
        "?after=",
        "?status=",
        "?status=bogus",
        "?status=sold",
        "?status=any&status=bogus",
        "?limit=0",
        "?limit=99999999999999999999",
        "?unknown=1",
        "?%ZZ=1",
        "?limit=%00",
    ] {
        let r = app.get(&format!("/api/tickets{q}"), Auth::None).await;
        assert!(
            r.status == 200 || r.status == 400,
            "{q}: {} {}",
            r.status,
            r.text
        );
        if r.status == 200 {
            assert!(r.body.is_array(), "{q}: {}", r.text);
        } else {
            r.error(400, None, None);
        }
    }
}
