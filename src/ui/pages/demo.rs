//! The demo panel: holds passes up to the simulated camera, sets the
//! temperature, and breaks the simulated devices.

use std::rc::Rc;
use std::time::Duration;

use slint::ComponentHandle;

use super::Wiring;
use crate::ports::DemoControls;
use crate::ui::{AppState, AppWindow, DemoAdapter};

pub fn setup(ui: &AppWindow, w: &Wiring) {
    ui.global::<AppState>().set_simulated(w.demo.is_some());
    let Some(world) = w.demo.clone() else { return };
    let demo = ui.global::<DemoAdapter>();
    let weak = ui.as_weak();
    let passes = w.demo_passes.clone();
    demo.on_present({
        let (weak, world) = (weak.clone(), world.clone());
        move |name| {
            let Some(ui) = weak.upgrade() else { return };
            let Some((_, text)) = passes.iter().find(|(n, _)| n.as_str() == name.as_str()) else { return };
            let centi = (ui.global::<DemoAdapter>().get_temperature() * 100.0).round() as i32;
            world.present(text, centi);
            ui.global::<AppState>().set_demo_open(false);
            // The hand goes down after three seconds.
            let world = world.clone();
            slint::Timer::single_shot(Duration::from_secs(3), move || world.withdraw());
        }
    });
    demo.on_set_temperature({
        let (weak, world) = (weak.clone(), world.clone());
        move |t| {
            let Some(ui) = weak.upgrade() else { return };
            ui.global::<DemoAdapter>().set_temperature(t);
            world.set_body_temperature((t * 100.0).round() as i32);
        }
    });
    let toggle = |flip: fn(&dyn DemoControls) -> bool, show: fn(&DemoAdapter, bool)| {
        let (weak, world) = (weak.clone(), world.clone());
        move || {
            let Some(ui) = weak.upgrade() else { return };
            show(&ui.global::<DemoAdapter>(), flip(world.as_ref()));
        }
    };
    demo.on_toggle_camera(toggle(|w| w.toggle_camera(), |d, v| d.set_camera_unplugged(v)));
    demo.on_toggle_thermometer(toggle(|w| w.toggle_thermometer(), |d, v| d.set_thermometer_fault(v)));
    demo.on_toggle_door(toggle(|w| w.toggle_door(), |d, v| d.set_door_open(v)));
    demo.on_exit_button({
        let world: Rc<dyn DemoControls> = world.clone();
        move || {
            world.set_exit_button(true);
            let world = world.clone();
            slint::Timer::single_shot(Duration::from_millis(200), move || world.set_exit_button(false));
        }
    });
}
