//! The evidence log: RFC 6962 roots on the RFC's test leaves, inclusion and
//! consistency proofs that check for every size, a signed C2SP checkpoint
//! served to anyone, and a damaged log that no longer proves anything.

mod common;

use common::*;
use sha2::{Digest, Sha256};
use shoumen_server::records::evidence;
use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

/// The test leaves of RFC 6962's reference implementation, and the roots of
/// their first 1 to 8.
const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// RFC 9162's MTH, written out from the RFC, to check the stored tree against.
fn mth(leaves: &[Vec<u8>]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => Sha256::digest([&[0u8][..], &leaves[0]].concat()).into(),
        n => {
            let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
            Sha256::digest([&[1u8][..], &mth(&leaves[..k]), &mth(&leaves[k..])].concat()).into()
        }
    }
}

fn append_all(server: &TestServer, records: &[Vec<u8>]) {
    let records = records.to_vec();
    server
        .db
        .call_blocking(move |c| {
            for r in &records {
                evidence::append(c, COMMUNITY, r, 0).map_err(|e| shoumen_server::db::DbError::Engine(e.to_string()))?;
            }
            Ok(())
        })
        .unwrap();
}

fn root(server: &TestServer, n: u64) -> Hash {
    server.db.call_blocking(move |c| Ok(evidence::root(c, COMMUNITY, n))).unwrap().unwrap()
}

#[test]
fn roots_match_rfc_6962_and_every_proof_checks() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let leaves: Vec<Vec<u8>> = LEAVES.iter().map(|h| hex::decode(h).unwrap()).collect();
    append_all(&server, &leaves);
    for (n, want) in ROOTS.iter().enumerate() {
        assert_eq!(hex::encode(root(&server, n as u64 + 1).0), *want, "root of {}", n + 1);
    }
    // 200 more records: every root matches the RFC's recursion, and every
    // inclusion and consistency proof checks against those roots.
    let more: Vec<Vec<u8>> =
        (0..200u32).map(|i| format!("record {i} with its salt {}", i * 7919).into_bytes()).collect();
    append_all(&server, &more);
    let all: Vec<Vec<u8>> = leaves.into_iter().chain(more).collect();
    let roots: Vec<Hash> = (0..=all.len() as u64).map(|n| root(&server, n)).collect();
    for n in 1..=all.len() {
        assert_eq!(roots[n].0, mth(&all[..n]), "root of {n}");
    }
    for size in [1u64, 2, 3, 7, 8, 9, 100, 127, 128, 129, 208] {
        for index in [0, size / 2, size - 1] {
            let proof =
                server.db.call_blocking(move |c| Ok(evidence::inclusion(c, COMMUNITY, index, size))).unwrap().unwrap();
            let leaf = tlog_tiles::record_hash(&all[index as usize]);
            tlog_tiles::check_record(&proof, size, roots[size as usize], index, leaf)
                .unwrap_or_else(|e| panic!("record {index} in {size}: {e}"));
            let wrong = tlog_tiles::record_hash(b"not the record");
            assert!(tlog_tiles::check_record(&proof, size, roots[size as usize], index, wrong).is_err());
        }
        for old in [0, 1, size / 3, size - 1, size] {
            let proof =
                server.db.call_blocking(move |c| Ok(evidence::consistency(c, COMMUNITY, old, size))).unwrap().unwrap();
            if old == 0 || old == size {
                assert!(proof.is_empty());
                continue;
            }
            tlog_tiles::check_tree(&proof, size, roots[size as usize], old, roots[old as usize])
                .unwrap_or_else(|e| panic!("{old} to {size}: {e}"));
        }
    }
    // A fork: the same size with another history does not prove consistent.
    let proof = server.db.call_blocking(|c| Ok(evidence::consistency(c, COMMUNITY, 100, 208))).unwrap().unwrap();
    assert!(tlog_tiles::check_tree(&proof, 208, roots[208], 100, roots[99]).is_err());
    // Proofs beyond the log are refused, not made up.
    let out = server.db.call_blocking(|c| Ok(evidence::inclusion(c, COMMUNITY, 5, 209))).unwrap();
    assert!(matches!(out, Err(evidence::EvidenceError::OutOfRange(_))));
}

