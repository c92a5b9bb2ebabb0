//! Versioned schema migrations, one list per engine. Append new steps;
//! never edit a released one. A database newer than this program is
//! refused with a message saying so.

/// SQLite, versioned by `PRAGMA user_version`.
pub const SQLITE: &[&str] = &[
    // 1: community, accounts, devices, the entry log, passes and lists.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE sessions (
        token_sha256 TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id),
        csrf TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE enroll_tokens (
        token_sha256 TEXT PRIMARY KEY,
        gate_name TEXT NOT NULL,
        expires_ms INTEGER NOT NULL,
        used_by TEXT
    ) STRICT;
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        gate_name TEXT NOT NULL,
        key_hex TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL,
        enrolled_ms INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0,
        -- Highest seq up to which every entry is stored, and its chain hash.
        watermark INTEGER NOT NULL DEFAULT 0,
        head_hash TEXT NOT NULL,
        last_seen_ms INTEGER,
        queue INTEGER,
        skew_ms INTEGER,
        clock_synced INTEGER,
        health TEXT,
        version TEXT
    ) STRICT;
    -- Unique on (device, seq): a resent page is a no-op.
    CREATE TABLE entries (
        device TEXT NOT NULL REFERENCES devices (id),
        seq INTEGER NOT NULL,
        body TEXT NOT NULL,
        hash TEXT NOT NULL,
        wall_ms INTEGER NOT NULL,
        clock_synced INTEGER NOT NULL,
        boot_id TEXT NOT NULL,
        mono_ms INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        direction TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        pass_id TEXT,
        role TEXT,
        temp_centi INTEGER,
        note TEXT,
        PRIMARY KEY (device, seq)
    ) STRICT;
    CREATE INDEX entries_wall ON entries (wall_ms);
    -- The latest (server time, kiosk monotonic time) pair per boot, to place
    -- entries made before the kiosk's clock was synchronised.
    CREATE TABLE boots (
        device TEXT NOT NULL,
        boot_id TEXT NOT NULL,
        server_ms INTEGER NOT NULL,
        mono_ms INTEGER NOT NULL,
        PRIMARY KEY (device, boot_id)
    ) STRICT;
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        device TEXT NOT NULL,
        seq INTEGER,
        detail TEXT NOT NULL,
        first_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        count INTEGER NOT NULL DEFAULT 1,
        acked INTEGER NOT NULL DEFAULT 0,
        UNIQUE (kind, device, detail)
    ) STRICT;
    CREATE TABLE residents (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        unit TEXT NOT NULL,
        phone TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX residents_unit ON residents (unit);
    CREATE TABLE passes (
        pass_id TEXT PRIMARY KEY,
        resident_id INTEGER REFERENCES residents (id),
        role TEXT NOT NULL,
        unit TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        not_before INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        text TEXT NOT NULL,
        link_token TEXT NOT NULL UNIQUE,
        revoked_ms INTEGER,
        visitor_name TEXT,
        gate TEXT
    ) STRICT;
    CREATE INDEX passes_unit ON passes (unit);
    -- Home quarantine is per household (unit); the bundle lists its passes.
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        unit TEXT NOT NULL,
        from_s INTEGER NOT NULL,
        until_s INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE bundles (
        version INTEGER PRIMARY KEY,
        issued_at INTEGER NOT NULL,
        content_sha256 TEXT NOT NULL,
        bundle TEXT NOT NULL,
        kid TEXT NOT NULL,
        signature TEXT NOT NULL
    ) STRICT;",
    // 2: alarms that reach people: acknowledgement notes, the gates' layout
    // (is the exit checked?), presence shared by the gates, the webhook outbox.
    "ALTER TABLE alerts ADD COLUMN acked_by TEXT;
    ALTER TABLE alerts ADD COLUMN acked_note TEXT;
    ALTER TABLE alerts ADD COLUMN acked_ms INTEGER;
    CREATE INDEX alerts_open ON alerts (device, acked);
    ALTER TABLE devices ADD COLUMN layout TEXT;
    CREATE TABLE presence (
        pass_id TEXT PRIMARY KEY,
        direction TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        device TEXT NOT NULL,
        change INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX presence_change ON presence (change);
    CREATE TABLE webhook_outbox (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_ms INTEGER NOT NULL,
        delivered_ms INTEGER,
        last_error TEXT
    ) STRICT;
    CREATE INDEX webhook_due ON webhook_outbox (delivered_ms, next_ms);",
    // 3: many communities on one server. The one community of an older
    // database becomes the first row of `communities`; every record gets
    // the community it belongs to.
    "CREATE TABLE communities (
        id TEXT PRIMARY KEY,
        signing_key TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        webhook_url TEXT NOT NULL DEFAULT '',
        webhook_format TEXT NOT NULL DEFAULT 'json',
        webhook_secret TEXT NOT NULL DEFAULT ''
    ) STRICT;
    INSERT INTO communities (id, signing_key, created_ms, webhook_url, webhook_format, webhook_secret)
        SELECT c.value, k.value, 0,
            COALESCE((SELECT value FROM meta WHERE key = 'webhook_url'), ''),
            COALESCE((SELECT value FROM meta WHERE key = 'webhook_format'), 'json'),
            COALESCE((SELECT value FROM meta WHERE key = 'webhook_secret'), '')
        FROM meta c JOIN meta k ON k.key = 'signing_key' WHERE c.key = 'community';
    DELETE FROM meta WHERE key IN ('community', 'signing_key', 'webhook_url', 'webhook_format', 'webhook_secret');
    -- NULL: a district account, over every community.
    ALTER TABLE users ADD COLUMN community TEXT REFERENCES communities (id);
    UPDATE users SET community = (SELECT id FROM communities LIMIT 1);
    ALTER TABLE enroll_tokens ADD COLUMN community TEXT NOT NULL DEFAULT '';
    UPDATE enroll_tokens SET community = COALESCE((SELECT id FROM communities LIMIT 1), '');
    ALTER TABLE devices ADD COLUMN community TEXT NOT NULL DEFAULT '';
    UPDATE devices SET community = COALESCE((SELECT id FROM communities LIMIT 1), '');
    CREATE INDEX devices_community ON devices (community);
    ALTER TABLE residents ADD COLUMN community TEXT NOT NULL DEFAULT '';
    UPDATE residents SET community = COALESCE((SELECT id FROM communities LIMIT 1), '');
    CREATE INDEX residents_community ON residents (community, unit);
    ALTER TABLE passes ADD COLUMN community TEXT NOT NULL DEFAULT '';
    UPDATE passes SET community = COALESCE((SELECT id FROM communities LIMIT 1), '');
    CREATE INDEX passes_community ON passes (community, unit);
    ALTER TABLE quarantine ADD COLUMN community TEXT NOT NULL DEFAULT '';
    UPDATE quarantine SET community = COALESCE((SELECT id FROM communities LIMIT 1), '');
    ALTER TABLE alerts ADD COLUMN community TEXT NOT NULL DEFAULT '';
    UPDATE alerts SET community = COALESCE((SELECT d.community FROM devices d WHERE d.id = alerts.device), (SELECT id FROM communities LIMIT 1), '');
    CREATE INDEX alerts_community ON alerts (community, acked);
    CREATE TABLE bundles3 (
        community TEXT NOT NULL,
        version INTEGER NOT NULL,
        issued_at INTEGER NOT NULL,
        content_sha256 TEXT NOT NULL,
        bundle TEXT NOT NULL,
        kid TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (community, version)
    ) STRICT;
    INSERT INTO bundles3 SELECT (SELECT id FROM communities LIMIT 1), version, issued_at, content_sha256, bundle, kid, signature
        FROM bundles WHERE EXISTS (SELECT 1 FROM communities);
    DROP TABLE bundles;
    ALTER TABLE bundles3 RENAME TO bundles;
    CREATE TABLE presence3 (
        community TEXT NOT NULL,
        pass_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        device TEXT NOT NULL,
        change INTEGER NOT NULL,
        PRIMARY KEY (community, pass_id)
    ) STRICT;
    INSERT INTO presence3 SELECT (SELECT id FROM communities LIMIT 1), pass_id, direction, at_ms, device, change
        FROM presence WHERE EXISTS (SELECT 1 FROM communities);
    DROP TABLE presence;
    ALTER TABLE presence3 RENAME TO presence;
    CREATE INDEX presence_change ON presence (community, change);
    -- Entries carry their community too: every page and export filters by it.
    ALTER TABLE entries ADD COLUMN community TEXT NOT NULL DEFAULT '';
    UPDATE entries SET community = COALESCE((SELECT d.community FROM devices d WHERE d.id = entries.device), '');
    CREATE INDEX entries_community ON entries (community, wall_ms);
    CREATE INDEX entries_received ON entries (community, received_ms);",
    // 4: retention. Each community keeps entries and visitors' names for
    // as long as it chose; a kiosk's pruned prefix leaves its last hash so
    // the rest of its chain still verifies.
    "ALTER TABLE communities ADD COLUMN entry_days INTEGER NOT NULL DEFAULT 90;
    ALTER TABLE communities ADD COLUMN visitor_days INTEGER NOT NULL DEFAULT 14;
    ALTER TABLE devices ADD COLUMN pruned_seq INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE devices ADD COLUMN pruned_hash TEXT;",
    // 5: accounts with roles (a property account's gates; TOTP; disabled
    // accounts keep their name for the audit trail), one-time invitations,
    // the audit trail, hash-chained per community; residents who moved out
    // (kept for the records), heads of household and their pass requests.
    "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
    ALTER TABLE users ADD COLUMN gates TEXT;
    ALTER TABLE users ADD COLUMN totp_secret TEXT;
    ALTER TABLE users ADD COLUMN disabled_ms INTEGER;
    CREATE TABLE invites (
        token_sha256 TEXT PRIMARY KEY,
        community TEXT NOT NULL,
        role TEXT NOT NULL,
        gates TEXT,
        created_by TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        used_ms INTEGER,
        used_by TEXT
    ) STRICT;
    CREATE INDEX invites_community ON invites (community, created_ms);
    CREATE TABLE audit (
        community TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        ip TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (community, seq)
    ) STRICT;
    ALTER TABLE residents ADD COLUMN moved_out_ms INTEGER;
    ALTER TABLE residents ADD COLUMN head INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE pass_requests (
        id INTEGER PRIMARY KEY,
        community TEXT NOT NULL,
        resident_id INTEGER NOT NULL,
        by_pass TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        decided_ms INTEGER,
        decided_by TEXT,
        pass_id TEXT
    ) STRICT;
    CREATE INDEX pass_requests_open ON pass_requests (community, decided_ms);
    ALTER TABLE webhook_outbox ADD COLUMN community TEXT;
    ALTER TABLE webhook_outbox ADD COLUMN summary_day TEXT;
    ALTER TABLE webhook_outbox ADD COLUMN summary TEXT;
    ALTER TABLE communities ADD COLUMN next_key TEXT;
    ALTER TABLE communities ADD COLUMN old_key TEXT;
    ALTER TABLE communities ADD COLUMN key_version INTEGER;
    ALTER TABLE devices ADD COLUMN lists_version INTEGER;
    CREATE TABLE tlog_hashes (
        community TEXT NOT NULL,
        idx INTEGER NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (community, idx)
    ) STRICT;
    CREATE TABLE tlog_leaves (
        community TEXT NOT NULL,
        n INTEGER NOT NULL,
        leaf TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (community, n)
    ) STRICT;
    ALTER TABLE communities ADD COLUMN log_skey TEXT;
    ALTER TABLE communities ADD COLUMN log_vkey TEXT;
    CREATE TABLE document_versions (
        community TEXT NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        kind TEXT NOT NULL,
        days INTEGER NOT NULL,
        body_zh TEXT NOT NULL,
        body_en TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (community, name, version)
    ) STRICT;
    CREATE TABLE region_rules (
        id INTEGER PRIMARY KEY,
        community TEXT NOT NULL,
        prefix TEXT NOT NULL,
        document TEXT NOT NULL,
        from_s INTEGER,
        until_s INTEGER,
        created_ms INTEGER NOT NULL
    ) STRICT;",
    // Returnee registrations (issue 17); kiosks' evidence heads.
    "CREATE TABLE registrations (
        id INTEGER PRIMARY KEY,
        community TEXT NOT NULL,
        code TEXT NOT NULL,
        token_sha256 TEXT NOT NULL,
        nonce TEXT NOT NULL,
        leaf_index INTEGER NOT NULL,
        record TEXT,
        salt TEXT,
        unit TEXT NOT NULL,
        origin TEXT NOT NULL,
        arrival_s INTEGER NOT NULL,
        document TEXT NOT NULL,
        version INTEGER NOT NULL,
        kind TEXT NOT NULL,
        until_s INTEGER NOT NULL,
        quarantine_id INTEGER,
        signed_ms INTEGER NOT NULL,
        deleted_ms INTEGER,
        UNIQUE (community, code),
        UNIQUE (community, nonce),
        UNIQUE (token_sha256)
    ) STRICT;
    CREATE INDEX registrations_arrival ON registrations (community, arrival_s);
    CREATE INDEX registrations_unit ON registrations (community, unit, signed_ms);
    ALTER TABLE communities ADD COLUMN returnee_days INTEGER NOT NULL DEFAULT 28;
    ALTER TABLE devices ADD COLUMN log_size INTEGER;
    ALTER TABLE devices ADD COLUMN log_root TEXT;",
    // Door sensors, check-ins and service requests (issue 18).
    "CREATE TABLE sensors (
        name TEXT PRIMARY KEY,
        community TEXT NOT NULL,
        unit TEXT NOT NULL,
        battery INTEGER,
        linkquality INTEGER,
        contact INTEGER,
        last_seen_ms INTEGER,
        paired_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE sensor_events (
        id INTEGER PRIMARY KEY,
        community TEXT NOT NULL,
        sensor TEXT NOT NULL,
        unit TEXT NOT NULL,
        contact INTEGER NOT NULL,
        at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX sensor_events_sensor ON sensor_events (sensor, at_ms);
    CREATE INDEX sensor_events_community ON sensor_events (community, at_ms);
    ALTER TABLE communities ADD COLUMN delivery_windows TEXT NOT NULL DEFAULT '';
    CREATE TABLE checkins (
        community TEXT NOT NULL,
        subject TEXT NOT NULL,
        day TEXT NOT NULL,
        slot TEXT NOT NULL,
        temperature TEXT NOT NULL,
        symptoms INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (community, subject, day, slot)
    ) STRICT;
    CREATE TABLE service_requests (
        id INTEGER PRIMARY KEY,
        community TEXT NOT NULL,
        subject TEXT NOT NULL,
        unit TEXT NOT NULL,
        kind TEXT NOT NULL,
        note TEXT NOT NULL,
        asked_ms INTEGER NOT NULL,
        taken_by TEXT,
        taken_ms INTEGER,
        done_ms INTEGER
    ) STRICT;
    CREATE INDEX service_requests_open ON service_requests (community, done_ms);",
    // Phone passes bound to their holder's key; roles that must use them.
    "ALTER TABLE passes ADD COLUMN phone INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE passes ADD COLUMN holder TEXT;
    ALTER TABLE passes ADD COLUMN bound_ms INTEGER;
    ALTER TABLE communities ADD COLUMN phone_roles TEXT NOT NULL DEFAULT '';",
    // An account's lockout survives a restart of the server.
    "ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN locked_until_ms INTEGER NOT NULL DEFAULT 0;",
    // 10: the second security review (issue 25).
    // Alerts are one community's own: the same unit label in two
    // communities is two households and two alerts.
    "CREATE TABLE alerts10 (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        device TEXT NOT NULL,
        seq INTEGER,
        detail TEXT NOT NULL,
        first_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        count INTEGER NOT NULL DEFAULT 1,
        acked INTEGER NOT NULL DEFAULT 0,
        acked_by TEXT,
        acked_note TEXT,
        acked_ms INTEGER,
        community TEXT NOT NULL,
        UNIQUE (community, kind, device, detail)
    ) STRICT;
    INSERT INTO alerts10 (id, kind, device, seq, detail, first_ms, last_ms, count, acked, acked_by, acked_note, acked_ms, community)
        SELECT id, kind, device, seq, detail, first_ms, last_ms, count, acked, acked_by, acked_note, acked_ms, community FROM alerts;
    DROP TABLE alerts;
    ALTER TABLE alerts10 RENAME TO alerts;
    CREATE INDEX alerts_open ON alerts (community, device, acked);
    CREATE INDEX alerts_community ON alerts (community, acked);
    -- A door sensor's name is its community's: another community cannot
    -- squat on it.
    CREATE TABLE sensors10 (
        name TEXT NOT NULL,
        community TEXT NOT NULL,
        unit TEXT NOT NULL,
        battery INTEGER,
        linkquality INTEGER,
        contact INTEGER,
        last_seen_ms INTEGER,
        paired_ms INTEGER NOT NULL,
        PRIMARY KEY (community, name)
    ) STRICT;
    INSERT INTO sensors10 (name, community, unit, battery, linkquality, contact, last_seen_ms, paired_ms)
        SELECT name, community, unit, battery, linkquality, contact, last_seen_ms, paired_ms FROM sensors;
    DROP TABLE sensors;
    ALTER TABLE sensors10 RENAME TO sensors;
    DROP INDEX sensor_events_sensor;
    CREATE INDEX sensor_events_sensor ON sensor_events (community, sensor, at_ms);
    -- A notice signed on the public form waits for the committee (or the
    -- household's head) before the gates enforce it; one pending per unit.
    -- Notices registered before this version were already enforced and
    -- stay so.
    ALTER TABLE quarantine ADD COLUMN status TEXT NOT NULL DEFAULT 'confirmed';
    ALTER TABLE quarantine ADD COLUMN source TEXT NOT NULL DEFAULT 'committee';
    ALTER TABLE quarantine ADD COLUMN decided_by TEXT;
    ALTER TABLE quarantine ADD COLUMN decided_ms INTEGER;
    UPDATE quarantine SET source = 'returnee' WHERE id IN (SELECT quarantine_id FROM registrations WHERE quarantine_id IS NOT NULL);
    CREATE INDEX quarantine_unit ON quarantine (community, unit);
    CREATE UNIQUE INDEX quarantine_pending ON quarantine (community, unit) WHERE status = 'pending';
    -- Public registrations counted per phone and per client address.
    ALTER TABLE registrations ADD COLUMN phone_mac TEXT;
    ALTER TABLE registrations ADD COLUMN client TEXT;
    CREATE INDEX registrations_phone ON registrations (community, phone_mac, signed_ms);
    CREATE INDEX registrations_client ON registrations (client, signed_ms);
    CREATE INDEX registrations_period ON registrations (community, until_s);
    -- A TOTP code is accepted once; browsers an account logged in from
    -- before get past a lockout that strangers caused.
    ALTER TABLE users ADD COLUMN totp_step INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE known_browsers (
        token_sha256 TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX known_browsers_user ON known_browsers (user_id, last_ms);",
    // 11: trusted time (issue 27): how far each kiosk vouches for the time
    // it decides by, and when it last took the server's.
    "ALTER TABLE devices ADD COLUMN time_trust TEXT;
    ALTER TABLE devices ADD COLUMN corrected_ms INTEGER;
    -- The machine's numbers of the last heartbeat (JSON), for /metrics.
    ALTER TABLE devices ADD COLUMN vitals TEXT;",
    // 12: the committee's pages (issue 28): a two-step secret being set up
    // is kept until a code from it confirms it.
    "ALTER TABLE users ADD COLUMN totp_pending TEXT;",
    // 13: a community's display name and city (issue 28); empty: its id,
    // and 本市. A password reset by an admin; an account's name and phone;
    // call outcomes; chores claimed once per period.
    "ALTER TABLE communities ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE communities ADD COLUMN city TEXT NOT NULL DEFAULT '';
    -- An admin's password reset is an invitation for an existing account.
    ALTER TABLE invites ADD COLUMN reset_user INTEGER;
    -- An account's name and phone, for the homes a volunteer helps.
    ALTER TABLE users ADD COLUMN full_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
    -- What a volunteer's call to someone who missed a check-in found.
    CREATE TABLE call_outcomes (
        id INTEGER PRIMARY KEY,
        community TEXT NOT NULL,
        subject TEXT NOT NULL,
        slot TEXT NOT NULL,
        outcome TEXT NOT NULL,
        note TEXT NOT NULL,
        by_user TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX call_outcomes_subject ON call_outcomes (community, subject, at_ms);
    -- A chore that must run once per period, claimed by the process that
    -- runs it (issue 30).
    CREATE TABLE chore_runs (
        chore TEXT NOT NULL,
        period TEXT NOT NULL,
        by_process TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        PRIMARY KEY (chore, period)
    ) STRICT;",
    // 14: a webhook message is claimed by the process sending it (issue 30).
    "ALTER TABLE webhook_outbox ADD COLUMN claim TEXT;",
    // 15: a night's chore is done when it says so, not when it is claimed:
    // a process that dies halfway leaves it to another (issue 30).
    "ALTER TABLE chore_runs ADD COLUMN finished_ms INTEGER;",
    // 16: the secret for links' and form tokens' MACs, apart from the
    // log's signing key (issue 29), so the key can leave the database. A
    // log's existing key becomes its community's secret: every printed
    // check-in link and stored phone MAC stays valid.
    "ALTER TABLE communities ADD COLUMN mac_secret TEXT;
    UPDATE communities SET mac_secret = log_skey WHERE log_skey IS NOT NULL;",
    // 17: witnesses (issue 29): a community's witness policy (the
    // witnesses a checkpoint is shown to, and how many must cosign it
    // before it is published); the checkpoint being shown to them; the
    // log's name, given by the server's address before its key is made;
    // the kiosks' cosignatures as they come in; the checkpoints published, with
    // their cosignatures. And for a server that is a witness of other logs
    // (`shoumen-server witness`, on a database of its own): the logs it
    // trusts, the newest checkpoint it cosigned of each, and the ones it
    // refused, kept as evidence.
    "ALTER TABLE communities ADD COLUMN witness_quorum INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE communities ADD COLUMN log_candidate INTEGER;
    ALTER TABLE communities ADD COLUMN log_candidate_ms INTEGER;
    ALTER TABLE communities ADD COLUMN log_origin TEXT;
    CREATE TABLE log_cosignatures (
        community TEXT NOT NULL REFERENCES communities(id),
        size INTEGER NOT NULL,
        witness TEXT NOT NULL,
        line TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (community, size, witness)
    ) STRICT;
    CREATE TABLE log_witnesses (
        community TEXT NOT NULL REFERENCES communities(id),
        name TEXT NOT NULL,
        vkey TEXT NOT NULL,
        url TEXT NOT NULL,
        required INTEGER NOT NULL DEFAULT 0,
        known_size INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        PRIMARY KEY (community, name)
    ) STRICT;
    CREATE TABLE log_cosigned (
        community TEXT NOT NULL REFERENCES communities(id),
        size INTEGER NOT NULL,
        note TEXT NOT NULL,
        published_ms INTEGER NOT NULL,
        PRIMARY KEY (community, size)
    ) STRICT;
    CREATE TABLE witnessed_logs (
        origin TEXT PRIMARY KEY,
        vkey TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        root TEXT,
        note TEXT,
        updated_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE witness_refusals (
        id INTEGER PRIMARY KEY,
        origin TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        held TEXT,
        offered TEXT NOT NULL,
        why TEXT NOT NULL
    ) STRICT;
    CREATE INDEX witness_refusals_origin ON witness_refusals (origin, id);",
    // 18: the log's entries (issue 29's entry bundles): each leaf's entry,
    // the salted commitment it hashes, kept beside it from now on so the
    // log can be copied whole from its tiles; a leaf older than this has
    // none, and its entry is recomputed from its registration while
    // retention keeps it (found by its index).
    "ALTER TABLE tlog_leaves ADD COLUMN entry TEXT;
    CREATE INDEX registrations_leaf ON registrations (community, leaf_index);",
    // 19: who is on duty at each gate now (issue 32), read from the duty
    // entries of the last hours without scanning every entry.
    "CREATE INDEX entries_duty ON entries (device, wall_ms) WHERE kind = 'duty';",
    // 20: the duty roster (issue 32): volunteers (a light record, not an
    // account), shifts per gate and who is on each. Every key names the
    // community.
    "CREATE TABLE volunteers (
        id INTEGER PRIMARY KEY,
        community TEXT NOT NULL REFERENCES communities(id),
        name TEXT NOT NULL,
        phone TEXT NOT NULL,
        link_digest TEXT NOT NULL UNIQUE,
        pass_id TEXT,
        status TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        UNIQUE (community, phone)
    ) STRICT;
    CREATE UNIQUE INDEX volunteers_pass ON volunteers (community, pass_id) WHERE pass_id IS NOT NULL;
    CREATE TABLE shifts (
        id INTEGER PRIMARY KEY,
        community TEXT NOT NULL REFERENCES communities(id),
        gate TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        needed INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        reminded_ms INTEGER
    ) STRICT;
    CREATE INDEX shifts_when ON shifts (community, start_ms);
    CREATE INDEX shifts_start ON shifts (start_ms);
    CREATE TABLE shift_people (
        community TEXT NOT NULL,
        shift_id INTEGER NOT NULL REFERENCES shifts(id) ON DELETE CASCADE,
        volunteer_id INTEGER NOT NULL REFERENCES volunteers(id),
        PRIMARY KEY (community, shift_id, volunteer_id)
    ) STRICT;
    CREATE INDEX shift_people_volunteer ON shift_people (community, volunteer_id);",
    // 21: every duty pass a volunteer was given (issue 32): a renewed pass
    // replaces the old one, and the old one's sign-ins still count for the
    // shifts served with it.
    "CREATE TABLE volunteer_passes (
        community TEXT NOT NULL,
        pass_id TEXT NOT NULL,
        volunteer_id INTEGER NOT NULL REFERENCES volunteers(id),
        issued_ms INTEGER NOT NULL,
        PRIMARY KEY (community, pass_id)
    ) STRICT;
    INSERT INTO volunteer_passes (community, pass_id, volunteer_id, issued_ms)
        SELECT community, pass_id, id, created_ms FROM volunteers WHERE pass_id IS NOT NULL;",
    // 22: enrollment from the kiosk's screen (issue 31): the codes kiosks
    // asked for, each bound to the kiosk's key. A code belongs to no
    // community until an admin claims it, so it is unique server-wide.
    "CREATE TABLE enroll_asks (
        code TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        device_key TEXT NOT NULL,
        gate_hint TEXT NOT NULL,
        address TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        last_counter INTEGER NOT NULL DEFAULT 0,
        community TEXT REFERENCES communities(id),
        gate TEXT
    ) STRICT;
    CREATE INDEX enroll_asks_address ON enroll_asks (address);",
    // 23: the kiosk software's releases and their staged rollout (issue
    // 31). The district's, not a community's: no community column. A
    // release is kept in parts of 1 MiB, the unit a kiosk fetches.
    "CREATE TABLE releases (
        version TEXT NOT NULL,
        arch TEXT NOT NULL,
        note TEXT NOT NULL,
        size INTEGER NOT NULL,
        added_ms INTEGER NOT NULL,
        PRIMARY KEY (version, arch)
    ) STRICT;
    CREATE TABLE release_parts (
        version TEXT NOT NULL,
        arch TEXT NOT NULL,
        part INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (version, arch, part),
        FOREIGN KEY (version, arch) REFERENCES releases (version, arch)
    ) STRICT;
    CREATE TABLE rollouts (
        id INTEGER PRIMARY KEY,
        version TEXT NOT NULL,
        percent INTEGER NOT NULL,
        stage INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        stage_ms INTEGER NOT NULL,
        started_by TEXT NOT NULL,
        ended_ms INTEGER,
        halted TEXT
    ) STRICT;
    CREATE TABLE rollout_steps (
        rollout INTEGER NOT NULL REFERENCES rollouts (id),
        at_ms INTEGER NOT NULL,
        step TEXT NOT NULL,
        detail TEXT NOT NULL
    ) STRICT;
    CREATE INDEX rollout_steps_of ON rollout_steps (rollout, at_ms);
    -- The stage that takes each gate, fixed when the rollout starts.
    CREATE TABLE rollout_gates (
        rollout INTEGER NOT NULL REFERENCES rollouts (id),
        community TEXT NOT NULL,
        device TEXT NOT NULL,
        stage INTEGER NOT NULL,
        PRIMARY KEY (rollout, community, device)
    ) STRICT;
    ALTER TABLE devices ADD COLUMN update_arch TEXT;
    ALTER TABLE devices ADD COLUMN update_installed TEXT;
    ALTER TABLE devices ADD COLUMN update_last TEXT;
    ALTER TABLE devices ADD COLUMN update_waiting TEXT;"
];

