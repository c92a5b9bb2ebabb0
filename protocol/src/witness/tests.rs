use super::*;
use signed_note::StandardSigner;
use tlog_tiles::Checkpoint;

/// A log of `n` one-byte records in memory, and its key pair.
struct Log {
    hashes: Vec<Hash>,
    keys: (String, String),
}

impl tlog_tiles::HashReader for Log {
    fn read_hashes(&self, idx: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        Ok(idx.iter().map(|&i| self.hashes[i as usize]).collect())
    }
}

impl Log {
    fn new(records: &[u8]) -> Log {
        let mut log = Log { hashes: Vec::new(), keys: signed_note::generate_key(&mut rand::rngs::OsRng, "log.test/a") };
        log.keys = signed_note::generate_key(&mut rand::rngs::OsRng, "log.test/a");
        for (n, r) in records.iter().enumerate() {
            let hs = tlog_tiles::stored_hashes(n as u64, &[*r], &log).unwrap();
            log.hashes.extend(hs);
        }
        log
    }
    fn head(&self, n: u64) -> Head {
        Head { origin: "log.test/a".into(), size: n, root: tlog_tiles::tree_hash(n, self).unwrap() }
    }
    fn note(&self, n: u64) -> String {
        let text = Checkpoint::new("log.test/a", n, self.head(n).root, "").unwrap().to_bytes();
        let mut note = Note::new(&text, &[]).unwrap();
        note.add_sigs(&[&StandardSigner::new(&self.keys.0).unwrap()]).unwrap();
        String::from_utf8(note.to_bytes()).unwrap()
    }
    fn add(&self, old: u64, new: u64) -> AddCheckpoint {
        let proof = if old == 0 || old == new { vec![] } else { tlog_tiles::prove_tree(new, old, self).unwrap() };
        AddCheckpoint { old, proof, checkpoint: self.note(new) }
    }
}

fn witness(name: &str) -> Cosigner {
    Cosigner::from_seed(name, rand::random()).unwrap()
}

#[test]
fn a_request_body_reads_back_and_malformed_ones_are_400() {
    let log = Log::new(&[1, 2, 3, 4, 5, 6, 7]);
    for (old, new) in [(0, 7), (3, 7), (7, 7)] {
        let req = log.add(old, new);
        assert_eq!(AddCheckpoint::parse(&req.body()).unwrap(), req);
    }
    let body = log.add(3, 7).body();
    for bad in [
        body.replacen("old 3", "old 03", 1),
        body.replacen("old 3", "old -3", 1),
        body.replacen("old 3", "size 3", 1),
        body.replacen("\n\n", "\n", 1),
        body.replacen('\n', "\n!!!\n", 1),
    ] {
        assert_eq!(AddCheckpoint::parse(&bad).unwrap_err().status(), 400, "{bad}");
    }
    let long = format!("old 3\n{}\n{}", format!("{}\n", Hash([0; 32])).repeat(64), log.note(7));
    assert_eq!(AddCheckpoint::parse(&long).unwrap_err().status(), 400);
}

