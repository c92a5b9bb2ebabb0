//! Several frames of one small code, aligned and averaged. A pass is held
//! up for about a second; from frame to frame the hand moves it by a pixel
//! or two while the sensor's noise and the JPEG blocks change. Averaging
//! the aligned regions keeps the code and loses much of the rest.

use std::collections::VecDeque;

use super::preprocess::{self, Rect};
use super::{GrayBuf, GrayView};

/// How many frames are averaged, at most, and at least.
const KEEP: usize = 4;
const NEED: usize = 3;
/// Frames further back than this are another moment, not the same pass.
const MAX_AGE: u64 = 6;
/// How far (pixels) a frame may have moved against the newest.
const SHIFT: isize = 6;

/// The regions of recent unread frames, each with a margin for the shift.
#[derive(Default)]
pub struct Recent {
    frames: VecDeque<(u64, Rect, GrayBuf)>,
}

impl Recent {
    pub fn clear(&mut self) {
        self.frames.clear();
    }

    /// Keeps frame `n`'s region `r` (grown by the margin); forgets frames
    /// too old or whose region is elsewhere.
    pub fn push(&mut self, img: &GrayView<'_>, r: Rect, n: u64) {
        let m = SHIFT as usize;
        let grown = Rect {
            x0: r.x0.saturating_sub(m),
            y0: r.y0.saturating_sub(m),
            x1: (r.x1 + m).min(img.width),
            y1: (r.y1 + m).min(img.height),
        };
        let (cx, cy) = centre(r);
        self.frames.retain(|(at, old, _)| {
            let (ox, oy) = centre(*old);
            n - at <= MAX_AGE && ox.abs_diff(cx) * 2 <= r.width() && oy.abs_diff(cy) * 2 <= r.height()
        });
        self.frames.push_back((n, grown, preprocess::crop(img, grown)));
        while self.frames.len() > KEEP {
            self.frames.pop_front();
        }
    }

    /// The kept frames over `r`, each moved onto the newest to half a
    /// pixel, averaged at twice the resolution and sharpened: the hand's
    /// tremor puts each frame's samples between the others', so the
    /// average holds detail no single frame has. `None` until there are
    /// enough frames.
    pub fn stacked(&self, r: Rect) -> Option<GrayBuf> {
        if self.frames.len() < NEED {
            return None;
        }
        let (_, newest_at, newest) = self.frames.back()?;
        let base = preprocess::upscale2(&crop_of(newest_at, newest, r)?.view());
        let mut sum: Vec<u32> = base.pixels.iter().map(|&p| u32::from(p)).collect();
        let mut used = 1u32;
        for (_, at, buf) in self.frames.iter().rev().skip(1) {
            let (dx, dy) = best_shift(r, (newest_at, newest), (at, buf));
            // The older frame's region, moved, with a pixel to spare for the half-pixel step.
            let moved = Rect {
                x0: (r.x0 as isize + dx - 1).max(0) as usize,
                y0: (r.y0 as isize + dy - 1).max(0) as usize,
                x1: (r.x1 as isize + dx + 1).max(0) as usize,
                y1: (r.y1 as isize + dy + 1).max(0) as usize,
            };
            let Some(old) = crop_of(at, buf, moved).filter(|c| c.width == r.width() + 2 && c.height == r.height() + 2)
            else {
                continue;
            };
            let up = preprocess::upscale2(&old.view());
            let (ex, ey) = best_half_step(&base, &up);
            for y in 0..base.height {
                let row = (y as isize + 2 + ey) as usize * up.width;
                for x in 0..base.width {
                    sum[y * base.width + x] += u32::from(up.pixels[row + (x as isize + 2 + ex) as usize]);
                }
            }
            used += 1;
        }
        if (used as usize) < NEED {
            return None;
        }
        let pixels = sum.iter().map(|&s| ((s + used / 2) / used) as u8).collect();
        Some(preprocess::sharpen(&GrayBuf { width: base.width, height: base.height, pixels }))
    }
}

