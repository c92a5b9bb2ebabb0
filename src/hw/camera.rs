//! Cameras: the newest-frame slot every source shares, a UVC camera through
//! nokhwa (V4L2, feature `camera`), and the simulated sources (a folder of
//! images replayed in a loop, generated camera-like frames).

use std::path::{Path, PathBuf};
#[cfg(feature = "camera")]
use std::sync::Arc;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Frame, FrameSource, HwError, PixelFormat};

/// Holds only the newest frame: a slow decoder takes the latest picture and
/// older ones are dropped, so no queue grows behind it.
#[derive(Default)]
pub struct LatestFrame {
    inner: Mutex<Slot>,
    ready: Condvar,
}

#[derive(Default)]
struct Slot {
    frame: Option<Frame>,
    error: Option<HwError>,
    /// Frames replaced before anyone took them.
    dropped: u64,
    delivered: u64,
}

impl LatestFrame {
    pub fn put(&self, frame: Frame) {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if s.frame.replace(frame).is_some() {
            s.dropped += 1;
        }
        self.ready.notify_one();
    }

    /// Reports that the producer has stopped.
    pub fn fail(&self, error: HwError) {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        s.error = Some(error);
        self.ready.notify_one();
    }

    /// Waits up to `timeout` for a frame newer than the last one taken.
    pub fn take(&self, timeout: Duration) -> Result<Frame, HwError> {
        let deadline = Instant::now() + timeout;
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(frame) = s.frame.take() {
                s.delivered += 1;
                return Ok(frame);
            }
            if let Some(e) = s.error.take() {
                return Err(e);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(HwError::CameraGone(format!("no frame for {} ms", timeout.as_millis())));
            }
            s = self.ready.wait_timeout(s, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// (delivered, dropped) so far.
    pub fn counts(&self) -> (u64, u64) {
        let s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (s.delivered, s.dropped)
    }

    /// Frames waiting: never more than one.
    pub fn queued(&self) -> usize {
        usize::from(self.inner.lock().unwrap_or_else(|e| e.into_inner()).frame.is_some())
    }
}

/// Camera settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraConfig {
    /// V4L2 index: 0 is /dev/video0.
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Replay the images in this folder instead of a camera (simulation).
    pub replay_dir: Option<PathBuf>,
    /// `[camera.inward]`: a second camera facing into the compound on a
    /// "both" kiosk; passes it reads count as going out.
    pub inward: Option<Box<CameraConfig>>,
}

impl Default for CameraConfig {
    fn default() -> Self {
        // 1280×720: a phone's rotating code (QR version 11) held at 25 cm is
        // 3.9 px per module there, 1.95 at 640×480 (README, "Passes").
        CameraConfig { index: 0, width: 1280, height: 720, fps: 30, replay_dir: None, inward: None }
    }
}

/// Replays the images of a folder in a loop, as grayscale frames.
pub struct FolderSource {
    frames: Vec<Frame>,
    next: usize,
    interval: Duration,
}

impl FolderSource {
    pub fn open(dir: &Path, fps: u32) -> Result<FolderSource, HwError> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| HwError::CameraGone(format!("cannot read {}: {e}", dir.display())))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| ["png", "jpg", "jpeg", "webp", "gif"].contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect();
        paths.sort();
        let frames: Vec<Frame> = paths
            .iter()
            .filter_map(|p| image::open(p).ok())
            .map(|img| {
                let g = img.to_luma8();
                Frame { width: g.width(), height: g.height(), format: PixelFormat::Luma, data: g.into_raw() }
            })
            .collect();
        if frames.is_empty() {
            return Err(HwError::CameraGone(format!("no readable images in {}", dir.display())));
        }
        Ok(FolderSource { frames, next: 0, interval: Duration::from_millis(1000 / u64::from(fps.max(1))) })
    }
}

impl FrameSource for FolderSource {
    fn next_frame(&mut self) -> Result<Frame, HwError> {
        std::thread::sleep(self.interval);
        let frame = self.frames[self.next % self.frames.len()].clone();
        self.next += 1;
        Ok(frame)
    }
}

/// A USB (UVC) camera through nokhwa's V4L2 backend. Capture runs on its
/// own thread into a [`LatestFrame`]; after the camera disappears the next
/// call reconnects (the caller paces retries with backoff).
#[cfg(feature = "camera")]
pub struct UvcCamera {
    config: CameraConfig,
    slot: Arc<LatestFrame>,
    running: Option<(Arc<std::sync::atomic::AtomicBool>, std::thread::JoinHandle<()>)>,
}

#[cfg(feature = "camera")]
impl UvcCamera {
    pub fn new(config: CameraConfig) -> UvcCamera {
        UvcCamera { config, slot: Arc::new(LatestFrame::default()), running: None }
    }

