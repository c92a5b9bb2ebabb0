//! Image transforms that help the decoders: crop, ×2 upscale with an unsharp
//! mask, inversion, adaptive threshold. Plain integer loops; no allocations
//! beyond the output.

use super::{GrayBuf, GrayView};

/// A rectangle in pixels, `x1`/`y1` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Rect {
    pub fn width(&self) -> usize {
        self.x1.saturating_sub(self.x0)
    }

    pub fn height(&self) -> usize {
        self.y1.saturating_sub(self.y0)
    }

    /// Whether the rectangle holds pixels of a `w`×`h` picture.
    pub fn fits(&self, w: usize, h: usize) -> bool {
        self.x0 < self.x1 && self.y0 < self.y1 && self.x1 <= w && self.y1 <= h
    }

    /// Grows the rectangle by `factor` of its size on every side, clamped to
    /// `w`×`h`.
    pub fn grow(&self, factor: f32, w: usize, h: usize) -> Rect {
        let dx = (self.width() as f32 * factor) as usize;
        let dy = (self.height() as f32 * factor) as usize;
        Rect {
            x0: self.x0.saturating_sub(dx),
            y0: self.y0.saturating_sub(dy),
            x1: (self.x1 + dx).min(w),
            y1: (self.y1 + dy).min(h),
        }
    }
}

pub fn crop(img: &GrayView<'_>, r: Rect) -> GrayBuf {
    let mut pixels = Vec::with_capacity(r.width() * r.height());
    for y in r.y0..r.y1 {
        pixels.extend_from_slice(&img.pixels[y * img.width + r.x0..y * img.width + r.x1]);
    }
    GrayBuf { width: r.width(), height: r.height(), pixels }
}

/// Shrinks by an integer factor (box average) to at most `max_width` wide,
/// for the UI's preview.
pub fn downscale(img: &GrayView<'_>, max_width: usize) -> GrayBuf {
    let f = img.width.div_ceil(max_width.max(1)).max(1);
    let (w, h) = (img.width / f, img.height / f);
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0u32;
            for dy in 0..f {
                let row = (y * f + dy) * img.width + x * f;
                sum += img.pixels[row..row + f].iter().map(|&p| u32::from(p)).sum::<u32>();
            }
            pixels.push((sum / (f * f) as u32) as u8);
        }
    }
    GrayBuf { width: w, height: h, pixels }
}

pub fn invert(img: &GrayView<'_>) -> GrayBuf {
    GrayBuf { width: img.width, height: img.height, pixels: img.pixels.iter().map(|p| 255 - p).collect() }
}

/// Bilinear ×2 upscale followed by an unsharp mask (amount 1, 3×3 box).
/// Small codes (2–3 pixels per module) gain crisp module edges.
pub fn upscale2_sharpen(img: &GrayView<'_>) -> GrayBuf {
    sharpen(&upscale2(img))
}

/// Bilinear ×2 upscale.
pub fn upscale2(img: &GrayView<'_>) -> GrayBuf {
    let (w, h) = (img.width, img.height);
    let (w2, h2) = (w * 2, h * 2);
    // Sample centres: source coordinate (i2 - 0.5) / 2, in quarter steps:
    // (index, weight of the next one) for each output row or column.
    let taps = |n2: usize, n: usize| -> Vec<(usize, usize, u32)> {
        (0..n2)
            .map(|i2| {
                let s4 = (i2 * 2).saturating_sub(1);
                let i0 = s4 / 4;
                (i0, (i0 + 1).min(n - 1), (s4 % 4) as u32)
            })
            .collect()
    };
    let (xs, ys) = (taps(w2, w), taps(h2, h));
    // Separable: each source row widened once (×4 fixed point), then rows blended.
    let wide: Vec<u32> = img
        .pixels
        .chunks_exact(w)
        .flat_map(|row| xs.iter().map(move |&(x0, x1, fx)| u32::from(row[x0]) * (4 - fx) + u32::from(row[x1]) * fx))
        .collect();
    let mut up = vec![0u8; w2 * h2];
    for (out, &(y0, y1, fy)) in up.chunks_exact_mut(w2).zip(&ys) {
        let (top, bottom) = (&wide[y0 * w2..(y0 + 1) * w2], &wide[y1 * w2..(y1 + 1) * w2]);
        for ((o, &t), &b) in out.iter_mut().zip(top).zip(bottom) {
            *o = ((t * (4 - fy) + b * fy + 8) / 16) as u8;
        }
    }
    GrayBuf { width: w2, height: h2, pixels: up }
}

