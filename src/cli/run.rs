//! `shoumen run` (the default): the kiosk, on the touchscreen or headless.

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use shoumen::app::kiosk::{Kiosk, KioskOptions};
use shoumen::app::{LogView, PreviewSink};
use shoumen::config::Config;
use shoumen::ports::DemoControls;
use shoumen::service;
use shoumen::ui::pages::{self, guard::GuardConfig, Wiring};
use shoumen::ui::{AppWindow, Poster, SlintView};
use slint::ComponentHandle;

use super::Context;

#[derive(clap::Args)]
pub struct Args {
    /// No display: decisions go to the log (for a Pi without a screen,
    /// soak tests and end-to-end tests). Without it the touchscreen UI opens.
    #[arg(long)]
    pub headless: bool,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub exit_after: Option<u64>,
    /// Play the demo script on the simulated hardware (always on when
    /// headless with a demo community): passes shown one after another.
    #[arg(long)]
    pub demo_script: bool,
    /// How long the demo script holds each pass up and waits between them,
    /// in milliseconds (reliability scripts run it fast).
    #[arg(long, value_name = "MS", default_value_t = 3000, hide = true)]
    pub demo_pace_ms: u64,
}

pub fn run(args: &Args, cx: &Context) -> Result<ExitCode> {
    let config = cx.config()?;
    let options = KioskOptions {
        exit_after: args.exit_after.map(Duration::from_secs),
        demo_script: args.demo_script || args.headless,
        demo_pace: Duration::from_millis(args.demo_pace_ms.max(100)),
    };
    let mut kiosk = Kiosk::start(&config, &cx.clock, &options)?;
    if args.headless {
        kiosk.spawn_camera(None)?;
        kiosk.spawn_core(Box::new(LogView), || {})?;
        service::ready("headless kiosk running");
        kiosk.wait();
    } else {
        run_window(&mut kiosk, &config, &cx.clock)?;
    }
    kiosk.shutdown();
    Ok(ExitCode::SUCCESS)
}

/// The touchscreen: the window on this thread, the core on its own.
fn run_window(kiosk: &mut Kiosk, config: &Config, clock: &shoumen::clock::SystemClock) -> Result<()> {
    let window = AppWindow::new()
        .context("cannot open the kiosk window; on a machine without a display run `shoumen run --headless`")?;
    let poster = Poster::EventLoop(window.as_weak());
    let preview_poster = poster.clone();
    let preview: PreviewSink = Box::new(move |gray, code, frame_width| {
        let pixels = pages::scan::preview_pixels(gray, code, frame_width);
        let visible = code.is_some();
        preview_poster.post(Box::new(move |ui| pages::scan::set_preview(ui, pixels, visible)));
    });
    kiosk.spawn_camera(Some(preview))?;
    let links = kiosk.links();
    let wiring = Wiring {
        events: links.events.clone(),
        sensor: links.sensor.clone(),
        commands: links.commands.clone(),
        demo: links.world.clone().map(|w| Rc::new(w) as Rc<dyn DemoControls>),
        demo_passes: links.demo_passes.clone(),
        guard: GuardConfig {
            pin_sha256: config.kiosk.guard_pin_sha256.clone(),
            lock_after: Duration::from_secs(config.kiosk.guard_lock_after_s),
            max_failures: config.kiosk.guard_pin_attempts,
            block_for: Duration::from_secs(config.kiosk.guard_pin_block_s),
        },
        gate_name: config.kiosk.gate_name.clone(),
        direction: config.policy.direction.as_str().into(),
        visitor_url: links.visitor_url.clone(),
        committee_phone: config.kiosk.committee_phone.clone(),
        language: config.kiosk.language.clone(),
        clock: clock.clone(),
    };
    let controller = pages::setup(&window, &wiring);
    drop(wiring);
    // Only the UI thread may quit its loop: the core asks it to when it ends.
    kiosk.spawn_core(Box::new(SlintView::new(poster)), || {
        let _ = slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        });
    })?;
    window.show()?;
    // Ready once the event loop runs with the window shown.
    slint::Timer::single_shot(Duration::ZERO, || service::ready("kiosk running"));
    slint::run_event_loop_until_quit()?;
    // The window's callbacks hold senders: drop them so the threads end.
    let _ = window.hide();
    drop(controller);
    drop(window);
    Ok(())
}
