//! The storage layer under the pages: a long streamed read (an export)
//! whose reader pauses, on either engine.

mod common;

use common::*;

#[test]
fn a_long_streamed_read_delivers_every_row_and_ends_cleanly_when_its_reader_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let db = server.db.clone();
    let (rows, sum) = std::thread::spawn(move || {
        db.read_blocking(|c| {
            let (mut rows, mut sum) = (0i64, 0i64);
            c.query_each(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT i FROM n",
                &[],
                &mut |r| {
                    rows += 1;
                    sum += r.get::<i64>(0)?;
                    // A browser that stops reading for a moment.
                    if rows % 50_000 == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                    }
                    Ok(true)
                },
            )?;
            Ok((rows, sum))
        })
    })
    .join()
    .unwrap()
    .expect("the read ends without an error");
    assert_eq!(rows, 200_000);
    assert_eq!(sum, 200_000 * 200_001 / 2);
}
