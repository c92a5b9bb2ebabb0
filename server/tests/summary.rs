//! The daily summary: the page and CSV of a day, and the morning's message
//! to the community's robot, sent once.

mod common;

use common::*;
use shoumen_server::db::now_ms;
use shoumen_server::webhook::{self, Webhook};

/// A day in the server's display zone (UTC+8), `days` from today.
fn local_day(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}

const HOUR: i64 = 3_600_000;

#[test]
fn the_daily_summary_is_a_page_a_csv_and_one_morning_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let receiver = Receiver::start(0);
    let hook = Webhook::new(&receiver.url, "wecom", "").unwrap();
    server.db.call_blocking(|c| webhook::set(c, COMMUNITY, Some(&hook))).unwrap();
    let mut k = Kiosk::new(dir.path(), "north");
    k.enroll(&base, &server.token("North gate"));
    k.add(20);
    k.sync().unwrap();
    let (b, csrf) = login(&server);
    let today = local_day(0);
    let (status, _, _) = post(
        &b,
        &format!("{base}/quarantine"),
        &[("unit", "5-1201"), ("from", &today), ("until", &local_day(13)), ("note", ""), ("csrf", &csrf)],
    );
    assert_eq!(status, 303);

    let (status, page) = get(&b, &format!("{base}/summary?day={today}"));
    assert_eq!(status, 200);
    assert!(page.contains("<th>Entries</th><td>20</td>"), "{page}");
    assert!(page.contains("<th>Fever</th><td>2</td>"), "every tenth entry of the test kiosk is a fever");
    assert!(
        page.contains("<th>Home quarantines started</th><td>1</td>")
            && page.contains("<th>Units in quarantine</th><td>1</td>")
    );
    let (_, yesterday) = get(&b, &format!("{base}/summary"));
    assert!(
        yesterday.contains(&local_day(-1)) && yesterday.contains("<th>Entries</th><td>0</td>"),
        "yesterday by default"
    );

    let (status, csv) = get(&b, &format!("{base}/summary.csv?day={today}"));
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1 + 13);
    assert!(csv.contains(&format!("{COMMUNITY},{today},entries,Entries,20\n")), "{csv}");

    // Tomorrow at 07:30 today's figures go to the robot, once.
    let tomorrow = now_ms() + 86_400_000;
    assert_eq!(
        server
            .db
            .call_blocking(move |c| shoumen_server::reports::summary::enqueue_yesterday(c, tomorrow, 480))
            .unwrap(),
        1
    );
    assert_eq!(
        server
            .db
            .call_blocking(move |c| shoumen_server::reports::summary::enqueue_yesterday(c, tomorrow, 480))
            .unwrap(),
        0,
        "a restart does not send it twice"
    );
    let body = receiver.wait_for("每日汇总");
    let state = server
        .db
        .call_blocking(|c| {
            c.query_map("SELECT attempts, last_error, delivered_ms FROM webhook_outbox", &[], |r| {
                Ok(format!("{:?}", r))
            })
        })
        .unwrap();
    let body =
        body.unwrap_or_else(|| panic!("the robot gets the summary: {state:?} {:?}", receiver.bodies.lock().unwrap()));
    assert!(body.contains(&format!("{today} 每日汇总")) && body.contains("通行记录：20"), "{body}");
    assert!(body.contains("/summary?day="), "{body}");
}

/// Several server processes on one database (issue 30): each runs its
/// chores on its own timer, and the morning summary, the night's
/// retention and the minute's look for silent kiosks still run once per
/// period. Eight "processes" (each its own database handle, as a process
/// has) reach the same morning at once.
#[test]
fn eight_processes_on_one_database_queue_the_morning_summary_once_and_prune_once() {
    use shoumen_server::ops::retention;
    use shoumen_server::records::chores;
    use shoumen_server::reports::summary;
    let dir = tempfile::tempdir().unwrap();
    let first = init_db(dir.path());
    let hook = Webhook::new("http://127.0.0.1:9/robot", "wecom", "").unwrap();
    first.call_blocking(|c| webhook::set(c, COMMUNITY, Some(&hook))).unwrap();
    let handles: Vec<_> = (0..8).map(|_| shoumen_server::db::Db::open(&target(dir.path())).unwrap()).collect();
    let now = now_ms();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(handles.len()));
    let runs: Vec<_> = handles
        .into_iter()
        .map(|db| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let queued =
                    db.call_blocking(move |c| summary::enqueue_yesterday_once(c, now, 480, "2026-12-05")).unwrap();
                let pruned = db
                    .call_blocking(move |c| {
                        chores::run_leased(c, "retention", "2026-12-05", now, HOUR, |c| retention::nightly(c, now))
                    })
                    .unwrap();
                (queued, pruned == chores::Leased::Done(0))
            })
        })
        .collect();
    let results: Vec<(usize, bool)> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(results.iter().map(|r| r.0).sum::<usize>(), 1, "one summary queued: {results:?}");
    assert_eq!(results.iter().filter(|r| r.1).count(), 1, "one retention run: {results:?}");
    let count = |sql: &str| first.call_blocking(move |c| c.scalar(sql, &[])).unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM webhook_outbox WHERE summary_day IS NOT NULL"), 1);
    assert_eq!(count("SELECT COUNT(*) FROM chore_runs"), 2, "the day's summary and the night's retention");
    // The next morning is another period: queued again, once.
    let tomorrow = now + 86_400_000;
    assert_eq!(
        first.call_blocking(move |c| summary::enqueue_yesterday_once(c, tomorrow, 480, "2026-12-06")).unwrap(),
        1
    );
    assert_eq!(
        first.call_blocking(move |c| summary::enqueue_yesterday_once(c, tomorrow, 480, "2026-12-06")).unwrap(),
        0
    );
}