    fn start(&mut self) -> Result<(), HwError> {
        use nokhwa::pixel_format::LumaFormat;
        use nokhwa::utils::{CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution};
        use std::sync::atomic::{AtomicBool, Ordering};

        let c = self.config.clone();
        let slot = Arc::new(LatestFrame::default());
        self.slot = slot.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let (opened_tx, opened_rx) = std::sync::mpsc::channel();
        let stop_thread = stop.clone();
        let handle = std::thread::Builder::new()
            .name("camera-capture".into())
            .spawn(move || {
                // Prefer MJPEG (small over USB), then YUYV, at the wanted size.
                let wanted = CameraFormat::new(Resolution::new(c.width, c.height), FrameFormat::MJPEG, c.fps);
                let request = RequestedFormat::new::<LumaFormat>(RequestedFormatType::Closest(wanted));
                let mut camera = match nokhwa::Camera::new(CameraIndex::Index(c.index), request)
                    .and_then(|mut cam| cam.open_stream().map(|_| cam))
                {
                    Ok(cam) => cam,
                    Err(e) => {
                        let _ = opened_tx.send(Err(HwError::CameraGone(format!(
                            "cannot open /dev/video{}: {e}; check the USB cable and that the kiosk's user is in the `video` group",
                            c.index
                        ))));
                        return;
                    }
                };
                let format = camera.camera_format();
                let _ = opened_tx.send(Ok(format.to_string()));
                while !stop_thread.load(Ordering::Relaxed) {
                    match camera.frame() {
                        Ok(buffer) => {
                            let res = buffer.resolution();
                            let format = match buffer.source_frame_format() {
                                FrameFormat::MJPEG => PixelFormat::Mjpeg,
                                FrameFormat::YUYV => PixelFormat::Yuyv,
                                FrameFormat::GRAY => PixelFormat::Luma,
                                FrameFormat::RAWRGB => PixelFormat::Rgb,
                                other => {
                                    slot.fail(HwError::BadFrame(format!("unsupported camera format {other}")));
                                    return;
                                }
                            };
                            slot.put(Frame { width: res.width(), height: res.height(), format, data: buffer.buffer().to_vec() });
                        }
                        Err(e) => {
                            slot.fail(HwError::CameraGone(format!("camera stopped delivering frames: {e}")));
                            return;
                        }
                    }
                }
                let _ = camera.stop_stream();
            })
            .map_err(|e| HwError::CameraGone(format!("cannot start the capture thread: {e}")))?;
        match opened_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(format)) => {
                tracing::info!(index = self.config.index, %format, "camera opened");
                self.running = Some((stop, handle));
                Ok(())
            }
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                Err(HwError::CameraGone("the camera did not start within 5 s".into()))
            }
        }
    }
}

#[cfg(feature = "camera")]
impl FrameSource for UvcCamera {
    fn next_frame(&mut self) -> Result<Frame, HwError> {
        if self.running.as_ref().is_none_or(|(_, h)| h.is_finished()) {
            if let Some((_, h)) = self.running.take() {
                let _ = h.join();
            }
            self.start()?;
        }
        let result = self.slot.take(Duration::from_secs(2));
        if result.is_err() {
            if let Some((stop, _)) = &self.running {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        result
    }
}

#[cfg(feature = "camera")]
impl Drop for UvcCamera {
    fn drop(&mut self) {
        if let Some((stop, h)) = self.running.take() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn frame(n: u8) -> Frame {
        Frame { width: 1, height: 1, format: PixelFormat::Luma, data: vec![n] }
    }

    #[test]
    fn a_slow_reader_gets_the_newest_frame_and_nothing_queues() {
        let slot = LatestFrame::default();
        for n in 0..100 {
            slot.put(frame(n));
            assert!(slot.queued() <= 1);
        }
        assert_eq!(slot.take(Duration::from_millis(10)).unwrap().data, [99]);
        assert_eq!(slot.counts(), (1, 99));
        assert!(slot.take(Duration::from_millis(10)).is_err(), "no stale frame is delivered twice");
    }

    #[test]
    fn a_failed_producer_is_reported() {
        let slot = LatestFrame::default();
        slot.fail(HwError::CameraGone("unplugged".into()));
        assert_eq!(slot.take(Duration::from_millis(10)).unwrap_err(), HwError::CameraGone("unplugged".into()));
    }

    #[test]
    fn the_reader_wakes_when_a_frame_arrives() {
        let slot = Arc::new(LatestFrame::default());
        let writer = slot.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            writer.put(frame(7));
        });
        assert_eq!(slot.take(Duration::from_secs(2)).unwrap().data, [7]);
        t.join().unwrap();
    }

    #[test]
    fn folder_source_replays_in_a_loop() {
        let dir = tempfile::tempdir().unwrap();
        for (i, v) in [10u8, 200].iter().enumerate() {
            image::GrayImage::from_pixel(4, 3, image::Luma([*v])).save(dir.path().join(format!("{i}.png"))).unwrap();
        }
        let mut src = FolderSource::open(dir.path(), 1000).unwrap();
        let got: Vec<u8> = (0..4).map(|_| src.next_frame().unwrap().data[0]).collect();
        assert_eq!(got, [10, 200, 10, 200]);
        assert!(FolderSource::open(&dir.path().join("missing"), 10).is_err());
    }
}
