//! The visitor page: the QR code of the committee's visitor form and, for
//! people back from elsewhere, of its returnee registration.

use slint::ComponentHandle;

use super::Wiring;
use crate::ui::{qr_image, AppWindow, VisitorAdapter};

pub fn setup(ui: &AppWindow, w: &Wiring) {
    let visitor = ui.global::<VisitorAdapter>();
    if let Some(img) = qr_image(&w.visitor_url) {
        visitor.set_qr(img);
    }
    visitor.set_url(w.visitor_url.clone().into());
    if let Some(img) = returnee_url(&w.visitor_url).and_then(|u| qr_image(&u)) {
        visitor.set_returnee_qr(img);
        visitor.set_has_returnee(true);
    }
}

/// The server's returnee registration for this gate's community: the
/// visitor form's address (`…/v/<kiosk>`) with `/returnee`, which the
/// server sends on to its community's form. `None` for an address that is
/// not a Shoumen server's visitor form.
pub fn returnee_url(visitor_url: &str) -> Option<String> {
    let path_at = visitor_url.find("://").map(|i| i + 3)?;
    let path = &visitor_url[path_at..];
    let device = path.split_once("/v/")?.1;
    let plain = !device.is_empty() && device.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain.then(|| format!("{}/returnee", visitor_url.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_returnee_form_is_next_to_the_visitor_form_of_a_shoumen_server() {
        assert_eq!(
            returnee_url("https://gate.example.org/v/k-1a2b").as_deref(),
            Some("https://gate.example.org/v/k-1a2b/returnee")
        );
        assert_eq!(returnee_url("https://shoumen.example/visit/east-gate"), None, "another site's form");
        assert_eq!(returnee_url("https://x/v/"), None);
        assert_eq!(returnee_url("https://x/v/a?b=c"), None);
    }
}