#[test]
fn a_witness_cosigns_only_what_extends_what_it_cosigned() {
    let log = Log::new(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let vkey = &log.keys.1;
    // First sight: old 0, no proof.
    let first = check_add(&log.add(0, 4), vkey, None).unwrap();
    assert_eq!(first, log.head(4));
    // Extending it, with the proof; the same tree again.
    assert_eq!(check_add(&log.add(4, 9), vkey, Some(&first)).unwrap(), log.head(9));
    assert_eq!(check_add(&log.add(4, 4), vkey, Some(&first)).unwrap(), log.head(4));
    // The client's old size is not the witness's: 409 with the witness's.
    let refused = check_add(&log.add(3, 9), vkey, Some(&first)).unwrap_err();
    assert_eq!((refused.status(), refused.clone()), (409, Refusal::Conflict(4)));
    assert_eq!(check_add(&log.add(4, 9), vkey, None).unwrap_err(), Refusal::Conflict(0));
    // Old past the new size: 400.
    let mut back = log.add(4, 4);
    back.old = 5;
    assert_eq!(check_add(&back, vkey, Some(&log.head(5))).unwrap_err().status(), 400);
    // A proof that does not hold, or a proof from the empty tree: 422.
    let mut wrong = log.add(4, 9);
    wrong.proof[0].0[0] ^= 1;
    assert_eq!(check_add(&wrong, vkey, Some(&first)).unwrap_err().status(), 422);
    let mut from_empty = log.add(0, 9);
    from_empty.proof = log.add(4, 9).proof;
    assert_eq!(check_add(&from_empty, vkey, None).unwrap_err().status(), 422);
    // Another history of the log, signed by its key: 422.
    let forked = Log { keys: log.keys.clone(), ..Log::new(&[1, 2, 99, 4, 5, 6, 7, 8, 9]) };
    assert_eq!(check_add(&forked.add(4, 9), vkey, Some(&first)).unwrap_err().status(), 422);
    assert_eq!(check_add(&forked.add(4, 4), vkey, Some(&first)).unwrap_err().status(), 422);
    // Another key: 403.
    let other = Log::new(&[1, 2, 3, 4]);
    assert_eq!(check_add(&other.add(0, 4), vkey, None).unwrap_err().status(), 403);
}

#[test]
fn the_empty_tree_has_the_empty_hash() {
    let log = Log::new(&[]);
    assert_eq!(check_add(&log.add(0, 0), &log.keys.1, None).unwrap().size, 0);
    let text = Checkpoint::new("log.test/a", 0, Hash([7; 32]), "").unwrap().to_bytes();
    let mut note = Note::new(&text, &[]).unwrap();
    note.add_sigs(&[&StandardSigner::new(&log.keys.0).unwrap()]).unwrap();
    let req = AddCheckpoint { old: 0, proof: vec![], checkpoint: String::from_utf8(note.to_bytes()).unwrap() };
    assert_eq!(check_add(&req, &log.keys.1, None).unwrap_err().status(), 422);
}

#[test]
fn cosignatures_count_toward_a_policy_and_a_changed_one_does_not() {
    let log = Log::new(&[1, 2, 3]);
    let (a, b, c) = (witness("district.test/w"), witness("gate-1.test/w"), witness("stranger.test/w"));
    let note = log.note(3);
    let lines = [a.cosign(&note, 1_700_000_000).unwrap(), b.cosign(&note, 1_700_000_001).unwrap()];
    assert!(lines[0].starts_with("— district.test/w ") && lines[0].ends_with('\n'));
    let cosigned = with_cosignatures(&note, &[lines[0].clone(), lines[1].clone(), c.cosign(&note, 5).unwrap()]);
    // The log's own signature still checks, with the cosignatures beside it.
    assert_eq!(crate::evidence::open_checkpoint(&cosigned, &log.keys.1).unwrap(), log.head(3));
    let policy = Policy { witnesses: vec![a.vkey(), b.vkey()], quorum: 2, required: vec![] };
    let got = policy.check(&cosigned).unwrap();
    assert_eq!(
        got,
        vec![
            Cosigned { witness: "district.test/w".into(), time_s: 1_700_000_000 },
            Cosigned { witness: "gate-1.test/w".into(), time_s: 1_700_000_001 },
        ]
    );
    // One short of the quorum; none at all.
    let one = with_cosignatures(&note, &lines[..1]);
    assert_eq!(policy.check(&one).unwrap_err(), EvidenceError::NotWitnessed { have: 1, need: 2 });
    assert_eq!(policy.check(&note).unwrap_err(), EvidenceError::NotWitnessed { have: 0, need: 2 });
    // "The district and 1 other": the other alone is not enough.
    let district_and_one =
        Policy { witnesses: vec![a.vkey(), b.vkey(), c.vkey()], quorum: 1, required: vec![a.vkey()] };
    assert_eq!(district_and_one.check(&cosigned).unwrap().len(), 3);
    let without_district = with_cosignatures(&note, &lines[1..]);
    assert_eq!(
        district_and_one.check(&without_district).unwrap_err(),
        EvidenceError::MissingWitness("district.test/w".into())
    );
    assert_eq!(
        district_and_one.check(&one).unwrap_err(),
        EvidenceError::NotWitnessed { have: 0, need: 1 },
        "the required witness does not count toward the others' quorum"
    );
    assert!(Policy::default().is_empty() && !Policy::just(&a.vkey()).is_empty());
    // A cosignature over another tree does not move to this one.
    let moved = with_cosignatures(&log.note(2), &lines);
    assert!(matches!(policy.check(&moved), Err(EvidenceError::BadSignature(_))));
    // Keys read back from their text; a log key is not a witness key.
    assert_eq!(Cosigner::parse(&a.private_key()).unwrap().vkey(), a.vkey());
    assert_eq!(WitnessKey::parse(&a.vkey()).unwrap().name(), "district.test/w");
    assert_eq!(WitnessKey::parse(&log.keys.1).unwrap_err(), WitnessKeyError::NotCosignature);
    assert!(Cosigner::from_seed("has space", [1; 32]).is_err());
}
