//! How much memory the system has available, to refuse an allocation that cannot succeed
//! before it aborts the process.

/// The bytes of memory available to a new allocation, if the system says (Linux:
/// `MemAvailable` of `/proc/meminfo`, which counts free memory and caches that can be
/// dropped); `None` elsewhere.
pub(crate) fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// `1.5 GB`, `20.0 MB`, `512 bytes`: a size for a message.
pub(crate) fn describe_bytes(bytes: u64) -> String {
    const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    let b = bytes as f64;
    for (unit, size) in UNITS {
        if b >= size {
            return format!("{:.1} {unit}", b / size);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_decimal_units() {
        assert_eq!(describe_bytes(512), "512 bytes");
        assert_eq!(describe_bytes(25_600_000_000), "25.6 GB");
        assert_eq!(describe_bytes(1_500_000), "1.5 MB");
        assert_eq!(describe_bytes(u64::MAX), "18446744.1 TB");
    }

    #[test]
    fn linux_reports_some_memory() {
        if cfg!(target_os = "linux") {
            assert!(available_bytes().is_some_and(|b| b > 0));
        }
    }
}