#[test]
fn anyone_gets_a_signed_checkpoint_and_checks_a_record_and_a_later_checkpoint_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let base = server.url();
    let b = browser();
    let records: Vec<Vec<u8>> = (0..20u32).map(|i| format!("pledge {i}").into_bytes()).collect();
    append_all(&server, &records[..13]);
    let (status, vkey) = get(&b, &format!("{base}/log/{COMMUNITY}/key"));
    assert_eq!(status, 200);
    let verifier = StandardVerifier::new(vkey.trim()).expect("a C2SP verifier key");
    let known = VerifierList::new(vec![Box::new(verifier)]);
    let read = |note: &str| {
        let note = Note::from_bytes(note.as_bytes()).unwrap();
        note.verify(&known).expect("signed by the log's key");
        Checkpoint::from_bytes(note.text()).unwrap()
    };
    let (_, first) = get(&b, &format!("{base}/log/{COMMUNITY}/checkpoint"));
    // Named after the server's address: the tiles' URL prefix, no scheme.
    let origin = format!("{}/log/{COMMUNITY}", base.trim_start_matches("http://"));
    assert!(first.starts_with(&format!("{origin}\n13\n")), "{first}");
    let first = read(&first);
    assert_eq!(first.hash().0, mth(&records[..13]));
    // Record 4 is in it.
    let (status, body) = get(&b, &format!("{base}/log/{COMMUNITY}/inclusion?index=4&size=13"));
    assert_eq!(status, 200);
    let proof = hashes(&body);
    tlog_tiles::check_record(&proof, 13, *first.hash(), 4, tlog_tiles::record_hash(&records[4])).unwrap();
    // The log grows; the new checkpoint extends the one seen before.
    append_all(&server, &records[13..]);
    let (_, second) = get(&b, &format!("{base}/log/{COMMUNITY}/checkpoint"));
    let second = read(&second);
    assert_eq!(second.size(), 20);
    let (_, body) = get(&b, &format!("{base}/log/{COMMUNITY}/consistency?old=13&new=20"));
    tlog_tiles::check_tree(&hashes(&body), 20, *second.hash(), 13, *first.hash()).unwrap();
    // A forged note does not verify; unknown logs and impossible proofs are refused.
    let (_, note) = get(&b, &format!("{base}/log/{COMMUNITY}/checkpoint"));
    let forged = note.replacen("\n20\n", "\n21\n", 1);
    assert!(Note::from_bytes(forged.as_bytes()).unwrap().verify(&known).is_err());
    assert_eq!(get(&b, &format!("{base}/log/nowhere/checkpoint")).0, 404);
    assert_eq!(get(&b, &format!("{base}/log/{COMMUNITY}/inclusion?index=20&size=20")).0, 400);
    assert_eq!(get(&b, &format!("{base}/log/{COMMUNITY}/consistency?old=5&new=21")).0, 400);
}

fn hashes(json: &str) -> Vec<Hash> {
    use base64::Engine;
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            Hash(base64::engine::general_purpose::STANDARD.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        })
        .collect()
}

#[test]
fn a_changed_stored_hash_makes_the_proofs_fail() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let records: Vec<Vec<u8>> = (0..16u32).map(|i| format!("notice {i}").into_bytes()).collect();
    append_all(&server, &records);
    let published = root(&server, 16);
    // Someone rewrites record 5 in the database.
    let forged = hex::encode(tlog_tiles::record_hash(b"a different notice").0);
    let idx = tlog_tiles::stored_hash_index(0, 5);
    server
        .db
        .call_blocking(move |c| {
            c.execute("UPDATE tlog_hashes SET hash = ?1 WHERE idx = ?2", shoumen_server::vals![forged, idx])
        })
        .unwrap();
    let proof = server.db.call_blocking(|c| Ok(evidence::inclusion(c, COMMUNITY, 5, 16))).unwrap().unwrap();
    let leaf = tlog_tiles::record_hash(b"a different notice");
    assert!(
        tlog_tiles::check_record(&proof, 16, published, 5, leaf).is_err(),
        "the published checkpoint does not cover the forgery"
    );
}

/// Flips one bit of one hash of a proof, chosen by `k`.
fn flipped(proof: &[Hash], k: usize) -> Vec<Hash> {
    let mut p = proof.to_vec();
    let i = k % p.len();
    p[i].0[(k / 7) % 32] ^= 1 << (k % 8);
    p
}

