//! Frame → QR payload. This is the seed of the decode pipeline: whole-image
//! rqrr, isolated so that a decoder panic costs one frame, never the kiosk.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ScanError {
    #[error("cannot read image {path}: {message}")]
    Image { path: String, message: String },
}

/// One decoded code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub payload: Vec<u8>,
    /// Corners in image pixels, for the preview overlay.
    pub corners: [(i32, i32); 4],
}

/// Outcome of decoding one frame.
#[derive(Debug, Default)]
pub struct FrameResult {
    pub codes: Vec<Decoded>,
    /// Decoder panics caught while decoding this frame.
    pub panics: u32,
}

/// Decodes every QR code in an 8-bit grayscale frame.
pub fn decode_luma(width: usize, height: usize, luma: &[u8]) -> FrameResult {
    assert_eq!(luma.len(), width * height, "luma buffer does not match {width}×{height}");
    let mut result = FrameResult::default();
    let attempt = catch_unwind(AssertUnwindSafe(|| {
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
        img.detect_grids()
            .into_iter()
            .filter_map(|grid| {
                let corners = grid.bounds.map(|p| (p.x, p.y));
                let mut payload = Vec::new();
                grid.decode_to(&mut payload).ok().map(|_| Decoded { payload, corners })
            })
            .collect::<Vec<_>>()
    }));
    match attempt {
        Ok(codes) => result.codes = codes,
        Err(_) => {
            result.panics += 1;
            tracing::warn!("QR decoder panicked on a {width}×{height} frame; frame skipped");
        }
    }
    result
}

/// Reads an image file and decodes the QR codes in it.
pub fn decode_file(path: &Path) -> Result<FrameResult, ScanError> {
    let img = image::open(path).map_err(|e| ScanError::Image { path: path.display().to_string(), message: e.to_string() })?;
    let gray = img.to_luma8();
    Ok(decode_luma(gray.width() as usize, gray.height() as usize, gray.as_raw()))
}

/// Converts a camera frame to 8-bit grayscale. `None` if the frame is
/// damaged (short buffer, undecodable JPEG): the caller skips it.
pub fn to_luma(frame: &crate::hw::Frame) -> Option<(usize, usize, std::borrow::Cow<'_, [u8]>)> {
    use crate::hw::PixelFormat;
    use std::borrow::Cow;
    let (w, h) = (frame.width as usize, frame.height as usize);
    match frame.format {
        PixelFormat::Luma if frame.data.len() >= w * h => Some((w, h, Cow::Borrowed(&frame.data[..w * h]))),
        PixelFormat::Rgb if frame.data.len() >= w * h * 3 => {
            // BT.601 luma in integer arithmetic.
            let luma = frame.data[..w * h * 3]
                .chunks_exact(3)
                .map(|p| ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8) as u8)
                .collect();
            Some((w, h, Cow::Owned(luma)))
        }
        // YUYV: every even byte is a Y sample.
        PixelFormat::Yuyv if frame.data.len() >= w * h * 2 => {
            Some((w, h, Cow::Owned(frame.data[..w * h * 2].iter().step_by(2).copied().collect())))
        }
        PixelFormat::Mjpeg => {
            let img = image::load_from_memory_with_format(&frame.data, image::ImageFormat::Jpeg).ok()?;
            let gray = img.to_luma8();
            Some((gray.width() as usize, gray.height() as usize, Cow::Owned(gray.into_raw())))
        }
        _ => None,
    }
}
