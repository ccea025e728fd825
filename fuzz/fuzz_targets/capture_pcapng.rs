//! The capture reader on pcapng input (seeded with the pcapng files of `captures/`): the
//! input is taken as the blocks after a little-endian section header block, so that every
//! mutation reaches the block walk.
#![no_main]

/// A section header block: type, length 28, byte-order magic, version 1.0, section length -1.
const SHB: [u8; 28] = [
    0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 28, 0, 0, 0,
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.starts_with(&[0x0A, 0x0D, 0x0D, 0x0A]) {
        sfbflow_fuzz::check_capture(data);
    } else {
        let mut whole = SHB.to_vec();
        whole.extend_from_slice(data);
        sfbflow_fuzz::check_capture(&whole);
    }
});