#[test]
fn proofs_for_every_size_to_1000_check_and_any_flipped_bit_fails() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let records: Vec<Vec<u8>> = (0..1000u32).map(|i| Sha256::digest(i.to_be_bytes()).to_vec()).collect();
    append_all(&server, &records);
    let roots: Vec<Hash> = server
        .db
        .call_blocking(|c| Ok((0..=1000).map(|n| evidence::root(c, COMMUNITY, n).unwrap()).collect()))
        .unwrap();
    let (mut inclusions, mut consistencies) = (0, 0);
    let proofs = server
        .db
        .call_blocking(|c| {
            let mut all = Vec::new();
            for size in 1..=1000u64 {
                // The first, the last, the middle and one more record; the
                // same for earlier sizes.
                let picks = [0, size - 1, size / 2, (size * 7919) % size];
                let inc: Vec<_> =
                    picks.iter().map(|&i| (i, evidence::inclusion(c, COMMUNITY, i, size).unwrap())).collect();
                let con: Vec<_> = picks
                    .iter()
                    .filter(|&&o| o > 0)
                    .map(|&o| (o, evidence::consistency(c, COMMUNITY, o, size).unwrap()))
                    .collect();
                all.push((size, inc, con));
            }
            Ok(all)
        })
        .unwrap();
    for (size, inc, con) in proofs {
        let root = roots[size as usize];
        for (index, proof) in inc {
            let leaf = tlog_tiles::record_hash(&records[index as usize]);
            tlog_tiles::check_record(&proof, size, root, index, leaf)
                .unwrap_or_else(|e| panic!("record {index} in {size}: {e}"));
            inclusions += 1;
            if !proof.is_empty() {
                let k = (size * 31 + index) as usize;
                assert!(
                    tlog_tiles::check_record(&flipped(&proof, k), size, root, index, leaf).is_err(),
                    "a flipped bit in {index}/{size}"
                );
            }
            let mut bad_leaf = leaf;
            bad_leaf.0[(index % 32) as usize] ^= 0x80;
            assert!(tlog_tiles::check_record(&proof, size, root, index, bad_leaf).is_err());
        }
        for (old, proof) in con {
            if old == size {
                assert!(proof.is_empty());
                continue;
            }
            tlog_tiles::check_tree(&proof, size, root, old, roots[old as usize])
                .unwrap_or_else(|e| panic!("{old} to {size}: {e}"));
            consistencies += 1;
            assert!(
                tlog_tiles::check_tree(&flipped(&proof, (size + old) as usize), size, root, old, roots[old as usize])
                    .is_err(),
                "{old} to {size}"
            );
        }
    }
    assert!(
        inclusions >= 3000 && consistencies >= 1990,
        "{inclusions} inclusion and {consistencies} consistency proofs checked"
    );
}

/// Registrations that arrive together are appended in one batch, and some
/// of them fail (a replayed form, a bad field): the failed ones leave no
/// leaf and none of their rows, the others' indexes follow on without a
/// gap, and the roots are RFC 9162's, including when the first job to lock
/// the log in a batch is one that fails.
#[test]
fn failed_jobs_in_a_batch_leave_no_gap_and_no_row() {
    use evidence::EvidenceError;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let record = |i: u64| Sha256::digest((7_000 + i).to_be_bytes()).to_vec();
    append_all(&server, &[record(0), record(1), record(2)]);
    let sequencer = shoumen_server::records::sequencer::Sequencer::start(server.db.clone());
    // The first job holds the writer while the others queue, so they commit
    // as one batch.
    let first = sequencer.submit(move |tx, log| {
        std::thread::sleep(std::time::Duration::from_millis(300));
        log.append(tx, COMMUNITY, &record(3), 0)
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    let jobs: Vec<_> = (4..16u64)
        .map(|i| {
            sequencer.submit(move |tx, log| {
                // Every third job changes a row, appends, then fails.
                if i % 3 == 1 {
                    tx.execute(
                        "UPDATE communities SET webhook_url = 'http://changed.invalid/' WHERE id = ?1",
                        &[COMMUNITY.into()],
                    )?;
                }
                let n = log.append(tx, COMMUNITY, &record(i), 0)?;
                if i % 3 == 1 || i % 5 == 0 {
                    return Err(EvidenceError::OutOfRange(format!("job {i} refused")));
                }
                Ok(n)
            })
        })
        .collect();
    assert_eq!(first.blocking_recv().unwrap().unwrap(), 3);
    let mut kept = vec![record(0), record(1), record(2), record(3)];
    for (i, job) in (4..16u64).zip(jobs) {
        match job.blocking_recv().unwrap() {
            Ok(n) => {
                assert_eq!(n, kept.len() as u64, "job {i} follows on from the last kept record");
                kept.push(record(i));
            }
            Err(e) => assert!(i % 3 == 1 || i % 5 == 0, "job {i} failed: {e}"),
        }
    }
    assert_eq!(kept.len(), 4 + 6, "jobs 4, 5, 7, 10, 13 and 15 failed as asked");
    let size = server.db.call_blocking(|c| evidence::size(c, COMMUNITY)).unwrap();
    assert_eq!(size, kept.len() as u64, "the failed jobs left no leaf");
    for n in 1..=size {
        assert_eq!(root(&server, n).0, mth(&kept[..n as usize]), "root of {n}");
    }
    let url: String = server
        .db
        .call_blocking(|c| {
            c.query_row("SELECT webhook_url FROM communities WHERE id = ?1", &[COMMUNITY.into()], |r| r.get(0))
        })
        .unwrap();
    assert!(!url.contains("changed"), "a failed job's change was rolled back with it");
    // The log goes on from there, one append per transaction.
    append_all(&server, &[record(99)]);
    kept.push(record(99));
    assert_eq!(root(&server, size + 1).0, mth(&kept));
}

/// The evidence log's figures (issue 17): 100,000 appends as the server
/// makes them (through the sequencer, from 64 registrations at a time,
/// each batch one durable commit), then inclusion proofs served over HTTP
/// at that size; and for comparison, appends one per transaction. Run with
/// `SHOUMEN_EVIDENCE_BENCH=1` (or a record count); it reports, it asserts
/// no time.
/// A receipt's page and file are never kept by a browser or proxy (they
/// hold a name, a phone and a signature); a receipt whose record is past
/// the end of the log (a database restored from an older backup) is a
/// 410 that says so, not a 500, and the committee gets the alert.
#[test]
fn a_receipt_past_the_end_of_the_log_says_so_and_receipts_are_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    returnee_scene(&server.db);
    let (path, _) = register_returnee_at(&server.url(), "13900000001").unwrap();
    let b = reqwest::blocking::Client::new();
    for url in [format!("{}{path}", server.url()), format!("{}{path}/json", server.url())] {
        let r = b.get(&url).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers().get("cache-control").unwrap(), "no-store", "{url}");
    }
    // The log loses its last record, as a restore from an older backup would.
    server.exec("DELETE FROM tlog_leaves", &[]);
    server.exec("DELETE FROM tlog_hashes", &[]);
    for url in [format!("{}{path}", server.url()), format!("{}{path}/json", server.url())] {
        let r = b.get(&url).header("accept-language", "en").send().unwrap();
        assert_eq!(r.status(), 410, "{url}");
        assert_eq!(r.headers().get("cache-control").unwrap(), "no-store", "{url}");
        let page = r.text().unwrap();
        assert!(page.contains("not in the evidence log (the log holds 0 records)"), "{page}");
    }
    assert_eq!(
        server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'evidence_damaged'"),
        1,
        "once, however often asked"
    );
}