/// Unsharp mask, amount 1, 3×3 box.
pub fn sharpen(img: &GrayBuf) -> GrayBuf {
    let blurred = box3(&img.pixels, img.width, img.height);
    let pixels =
        img.pixels.iter().zip(&blurred).map(|(&o, &b)| (2 * i32::from(o) - i32::from(b)).clamp(0, 255) as u8).collect();
    GrayBuf { width: img.width, height: img.height, pixels }
}

/// 3×3 box blur, edges clamped.
fn box3(src: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut tmp = vec![0u16; w * h];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        for x in 0..w {
            let l = row[x.saturating_sub(1)];
            let r = row[(x + 1).min(w - 1)];
            tmp[y * w + x] = u16::from(l) + u16::from(row[x]) + u16::from(r);
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let (a, c) = (y.saturating_sub(1), (y + 1).min(h - 1));
        for x in 0..w {
            out[y * w + x] = ((tmp[a * w + x] + tmp[y * w + x] + tmp[c * w + x] + 4) / 9) as u8;
        }
    }
    out
}

/// Bradley's adaptive threshold: a pixel is black when darker than
/// `(100 - t)%` of the mean of the window around it. Evens out glare and
/// shadows across a code.
pub fn adaptive_threshold(img: &GrayView<'_>, window: usize, t: u32) -> GrayBuf {
    let (w, h) = (img.width, img.height);
    let mut integral = vec![0u32; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0u32;
        for x in 0..w {
            row += u32::from(img.pixels[y * w + x]);
            integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row;
        }
    }
    let half = window / 2;
    let mut pixels = vec![0u8; w * h];
    for y in 0..h {
        let (ya, yb) = (y.saturating_sub(half), (y + half + 1).min(h));
        for x in 0..w {
            let (xa, xb) = (x.saturating_sub(half), (x + half + 1).min(w));
            let count = ((xb - xa) * (yb - ya)) as u64;
            let sum = u64::from(integral[yb * (w + 1) + xb]) + u64::from(integral[ya * (w + 1) + xa])
                - u64::from(integral[ya * (w + 1) + xb])
                - u64::from(integral[yb * (w + 1) + xa]);
            let p = u64::from(img.pixels[y * w + x]) * count * 100;
            pixels[y * w + x] = if p <= sum * u64::from(100 - t) { 0 } else { 255 };
        }
    }
    GrayBuf { width: w, height: h, pixels }
}

/// Finds where a QR code probably is: the largest cluster of blocks dense
/// with strong edges in both directions. Cheap (one pass over the image)
/// and used to crop before the expensive steps.
pub fn locate(img: &GrayView<'_>, block: usize, min_contrast: u8) -> Option<Rect> {
    locate_sampled(img, block, min_contrast, 1)
}

