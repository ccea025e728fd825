//! [`Follow`]: reads a file that another program is still writing (`tcpdump -w file.pcap`),
//! like `tail -f`: at the end of what is there it waits and reads again, until a stop flag is
//! raised. A record cut off by that stop is then the reader's usual "truncated last record".

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long [`Follow`] waits at the end of the file before reading again.
pub const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// A reader that waits at the end of its source for more bytes, until `stop` is raised.
#[derive(Debug)]
pub struct Follow<R> {
    inner: R,
    stop: Arc<AtomicBool>,
}

impl<R: Read> Follow<R> {
    /// Follows `inner` until `stop` is raised.
    pub fn new(inner: R, stop: Arc<AtomicBool>) -> Self {
        Follow { inner, stop }
    }
}

impl<R: Read> Read for Follow<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.inner.read(out) {
                Ok(0) => {
                    if self.stop.load(Ordering::Relaxed) {
                        return Ok(0);
                    }
                    std::thread::sleep(FOLLOW_POLL);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_what_is_appended_until_stopped() {
        let path = std::env::temp_dir().join(format!("sfbflow-follow-{}", std::process::id()));
        let mut w = std::fs::File::create(&path).expect("create");
        w.write_all(b"abc").expect("write");
        w.flush().expect("flush");
        let stop = Arc::new(AtomicBool::new(false));
        let mut f = Follow::new(std::fs::File::open(&path).expect("open"), stop.clone());
        let writer = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                w.write_all(b"def").expect("append");
                w.flush().expect("flush");
                std::thread::sleep(Duration::from_millis(300));
                stop.store(true, Ordering::Relaxed);
            })
        };
        let mut got = Vec::new();
        f.read_to_end(&mut got).expect("read");
        writer.join().expect("writer");
        assert_eq!(got, b"abcdef");
        let _ = std::fs::remove_file(&path);
    }
}
