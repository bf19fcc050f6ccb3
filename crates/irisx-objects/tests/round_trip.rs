//! Objects round-trip through both backends: the local directory (the default) and S3, against a real local
//! S3 server (moto, started by the test on a free port) whose presigned URLs are fetched over HTTP.
//!
//! Needs Python 3 with `moto[server]` (`pip install -r requirements-test.txt`); without it the S3 test fails and
//! says so.

#[path = "support/moto.rs"]
mod moto;

use std::time::Duration;

use bytes::Bytes;
use irisx_core::ports::objects::ObjectError;
use irisx_objects::{S3Settings, open};

const PDF: &[u8] = b"%PDF-1.4\n% an attachment\n";

#[tokio::test]
async fn an_object_round_trips_through_the_local_directory_which_signs_no_urls_itself() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(
        &format!("file://{}/objects", dir.path().display()),
        &S3Settings::default(),
    )
    .unwrap();
    store
        .put("ten_1/obj_1", Bytes::from_static(PDF), "application/pdf")
        .await
        .unwrap();
    assert_eq!(store.get("ten_1/obj_1").await.unwrap(), PDF);
    assert!(dir.path().join("objects/ten_1/obj_1").is_file());
    assert!(
        store
            .presigned_get("ten_1/obj_1", Duration::from_secs(3600))
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.get("ten_1/missing").await,
        Err(ObjectError::NotFound(_))
    ));
}

#[test]
fn a_store_url_that_is_neither_a_directory_nor_a_bucket_is_refused() {
    let err = open("ftp://somewhere", &S3Settings::default()).err().expect("refused");
    assert!(err.to_string().contains("file:// or s3://"), "{err}");
}

#[tokio::test]
async fn an_object_round_trips_through_s3_and_its_presigned_url_downloads_it_for_an_hour() {
    let server = moto::Moto::start().await;
    server.bucket("irisx-test").await;
    let http = reqwest::Client::new();
    let s3 = S3Settings {
        endpoint: Some(server.url.clone()),
        region: Some("us-east-1".into()),
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
        allow_http: true,
    };
    let store = open("s3://irisx-test", &s3).unwrap();
    store
        .put("ten_1/obj_1", Bytes::from_static(PDF), "application/pdf")
        .await
        .unwrap();
    assert_eq!(store.get("ten_1/obj_1").await.unwrap(), PDF);
    assert!(matches!(
        store.get("ten_1/missing").await,
        Err(ObjectError::NotFound(_))
    ));

    let url = store
        .presigned_get("ten_1/obj_1", Duration::from_secs(3600))
        .await
        .unwrap()
        .expect("S3 signs");
    assert!(url.contains("X-Amz-Expires=3600"), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let got = http.get(&url).send().await.unwrap();
    assert!(got.status().is_success(), "{}", got.status());
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(got.bytes().await.unwrap(), PDF);
}
