//! The build time, as a floor for the kiosk's clock: no correct clock is
//! earlier than the binary it runs. SOURCE_DATE_EPOCH (reproducible builds)
//! wins; otherwise the time this script first ran in this target directory,
//! which is earlier still and so still a floor.
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64));
    println!("cargo:rustc-env=SHOUMEN_BUILD_UNIX={secs}");
}