/// A night's chore whose process dies halfway is not lost (issue 30): its
/// claim holds for the lease, then another process takes it over and
/// does it; once done, nobody does it again. (With a claim that counted as
/// done, the night was skipped.)
#[test]
fn a_night_chore_left_halfway_is_taken_over_after_its_lease() {
    use shoumen_server::records::chores::{self, Leased};
    let dir = tempfile::tempdir().unwrap();
    let db = init_db(dir.path());
    let now = now_ms();
    let ran = std::sync::atomic::AtomicUsize::new(0);
    let run = |at: i64| {
        db.call_blocking(|c| {
            chores::run_leased(c, "retention", "2026-12-05", at, HOUR, |_| {
                ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(0)
            })
        })
        .unwrap()
    };
    // A process claims the night and dies before it is done.
    let claimed = db.call_blocking(|c| chores::claim_lease(c, "retention", "2026-12-05", now, HOUR)).unwrap();
    assert!(claimed);
    assert_eq!(run(now + 60_000), Leased::Busy, "within its lease, the claim stands");
    assert_eq!(run(now + HOUR + 1), Leased::Done(0), "after it, another process does the night");
    assert_eq!(run(now + 3 * HOUR), Leased::DoneBefore, "and nobody again");
    assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), 1);
}

/// Several server processes deliver from one outbox (issue 30): each robot
/// message reaches the receiver once. Eight "processes" (each its own
/// database handle and delivery task) race for 40 alerts' messages.
#[test]
fn eight_processes_send_each_robot_message_once() {
    use shoumen_protocol::AlertKind;
    use shoumen_server::records::alerts;
    let dir = tempfile::tempdir().unwrap();
    let first = init_db(dir.path());
    let receiver = Receiver::start(0);
    let hook = Webhook::new(&receiver.url, "json", "").unwrap();
    first.call_blocking(|c| webhook::set(c, COMMUNITY, Some(&hook))).unwrap();
    let alerts = 40;
    first
        .call_blocking(move |c| {
            for n in 0..alerts {
                alerts::raise(c, COMMUNITY, AlertKind::DeviceFault, &format!("gate-{n}"), None, "", now_ms())?;
            }
            Ok(())
        })
        .unwrap();
    let handles: Vec<_> = (0..8).map(|_| shoumen_server::db::Db::open(&target(dir.path())).unwrap()).collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(handles.len()));
    let runs: Vec<_> = handles
        .into_iter()
        .map(|db| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let d = webhook::Delivery {
                    db,
                    public_url: "https://gate.example.org".into(),
                    utc_offset_min: 480,
                    bell: Default::default(),
                    timeout: std::time::Duration::from_secs(5),
                };
                let http = reqwest::Client::new();
                barrier.wait();
                let mut sent = 0;
                // Rounds until the outbox has nothing due for this process.
                loop {
                    let n = rt.block_on(webhook::deliver_due(&d, &http)).unwrap();
                    if n == 0 {
                        return sent;
                    }
                    sent += n;
                }
            })
        })
        .collect();
    let sent: Vec<usize> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    let bodies = receiver.bodies.lock().unwrap().clone();
    let mut ids: Vec<i64> =
        bodies.iter().map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap()["id"].as_i64().unwrap()).collect();
    ids.sort();
    let received = ids.len();
    ids.dedup();
    assert_eq!((received, ids.len()), (alerts, alerts), "each message once; sent by process: {sent:?}");
    assert!(sent.iter().filter(|&&n| n > 0).count() > 1, "the processes shared the work: {sent:?}");
    let undelivered = first
        .call_blocking(|c| c.scalar("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_ms IS NULL", &[]))
        .unwrap();
    assert_eq!(undelivered, 0);
}

/// A robot message whose sender died mid-send is never sent again (issue
/// 30: at most once; a group chat's robot does not drop repeats): once
/// the claim's lease runs out with no outcome, the message is given up
/// and says why. (Before, it was sent again after the lease.)
#[test]
fn a_message_whose_sender_died_mid_send_is_given_up_not_sent_twice() {
    use shoumen_protocol::AlertKind;
    use shoumen_server::records::alerts;
    let dir = tempfile::tempdir().unwrap();
    let db = init_db(dir.path());
    let hook = Webhook::new("http://127.0.0.1:9/robot", "json", "").unwrap();
    db.call_blocking(|c| webhook::set(c, COMMUNITY, Some(&hook))).unwrap();
    let now = now_ms();
    db.call_blocking(move |c| alerts::raise(c, COMMUNITY, AlertKind::DeviceFault, "gate-1", None, "", now)).unwrap();
    let claim = |at: i64, token: &'static str| {
        db.call_blocking(move |c| alerts::claim_due(c, at, 10, 60_000, token)).unwrap().map(|m| m.id)
    };
    // A process claims the message, posts it, and is killed before it
    // records the answer.
    assert!(claim(now, "dead:1").is_some());
    assert_eq!(claim(now + 1_000, "live:1"), None, "within the lease, nobody else sends it");
    assert_eq!(claim(now + 61_000, "live:2"), None, "after it, nobody sends it again");
    let (undelivered, why) = db
        .call_blocking(|c| {
            c.query_opt("SELECT COUNT(*), MAX(last_error) FROM webhook_outbox WHERE delivered_ms IS NULL", &[], |r| {
                Ok((r.get::<i64>(0)?, r.get::<String>(1)?))
            })
        })
        .unwrap()
        .unwrap();
    assert_eq!(undelivered, 1, "counted as not delivered");
    assert!(why.contains("not sent again"), "{why}");
}
