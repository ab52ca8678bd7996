//! The server's log: lines handed to a bounded queue that one thread writes to standard
//! error. Logging never blocks the server and never panics: when the queue is full (stderr
//! is a pipe nobody reads) lines are dropped and counted, and a failed write (a closed
//! pipe) is ignored.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;

use clap::ValueEnum;
use serde_json::{Map, Value};

/// How much to log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Level {
    /// Nothing.
    Off,
    /// Failures of the server itself.
    Error,
    /// Refused connections and sessions closed by the server (idle, stalled, too big).
    Warn,
    /// Also every session's start and end, and the server's start and stop.
    Info,
    /// Also every refused message.
    Debug,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

/// How lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `LEVEL message key=value ...`
    Text,
    /// One JSON object a line: `{"level", "message", ...fields}`.
    Json,
}

/// Lines the queue holds before new ones are dropped.
pub const QUEUE_LINES: usize = 4096;

struct Shared {
    dropped: AtomicU64,
}

/// A handle to the log; cheap to clone.
#[derive(Clone)]
pub struct Log {
    level: Level,
    format: Format,
    queue: Option<SyncSender<String>>,
    shared: Arc<Shared>,
}

impl Log {
    /// A log writing lines at or above `level` to standard error in `format`.
    pub fn stderr(level: Level, format: Format) -> Self {
        Self::to_writer(level, format, std::io::stderr())
    }

    /// A log writing to `out` (standard error, or a test's buffer) from its own thread.
    pub fn to_writer(level: Level, format: Format, mut out: impl Write + Send + 'static) -> Self {
        let shared = Arc::new(Shared {
            dropped: AtomicU64::new(0),
        });
        let queue = (level > Level::Off).then(|| {
            let (tx, rx) = sync_channel::<String>(QUEUE_LINES);
            let spawned = std::thread::Builder::new()
                .name("chaosops-log".to_owned())
                .spawn(move || {
                    for line in rx {
                        // A closed or failing stderr must not take the server down.
                        let _ = out.write_all(line.as_bytes());
                        let _ = out.flush();
                    }
                });
            spawned.ok().map(|_| tx)
        });
        Log {
            level,
            format,
            queue: queue.flatten(),
            shared,
        }
    }

    /// A log that writes nothing.
    pub fn off() -> Self {
        Log {
            level: Level::Off,
            format: Format::Text,
            queue: None,
            shared: Arc::new(Shared {
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// True when lines of `level` are written.
    pub fn enabled(&self, level: Level) -> bool {
        level != Level::Off && level <= self.level && self.queue.is_some()
    }

    /// Lines dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Logs `message` with `fields` at `level`; never blocks.
    pub fn log(&self, level: Level, message: &str, fields: &[(&str, Value)]) {
        if !self.enabled(level) {
            return;
        }
        let Some(queue) = &self.queue else { return };
        let mut line = match self.format {
            Format::Text => {
                let mut line = format!("{:<5} {message}", level.as_str().to_uppercase());
                for (k, v) in fields {
                    match v {
                        Value::String(s) => line.push_str(&format!(" {k}={s}")),
                        other => line.push_str(&format!(" {k}={other}")),
                    }
                }
                line
            }
            Format::Json => {
                let mut object = Map::new();
                object.insert("level".to_owned(), Value::from(level.as_str()));
                object.insert("message".to_owned(), Value::from(message));
                for (k, v) in fields {
                    object.insert((*k).to_owned(), v.clone());
                }
                Value::Object(object).to_string()
            }
        };
        line.push('\n');
        match queue.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A writer that never returns: stderr as a pipe nobody reads.
    struct Stuck;

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            loop {
                std::thread::park();
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A writer whose every write fails: a closed pipe.
    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    fn wait_for(buffer: &Buffer, lines: usize) -> String {
        for _ in 0..500 {
            let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
            if text.lines().count() >= lines {
                return text;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        panic!("the log thread wrote nothing");
    }

    #[test]
    fn levels_and_formats() {
        let buffer = Buffer::default();
        let log = Log::to_writer(Level::Info, Format::Text, buffer.clone());
        log.log(Level::Debug, "hidden", &[]);
        log.log(
            Level::Info,
            "session started",
            &[("id", 7.into()), ("peer", "127.0.0.1:9".into())],
        );
        assert_eq!(
            wait_for(&buffer, 1),
            "INFO  session started id=7 peer=127.0.0.1:9\n"
        );
        let buffer = Buffer::default();
        let log = Log::to_writer(Level::Debug, Format::Json, buffer.clone());
        log.log(Level::Warn, "closed", &[("reason", "idle timeout".into())]);
        let line: Value = serde_json::from_str(&wait_for(&buffer, 1)).unwrap();
        assert_eq!(
            line,
            serde_json::json!({"level": "warn", "message": "closed", "reason": "idle timeout"})
        );
        assert!(!Log::off().enabled(Level::Error));
    }

    #[test]
    fn a_stuck_or_broken_stderr_neither_blocks_nor_panics() {
        let stuck = Log::to_writer(Level::Info, Format::Text, Stuck);
        for i in 0..QUEUE_LINES * 3 {
            stuck.log(Level::Info, "a line", &[("i", i.into())]);
        }
        // The writer holds one line, the queue QUEUE_LINES; the rest were dropped.
        assert!(
            stuck.dropped() >= (QUEUE_LINES * 2 - 1) as u64,
            "{}",
            stuck.dropped()
        );
        let broken = Log::to_writer(Level::Info, Format::Text, Broken);
        for _ in 0..1000 {
            broken.log(Level::Info, "into a closed pipe", &[]);
        }
    }
}