/// [`locate`] looking at every `stride`-th row and column of each block:
/// a quarter of the work at stride 2, for live frames.
pub fn locate_sampled(img: &GrayView<'_>, block: usize, min_contrast: u8, stride: usize) -> Option<Rect> {
    let (w, h) = (img.width, img.height);
    let (bw, bh) = (w / block, h / block);
    if bw < 2 || bh < 2 {
        return None;
    }
    let px = |x: usize, y: usize| img.pixels[y * w + x];
    let mut dense = vec![false; bw * bh];
    let stride = stride.max(1);
    let side = (block - 1).div_ceil(stride);
    let need = ((block * block / 8) / (stride * stride)) as u32;
    for by in 0..bh {
        for bx in 0..bw {
            let (mut horiz, mut vert) = (0u32, 0u32);
            let (mut sum, mut sum2) = (0u32, 0u32);
            for y in (by * block..(by + 1) * block - 1).step_by(stride) {
                for x in (bx * block..(bx + 1) * block - 1).step_by(stride) {
                    let p = px(x, y);
                    sum += u32::from(p);
                    sum2 += u32::from(p) * u32::from(p);
                    horiz += u32::from(p.abs_diff(px(x + 1, y)) >= min_contrast);
                    vert += u32::from(p.abs_diff(px(x, y + 1)) >= min_contrast);
                }
            }
            // Modules make a block bimodal: a high spread of grey levels, which
            // sensor noise and smooth backgrounds do not have.
            let n = (side * side) as u32;
            let var = (sum2 - sum * sum / n) / n;
            dense[by * bw + bx] = var >= 18 * 18 && horiz >= need / 2 && vert >= need / 2 && horiz + vert >= need;
        }
    }
    // Largest 8-connected cluster of dense blocks.
    let mut seen = vec![false; bw * bh];
    let mut best: Option<(usize, Rect)> = None;
    for start in 0..bw * bh {
        if !dense[start] || seen[start] {
            continue;
        }
        let (mut count, mut r) = (0, Rect { x0: usize::MAX, y0: usize::MAX, x1: 0, y1: 0 });
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            let (bx, by) = (i % bw, i / bw);
            count += 1;
            r = Rect { x0: r.x0.min(bx), y0: r.y0.min(by), x1: r.x1.max(bx + 1), y1: r.y1.max(by + 1) };
            for (dx, dy) in [(-1i64, -1i64), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                let (nx, ny) = (bx as i64 + dx, by as i64 + dy);
                if nx >= 0 && ny >= 0 && (nx as usize) < bw && (ny as usize) < bh {
                    let j = ny as usize * bw + nx as usize;
                    if dense[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        if best.as_ref().is_none_or(|(c, _)| count > *c) {
            best = Some((count, r));
        }
    }
    let (count, r) = best?;
    // A code at 2 px per module and version 8 (49 modules) covers ~36 blocks
    // of 8 px; anything much smaller is texture, not a code.
    if count < 4 {
        return None;
    }
    Some(Rect { x0: r.x0 * block, y0: r.y0 * block, x1: r.x1 * block, y1: r.y1 * block }.grow(0.15, w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> GrayBuf {
        GrayBuf { width: w, height: h, pixels: (0..w * h).map(|i| f(i % w, i / w)).collect() }
    }

    #[test]
    fn upscale_doubles_and_keeps_flat_areas_flat() {
        let src = img(10, 6, |_, _| 100);
        let up = upscale2_sharpen(&src.view());
        assert_eq!((up.width, up.height), (20, 12));
        assert!(up.pixels.iter().all(|&p| p == 100));
    }

    #[test]
    fn upscale_sharpens_an_edge() {
        let src = img(8, 4, |x, _| if x < 4 { 0 } else { 200 });
        let up = upscale2_sharpen(&src.view());
        let row: Vec<u8> = up.pixels[up.width * 4..up.width * 5].to_vec();
        assert_eq!(row[0], 0);
        assert_eq!(row[15], 200);
        // The unsharp mask overshoots on the bright side of the edge.
        assert!(row[8..12].iter().any(|&p| p > 200), "{row:?}");
    }

    #[test]
    fn threshold_separates_dark_from_light_under_a_gradient() {
        // A dark square on a left-to-right brightness ramp.
        let src = img(64, 64, |x, y| {
            let base = 80 + (x * 2) as u8;
            if (24..40).contains(&x) && (24..40).contains(&y) {
                base / 3
            } else {
                base
            }
        });
        let bin = threshold_view(&src);
        assert_eq!(bin.pixels[32 * 64 + 32], 0);
        assert_eq!(bin.pixels[32 * 64 + 5], 255);
        assert_eq!(bin.pixels[5 * 64 + 60], 255);
    }

    fn threshold_view(src: &GrayBuf) -> GrayBuf {
        adaptive_threshold(&src.view(), 31, 15)
    }

    #[test]
    fn crop_and_invert() {
        let src = img(5, 5, |x, y| (x + 10 * y) as u8);
        let c = crop(&src.view(), Rect { x0: 1, y0: 2, x1: 3, y1: 4 });
        assert_eq!(c.pixels, [21, 22, 31, 32]);
        assert_eq!(invert(&c.view()).pixels, [234, 233, 224, 223]);
        let r = Rect { x0: 10, y0: 10, x1: 20, y1: 20 }.grow(0.5, 25, 100);
        assert_eq!(r, Rect { x0: 5, y0: 5, x1: 25, y1: 25 });
    }
}
