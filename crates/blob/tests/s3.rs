//! The S3 backend against a real S3-compatible server: moto's server mode (PyPI, in the
//! environment `scripts/python-env` builds), started here on a free loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use futures_util::StreamExt;
use imagehub_blob::S3BlobStore;
use imagehub_blob::testing::moto;
use imagehub_catalog::{BlobStore, ByteStream};

fn bytes_of(parts: Vec<Vec<u8>>) -> ByteStream {
    Box::pin(futures_util::stream::iter(parts.into_iter().map(|p| Ok(Bytes::from(p)))))
}

async fn read(store: &S3BlobStore, key: &str, range: Option<(u64, u64)>) -> Option<Vec<u8>> {
    let mut s = store.get(key, range).await.unwrap()?;
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.extend_from_slice(&c.unwrap());
    }
    Some(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_in_an_s3_bucket() {
    let Some(moto) = moto("imagehub-blobs") else { return };
    let settings = moto.settings();
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let store = S3BlobStore::from_url("s3://imagehub-blobs/images", &settings).unwrap();
    assert!(store.keys().await.unwrap().is_empty());
    store.check_reachable().await.unwrap();
    let missing = S3BlobStore::from_url("s3://no-such-bucket", &settings).unwrap();
    assert!(missing.check_reachable().await.is_err(), "a missing bucket is an error at start");

    // Larger than one part: a multipart upload of three parts.
    let big: Vec<u8> = (0..20 * 1024 * 1024 + 17).map(|i: usize| (i % 251) as u8).collect();
    let parts: Vec<Vec<u8>> = big.chunks(300_000).map(<[u8]>::to_vec).collect();
    let (big_key, small_key) = ("0b1b1b1b-0000-4000-8000-000000000001", "0c1c1c1c-0000-4000-8000-000000000002.staged");
    assert_eq!(store.put(big_key, bytes_of(parts)).await.unwrap(), big.len() as u64);
    assert_eq!(read(&store, big_key, None).await.unwrap(), big);
    assert_eq!(read(&store, big_key, Some((9_000_000, 9_000_009))).await.unwrap(), &big[9_000_000..=9_000_009]);

    assert_eq!(store.put(small_key, bytes_of(vec![b"hello".to_vec()])).await.unwrap(), 5);
    assert!(store.exists(small_key).await.unwrap());
    // Objects that are not the catalog's, or not right under the prefix, are not its keys.
    let beside = S3BlobStore::from_url("s3://imagehub-blobs", &settings).unwrap();
    assert_eq!(beside.put("someone-elses", bytes_of(vec![b"x".to_vec()])).await.unwrap(), 1);
    let nested = S3BlobStore::from_url("s3://imagehub-blobs/images/deeper", &settings).unwrap();
    assert_eq!(nested.put("0d1d1d1d-0000-4000-8000-000000000003", bytes_of(vec![b"y".to_vec()])).await.unwrap(), 1);
    assert_eq!(store.keys().await.unwrap(), vec![big_key.to_owned(), small_key.to_owned()]);
    assert!(beside.keys().await.unwrap().is_empty(), "nothing of the bucket's root is the catalog's");
    assert!(store.delete(small_key).await.unwrap());
    assert!(!store.delete(small_key).await.unwrap());
    assert!(read(&store, small_key, None).await.is_none());

    // A put whose source fails leaves no object.
    let failing: ByteStream = Box::pin(futures_util::stream::iter(vec![
        Ok(Bytes::from(vec![1u8; 9 * 1024 * 1024])),
        Err(std::io::Error::other("client went away")),
    ]));
    let cut = "0e1e1e1e-0000-4000-8000-000000000004";
    assert!(store.put(cut, failing).await.is_err());
    assert!(!store.exists(cut).await.unwrap());
    assert!(store.describe().contains("imagehub-blobs"));
}
