//! A panic anywhere locks the relay (its own process: the hook is global).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shoumen::hw::gpio::{install_panic_lock, spawn_io, IoConfig};
use shoumen::hw::sim::{SimPins, World};
use shoumen::hw::GateRelay;

#[test]
fn a_panic_in_another_thread_locks_the_relay() {
    let world = World::new();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, _rx) = std::sync::mpsc::channel();
    let (mut io, thread) =
        spawn_io(Box::new(SimPins::new(world.clone())), IoConfig::default(), tx, stop.clone()).unwrap();
    io.pulse(60_000).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !world.lock().relay_unlocked && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(world.lock().relay_unlocked, "the pulse never arrived");

    install_panic_lock();
    let crashed = std::thread::spawn(|| panic!("simulated crash in the core loop")).join();
    assert!(crashed.is_err());
    thread.join().unwrap();
    assert!(!world.lock().relay_unlocked, "the relay stayed unlocked after a panic");
    stop.store(true, Ordering::Relaxed);
}