/// `r` out of a kept crop whose top left is at `at`; `None` unless it lies inside.
fn crop_of(at: &Rect, buf: &GrayBuf, r: Rect) -> Option<GrayBuf> {
    if r.x0 < at.x0 || r.y0 < at.y0 || r.x1 > at.x1 || r.y1 > at.y1 || r.width() == 0 || r.height() == 0 {
        return None;
    }
    let local = Rect { x0: r.x0 - at.x0, y0: r.y0 - at.y0, x1: r.x1 - at.x0, y1: r.y1 - at.y0 };
    Some(preprocess::crop(&buf.view(), local))
}

/// The step of -1, 0 or 1 (half a source pixel) that lays `up` (doubled,
/// two pixels wider on each side) best over `base`.
fn best_half_step(base: &GrayBuf, up: &GrayBuf) -> (isize, isize) {
    let mut best = (u64::MAX, (0, 0));
    for ey in -1..=1isize {
        for ex in -1..=1isize {
            let mut sad = 0u64;
            for y in (0..base.height).step_by(2) {
                let row = (y as isize + 2 + ey) as usize * up.width;
                for x in (0..base.width).step_by(2) {
                    let o = up.pixels[row + (x as isize + 2 + ex) as usize];
                    sad += u64::from(base.pixels[y * base.width + x].abs_diff(o));
                }
            }
            if sad < best.0 {
                best = (sad, (ex, ey));
            }
        }
    }
    best.1
}

