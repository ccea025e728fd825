//! The catalogue loader: any text either loads (and then renders in every format, the JSON
//! parsing back) or is an error that names a line within the text.
#![no_main]

use sfbflow::catalogue::{Catalogue, render_csv, render_json, render_table};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Catalogue::from_toml(text) {
        Ok(c) => {
            let _ = render_table(&c);
            let _ = render_csv(&c);
            let json = render_json(&c);
            let _: serde_json::Value = serde_json::from_str(&json).expect("catalogue JSON parses");
            let _ = c.server_ports();
        }
        Err(e) => {
            let msg = sfbflow::pipeline::error_chain(&e);
            assert!(!msg.is_empty());
            let lines = text.lines().count() + 1;
            for rest in msg.split("line ").skip(1) {
                if let Some(n) = rest
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|d| d.parse::<usize>().ok())
                {
                    assert!(n >= 1 && n <= lines, "line {n} of {lines}: {msg}");
                }
            }
        }
    }
});