/// `/verify` checks a receipt against the log as it is now (issue 29): a
/// log rewritten after the receipt was given, every stored hash recomputed
/// and a new checkpoint signed with the database's key, no longer passes
/// the receipt it gave; a log that lost records says it shrank. (Before,
/// both passed: a receipt was checked only against its own checkpoint.)
#[test]
fn verify_refuses_a_receipt_the_log_no_longer_holds() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    returnee_scene(&server.db);
    let receipt = register_returnee(&server.url(), "13900000001").unwrap();
    for n in 2..5 {
        assert!(register_returnee(&server.url(), &format!("1390000000{n}")).is_some());
    }
    let b = reqwest::blocking::Client::new();
    let verify = |receipt: &str| {
        let r = b
            .post(format!("{}/verify", server.url()))
            .header("accept-language", "en")
            .form(&[("receipt", receipt)])
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    assert_eq!(verify(&receipt).0, 200);
    // The file itself, uploaded as the receipt page downloaded it.
    let upload = |parts: reqwest::blocking::multipart::Form| {
        let r =
            b.post(format!("{}/verify", server.url())).header("accept-language", "en").multipart(parts).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let file = reqwest::blocking::multipart::Part::bytes(receipt.clone().into_bytes()).file_name("receipt-X.json");
    let (status, page) = upload(reqwest::blocking::multipart::Form::new().text("receipt", "").part("file", file));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Verified"), "{page}");
    let (status, page) = upload(reqwest::blocking::multipart::Form::new().text("receipt", " "));
    assert_eq!(status, 422);
    assert!(page.contains("Choose the receipt file, or paste the receipt."), "{page}");
    // The history rewritten: four other leaves, every hash recomputed.
    server.exec("DELETE FROM tlog_leaves", &[]);
    server.exec("DELETE FROM tlog_hashes", &[]);
    append_all(&server, &(0..4u8).map(|i| vec![i; 32]).collect::<Vec<_>>());
    let (status, page) = verify(&receipt);
    assert_eq!(status, 422);
    assert!(page.contains("does not match the evidence log as it is now"), "{page}");
    // The log cut short (restored from an older backup).
    server.exec("DELETE FROM tlog_leaves", &[]);
    server.exec("DELETE FROM tlog_hashes", &[]);
    let (status, page) = verify(&receipt);
    assert_eq!(status, 422);
    assert!(page.contains("shrank from"), "{page}");
}

/// The receipt page's QR code proves the registration without handing
/// over the record (issue 29): it opens a page that says the log holds
/// record N with that leaf, and nothing about the person; before, it was
/// the receipt's own secret address (name, phone, signature).
#[test]
fn the_receipts_qr_code_proves_registration_without_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    returnee_scene(&server.db);
    let (path, receipt) = register_returnee_at(&server.url(), "13900000001").unwrap();
    let receipt: serde_json::Value = serde_json::from_str(&receipt).unwrap();
    let salt = hex::decode(receipt["salt"].as_str().unwrap()).unwrap();
    let leaf = shoumen_protocol::evidence::leaf_hash(&salt, receipt["record"].as_str().unwrap().as_bytes());
    let proof = format!("{}/verify/{COMMUNITY}/{}/{}", server.url(), receipt["index"], hex::encode(leaf.0));
    let b = reqwest::blocking::Client::new();
    let page = b.get(format!("{}{path}", server.url())).send().unwrap().text().unwrap();
    let qr = |text: &str| shoumen_server::web::qr_code(text).into_string();
    assert!(page.contains(&qr(&proof)), "the QR code is the proof's address");
    assert!(!page.contains(&qr(&format!("{}{path}", server.url()))), "not the receipt's own");
    let r = b.get(&proof).header("accept-language", "en").send().unwrap();
    assert_eq!(r.status(), 200);
    let shown = r.text().unwrap();
    assert!(shown.contains("Registered: the evidence log holds this record (number 1; the log holds 1)"), "{shown}");
    assert!(!shown.contains("3-502") && !shown.contains("王芳"), "nothing personal: {shown}");
    let wrong = proof.replace(&hex::encode(leaf.0), &"ab".repeat(32));
    assert_eq!(b.get(&wrong).send().unwrap().status(), 404);

    // The receipt carries the log's key; the receipt page and the poster
    // print its fingerprint, the same as the independent reader computes.
    let key = b.get(format!("{}/log/{COMMUNITY}/key", server.url())).send().unwrap().text().unwrap();
    assert_eq!(receipt["log_key"].as_str().unwrap(), key.trim());
    let fingerprint = shoumen_protocol::evidence::fingerprint(&key);
    assert!(page.contains(&fingerprint), "the receipt page prints {fingerprint}");
    let (admin, _) = login(&server);
    let (_, poster) = get(&admin, &format!("{}/returnees/poster", server.url()));
    assert!(poster.contains(&fingerprint), "the poster prints {fingerprint}");
    let ci = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci");
    let py = format!(
        "import sys; sys.path.insert(0, {:?}); import check_evidence as c; print(c.fingerprint({:?}))",
        ci, key
    );
    if let Ok(out) = std::process::Command::new("python3").args(["-c", &py]).output() {
        if out.status.success() {
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), fingerprint, "the Python reader's fingerprint");
        }
    }
}

