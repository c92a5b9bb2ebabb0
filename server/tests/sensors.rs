//! Door sensors through a real Mosquitto (issue 18): Debian's `mosquitto`,
//! started here on a free port, and `mosquitto_pub` publishing what
//! zigbee2mqtt publishes. A quarantined unit's door, the same door outside
//! quarantine, a silent sensor, a restart of the broker and then of the
//! server with messages waiting, and bad input from the broker.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use shoumen_server::db::now_ms;
use shoumen_server::mqtt::MqttConfig;
use shoumen_server::records::{community, sensors};

const BROKER: &str = "/usr/sbin/mosquitto";
const PUB: &str = "/usr/bin/mosquitto_pub";
const PASSWD: &str = "/usr/bin/mosquitto_passwd";

fn available() -> bool {
    if Path::new(BROKER).exists() && Path::new(PUB).exists() {
        return true;
    }
    eprintln!("skipped: needs Debian's mosquitto and mosquitto-clients (apt-get install mosquitto mosquitto-clients)");
    false
}

/// A Mosquitto on 127.0.0.1 that keeps its sessions in `dir`.
struct Broker {
    child: Child,
    port: u16,
    conf: PathBuf,
}

impl Broker {
    fn start(dir: &Path) -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let conf = dir.join("mosquitto.conf");
        let store = dir.join("mosquitto-data");
        std::fs::create_dir_all(&store).unwrap();
        // Started as root, Mosquitto would switch to its own user, which
        // cannot write the test's directory: it stays who we are.
        let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        std::fs::write(
            &conf,
            format!(
                "user {}\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nautosave_interval 1\nmax_queued_messages 100000\n",
                me.trim(),
                store.display()
            ),
        )
        .unwrap();
        Broker::run(conf, port)
    }

    fn run(conf: PathBuf, port: u16) -> Broker {
        let mut child =
            Command::new(BROKER).arg("-c").arg(&conf).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Broker { child, port, conf };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("mosquitto did not start on port {port}");
    }

    /// Stops the broker the way systemd does (SIGTERM: it saves its
    /// sessions) and starts it again on the same port and store.
    fn restart(self) -> Broker {
        let (conf, port) = (self.conf.clone(), self.port);
        drop(self);
        Broker::run(conf, port)
    }

    fn config(&self) -> MqttConfig {
        MqttConfig {
            url: format!("mqtt://127.0.0.1:{}", self.port),
            base_topic: "zigbee2mqtt".into(),
            client_id: "shoumen-test".into(),
            ca: None,
        }
    }

    /// Publishes like zigbee2mqtt, with QoS 1.
    fn publish(&self, sensor: &str, payload: &str) {
        let status = Command::new(PUB)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-q",
                "1",
                "-t",
                &format!("zigbee2mqtt/{sensor}"),
                "-m",
                payload,
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn publish_file(&self, sensor: &str, file: &Path) {
        let status = Command::new(PUB)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-q",
                "1",
                "-t",
                &format!("zigbee2mqtt/{sensor}"),
                "-f",
            ])
            .arg(file)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// Publishes every line of `lines` as one message (a flood).
