//! The template the platform tests run servers from.
#![allow(dead_code)]

use gsp_platform::servers::NewTemplate;

/// What an hour of [`command_template`] costs, milli-credits.
pub const PRICE_PER_HOUR: i64 = 1_500;

/// A `gsp world` child-process template named `name`: one core, 256 MiB,
/// [`PRICE_PER_HOUR`], hibernating after 15 idle minutes.
pub fn command_template(name: &str) -> NewTemplate {
    NewTemplate {
        name: name.into(),
        runtime: "command".into(),
        launch: "gsp world".into(),
        ports: vec![],
        cpu_millis: 1000,
        memory_mib: 256,
        price_per_hour: PRICE_PER_HOUR,
        idle_minutes: 15,
        idle_seconds: None,
    }
}