fn centre(r: Rect) -> (usize, usize) {
    ((r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2)
}

/// The shift of `old` against `new` over `r`: each axis on its own, by
/// the sums of the region's columns and of its rows. Sums are cheap, shrug
/// off noise, and do not alias on modules the way sparse samples do.
fn best_shift(r: Rect, new: (&Rect, &GrayBuf), old: (&Rect, &GrayBuf)) -> (isize, isize) {
    let m = SHIFT as usize;
    // Rows (or columns) of `r` far enough from its edges to exist in both.
    let inner = Rect { x0: r.x0 + m, y0: r.y0 + m, x1: r.x1.saturating_sub(m), y1: r.y1.saturating_sub(m) };
    if inner.x1 <= inner.x0 || inner.y1 <= inner.y0 {
        return (0, 0);
    }
    let value = |(a, buf): (&Rect, &GrayBuf), x: usize, y: usize| -> Option<u32> {
        (x >= a.x0 && y >= a.y0 && x < a.x1 && y < a.y1)
            .then(|| u32::from(buf.pixels[(y - a.y0) * buf.width + x - a.x0]))
    };
    // Column sums of `img` over columns x0..x1, the rows of `inner` moved by `dy`.
    let columns = |img, x0: isize, x1: isize, dy: isize| -> Vec<Option<u32>> {
        (x0..x1)
            .map(|x| {
                (inner.y0..inner.y1)
                    .map(|y| value(img, usize::try_from(x).ok()?, usize::try_from(y as isize + dy).ok()?))
                    .sum()
            })
            .collect()
    };
    let rows = |img, y0: isize, y1: isize, dx: isize| -> Vec<Option<u32>> {
        (y0..y1)
            .map(|y| {
                (inner.x0..inner.x1)
                    .map(|x| value(img, usize::try_from(x as isize + dx).ok()?, usize::try_from(y).ok()?))
                    .sum()
            })
            .collect()
    };
    let best = |a: &[Option<u32>], b: &[Option<u32>]| -> isize {
        let mut best = (u64::MAX, 0);
        for d in -SHIFT..=SHIFT {
            let (mut sad, mut n) = (0u64, 0u64);
            for (i, va) in a.iter().enumerate() {
                if let (Some(va), Some(Some(vb))) = (va, b.get((i as isize + d + SHIFT) as usize)) {
                    sad += u64::from(va.abs_diff(*vb));
                    n += 1;
                }
            }
            if n > 0 && sad * 1000 / n < best.0 {
                best = (sad * 1000 / n, d);
            }
        }
        best.1
    };
    let (x0, x1, y0, y1) = (r.x0 as isize, r.x1 as isize, r.y0 as isize, r.y1 as isize);
    // One axis, then the other with the first one's answer, then the first again.
    let (new_cols, new_rows) = (columns(new, x0, x1, 0), rows(new, y0, y1, 0));
    let mut dx = best(&new_cols, &columns(old, x0 - SHIFT, x1 + SHIFT, 0));
    let dy = best(&new_rows, &rows(old, y0 - SHIFT, y1 + SHIFT, dx));
    dx = best(&new_cols, &columns(old, x0 - SHIFT, x1 + SHIFT, dy));
    (dx, dy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random 3-px modules, moved by (dx, dy), with noise.
    fn board(dx: usize, dy: usize, noise: u64) -> GrayBuf {
        let (w, h) = (120, 100);
        let mut state = noise;
        let pixels = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w + 20 - dx, i / w + 20 - dy);
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let n = (state >> 59) as i32 - 16;
                // Modules of 3 px, dark or light at random, like a code's.
                let cell = ((x / 3) * 7919 + (y / 3) * 104_729) as u64;
                let v = if cell.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 63 == 0 { 60 } else { 190 };
                (v + n).clamp(0, 255) as u8
            })
            .collect();
        GrayBuf { width: w, height: h, pixels }
    }

    #[test]
    fn frames_moved_by_a_few_pixels_are_aligned_and_averaged() {
        let r = Rect { x0: 30, y0: 30, x1: 90, y1: 70 };
        let mut recent = Recent::default();
        for (n, (dx, dy)) in [(0, 0), (2, 1), (4, 3)].into_iter().enumerate() {
            assert!(recent.stacked(r).is_none() || n >= NEED);
            recent.push(&board(dx, dy, n as u64 + 1).view(), r, n as u64 + 1);
        }
        let avg = recent.stacked(r).expect("three frames");
        assert_eq!((avg.width, avg.height), (r.width() * 2, r.height() * 2));
        // Averaged onto the newest frame, doubled: its squares, with less
        // noise than the newest frame alone (doubled and sharpened alike).
        let clean = board(4, 3, 0);
        let alone = preprocess::upscale2_sharpen(&preprocess::crop(&board(4, 3, 3).view(), r).view());
        let truth = preprocess::upscale2_sharpen(&preprocess::crop(&clean.view(), r).view());
        let err = |img: &GrayBuf| -> u32 {
            let inner = |i: usize| {
                (4..img.width - 4).contains(&(i % img.width)) && (4..img.height - 4).contains(&(i / img.width))
            };
            let n = (0..img.pixels.len()).filter(|&i| inner(i)).count() as u32;
            (0..img.pixels.len())
                .filter(|&i| inner(i))
                .map(|i| u32::from(img.pixels[i].abs_diff(truth.pixels[i])))
                .sum::<u32>()
                / n
        };
        assert!(err(&avg) < err(&alone), "stacked {} vs one frame {}", err(&avg), err(&alone));
    }

    #[test]
    fn a_region_elsewhere_or_long_ago_starts_over() {
        let r = Rect { x0: 30, y0: 30, x1: 90, y1: 70 };
        let img = board(0, 0, 1);
        let mut recent = Recent::default();
        recent.push(&img.view(), r, 1);
        recent.push(&img.view(), r, 2);
        recent.push(&img.view(), Rect { x0: 0, y0: 0, x1: 20, y1: 20 }, 3);
        assert_eq!(recent.frames.len(), 1);
        recent.push(&img.view(), r, 20);
        assert_eq!(recent.frames.len(), 1);
    }
}
