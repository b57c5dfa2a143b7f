//! SEPA collection files through the staff API (issue 21): billing lists
//! the files the collection step wrote and downloads one, which marks it
//! handed over and leaves an audit record; sales gets 403 and nothing
//! changes; an unknown file or a body with fields is refused by name.

mod common;

use billing_api::handler::handle;
use common::{Who, World, json, request};
use serde_json::{Value, json};

async fn send(
    world: &World,
    who: Who,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let response = handle(&world.state, request(who, method, path, body, None)).await;
    (response.status().as_u16(), json(&response))
}

#[tokio::test]
async fn billing_downloads_a_collection_file_and_it_is_handed_over_once() {
    let mut world = World::new().await;
    let batch_id = world.collect().await;
    let download = format!("/v1/collection-files/{batch_id}/download");

    // Listed, not handed over yet.
    let (status, list) = send(&world, Who::Billing, "GET", "/v1/collection-files", None).await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["batch_id"], json!(batch_id));
    assert_eq!(items[0]["scheme"], "CORE");
    assert_eq!(items[0]["collection_date"], "2026-12-14");
    assert_eq!(items[0]["file"]["transactions"], 1);
    assert_eq!(items[0]["handed_over"], Value::Null);

    // Sales may neither list nor download, and nothing changes.
    for (method, path) in [("GET", "/v1/collection-files"), ("POST", download.as_str())] {
        let (status, body) = send(&world, Who::Sales, method, path, Some(&json!({}))).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
    }
    let (_, unchanged) = send(&world, Who::Billing, "GET", "/v1/collection-files", None).await;
    assert_eq!(unchanged, list);

    // The first download hands it over and links to the file.
    let (status, first) = send(&world, Who::Billing, "POST", &download, Some(&json!({}))).await;
    assert_eq!(status, 200, "{first}");
    assert!(first["url"].as_str().unwrap().contains("collections/"));
    assert_eq!(first["file"]["downloads"], 1);
    let handed_over = first["file"]["handed_over"].clone();
    assert!(handed_over["by"].is_string(), "{first}");
    // A second download is counted; the hand-over stays the first one.
    let (status, second) = send(&world, Who::Billing, "POST", &download, None).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["file"]["downloads"], 2);
    assert_eq!(second["file"]["handed_over"], handed_over);
    let (_, listed) = send(&world, Who::Billing, "GET", "/v1/collection-files", None).await;
    assert_eq!(listed["items"][0]["handed_over"], handed_over);
    assert_eq!(listed["items"][0]["downloads"], 2);
}

#[tokio::test]
async fn an_unknown_file_or_a_body_with_fields_is_refused_and_changes_nothing() {
    let mut world = World::new().await;
    let batch_id = world.collect().await;
    let (status, body) = send(
        &world,
        Who::Billing,
        "POST",
        "/v1/collection-files/dd_unknown/download",
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = send(
        &world,
        Who::Billing,
        "POST",
        &format!("/v1/collection-files/{batch_id}/download"),
        Some(&json!({"handed_over": false})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("handed_over"), "{body}");
    let (_, list) = send(&world, Who::Billing, "GET", "/v1/collection-files", None).await;
    assert_eq!(list["items"][0]["downloads"], 0);
    assert_eq!(list["items"][0]["handed_over"], Value::Null);
}