fn publish_lines(port: u16, sensor: &str, lines: &str) {
    let mut child = Command::new(PUB)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1", "-t", &format!("zigbee2mqtt/{sensor}"), "-l"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

impl Drop for Broker {
    fn drop(&mut self) {
        // SIGTERM, so Mosquitto writes its persistence file.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// Waits (bounded) until `sql` counts `want` or more.
fn wait_count(server: &TestServer, sql: &str, want: i64) -> i64 {
    let start = Instant::now();
    loop {
        let n = server.count(sql);
        if n >= want || start.elapsed() > Duration::from_secs(20) {
            return n;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn scene(server: &TestServer) {
    server
        .db
        .call_blocking(|c| {
            for unit in ["3-502", "4-101"] {
                community::add_resident(c, COMMUNITY, "住户", unit, "13800000000", now_ms()).unwrap();
            }
            let now_s = now_ms() / 1000;
            community::add_quarantine(c, COMMUNITY, "3-502", now_s - 60, now_s + 86_400, "", now_ms()).unwrap();
            sensors::pair(c, COMMUNITY, "door-3-502", "3-502", now_ms()).unwrap();
            sensors::pair(c, COMMUNITY, "door-4-101", "4-101", now_ms()).unwrap();
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_quarantined_door_alerts_a_free_one_does_not_a_silent_one_needs_a_look_and_restarts_lose_nothing() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let receiver = Receiver::start(0);
    let config = broker.config();
    let server = TestServer::start_with(dir.path(), |c| c.mqtt = Some(config.clone()));
    scene(&server);
    let hook = shoumen_server::webhook::Webhook::new(&receiver.url, "wecom", "").unwrap();
    server.db.call_blocking(|c| shoumen_server::webhook::set(c, COMMUNITY, Some(&hook))).unwrap();
    wait_until_connected(&server);

    // The quarantined unit's door opens: an alert and a robot message.
    broker.publish("door-3-502", r#"{"contact": true, "battery": 87, "linkquality": 120}"#);
    broker.publish("door-3-502", r#"{"contact": false, "battery": 87, "linkquality": 118}"#);
    assert_eq!(wait_count(&server, "SELECT COUNT(*) FROM alerts WHERE kind = 'door_sensor_open'", 1), 1);
    let message = receiver.wait_for("3-502").expect("the webhook message names the unit");
    assert!(message.contains("联系人：住户 13800000000"), "and whom to call: {message}");
    assert_eq!(server.count("SELECT battery FROM sensors WHERE name = 'door-3-502'"), 87);
    // The same door of a unit not in quarantine: an event, nothing more.
    broker.publish("door-4-101", r#"{"contact": true}"#);
    broker.publish("door-4-101", r#"{"contact": false}"#);
    assert_eq!(wait_count(&server, "SELECT COUNT(*) FROM sensor_events WHERE sensor = 'door-4-101'", 2), 2);
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'door_sensor_open'"), 1);
    // Inside the delivery windows the quarantined door opens quietly.
    server.db.call_blocking(|c| Ok(sensors::set_windows(c, COMMUNITY, "00:00-23:59"))).unwrap().unwrap();
    broker.publish("door-3-502", r#"{"contact": true}"#);
    broker.publish("door-3-502", r#"{"contact": false}"#);
    assert_eq!(wait_count(&server, "SELECT COUNT(*) FROM sensor_events WHERE sensor = 'door-3-502'", 4), 4);
    assert_eq!(server.count("SELECT count FROM alerts WHERE kind = 'door_sensor_open'"), 1);

    // A sensor silent for over 2 hours needs a look, once.
    server.exec("UPDATE sensors SET last_seen_ms = ?1 WHERE name = 'door-4-101'", &[(now_ms() - 3 * 3_600_000).into()]);
    let raised = server.db.call_blocking(|c| sensors::check_maintenance(c, now_ms())).unwrap();
    assert_eq!(raised, 1);
    assert_eq!(server.db.call_blocking(|c| sensors::check_maintenance(c, now_ms())).unwrap(), 0);
    let (b, _) = login(&server);
    let (_, page) = get(&b, &format!("{}/alerts", server.url()));
    assert!(
        page.contains("A door sensor needs a look")
            && page.contains("Unit 4-101: the door sensor has been silent since"),
        "{page}"
    );

    // The server stops; the sensor goes on; the broker restarts; then the
    // server: every message the broker kept arrives.
    let before = server.count("SELECT COUNT(*) FROM sensor_events WHERE sensor = 'door-4-101'");
    drop(server);
    for contact in [true, false, true, false, true] {
        broker.publish("door-4-101", &format!(r#"{{"contact": {contact}}}"#));
    }
    let broker = broker.restart();
    let server = TestServer::start_with(dir.path(), |c| c.mqtt = Some(config.clone()));
    let after = wait_count(&server, "SELECT COUNT(*) FROM sensor_events WHERE sensor = 'door-4-101'", before + 5);
    assert_eq!(after, before + 5, "the five messages sent while the server was down");
    drop(broker);
}

/// Three server processes on one database take turns at the sensors
/// (issue 30): one listens and the others stand by, so each door message
/// is handled once; when the listener stops while a door is opening and
/// closing, the next one takes over the broker's session and handles the
/// rest in order. (A door's events count changes of its state: the door
/// alternates, so a message lost, doubled or handled out of turn changes
/// the count.)
#[test]
fn three_processes_take_turns_at_the_sensors_and_hand_over_in_order() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let mut servers: Vec<TestServer> =
        (0..3).map(|_| TestServer::start_with(dir.path(), |c| c.mqtt = Some(broker.config()))).collect();
    scene(&servers[0]);
    let listener = wait_for_one_listener(&servers);
    let door = |port: u16, from: usize, to: usize| {
        let lines: String = (from..to).map(|n| format!("{{\"contact\": {}}}\n", n % 2 == 0)).collect();
        publish_lines(port, "door-4-101", &lines);
    };
    door(broker.port, 0, 60);
    let counts = settle(&servers, 0, 60);
    assert_eq!(counts[listener], 60, "the listener handles every message: {counts:?}");
    assert_eq!(counts.iter().sum::<u64>(), 60, "and the others none: {counts:?}");
    let before = servers[0].count("SELECT COUNT(*) FROM sensor_events WHERE sensor = 'door-4-101'");

    // The listener stops while the door goes on opening and closing.
    let port = broker.port;
    let publisher = std::thread::spawn(move || {
        for from in (60..120).step_by(5) {
            door(port, from, from + 5);
            std::thread::sleep(Duration::from_millis(40));
        }
    });
    std::thread::sleep(Duration::from_millis(150));
    drop(servers.remove(listener));
    publisher.join().unwrap();
    let successor = wait_for_one_listener(&servers);
    let events = wait_count(&servers[0], "SELECT COUNT(*) FROM sensor_events WHERE sensor = 'door-4-101'", before + 60);
    assert_eq!(events, before + 60, "every change of the door kept, in order");
    let counts = settle(&servers, 0, 1);
    assert!(counts[successor] > 0, "the successor took over the messages: {counts:?}");
    assert_eq!(counts[1 - successor], 0, "the other still stands by: {counts:?}");
}

/// Which of `servers` listens, once one does and the others say they
/// stand by.
fn wait_for_one_listener(servers: &[TestServer]) -> usize {
    let pages = || -> Vec<String> {
        servers
            .iter()
            .map(|server| {
                let (b, _) = login(server);
                get(&b, &format!("{}/sensors", server.url())).1
            })
            .collect()
    };
    for _ in 0..200 {
        let pages = pages();
        let listening: Vec<usize> = (0..pages.len()).filter(|&i| pages[i].contains("<b>connected</b>")).collect();
        let standing_by = pages.iter().filter(|p| p.contains("<b>standing by</b>")).count();
        if listening.len() == 1 && standing_by == servers.len() - 1 {
            return listening[0];
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("one server should listen to the broker and the others stand by");
}

/// What each server's Sensors page says it received, once the sum (with
/// `earlier`, received by processes since stopped) reaches `want` and a
/// second more brings nothing.
fn settle(servers: &[TestServer], earlier: u64, want: u64) -> Vec<u64> {
    let received = |server: &TestServer| -> u64 {
        let (b, _) = login(server);
        let (_, page) = get(&b, &format!("{}/sensors", server.url()));
        let at = page.find("received ").expect("the Sensors page counts what was received") + "received ".len();
        page[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
    };
    let start = Instant::now();
    while servers.iter().map(received).sum::<u64>() + earlier < want && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    servers.iter().map(received).collect()
}

fn wait_until_connected(server: &TestServer) {
    let (b, _) = login(server);
    for _ in 0..200 {
        if get(&b, &format!("{}/sensors", server.url())).1.contains("<b>connected</b>") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not connect to the broker");
}

#[test]
fn bad_input_from_the_broker_is_counted_and_dropped_and_never_stalls_the_server() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let config = broker.config();
    let server = TestServer::start_with(dir.path(), |c| c.mqtt = Some(config.clone()));
    scene(&server);
    wait_until_connected(&server);
    broker.publish("door-4-101", "this is not JSON");
    broker.publish("someone-elses-sensor", r#"{"contact": false}"#);
    let big = dir.path().join("big.json");
    std::fs::write(&big, format!(r#"{{"contact": false, "pad": "{}"}}"#, "x".repeat(1 << 20))).unwrap();
    broker.publish_file("door-4-101", &big);
    // A flood: 3,000 messages of an unknown sensor and 600 changes of a
    // paired one, while the committee's pages keep answering.
    let flood = std::thread::spawn({
        let port = broker.port;
        move || {
            publish_lines(port, "flooder", &"{\"contact\": true}\n".repeat(3000));
            let toggles: String = (0..600).map(|i| format!("{{\"contact\": {}}}\n", i % 2 == 0)).collect();
            publish_lines(port, "door-4-101", &toggles);
        }
    });
    let (b, csrf) = login(&server);
    let mut answered = 0;
    let started = Instant::now();
    while !flood.is_finished() || started.elapsed() < Duration::from_secs(1) {
        let (status, _) = get(&b, &format!("{}/entries", server.url()));
        assert_eq!(status, 200);
        answered += 1;
    }
    flood.join().unwrap();
    assert!(answered > 0);
    // Everything arrives and is sorted: dropped, kept, or a flood.
    let start = Instant::now();
    let page = loop {
        let (_, page) = get(&b, &format!("{}/sensors", server.url()));
        // "received" counts a message as it arrives, the rest once it is
        // handled: wait for the last one to be handled too.
        let handled = page.contains("received 3603") && page.contains("480 floods");
        if handled || start.elapsed() > Duration::from_secs(60) {
            break page;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let broker_line = &page[page.find("id=\"broker\">").expect("the broker's state")..];
    let broker_line = &broker_line[..broker_line.find("</p>").unwrap()];
    // Of the 600 changes, 120 are kept as events; past that each change
    // still moves the door's state, and counts as a flood.
    for (n, what) in [(1, "not JSON"), (1, "too large"), (3001, "unknown sensors"), (480, "floods"), (120, "kept")] {
        let found = broker_line.contains(&format!("{n} {what}")) || broker_line.contains(&format!("{what} {n}"));
        assert!(found, "{n} {what}: {broker_line}");
    }
    assert!(page.contains("flooder") && page.contains("someone-elses-sensor"), "the unknown names, to pair them");
    // The flood stored at most its hourly share of events.
    assert_eq!(
        server.count("SELECT COUNT(*) FROM sensor_events WHERE sensor = 'door-4-101'"),
        sensors::MAX_EVENTS_PER_HOUR
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM sensors"), 2, "no unknown sensor was stored");
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'sensor_flood'"), 1, "one alert for the flood");
    // A sensor heard but not paired is paired with a tap and a unit (issue
    // 28): its name comes from the broker, not from typing.
    let heard = &page[page.find("id=\"heard\"").expect("the sensors heard, to pair")..];
    assert!(heard.contains("name=\"name\" value=\"someone-elses-sensor\""), "{heard}");
    let form = [("csrf", csrf.as_str()), ("name", "someone-elses-sensor"), ("unit", "3-502")];
    assert_eq!(post(&b, &format!("{}/sensors", server.url()), &form).0, 303);
    assert_eq!(server.count("SELECT COUNT(*) FROM sensors WHERE name = 'someone-elses-sensor' AND unit = '3-502'"), 1);
    let (_, page) = get(&b, &format!("{}/sensors", server.url()));
    assert!(!page.contains("value=\"someone-elses-sensor\""), "paired: no longer offered");
}

/// One message past the client's packet limit breaks the connection
/// before it can be acknowledged, and a persistent session sends it again
/// on every reconnect: the client resets its session once, says so, and
/// door messages flow again without anyone restarting the broker.
#[test]
fn an_oversized_message_that_keeps_coming_back_is_dropped_by_a_session_reset_and_named() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let config = broker.config();
    let server = TestServer::start_with(dir.path(), |c| c.mqtt = Some(config.clone()));
    scene(&server);
    wait_until_connected(&server);
    let poison = dir.path().join("poison.json");
    std::fs::write(&poison, format!(r#"{{"contact": false, "pad": "{}"}}"#, "x".repeat(17 << 20))).unwrap();
    broker.publish_file("door-4-101", &poison);
    assert_eq!(
        wait_count(&server, "SELECT COUNT(*) FROM alerts WHERE kind = 'sensor_broker'", 1),
        1,
        "the committee is told why"
    );
    let (b, _) = login(&server);
    let (_, page) = get(&b, &format!("{}/alerts", server.url()));
    assert!(page.contains("message_size_limit"), "the alert says what to set: {page}");
    // Door messages are read again, without a restart of the broker.
    broker.publish("door-4-101", r#"{"contact": false, "battery": 51}"#);
    assert_eq!(wait_count(&server, "SELECT COUNT(*) FROM sensors WHERE name = 'door-4-101' AND battery = 51", 1), 1);
}

/// A door that changes more often than the events kept still shows as it
/// is: the state follows every message, only event rows are capped.
#[test]
fn a_flooding_sensor_still_shows_the_door_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    scene(&server);
    server
        .db
        .call_blocking(|c| {
            let now = now_ms();
            for i in 0..sensors::MAX_EVENTS_PER_HOUR {
                sensors::record(
                    c,
                    COMMUNITY,
                    "door-4-101",
                    format!("{{\"contact\": {}}}", i % 2 == 0).as_bytes(),
                    now + i,
                    480,
                )?;
            }
            // Closed, then open, past the cap: the door shows open.
            let closed = sensors::record(c, COMMUNITY, "door-4-101", br#"{"contact": true}"#, now + 1_000, 480)?;
            let open = sensors::record(c, COMMUNITY, "door-4-101", br#"{"contact": false}"#, now + 2_000, 480)?;
            assert_eq!((closed, open), (sensors::Outcome::Flood, sensors::Outcome::Flood));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        server.count("SELECT contact FROM sensors WHERE name = 'door-4-101'"),
        0,
        "open, as the last message said"
    );
    assert_eq!(
        server.count("SELECT COUNT(*) FROM sensor_events WHERE sensor = 'door-4-101'"),
        sensors::MAX_EVENTS_PER_HOUR
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'sensor_flood'"), 1);
}

/// A sensor's name is its community's: two communities on one broker pair
/// the same name, each on its own topic, and neither squats the other's.
#[test]
fn two_communities_pair_the_same_sensor_name_and_each_gets_its_own_door() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    scene(&server);
    let hash = shoumen_server::web::argon2_hash(PASSWORD).unwrap();
    server
        .db
        .call_blocking(|c| {
            shoumen_server::db::init(c, "plum-court", "plum", &hash, now_ms())?;
            community::add_resident(c, "plum-court", "住户", "9-909", "13800000000", now_ms()).unwrap();
            sensors::pair(c, "plum-court", "door-3-502", "9-909", now_ms()).unwrap();
            // Each community's zigbee2mqtt publishes under its own id.
            let lotus = sensors::resolve(c, "lotus-gdn/door-3-502")?.unwrap();
            let plum = sensors::resolve(c, "plum-court/door-3-502")?.unwrap();
            assert_eq!((lotus.0.as_str(), plum.0.as_str()), ("lotus-gdn", "plum-court"));
            sensors::record(c, &plum.0, &plum.1, br#"{"battery": 42}"#, now_ms(), 480)?;
            // A bare name is anyone's on a server of several communities.
            assert_eq!(sensors::resolve(c, "door-3-502")?, None);
            assert_eq!(sensors::resolve(c, "nobody/door-3-502")?, None);
            Ok(())
        })
        .unwrap();
    assert_eq!(server.count("SELECT battery FROM sensors WHERE community = 'plum-court' AND name = 'door-3-502'"), 42);
    assert_eq!(
        server.count(
            "SELECT COUNT(*) FROM sensors WHERE community = 'lotus-gdn' AND name = 'door-3-502' AND battery IS NULL"
        ),
        1
    );
}

/// The broker as a district would run it: TLS and a password. The server
/// connects with the CA it is given and the user in the URL, and stores the
/// sensors' messages; with a wrong password, or without the broker's CA, it
/// stays disconnected and the Sensors page says which option to check.
#[test]
fn a_broker_behind_tls_and_a_password_is_read_and_a_wrong_setting_is_named() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (ca, key, passwd) = (dir.path().join("ca.pem"), dir.path().join("key.pem"), dir.path().join("passwd"));
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    std::fs::write(&key, cert.key_pair.serialize_pem()).unwrap();
    std::fs::write(&passwd, "").unwrap();
    let made = Command::new(PASSWD).arg("-b").arg(&passwd).args(["gate-server", "s3cret-Pass"]).status().unwrap();
    assert!(made.success(), "mosquitto_passwd");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "user {}\nlistener {port} 127.0.0.1\ncertfile {}\nkeyfile {}\nallow_anonymous false\npassword_file {}\n",
            me.trim(),
            ca.display(),
            key.display(),
            passwd.display()
        ),
    )
    .unwrap();
    let broker = Broker::run(conf, port);
    let config = |user: &str, ca: Option<&Path>| MqttConfig {
        url: format!("mqtts://{user}@localhost:{port}"),
        base_topic: "zigbee2mqtt".into(),
        client_id: format!("shoumen-tls-{}", user.len()),
        ca: ca.map(Path::to_path_buf),
    };

    let sub = |name: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let right = config("gate-server:s3cret-Pass", Some(&ca));
    let server = TestServer::start_with(&sub("right"), |c| c.mqtt = Some(right.clone()));
    scene(&server);
    wait_until_connected(&server);
    let status = Command::new(PUB)
        .args([
            "-h",
            "localhost",
            "-p",
            &port.to_string(),
            "-q",
            "1",
            "-t",
            "zigbee2mqtt/door-4-101",
            "-m",
            r#"{"contact": false, "battery": 64}"#,
        ])
        .args(["-u", "gate-server", "-P", "s3cret-Pass", "--cafile"])
        .arg(&ca)
        .status()
        .unwrap();
    assert!(status.success(), "mosquitto_pub over TLS");
    assert_eq!(wait_count(&server, "SELECT COUNT(*) FROM sensor_events WHERE sensor = 'door-4-101'", 1), 1);
    assert_eq!(server.count("SELECT battery FROM sensors WHERE name = 'door-4-101'"), 64);
    drop(server);

    for (name, wrong, check) in [
        ("wrong-password", config("gate-server:guess", Some(&ca)), "check the user and password in --mqtt"),
        ("system-roots", config("gate-server:s3cret-Pass", None), "check --mqtt-ca"),
    ] {
        let server = TestServer::start_with(&sub(name), |c| c.mqtt = Some(wrong.clone()));
        let (b, _) = login(&server);
        let mut page = String::new();
        for _ in 0..200 {
            page = get(&b, &format!("{}/sensors", server.url())).1;
            if page.contains(check) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(page.contains(check) && page.contains("<b>not connected</b>"), "{name}: {page}");
    }
    drop(broker);
}