/// Links' and form tokens' MACs have a secret of their own, not the log's
/// signing key (issue 29): the key can move (out of the database, or to a
/// new log) and every printed check-in link stays valid.
#[test]
fn a_new_log_key_leaves_check_in_links_valid() {
    use shoumen_server::records::checkins;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let link = || server.db.call_blocking(|c| checkins::token(c, COMMUNITY, "n1")).unwrap();
    let before = link();
    let (skey, _) = signed_note::generate_key(&mut rand::rngs::OsRng, "another/log");
    server.exec("UPDATE communities SET log_skey = ?1 WHERE id = ?2", shoumen_server::vals![&skey, COMMUNITY]);
    assert_eq!(link(), before, "the link does not depend on the log's key");
}

/// The independent reader (`.ci/check_evidence.py`) is as strict as the
/// C2SP specs: `.ci/check_evidence_test.py` signs broken notes with a key
/// of its own and expects each refused (a size `05`, an empty extension
/// line, a note cut at its first blank line instead of its last …).
#[test]
fn the_independent_reader_refuses_notes_the_specs_refuse() {
    let ci = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci");
    let has = std::process::Command::new("python3").args(["-c", "import cryptography"]).status();
    if !has.is_ok_and(|s| s.success()) {
        eprintln!("skipped: needs python3 with cryptography (apt-get install python3-cryptography)");
        return;
    }
    let out = std::process::Command::new("python3").arg(ci.join("check_evidence_test.py")).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("refused every broken note"), "{said}");
}

