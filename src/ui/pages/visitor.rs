//! The visitor page: the QR code of the committee's registration form.

use slint::ComponentHandle;

use super::Wiring;
use crate::ui::{qr_image, AppWindow, VisitorAdapter};

pub fn setup(ui: &AppWindow, w: &Wiring) {
    let visitor = ui.global::<VisitorAdapter>();
    if let Some(img) = qr_image(&w.visitor_url) {
        visitor.set_qr(img);
    }
    visitor.set_url(w.visitor_url.clone().into());
}
