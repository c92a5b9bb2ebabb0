//! The QR decoders, each behind the same call and each isolated: a panic
//! inside a decoder is caught and counted, never fatal.

use rxing::{BarcodeFormat, DecodeHints, RXingResultMetadataType, RXingResultMetadataValue};

use super::{Code, GrayView};
use crate::isolate::isolate;

/// A QR decoding library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decoder {
    /// rxing, the pure-Rust port of ZXing (its C++ detector port).
    Rxing,
    /// rqrr, a port of quirc.
    Rqrr,
}

impl Decoder {
    pub fn name(self) -> &'static str {
        match self {
            Decoder::Rxing => "rxing",
            Decoder::Rqrr => "rqrr",
        }
    }
}

/// What one decoder call produced.
pub struct Attempt {
    pub codes: Vec<Code>,
    pub panicked: bool,
}

/// Decodes `img`. Coordinates in the returned codes are in `img`'s pixels.
pub fn decode(decoder: Decoder, img: &GrayView<'_>) -> Attempt {
    let result = isolate(|| match decoder {
        Decoder::Rxing => rxing_decode(img),
        Decoder::Rqrr => rqrr_decode(img),
    });
    match result {
        Some(codes) => Attempt { codes, panicked: false },
        None => {
            tracing::warn!(
                decoder = decoder.name(),
                width = img.width,
                height = img.height,
                "QR decoder panicked; frame skipped"
            );
            Attempt { codes: Vec::new(), panicked: true }
        }
    }
}

fn rxing_decode(img: &GrayView<'_>) -> Vec<Code> {
    let mut hints = DecodeHints { TryHarder: Some(true), ..DecodeHints::default() };
    let Ok(result) = rxing::helpers::detect_in_luma_slice_with_hints(
        img.pixels,
        img.width as u32,
        img.height as u32,
        Some(BarcodeFormat::QR_CODE),
        &mut hints,
    ) else {
        return Vec::new();
    };
    // Byte-mode payloads keep their exact bytes in BYTE_SEGMENTS; the text is
    // ZXing's charset guess.
    let bytes = match result.getRXingResultMetadata().get(&RXingResultMetadataType::BYTE_SEGMENTS) {
        Some(RXingResultMetadataValue::ByteSegments(segments)) => Some(segments.concat()),
        _ => None,
    };
    let points: Vec<(f32, f32)> = result.getPoints().iter().map(|p| (p.x, p.y)).collect();
    vec![Code { text: result.getText().to_string(), bytes, corners: bounding_quad(&points) }]
}

fn rqrr_decode(img: &GrayView<'_>) -> Vec<Code> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(img.width, img.height, |x, y| img.pixels[y * img.width + x]);
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| {
            let corners = grid.bounds.map(|p| (p.x as f32, p.y as f32));
            let mut bytes = Vec::new();
            grid.decode_to(&mut bytes).ok()?;
            Some(Code { text: String::from_utf8_lossy(&bytes).into_owned(), bytes: Some(bytes), corners })
        })
        .collect()
}

/// The axis-aligned box around `points`, as four corners.
fn bounding_quad(points: &[(f32, f32)]) -> [(f32, f32); 4] {
    if points.is_empty() {
        return [(0.0, 0.0); 4];
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
}