/// PostgreSQL, versioned in `shoumen_schema`. Its history starts at the
/// schema SQLite reached at version 3; integers are BIGINT throughout and
/// flags are 0/1 integers, as in SQLite, so queries read the same.
pub const POSTGRES: &[&str] = &["CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE communities (
        id TEXT PRIMARY KEY,
        signing_key TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        webhook_url TEXT NOT NULL DEFAULT '',
        webhook_format TEXT NOT NULL DEFAULT 'json',
        webhook_secret TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE users (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        community TEXT REFERENCES communities (id)
    );
    CREATE TABLE sessions (
        token_sha256 TEXT PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users (id),
        csrf TEXT NOT NULL,
        expires_ms BIGINT NOT NULL
    );
    CREATE TABLE enroll_tokens (
        token_sha256 TEXT PRIMARY KEY,
        gate_name TEXT NOT NULL,
        expires_ms BIGINT NOT NULL,
        used_by TEXT,
        community TEXT NOT NULL
    );
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        gate_name TEXT NOT NULL,
        key_hex TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL,
        enrolled_ms BIGINT NOT NULL,
        revoked BIGINT NOT NULL DEFAULT 0,
        watermark BIGINT NOT NULL DEFAULT 0,
        head_hash TEXT NOT NULL,
        last_seen_ms BIGINT,
        queue BIGINT,
        skew_ms BIGINT,
        clock_synced BIGINT,
        health TEXT,
        version TEXT,
        layout TEXT,
        community TEXT NOT NULL
    );
    CREATE INDEX devices_community ON devices (community);
    CREATE TABLE entries (
        device TEXT NOT NULL REFERENCES devices (id),
        seq BIGINT NOT NULL,
        body TEXT NOT NULL,
        hash TEXT NOT NULL,
        wall_ms BIGINT NOT NULL,
        clock_synced BIGINT NOT NULL,
        boot_id TEXT NOT NULL,
        mono_ms BIGINT NOT NULL,
        received_ms BIGINT NOT NULL,
        kind TEXT NOT NULL,
        direction TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        pass_id TEXT,
        role TEXT,
        temp_centi BIGINT,
        note TEXT,
        community TEXT NOT NULL,
        PRIMARY KEY (device, seq)
    );
    CREATE INDEX entries_wall ON entries (wall_ms);
    CREATE INDEX entries_community ON entries (community, wall_ms);
    CREATE INDEX entries_received ON entries (community, received_ms);
    CREATE TABLE boots (
        device TEXT NOT NULL,
        boot_id TEXT NOT NULL,
        server_ms BIGINT NOT NULL,
        mono_ms BIGINT NOT NULL,
        PRIMARY KEY (device, boot_id)
    );
    CREATE TABLE alerts (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL,
        device TEXT NOT NULL,
        seq BIGINT,
        detail TEXT NOT NULL,
        first_ms BIGINT NOT NULL,
        last_ms BIGINT NOT NULL,
        count BIGINT NOT NULL DEFAULT 1,
        acked BIGINT NOT NULL DEFAULT 0,
        acked_by TEXT,
        acked_note TEXT,
        acked_ms BIGINT,
        community TEXT NOT NULL,
        UNIQUE (kind, device, detail)
    );
    CREATE INDEX alerts_open ON alerts (device, acked);
    CREATE INDEX alerts_community ON alerts (community, acked);
    CREATE TABLE residents (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name TEXT NOT NULL,
        unit TEXT NOT NULL,
        phone TEXT NOT NULL DEFAULT '',
        created_ms BIGINT NOT NULL,
        community TEXT NOT NULL
    );
    CREATE INDEX residents_community ON residents (community, unit);
    CREATE TABLE passes (
        pass_id TEXT PRIMARY KEY,
        resident_id BIGINT REFERENCES residents (id),
        role TEXT NOT NULL,
        unit TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        not_before BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        text TEXT NOT NULL,
        link_token TEXT NOT NULL UNIQUE,
        revoked_ms BIGINT,
        visitor_name TEXT,
        gate TEXT,
        community TEXT NOT NULL
    );
    CREATE INDEX passes_community ON passes (community, unit);
    CREATE TABLE quarantine (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        unit TEXT NOT NULL,
        from_s BIGINT NOT NULL,
        until_s BIGINT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_ms BIGINT NOT NULL,
        community TEXT NOT NULL
    );
    CREATE TABLE bundles (
        community TEXT NOT NULL,
        version BIGINT NOT NULL,
        issued_at BIGINT NOT NULL,
        content_sha256 TEXT NOT NULL,
        bundle TEXT NOT NULL,
        kid TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (community, version)
    );
    CREATE TABLE presence (
        community TEXT NOT NULL,
        pass_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        at_ms BIGINT NOT NULL,
        device TEXT NOT NULL,
        change BIGINT NOT NULL,
        PRIMARY KEY (community, pass_id)
    );
    CREATE INDEX presence_change ON presence (community, change);
    CREATE TABLE webhook_outbox (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        alert_id BIGINT NOT NULL,
        created_ms BIGINT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_ms BIGINT NOT NULL,
        delivered_ms BIGINT,
        last_error TEXT
    );
    CREATE INDEX webhook_due ON webhook_outbox (delivered_ms, next_ms);",
    // 2: retention, as SQLite's 4.
    "ALTER TABLE communities ADD COLUMN entry_days BIGINT NOT NULL DEFAULT 90;
    ALTER TABLE communities ADD COLUMN visitor_days BIGINT NOT NULL DEFAULT 14;
    ALTER TABLE devices ADD COLUMN pruned_seq BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE devices ADD COLUMN pruned_hash TEXT;",
    // 3: accounts, invitations, the audit trail, households, as SQLite's 5.
    "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
    ALTER TABLE users ADD COLUMN gates TEXT;
    ALTER TABLE users ADD COLUMN totp_secret TEXT;
    ALTER TABLE users ADD COLUMN disabled_ms BIGINT;
    CREATE TABLE invites (
        token_sha256 TEXT PRIMARY KEY,
        community TEXT NOT NULL,
        role TEXT NOT NULL,
        gates TEXT,
        created_by TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL,
        used_ms BIGINT,
        used_by TEXT
    );
    CREATE INDEX invites_community ON invites (community, created_ms);
    CREATE TABLE audit (
        community TEXT NOT NULL,
        seq BIGINT NOT NULL,
        at_ms BIGINT NOT NULL,
        actor TEXT NOT NULL,
        ip TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (community, seq)
    );
    ALTER TABLE residents ADD COLUMN moved_out_ms BIGINT;
    ALTER TABLE residents ADD COLUMN head BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE pass_requests (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        community TEXT NOT NULL,
        resident_id BIGINT NOT NULL,
        by_pass TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        decided_ms BIGINT,
        decided_by TEXT,
        pass_id TEXT
    );
    CREATE INDEX pass_requests_open ON pass_requests (community, decided_ms);
    ALTER TABLE webhook_outbox ADD COLUMN community TEXT;
    ALTER TABLE webhook_outbox ADD COLUMN summary_day TEXT;
    ALTER TABLE webhook_outbox ADD COLUMN summary TEXT;
    ALTER TABLE communities ADD COLUMN next_key TEXT;
    ALTER TABLE communities ADD COLUMN old_key TEXT;
    ALTER TABLE communities ADD COLUMN key_version BIGINT;
    ALTER TABLE devices ADD COLUMN lists_version BIGINT;
    CREATE TABLE tlog_hashes (
        community TEXT NOT NULL,
        idx BIGINT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (community, idx)
    );
    CREATE TABLE tlog_leaves (
        community TEXT NOT NULL,
        n BIGINT NOT NULL,
        leaf TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (community, n)
    );
    ALTER TABLE communities ADD COLUMN log_skey TEXT;
    ALTER TABLE communities ADD COLUMN log_vkey TEXT;
    CREATE TABLE document_versions (
        community TEXT NOT NULL,
        name TEXT NOT NULL,
        version BIGINT NOT NULL,
        kind TEXT NOT NULL,
        days BIGINT NOT NULL,
        body_zh TEXT NOT NULL,
        body_en TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (community, name, version)
    );
    CREATE TABLE region_rules (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        community TEXT NOT NULL,
        prefix TEXT NOT NULL,
        document TEXT NOT NULL,
        from_s BIGINT,
        until_s BIGINT,
        created_ms BIGINT NOT NULL
    );",
    "CREATE TABLE registrations (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        community TEXT NOT NULL,
        code TEXT NOT NULL,
        token_sha256 TEXT NOT NULL,
        nonce TEXT NOT NULL,
        leaf_index BIGINT NOT NULL,
        record TEXT,
        salt TEXT,
        unit TEXT NOT NULL,
        origin TEXT NOT NULL,
        arrival_s BIGINT NOT NULL,
        document TEXT NOT NULL,
        version BIGINT NOT NULL,
        kind TEXT NOT NULL,
        until_s BIGINT NOT NULL,
        quarantine_id BIGINT,
        signed_ms BIGINT NOT NULL,
        deleted_ms BIGINT,
        UNIQUE (community, code),
        UNIQUE (community, nonce),
        UNIQUE (token_sha256)
    );
    CREATE INDEX registrations_arrival ON registrations (community, arrival_s);
    CREATE INDEX registrations_unit ON registrations (community, unit, signed_ms);
    ALTER TABLE communities ADD COLUMN returnee_days BIGINT NOT NULL DEFAULT 28;
    ALTER TABLE devices ADD COLUMN log_size BIGINT;
    ALTER TABLE devices ADD COLUMN log_root TEXT;",
    "CREATE TABLE sensors (
        name TEXT PRIMARY KEY,
        community TEXT NOT NULL,
        unit TEXT NOT NULL,
        battery BIGINT,
        linkquality BIGINT,
        contact BIGINT,
        last_seen_ms BIGINT,
        paired_ms BIGINT NOT NULL
    );
    CREATE TABLE sensor_events (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        community TEXT NOT NULL,
        sensor TEXT NOT NULL,
        unit TEXT NOT NULL,
        contact BIGINT NOT NULL,
        at_ms BIGINT NOT NULL
    );
    CREATE INDEX sensor_events_sensor ON sensor_events (sensor, at_ms);
    CREATE INDEX sensor_events_community ON sensor_events (community, at_ms);
    ALTER TABLE communities ADD COLUMN delivery_windows TEXT NOT NULL DEFAULT '';
    CREATE TABLE checkins (
        community TEXT NOT NULL,
        subject TEXT NOT NULL,
        day TEXT NOT NULL,
        slot TEXT NOT NULL,
        temperature TEXT NOT NULL,
        symptoms BIGINT NOT NULL,
        at_ms BIGINT NOT NULL,
        PRIMARY KEY (community, subject, day, slot)
    );
    CREATE TABLE service_requests (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        community TEXT NOT NULL,
        subject TEXT NOT NULL,
        unit TEXT NOT NULL,
        kind TEXT NOT NULL,
        note TEXT NOT NULL,
        asked_ms BIGINT NOT NULL,
        taken_by TEXT,
        taken_ms BIGINT,
        done_ms BIGINT
    );
    CREATE INDEX service_requests_open ON service_requests (community, done_ms);",
    "ALTER TABLE passes ADD COLUMN phone BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE passes ADD COLUMN holder TEXT;
    ALTER TABLE passes ADD COLUMN bound_ms BIGINT;
    ALTER TABLE communities ADD COLUMN phone_roles TEXT NOT NULL DEFAULT '';",
    "ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN locked_until_ms BIGINT NOT NULL DEFAULT 0;",
    // 8: as SQLite's 10 (issue 25).
    "ALTER TABLE alerts DROP CONSTRAINT alerts_kind_device_detail_key;
    ALTER TABLE alerts ADD CONSTRAINT alerts_community_kind_device_detail_key UNIQUE (community, kind, device, detail);
    DROP INDEX alerts_open;
    CREATE INDEX alerts_open ON alerts (community, device, acked);
    ALTER TABLE sensors DROP CONSTRAINT sensors_pkey;
    ALTER TABLE sensors ADD PRIMARY KEY (community, name);
    DROP INDEX sensor_events_sensor;
    CREATE INDEX sensor_events_sensor ON sensor_events (community, sensor, at_ms);
    ALTER TABLE quarantine ADD COLUMN status TEXT NOT NULL DEFAULT 'confirmed';
    ALTER TABLE quarantine ADD COLUMN source TEXT NOT NULL DEFAULT 'committee';
    ALTER TABLE quarantine ADD COLUMN decided_by TEXT;
    ALTER TABLE quarantine ADD COLUMN decided_ms BIGINT;
    UPDATE quarantine SET source = 'returnee' WHERE id IN (SELECT quarantine_id FROM registrations WHERE quarantine_id IS NOT NULL);
    CREATE INDEX quarantine_unit ON quarantine (community, unit);
    CREATE UNIQUE INDEX quarantine_pending ON quarantine (community, unit) WHERE status = 'pending';
    ALTER TABLE registrations ADD COLUMN phone_mac TEXT;
    ALTER TABLE registrations ADD COLUMN client TEXT;
    CREATE INDEX registrations_phone ON registrations (community, phone_mac, signed_ms);
    CREATE INDEX registrations_client ON registrations (client, signed_ms);
    CREATE INDEX registrations_period ON registrations (community, until_s);
    ALTER TABLE users ADD COLUMN totp_step BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE known_browsers (
        token_sha256 TEXT PRIMARY KEY,
        user_id BIGINT NOT NULL,
        created_ms BIGINT NOT NULL,
        last_ms BIGINT NOT NULL
    );
    CREATE INDEX known_browsers_user ON known_browsers (user_id, last_ms);",
    // 9: as SQLite's 11 (issue 27).
    "ALTER TABLE devices ADD COLUMN time_trust TEXT;
    ALTER TABLE devices ADD COLUMN corrected_ms BIGINT;
    ALTER TABLE devices ADD COLUMN vitals TEXT;",
    // 10: as SQLite's 12 (issue 28).
    "ALTER TABLE users ADD COLUMN totp_pending TEXT;",
    // 11: as SQLite's 13 (issue 28).
    "ALTER TABLE communities ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE communities ADD COLUMN city TEXT NOT NULL DEFAULT '';
    ALTER TABLE invites ADD COLUMN reset_user BIGINT;
    ALTER TABLE users ADD COLUMN full_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
    CREATE TABLE call_outcomes (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        community TEXT NOT NULL,
        subject TEXT NOT NULL,
        slot TEXT NOT NULL,
        outcome TEXT NOT NULL,
        note TEXT NOT NULL,
        by_user TEXT NOT NULL,
        at_ms BIGINT NOT NULL
    );
    CREATE INDEX call_outcomes_subject ON call_outcomes (community, subject, at_ms);
    CREATE TABLE chore_runs (
        chore TEXT NOT NULL,
        period TEXT NOT NULL,
        by_process TEXT NOT NULL,
        started_ms BIGINT NOT NULL,
        PRIMARY KEY (chore, period)
    );",
    // 12: as SQLite's 14 (issue 30).
    "ALTER TABLE webhook_outbox ADD COLUMN claim TEXT;",
    // 13: as SQLite's 15.
    "ALTER TABLE chore_runs ADD COLUMN finished_ms BIGINT;",
    // 14: as SQLite's 16.
    "ALTER TABLE communities ADD COLUMN mac_secret TEXT;
    UPDATE communities SET mac_secret = log_skey WHERE log_skey IS NOT NULL;",
    // 15: as SQLite's 17 (issue 29).
    "ALTER TABLE communities ADD COLUMN witness_quorum BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE communities ADD COLUMN log_candidate BIGINT;
    ALTER TABLE communities ADD COLUMN log_candidate_ms BIGINT;
    ALTER TABLE communities ADD COLUMN log_origin TEXT;
    CREATE TABLE log_cosignatures (
        community TEXT NOT NULL REFERENCES communities(id),
        size BIGINT NOT NULL,
        witness TEXT NOT NULL,
        line TEXT NOT NULL,
        at_ms BIGINT NOT NULL,
        PRIMARY KEY (community, size, witness)
    );
    CREATE TABLE log_witnesses (
        community TEXT NOT NULL REFERENCES communities(id),
        name TEXT NOT NULL,
        vkey TEXT NOT NULL,
        url TEXT NOT NULL,
        required BIGINT NOT NULL DEFAULT 0,
        known_size BIGINT NOT NULL DEFAULT 0,
        last_error TEXT,
        PRIMARY KEY (community, name)
    );
    CREATE TABLE log_cosigned (
        community TEXT NOT NULL REFERENCES communities(id),
        size BIGINT NOT NULL,
        note TEXT NOT NULL,
        published_ms BIGINT NOT NULL,
        PRIMARY KEY (community, size)
    );
    CREATE TABLE witnessed_logs (
        origin TEXT PRIMARY KEY,
        vkey TEXT NOT NULL,
        size BIGINT NOT NULL DEFAULT 0,
        root TEXT,
        note TEXT,
        updated_ms BIGINT NOT NULL
    );
    CREATE TABLE witness_refusals (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        origin TEXT NOT NULL,
        at_ms BIGINT NOT NULL,
        held TEXT,
        offered TEXT NOT NULL,
        why TEXT NOT NULL
    );
    CREATE INDEX witness_refusals_origin ON witness_refusals (origin, id);",
    // 16: as SQLite's 18.
    "ALTER TABLE tlog_leaves ADD COLUMN entry TEXT;
    CREATE INDEX registrations_leaf ON registrations (community, leaf_index);",
    // 17: as SQLite's 19.
    "CREATE INDEX entries_duty ON entries (device, wall_ms) WHERE kind = 'duty';",
    // 18: as SQLite's 20.
    "CREATE TABLE volunteers (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        community TEXT NOT NULL REFERENCES communities(id),
        name TEXT NOT NULL,
        phone TEXT NOT NULL,
        link_digest TEXT NOT NULL UNIQUE,
        pass_id TEXT,
        status TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        UNIQUE (community, phone)
    );
    CREATE UNIQUE INDEX volunteers_pass ON volunteers (community, pass_id) WHERE pass_id IS NOT NULL;
    CREATE TABLE shifts (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        community TEXT NOT NULL REFERENCES communities(id),
        gate TEXT NOT NULL,
        start_ms BIGINT NOT NULL,
        end_ms BIGINT NOT NULL,
        needed BIGINT NOT NULL,
        created_ms BIGINT NOT NULL,
        reminded_ms BIGINT
    );
    CREATE INDEX shifts_when ON shifts (community, start_ms);
    CREATE INDEX shifts_start ON shifts (start_ms);
    CREATE TABLE shift_people (
        community TEXT NOT NULL,
        shift_id BIGINT NOT NULL REFERENCES shifts(id) ON DELETE CASCADE,
        volunteer_id BIGINT NOT NULL REFERENCES volunteers(id),
        PRIMARY KEY (community, shift_id, volunteer_id)
    );
    CREATE INDEX shift_people_volunteer ON shift_people (community, volunteer_id);",
    // 19: as SQLite's 21.
    "CREATE TABLE volunteer_passes (
        community TEXT NOT NULL,
        pass_id TEXT NOT NULL,
        volunteer_id BIGINT NOT NULL REFERENCES volunteers(id),
        issued_ms BIGINT NOT NULL,
        PRIMARY KEY (community, pass_id)
    );
    INSERT INTO volunteer_passes (community, pass_id, volunteer_id, issued_ms)
        SELECT community, pass_id, id, created_ms FROM volunteers WHERE pass_id IS NOT NULL;",
    // 20: as SQLite's 22.
    "CREATE TABLE enroll_asks (
        code TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        device_key TEXT NOT NULL,
        gate_hint TEXT NOT NULL,
        address TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL,
        last_counter BIGINT NOT NULL DEFAULT 0,
        community TEXT REFERENCES communities(id),
        gate TEXT
    );
    CREATE INDEX enroll_asks_address ON enroll_asks (address);",
    // 21: as SQLite's 23.
    "CREATE TABLE releases (
        version TEXT NOT NULL,
        arch TEXT NOT NULL,
        note TEXT NOT NULL,
        size BIGINT NOT NULL,
        added_ms BIGINT NOT NULL,
        PRIMARY KEY (version, arch)
    );
    CREATE TABLE release_parts (
        version TEXT NOT NULL,
        arch TEXT NOT NULL,
        part BIGINT NOT NULL,
        bytes BYTEA NOT NULL,
        PRIMARY KEY (version, arch, part),
        FOREIGN KEY (version, arch) REFERENCES releases (version, arch)
    );
    CREATE TABLE rollouts (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        version TEXT NOT NULL,
        percent BIGINT NOT NULL,
        stage BIGINT NOT NULL,
        started_ms BIGINT NOT NULL,
        stage_ms BIGINT NOT NULL,
        started_by TEXT NOT NULL,
        ended_ms BIGINT,
        halted TEXT
    );
    CREATE TABLE rollout_steps (
        rollout BIGINT NOT NULL REFERENCES rollouts (id),
        at_ms BIGINT NOT NULL,
        step TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX rollout_steps_of ON rollout_steps (rollout, at_ms);
    -- The stage that takes each gate, fixed when the rollout starts.
    CREATE TABLE rollout_gates (
        rollout BIGINT NOT NULL REFERENCES rollouts (id),
        community TEXT NOT NULL,
        device TEXT NOT NULL,
        stage BIGINT NOT NULL,
        PRIMARY KEY (rollout, community, device)
    );
    ALTER TABLE devices ADD COLUMN update_arch TEXT;
    ALTER TABLE devices ADD COLUMN update_installed TEXT;
    ALTER TABLE devices ADD COLUMN update_last TEXT;
    ALTER TABLE devices ADD COLUMN update_waiting TEXT;"
];
