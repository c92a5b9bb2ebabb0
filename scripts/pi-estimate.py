#!/usr/bin/env python3
"""A Raspberry Pi 4's time per person at the gate, estimated from a rush-hour
run on another machine (tests/rush_hour.rs with SHOUMEN_RUSH_OUT=FILE).

Method (docs/rush-hour.md):
- CPU work scales by F = this machine's `sysbench cpu --threads=1` events/s
  over a Pi 4's (1477.83, sysbench 1.0.20, published at
  leoncode.co.uk/articles/raspberry-pi-benchmarks), times a penalty P for
  the SIMD-heavy decoding (JPEG, QR) where the Pi's NEON lags more than in
  sysbench's integer loop.
- Reading the pass: the wait for the next camera frame (half a frame at 30
  fps) does not scale; the rest of "in view -> read" is decoding and scales,
  except the 2.5 s a person held the pass too far before moving it closer
  (the simulation's MOVE_CLOSER_AFTER), which is theirs.
- The temperature is timed by the sensor (5 samples 100 ms apart), plus the
  I2C transfers the simulation does not have (10 SMBus reads of ~1.1 ms at
  50 kHz). A measurement started on presence runs alongside the reading.
- The commit is an SD card's fsync, not measured here: COMMIT_MS is budgeted.

    scripts/pi-estimate.py timings.jsonl --sysbench 3200
"""
import argparse
import json

PI4_SYSBENCH = 1477.83
FRAME_WAIT_MS = 1000 / 30 / 2
MOVE_CLOSER_AFTER_MS = 2500
I2C_MS = 10 * 1.1


def pct(v, p):
    v = sorted(v)
    return v[round((len(v) - 1) * p)] if v else float("nan")


def estimate(t, f, penalty, commit_ms):
    read, decided, temp, relay = t["read"], t["decided"], t["temperature"], t["relay"]
    recorded, measure = t["recorded"], t["measure"]
    human = MOVE_CLOSER_AFTER_MS if t.get("moved_closer") else 0
    wait = min(read - human, FRAME_WAIT_MS)
    read_pi = human + wait + (read - human - wait) * f * penalty
    decided_pi = read_pi + (decided - read) * f
    i2c = I2C_MS * (2 if t.get("remeasured") else 1)
    if measure is not None and measure < read:
        # Measured from the moment they stepped up: the sensor's own pace.
        temp_pi = max(decided_pi, temp + i2c)
    else:
        temp_pi = temp + (decided_pi - decided) + i2c
    return temp_pi + commit_ms + (relay - recorded)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("timings")
    ap.add_argument("--sysbench", type=float, required=True, help="this machine's sysbench cpu events/s, 1 thread")
    args = ap.parse_args()
    rows = [json.loads(l) for l in open(args.timings) if l.strip()]
    let_in = [r for r in rows if r.get("decision") == "allow" and None not in (r["read"], r["decided"], r["temperature"], r["recorded"], r["relay"])]
    f = args.sysbench / PI4_SYSBENCH
    here = [r["relay"] for r in let_in]
    print(f"{len(let_in)} people let in; F = {args.sysbench:.0f} / {PI4_SYSBENCH} = {f:.2f}")
    print("| in view -> relay (ms) | p50 | p95 | p99 |")
    print("|---|---|---|---|")
    print(f"| this machine | {pct(here, .5):.0f} | {pct(here, .95):.0f} | {pct(here, .99):.0f} |")
    for name, penalty, commit in [("Pi 4, nominal (P = 1, commit 15 ms)", 1.0, 15), ("Pi 4, pessimistic (P = 1.5, commit 60 ms)", 1.5, 60)]:
        pi = [estimate(r, f, penalty, commit) for r in let_in]
        print(f"| {name} | {pct(pi, .5):.0f} | {pct(pi, .95):.0f} | {pct(pi, .99):.0f} |")


if __name__ == "__main__":
    main()