#[test]
fn bench_appends_and_proofs_at_100000_records() {
    let Ok(n) = std::env::var("SHOUMEN_EVIDENCE_BENCH") else {
        eprintln!("skipped: set SHOUMEN_EVIDENCE_BENCH=1 (or a record count) to measure the evidence log");
        return;
    };
    let n: u64 = n.parse().ok().filter(|&n| n > 1000).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    // 2,000 proofs from one address: past a phone's rate limit.
    let server = TestServer::start_with(dir.path(), |c| c.rate_per_minute = 100_000);
    let engine = if on_postgres() { "PostgreSQL" } else { "SQLite" };
    // One append per transaction (one fsync each), 10,000 of them.
    let started = std::time::Instant::now();
    server
        .db
        .call_blocking(|c| {
            for i in 0..10_000u64 {
                evidence::append(c, COMMUNITY, &Sha256::digest(i.to_be_bytes()), 0).unwrap();
            }
            Ok(())
        })
        .unwrap();
    let single = 10_000.0 / started.elapsed().as_secs_f64();
    // Through the sequencer: 64 registrations at a time, each a task on one
    // runtime thread, as the server's handlers submit them.
    let sequencer = std::sync::Arc::new(shoumen_server::records::sequencer::Sequencer::start(server.db.clone()));
    let writers = 64u64;
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let sequencer = sequencer.clone();
                tokio::spawn(async move {
                    for i in (w..n).step_by(writers as usize) {
                        let record = Sha256::digest((1_000_000 + i).to_be_bytes()).to_vec();
                        let job = sequencer.submit(move |tx, log| log.append(tx, COMMUNITY, &record, 0));
                        shoumen_server::records::sequencer::wait(job).await.expect("appended");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let size = server.db.call_blocking(|c| evidence::size(c, COMMUNITY)).unwrap();
    assert_eq!(size, 10_000 + n);
    let client = reqwest::blocking::Client::new();
    let base = server.url();
    let mut latencies: Vec<f64> = (0..2000u64)
        .map(|k| {
            let index = (k * 7919 * 104_729) % size;
            let t = std::time::Instant::now();
            let r = client.get(format!("{base}/log/{COMMUNITY}/inclusion?index={index}&size={size}")).send().unwrap();
            assert_eq!(r.status(), 200);
            let _ = r.text().unwrap();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    println!(
        "evidence bench ({engine}): {n} appends through the sequencer in {elapsed:.1} s = {:.0} records/s; one per transaction: {single:.0} records/s; \
inclusion proofs over HTTP at {size} records: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        n as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    if let Some(said) = mirror(&server) {
        println!("evidence bench ({engine}): {}", said.trim());
    }
}

/// Runs `.ci/mirror_log.py` against `server`'s log; `None` (and a reason
/// printed) without python3's cryptography. Panics if the mirror fails.
fn mirror(server: &TestServer) -> Option<String> {
    let has = std::process::Command::new("python3").args(["-c", "import cryptography"]).status();
    if !has.is_ok_and(|s| s.success()) {
        eprintln!("the mirror left out: needs python3 with cryptography (apt-get install python3-cryptography)");
        return None;
    }
    let out = mirror_run(server);
    assert!(out.0, "{}", out.1);
    Some(out.1)
}

/// `.ci/mirror_log.py` run against `server`: whether it passed, and what it said.
fn mirror_run(server: &TestServer) -> (bool, String) {
    let key = reqwest::blocking::get(format!("{}/log/{COMMUNITY}/key", server.url())).unwrap().text().unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/mirror_log.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args([server.url().as_str(), COMMUNITY, key.trim()])
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
}

/// The log can be copied from its tiles alone (C2SP tlog-tiles) and its
/// root recomputed by a reader that shares no code with the server; the
/// tiles are cacheable for ever; a path that names no tile, or a tile past
/// the end, is a 404 (a level past 63 or a width of 0 once made the
/// tile library panic); a changed stored hash makes the mirror fail.
#[test]
fn the_log_is_mirrored_from_its_tiles_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    // Five full level-0 tiles and a partial one; a partial level-1 tile.
    let records: Vec<Vec<u8>> = (0..1300u32).map(|i| Sha256::digest(i.to_be_bytes()).to_vec()).collect();
    append_all(&server, &records);
    let b = reqwest::blocking::Client::new();
    let get = |path: &str| b.get(format!("{}/log/{COMMUNITY}/{path}", server.url())).send().unwrap();
    let full = get("tile/0/001");
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers().get("cache-control").unwrap(), "public, max-age=31536000, immutable");
    let full = full.bytes().unwrap();
    assert_eq!(full.len(), 256 * 32);
    // Leaf 256 is the first hash of tile 1, as RFC 6962 hashes it.
    assert_eq!(full[..32], Sha256::digest([&[0u8][..], &records[256]].concat())[..]);
    assert_eq!(get("tile/0/005.p/20").bytes().unwrap().len(), 20 * 32);
    assert_eq!(get("tile/1/000.p/5").bytes().unwrap().len(), 5 * 32);
    for gone in ["tile/0/005", "tile/0/005.p/21", "tile/1/000", "tile/2/000.p/1", "tile/100/000", "tile/0/000.p/0"] {
        assert_eq!(get(gone).status(), 404, "{gone}");
    }
    for bad in
        ["tile/0/1", "tile/00/001", "tile/0/x000/001", "tile/0/001.p/256", "tile/entries/1", "tile/entries/000.p/0"]
    {
        assert_eq!(get(bad).status(), 404, "{bad}");
    }
    // Entry bundles: each entry a big-endian u16 length and the entry.
    let bundle = get("tile/entries/001");
    assert_eq!(bundle.headers().get("cache-control").unwrap(), "public, max-age=31536000, immutable");
    let bundle = bundle.bytes().unwrap();
    assert_eq!(bundle.len(), 256 * 34);
    assert_eq!((&bundle[..2], &bundle[2..34]), (&[0u8, 32][..], &records[256][..]));
    assert_eq!(get("tile/entries/005.p/20").bytes().unwrap().len(), 20 * 34);
    for gone in ["tile/entries/005", "tile/entries/005.p/21", "tile/entries/006.p/1"] {
        assert_eq!(get(gone).status(), 404, "{gone}");
    }
    let Some(said) = mirror(&server) else { return };
    assert!(said.contains("mirrored 1300 records from 13 tiles"), "{said}");
    // A stored entry changed: refused at the source, not served.
    server.exec("UPDATE tlog_leaves SET entry = '00' || substr(entry, 3) WHERE n = 300", &[]);
    assert_eq!(get("tile/entries/001").status(), 500);
    server.exec("UPDATE tlog_leaves SET entry = ?1 WHERE n = 300", shoumen_server::vals![hex::encode(&records[300])]);
    // A stored leaf hash changed: its entry no longer hashes to it.
    let index = tlog_tiles::stored_hash_index(0, 700) as i64;
    server.exec(
        "UPDATE tlog_hashes SET hash = ?1 WHERE community = ?2 AND idx = ?3",
        shoumen_server::vals!["00".repeat(32), COMMUNITY, index],
    );
    let (ok, said) = mirror_run(&server);
    assert!(!ok && said.contains("tile/entries/002: entry 188 is not its leaf's"), "{said}");
}

/// A log's tiles, checkpoint and key are bounded per address like every
/// public path, generously: a client past its budget is told to wait.
#[test]
fn a_logs_public_paths_are_bounded_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.tiles_per_minute = 3);
    append_all(&server, &[vec![1u8; 32], vec![2u8; 32]]);
    let get = |path: &str| reqwest::blocking::get(format!("{}/log/{COMMUNITY}/{path}", server.url())).unwrap();
    for _ in 0..3 {
        assert_eq!(get("tile/entries/000.p/2").status(), 200);
    }
    let refused = get("tile/0/000.p/2");
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers().get("retry-after").unwrap(), "60");
    // The checkpoint and the key have a budget of their own, as bounded.
    for _ in 0..3 {
        assert_eq!(get("checkpoint").status(), 200);
    }
    assert_eq!(get("key").status(), 429);
}

