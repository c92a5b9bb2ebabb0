//! A kiosk not enrolled yet: the code, fingerprint and claim link's QR
//! code the sync thread got from the server (`sync::ScreenCode`), on the
//! page that covers the scan page until the kiosk is enrolled.

use slint::ComponentHandle;

use crate::ports::Status;
use crate::ui::{qr_image, AppWindow, EnrollAdapter};

pub fn apply_status(ui: &AppWindow, s: &Status) {
    let enroll = ui.global::<EnrollAdapter>();
    let Some(code) = &s.screen_code else {
        if !enroll.get_server().is_empty() {
            enroll.set_server("".into());
            enroll.set_code("".into());
        }
        return;
    };
    // The QR code is drawn once per code, not every second.
    if enroll.get_code().as_str() != code.code {
        if let Some(img) = qr_image(&code.link) {
            enroll.set_qr(img);
        }
        enroll.set_code(code.code.clone().into());
        enroll.set_fingerprint(code.fingerprint.clone().into());
    }
    enroll.set_server(code.server.clone().into());
    enroll.set_problem(code.problem.clone().into());
}
