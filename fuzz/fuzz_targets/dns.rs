//! DNS: `parse_dns` on the input as one message (compression loops, long names, counts that
//! lie), with the bounds of the module asserted.
#![no_main]

use sfbflow_inspect::dns::{self, MAX_ANSWERS, MAX_QUESTIONS, MAX_TXT_BYTES};

/// A name in presentation form has no trailing root dot (but the root itself): a final dot
/// must be a label's own, escaped (`\.`, after an odd number of backslashes).
fn no_trailing_dot(name: &str) -> bool {
    let Some(rest) = name.strip_suffix('.') else {
        return true;
    };
    let backslashes = rest.bytes().rev().take_while(|b| *b == b'\\').count();
    name == "." || backslashes % 2 == 1
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(m) = dns::parse_dns(data) else {
        return;
    };
    assert!(data.len() >= dns::HEADER_LEN);
    assert!(m.questions.len() <= MAX_QUESTIONS);
    assert!(m.answers.len() <= MAX_ANSWERS);
    assert!(m.rcode < 16);
    let _ = dns::rcode_name(m.rcode);
    for q in &m.questions {
        // Presentation form of a name of at most 255 wire bytes (escapes take up to 4 bytes).
        assert!(q.name.len() <= 255 * 4, "question name of {} bytes", q.name.len());
        assert!(no_trailing_dot(&q.name), "{:?}", q.name);
        let _ = dns::type_name(q.qtype);
    }
    for a in &m.answers {
        assert!(a.name.len() <= 255 * 4);
        // TXT cut to its bound; other data is a name, an address or a short summary.
        assert!(a.data.len() <= (MAX_TXT_BYTES * 4).max(64 + 255 * 4), "answer data too long");
    }
    // Everything it read came from the input: the answers could not outnumber the bytes.
    assert!((m.questions.len() + m.answers.len()) * 5 <= data.len());
});