/// The log audits itself (issue 29): `evidence fsck` and the nightly audit
/// recompute every leaf from its record and salt, every stored hash from
/// the leaves, and name each kind of change: a record, a salt, a stored
/// leaf, a level-0 hash, an interior node, a published entry. Each is an alert, once.
#[test]
fn the_audit_names_a_changed_record_salt_leaf_level_0_hash_and_interior_node() {
    use shoumen_server::leaves::words::{detail_text, Lang};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    returnee_scene(&server.db);
    for n in 0..8 {
        assert!(register_returnee(&server.url(), &format!("1390000000{n}")).is_some());
    }
    let audit = || {
        let (size, problems) = server.db.call_blocking(|c| evidence::fsck(c, COMMUNITY)).unwrap();
        assert_eq!(size, 8);
        problems.iter().map(|p| detail_text(Lang::En, &p.encode(), 0)).collect::<Vec<_>>()
    };
    assert_eq!(audit(), Vec::<String>::new(), "an untouched log");
    let value =
        |sql: &str| -> String { server.db.call_blocking(|c| c.query_row(sql, &[], |r| r.get::<String>(0))).unwrap() };
    // A leaf logged before entries were kept: its entry bundle is made
    // from its registration while retention keeps it, and only then.
    let bundle = || reqwest::blocking::get(format!("{}/log/{COMMUNITY}/tile/entries/000.p/8", server.url())).unwrap();
    let whole = bundle().bytes().unwrap();
    assert_eq!(whole.len(), 8 * 34);
    server.exec("UPDATE tlog_leaves SET entry = NULL WHERE n = 3", &[]);
    assert_eq!(bundle().bytes().unwrap(), whole);
    let record = value("SELECT record FROM registrations WHERE leaf_index = 3");
    server.exec("UPDATE registrations SET record = NULL WHERE leaf_index = 3", &[]);
    let gone = bundle();
    assert_eq!(gone.status(), 404);
    assert!(gone.text().unwrap().contains("record 3 was logged before entries were kept"));
    server.exec("UPDATE registrations SET record = ?1 WHERE leaf_index = 3", shoumen_server::vals![record]);
    server.exec(
        "UPDATE tlog_leaves SET entry = ?1 WHERE n = 3",
        shoumen_server::vals![hex::encode(&whole[3 * 34 + 2..4 * 34])],
    );
    let hash_at = |level: u8, n: u64| tlog_tiles::stored_hash_index(level, n);
    // Each change, what the audit says, and the change undone.
    let cases: Vec<(String, String, Vec<String>)> = vec![
        (
            "UPDATE registrations SET record = record || ' ' WHERE leaf_index = 3".into(),
            format!(
                "UPDATE registrations SET record = '{}' WHERE leaf_index = 3",
                value("SELECT record FROM registrations WHERE leaf_index = 3").replace('\'', "''")
            ),
            vec!["Record 3: its stored record or salt does not match its leaf".into()],
        ),
        (
            "UPDATE registrations SET salt = '00' || substr(salt, 3) WHERE leaf_index = 4".into(),
            format!(
                "UPDATE registrations SET salt = '{}' WHERE leaf_index = 4",
                value("SELECT salt FROM registrations WHERE leaf_index = 4")
            ),
            vec!["Record 4: its stored record or salt does not match its leaf".into()],
        ),
        (
            format!(
                "UPDATE tlog_leaves SET leaf = '{}' WHERE n = 5",
                value("SELECT leaf FROM tlog_leaves WHERE n = 1")
            ),
            format!(
                "UPDATE tlog_leaves SET leaf = '{}' WHERE n = 5",
                value("SELECT leaf FROM tlog_leaves WHERE n = 5")
            ),
            vec![
                "Record 5: its stored record or salt does not match its leaf".into(),
                "Record 5: its published entry does not match its leaf".into(),
                "The hash at level 0, node 5 does not follow from the records".into(),
            ],
        ),
        (
            format!("UPDATE tlog_hashes SET hash = '{}' WHERE idx = {}", "00".repeat(32), hash_at(0, 6)),
            format!(
                "UPDATE tlog_hashes SET hash = '{}' WHERE idx = {}",
                value(&format!("SELECT hash FROM tlog_hashes WHERE idx = {}", hash_at(0, 6))),
                hash_at(0, 6)
            ),
            vec!["The hash at level 0, node 6 does not follow from the records".into()],
        ),
        (
            format!("UPDATE tlog_hashes SET hash = '{}' WHERE idx = {}", "11".repeat(32), hash_at(1, 1)),
            format!(
                "UPDATE tlog_hashes SET hash = '{}' WHERE idx = {}",
                value(&format!("SELECT hash FROM tlog_hashes WHERE idx = {}", hash_at(1, 1))),
                hash_at(1, 1)
            ),
            vec!["The hash at level 1, node 1 does not follow from the records".into()],
        ),
        (
            format!("UPDATE tlog_leaves SET entry = '{}' WHERE n = 2", "22".repeat(32)),
            format!(
                "UPDATE tlog_leaves SET entry = '{}' WHERE n = 2",
                value("SELECT entry FROM tlog_leaves WHERE n = 2")
            ),
            vec!["Record 2: its published entry does not match its leaf".into()],
        ),
    ];
    for (change, undo, expected) in &cases {
        server.exec(change, &[]);
        let said = audit();
        for e in expected {
            assert!(said.iter().any(|s| s.starts_with(e.as_str())), "{change}: expected {e:?} in {said:?}");
        }
        assert!(said.len() <= expected.len() + 1, "{change}: only where it is: {said:?}");
        server.exec(undo, &[]);
        assert_eq!(audit(), Vec::<String>::new(), "undone: {undo}");
    }

    // The nightly audit raises it once, whichever process runs it first.
    server.exec(&cases[4].0, &[]);
    let now = shoumen_server::db::now_ms();
    use shoumen_server::records::chores::{run_leased, Leased};
    let night = |at: i64| {
        server
            .db
            .call_blocking(move |c| {
                run_leased(c, "evidence_fsck", "2026-12-05", at, 3_600_000, |c| {
                    shoumen_server::ops::fsck::nightly(c, at)
                })
            })
            .unwrap()
    };
    assert_eq!(night(now), Leased::Done(1));
    assert_eq!(night(now + 1), Leased::DoneBefore);
    assert_eq!(server.count("SELECT COUNT(*) FROM alerts WHERE kind = 'evidence_damaged'"), 1);
    let (b, _) = login(&server);
    let (_, page) = get(&b, &format!("{}/alerts", server.url()));
    assert!(page.contains("The hash at level 1, node 1 does not follow from the records"), "{page}");
    // And `evidence fsck` says so, and fails.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoumen-server"))
        .args(["--db", &target(dir.path()), "evidence", "fsck"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() && text.contains("DAMAGED  lotus-gdn: The hash at level 1, node 1"), "{text}");
}
