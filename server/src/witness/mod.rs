//! Witnessing the evidence log (issue 29, C2SP tlog-witness and
//! tlog-cosignature), both directions:
//!
//! - [`collect`]: a log server shows each new checkpoint of a community
//!   with a witness policy to its witnesses and publishes it once enough
//!   of them cosigned;
//! - [`serve`]: `shoumen-server witness serve`, a witness of other
//!   servers' logs (the district's, or the street office's), on a database
//!   and a key of its own.
//!
//! The decisions (is this a well-formed request, does it extend what was
//! cosigned, whose cosignatures count) are `shoumen_protocol::witness`'s,
//! shared with the kiosks.

pub mod collect;
pub mod serve;

/// Reads at most `limit` bytes of a response body: a witness or a log
/// that answers more is refused, not buffered.
pub(crate) async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Result<String, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("the answer broke off: {e}"))? {
        if body.len() + chunk.len() > limit {
            return Err(format!("the answer is over {} KiB", limit >> 10));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "the answer is not text".to_string())
}
