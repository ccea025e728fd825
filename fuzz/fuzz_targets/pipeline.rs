//! The whole pipeline, capture bytes to Parquet and JSON lines (seeded with `captures/`): see
//! `sfbflow_fuzz::pipeline::check_pipeline` for the invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sfbflow_fuzz::pipeline::check_pipeline(data);
});
