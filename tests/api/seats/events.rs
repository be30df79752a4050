//! Events: creation makes every seat, reads show the map with its counts,
//! seats list in map order with filters, seats are tickets that the ticket
//! routes read but do not change or list, and deletion's rules.

use serde_json::json;

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn an_event_is_created_with_every_seat_available_in_map_order() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    assert_eq!(e["name"], "Gig");
    assert_eq!(e["venue"], "Hall");
    assert_eq!(e["startsAt"], "2030-06-01T19:00:00Z");
    assert_eq!(e["onSaleAt"], json!(null));
    assert_eq!(e["organizerId"], json!(org.id));
    assert_eq!(e["queue"], json!(false));
    assert_eq!(
        e["seats"],
        json!({"total": 15, "available": 15, "reserved": 0, "sold": 0})
    );
    let stalls = &e["sections"][0];
    assert_eq!(stalls["capacity"], json!(null));
    assert_eq!(
        stalls["rows"],
        json!([{"label": "A", "seats": 4}, {"label": "B", "seats": 6}])
    );
    assert_eq!(stalls["available"], 10);
    let floor = &e["sections"][1];
    assert_eq!(floor["rows"], json!(null));
    assert_eq!(
        (floor["capacity"].clone(), floor["price"].clone()),
        (json!(5), json!(15.5))
    );

    let id = id_of(&e);
    assert_eq!(
        app.get(&format!("/api/events/{id}"), Auth::None)
            .await
            .json(200),
        e
    );
    let seats = all_seats(&app, &id).await;
    assert_eq!(seats.len(), 15);
    let places: Vec<(String, Value, Value)> = seats
        .iter()
        .map(|s| {
            (
                s["seat"]["section"].as_str().unwrap().to_owned(),
                s["seat"]["row"].clone(),
                s["seat"]["number"].clone(),
            )
        })
        .collect();
    assert_eq!(places[0], ("Stalls".into(), json!("A"), json!(1)));
    assert_eq!(places[3], ("Stalls".into(), json!("A"), json!(4)));
    assert_eq!(places[4], ("Stalls".into(), json!("B"), json!(1)));
    assert_eq!(places[10], ("Floor".into(), json!(null), json!(null)));
    for s in &seats {
        assert_eq!(s["eventId"], json!(id));
        assert_eq!(s["status"], "available");
        assert_eq!(s["version"], 0);
        assert_eq!(s["title"], "Gig");
        assert_eq!(s["date"], "2030-06-01T19:00:00Z");
        assert_eq!(s["userId"], json!(org.id));
        // A seat is a ticket.
        assert_eq!(app.ticket(&id_of(s)).await, *s);
    }
    assert_eq!(seats[0]["price"], json!(30));
    assert_eq!(seats[14]["price"], json!(15.5));
    // Tickets sold on their own are listed; seats are not.
    assert!(app.all_tickets().await.is_empty());
}

#[tokio::test]
async fn seats_filter_by_section_and_status_and_page() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let id = id_of(&e);
    let floor = app
        .get(&format!("/api/events/{id}/seats?section=Floor"), Auth::None)
        .await
        .json(200);
    assert_eq!(floor.as_array().unwrap().len(), 5);
    app.get(
        &format!("/api/events/{id}/seats?section=Balcony"),
        Auth::None,
    )
    .await
    .error(400, None, Some("section"));
    let seats = all_seats(&app, &id).await;
    let buyer = app.signup().await;
    order_seats(&app, &buyer, &ids(&seats[0..2]))
        .await
        .expect(201);
    let free = app
        .get(
            &format!("/api/events/{id}/seats?status=available&limit=3"),
            Auth::None,
        )
        .await
        .json(200);
    assert_eq!(ids(free.as_array().unwrap()), ids(&seats[2..5]));
    let page = app
        .get(
            &format!("/api/events/{id}/seats?limit=2&after={}", id_of(&seats[3])),
            Auth::None,
        )
        .await
        .json(200);
    assert_eq!(ids(page.as_array().unwrap()), ids(&seats[4..6]));
    let e = app
        .get(&format!("/api/events/{id}"), Auth::None)
        .await
        .json(200);
    assert_eq!(
        e["seats"],
        json!({"total": 15, "available": 13, "reserved": 2, "sold": 0})
    );
    assert_eq!(e["sections"][0]["available"], 8);
    app.get("/api/events/0000000000000001/seats", Auth::None)
        .await
        .expect(404);
    app.get("/api/events/nope", Auth::None).await.expect(404);
}

