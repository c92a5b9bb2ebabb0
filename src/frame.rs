//! Camera frames and grayscale images: what the cameras deliver and what
//! the scanner reads. A leaf module, so that the hardware (`hw`) and the
//! decoder (`scan`) both depend on it and not on each other.

use std::borrow::Cow;
use std::fmt;

/// Pixel layout of a camera frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// 8-bit grayscale.
    Luma,
    /// 24-bit RGB.
    Rgb,
    /// YUYV 4:2:2, as most UVC cameras deliver uncompressed.
    Yuyv,
    /// A JPEG image.
    Mjpeg,
}

/// One camera frame.
#[derive(Clone)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    pub data: Vec<u8>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({}×{} {:?}, {} bytes)", self.width, self.height, self.format, self.data.len())
    }
}

impl Frame {
    /// Converts a camera frame to 8-bit grayscale. `None` if the frame is
    /// damaged (short buffer, undecodable JPEG): the caller skips it.
    pub fn to_luma(&self) -> Option<(usize, usize, Cow<'_, [u8]>)> {
        let frame = self;
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
}

/// A borrowed 8-bit grayscale image.
#[derive(Clone, Copy)]
pub struct GrayView<'a> {
    pub width: usize,
    pub height: usize,
    pub pixels: &'a [u8],
}

/// An owned 8-bit grayscale image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrayBuf {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl GrayBuf {
    pub fn view(&self) -> GrayView<'_> {
        GrayView { width: self.width, height: self.height, pixels: &self.pixels }
    }

    pub fn from_image(img: &image::GrayImage) -> GrayBuf {
        GrayBuf { width: img.width() as usize, height: img.height() as usize, pixels: img.as_raw().clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_format_converts_to_the_same_luma() {
        let luma: Vec<u8> = (0..16u8).map(|i| i * 16).collect();
        let rgb: Vec<u8> = luma.iter().flat_map(|&l| [l, l, l]).collect();
        let yuyv: Vec<u8> = luma.iter().flat_map(|&l| [l, 128]).collect();
        for (format, data) in [(PixelFormat::Luma, luma.clone()), (PixelFormat::Rgb, rgb), (PixelFormat::Yuyv, yuyv)] {
            let frame = Frame { width: 4, height: 4, format, data };
            let (_, _, got) = frame.to_luma().unwrap();
            let diff = got.iter().zip(&luma).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
            assert!(diff <= 1, "{format:?}");
        }
        let short = Frame { width: 4, height: 4, format: PixelFormat::Rgb, data: vec![0; 10] };
        assert!(short.to_luma().is_none());
        let bad_jpeg = Frame { width: 4, height: 4, format: PixelFormat::Mjpeg, data: vec![0xFF, 0xD8, 0, 1] };
        assert!(bad_jpeg.to_luma().is_none());
    }
}
