//! The capture reader on classic pcap input (seeded with the pcap files of `captures/`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sfbflow_fuzz::check_capture(data);
});