#[tokio::test]
async fn events_list_soonest_first_and_page() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let mut made = Vec::new();
    for starts in [
        "2031-01-01T00:00:00Z",
        "2030-01-01T00:00:00Z",
        "2032-01-01T00:00:00Z",
    ] {
        let e = app
            .post(
                "/api/events",
                Auth::Bearer(&org),
                json!({"name": "E", "startsAt": starts, "sections": [{"name": "S", "price": 5, "capacity": 2}]}),
            )
            .await
            .json(201);
        made.push(id_of(&e));
    }
    let list = app.get("/api/events", Auth::None).await.json(200);
    assert_eq!(
        ids(list.as_array().unwrap()),
        vec![made[1].clone(), made[0].clone(), made[2].clone()]
    );
    let page = app
        .get(
            &format!("/api/events?limit=1&after={}", made[1]),
            Auth::None,
        )
        .await
        .json(200);
    assert_eq!(ids(page.as_array().unwrap()), vec![made[0].clone()]);
}

#[tokio::test]
async fn seats_are_changed_only_through_their_event() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let seat = all_seats(&app, &id_of(&e)).await[0].clone();
    let path = format!("/api/tickets/{}", id_of(&seat));
    app.put(&path, Auth::Bearer(&org), json!({"title": "X", "price": 1}))
        .await
        .error(400, Some("Seats are changed through their event"), None);
    app.delete(&path, Auth::Bearer(&org)).await.error(
        400,
        Some("Seats are changed through their event"),
        None,
    );
    assert_eq!(app.ticket(&id_of(&seat)).await, seat, "unchanged");
}

#[tokio::test]
async fn deleting_an_event_follows_its_rules_and_removes_every_seat() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let other = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let id = id_of(&e);
    let path = format!("/api/events/{id}");
    app.delete(&path, Auth::None).await.expect(401);
    app.delete(&path, Auth::Bearer(&other)).await.expect(401);
    app.delete("/api/events/0000000000000001", Auth::Bearer(&org))
        .await
        .expect(404);
    let seats = all_seats(&app, &id).await;
    let buyer = app.signup().await;
    let order = order_seats(&app, &buyer, &ids(&seats[0..1]))
        .await
        .json(201);
    app.delete(&path, Auth::Bearer(&org))
        .await
        .error(400, None, None);
    app.cancel(&buyer, &id_of(&order)).await;
    app.delete(&path, Auth::Bearer(&org)).await.expect(204);
    app.get(&path, Auth::None).await.expect(404);
    app.get(&format!("{path}/seats"), Auth::None)
        .await
        .expect(404);
    for s in &seats {
        app.get(&format!("/api/tickets/{}", id_of(s)), Auth::None)
            .await
            .expect(404);
    }
    assert!(app
        .get("/api/events", Auth::None)
        .await
        .json(200)
        .as_array()
        .unwrap()
        .is_empty());
    order_seats(&app, &buyer, &ids(&seats[1..2]))
        .await
        .expect(404);
    // The buyer's history keeps the cancelled order.
    assert_eq!(
        app.order(&buyer, &id_of(&order)).await["status"],
        "cancelled"
    );
}

#[tokio::test]
async fn a_hundred_thousand_seat_event_is_one_call_and_survives_a_restart() {
    let _heavy = heavy_or_timed().await;
    let mut app = spawn_app().await;
    let org = app.signup().await;
    // 100 rows of 1,000 seats: 100,000 seats, a small body.
    let rows: Vec<_> = (0..100)
        .map(|i| json!({"label": format!("R{i}"), "seats": 1000}))
        .collect();
    let e = create_event(
        &app,
        &org,
        json!([{"name": "Arena", "price": 50, "rows": rows}]),
    )
    .await;
    assert_eq!(e["seats"]["total"], 100_000);
    let id = id_of(&e);
    let last = app
        .get(
            &format!(
                "/api/events/{id}/seats?section=Arena&status=available&after={}",
                {
                    let first = app
                        .get(&format!("/api/events/{id}/seats?limit=1"), Auth::None)
                        .await
                        .json(200);
                    let first_id =
                        u64::from_str_radix(first[0]["id"].as_str().unwrap(), 16).unwrap();
                    format!("{:016x}", first_id + 99_998)
                }
            ),
            Auth::None,
        )
        .await
        .json(200);
    assert_eq!(
        last[0]["seat"],
        json!({"section": "Arena", "row": "R99", "number": 1000})
    );
    app.restart().await;
    let again = app
        .get(&format!("/api/events/{id}"), Auth::None)
        .await
        .json(200);
    assert_eq!(again, e);
    let over: Vec<_> = (0..101)
        .map(|i| json!({"label": format!("R{i}"), "seats": 1000}))
        .collect();
    app.post(
        "/api/events",
        Auth::Bearer(&org),
        json!({"name": "Too big", "startsAt": "2030-06-01T19:00:00Z", "sections": [{"name": "Arena", "price": 50, "rows": over}]}),
    )
    .await
    .error(400, Some("Too many seats"), None);
}
