//! The loudspeaker: ALSA through rodio on the Pi (feature `audio`, part of
//! `pi`), or the simulated twin that writes down what was said.

use std::sync::Arc;

/// One prompt to play.
#[derive(Clone, Debug)]
pub struct Clip {
    pub name: &'static str,
    pub language: String,
    /// Ogg Vorbis or WAV.
    pub bytes: Arc<[u8]>,
    /// 0.0 to 1.0.
    pub volume: f32,
}

/// Something that plays prompts. `play` returns at once; a new prompt cuts
/// off the one playing.
pub trait Speaker: Send {
    fn play(&mut self, clip: Clip);
    /// `Ok(state)` or `Err(what is wrong and how to fix it)`.
    fn health(&self) -> Result<String, String>;
}

/// The simulated speaker: the world's `said` list gets "lang/name".
pub struct SimSpeaker {
    world: super::sim::World,
}

impl SimSpeaker {
    pub fn new(world: super::sim::World) -> SimSpeaker {
        SimSpeaker { world }
    }
}

impl Speaker for SimSpeaker {
    fn play(&mut self, clip: Clip) {
        let mut w = self.world.lock();
        // A long soak must not grow the list without bound.
        if w.said.len() >= 1000 {
            w.said.drain(..500);
        }
        w.said.push(format!("{}/{}", clip.language, clip.name));
    }

    fn health(&self) -> Result<String, String> {
        Ok("simulated".into())
    }
}

/// A build without audio output: prompts are dropped, and the health list
/// says why.
pub struct NoSpeaker;

impl Speaker for NoSpeaker {
    fn play(&mut self, _: Clip) {}

    fn health(&self) -> Result<String, String> {
        Err("this build has no audio output: build with `--features audio` (part of `pi`)".into())
    }
}

#[cfg(feature = "audio")]
pub use alsa_speaker::AlsaSpeaker;

#[cfg(feature = "audio")]
mod alsa_speaker {
    use std::io::Cursor;
    use std::sync::mpsc::{Receiver, Sender};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::{Clip, Speaker};

    /// Plays through the default ALSA device on its own thread: rodio's
    /// output stream cannot leave the thread that opened it.
    pub struct AlsaSpeaker {
        tx: Sender<Clip>,
        /// `None` while the device works, else why it does not.
        fault: Arc<Mutex<Option<String>>>,
    }

    impl AlsaSpeaker {
        pub fn spawn() -> std::io::Result<AlsaSpeaker> {
            let (tx, rx) = std::sync::mpsc::channel();
            let fault = Arc::new(Mutex::new(Some("audio device not opened yet".to_string())));
            let f = fault.clone();
            std::thread::Builder::new().name("audio".into()).spawn(move || run(rx, f))?;
            Ok(AlsaSpeaker { tx, fault })
        }
    }

    fn set(fault: &Mutex<Option<String>>, value: Option<String>) {
        *fault.lock().unwrap_or_else(|e| e.into_inner()) = value;
    }

    /// Opens the device (again every minute while it fails) and plays what
    /// arrives; ends when the kiosk drops its speaker.
    fn run(rx: Receiver<Clip>, fault: Arc<Mutex<Option<String>>>) {
        'device: loop {
            let (_stream, handle) = match rodio::OutputStream::try_default() {
                Ok(s) => s,
                Err(e) => {
                    set(&fault, Some(format!("no audio device ({e}); check the speaker and `aplay -l`")));
                    match rx.recv_timeout(Duration::from_secs(60)) {
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                        _ => continue,
                    }
                }
            };
            set(&fault, None);
            let mut playing: Option<rodio::Sink> = None;
            loop {
                let Ok(clip) = rx.recv() else { return };
                // A new prompt cuts off the one playing.
                if let Some(old) = playing.take() {
                    old.stop();
                }
                let source = match rodio::Decoder::new(Cursor::new(clip.bytes.to_vec())) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(clip = clip.name, error = %e, "cannot decode voice clip");
                        continue;
                    }
                };
                match rodio::Sink::try_new(&handle) {
                    Ok(sink) => {
                        sink.set_volume(clip.volume);
                        sink.append(source);
                        playing = Some(sink);
                    }
                    Err(e) => {
                        set(&fault, Some(format!("audio output failed ({e}); check the speaker and `aplay -l`")));
                        std::thread::sleep(Duration::from_secs(5));
                        continue 'device;
                    }
                }
            }
        }
    }

    impl Speaker for AlsaSpeaker {
        fn play(&mut self, clip: Clip) {
            // The audio thread ends only with the kiosk.
            let _ = self.tx.send(clip);
        }

        fn health(&self) -> Result<String, String> {
            match self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone() {
                None => Ok("ok".into()),
                Some(e) => Err(e),
            }
        }
    }
}
