//! Compiles the Slint UI. Debug info lets the UI tests find elements by
//! their accessible labels; translations under lang/ are bundled.

fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .with_style("fluent-dark".into())
        .with_bundled_translations("lang")
        .with_debug_info(true);
    slint_build::compile_with_config("ui/app-window.slint", config).expect("the Slint UI compiles");
    println!("cargo:rerun-if-changed=lang");
}
