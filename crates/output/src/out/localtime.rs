//! The local time zone's UTC offset, found as Go finds it (k6 writes dates
//! in local time): `TZ` (empty: UTC; `:path` or a zone name under the
//! zoneinfo directories), else `/etc/localtime`; UTC when nothing loads.

use std::path::{Path, PathBuf};

const ZONEINFO_DIRS: [&str; 3] = [
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
];

/// The UTC offset in seconds at `unix_secs` of the zone `TZ` (or
/// `/etc/localtime`) names; 0 when it cannot be read.
pub fn local_utc_offset(unix_secs: i64) -> i32 {
    let tz = std::env::var("TZ").ok();
    let data = match tz.as_deref() {
        Some("") | Some("UTC") => return 0,
        Some(name) => {
            let name = name.strip_prefix(':').unwrap_or(name);
            let candidates: Vec<PathBuf> = if name.starts_with('/') {
                vec![PathBuf::from(name)]
            } else {
                ZONEINFO_DIRS
                    .iter()
                    .map(|d| Path::new(d).join(name))
                    .collect()
            };
            candidates.iter().find_map(|p| std::fs::read(p).ok())
        }
        None => std::fs::read("/etc/localtime").ok(),
    };
    data.and_then(|d| tzif_offset(&d, unix_secs)).unwrap_or(0)
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The offset at `t` from a TZif file (RFC 8536): the type of the last
/// transition at or before `t` (the first non-DST type before any).
pub fn tzif_offset(data: &[u8], t: i64) -> Option<i32> {
    let header = |at: usize| -> Option<[usize; 6]> {
        let h = data.get(at..at + 44)?;
        if &h[..4] != b"TZif" {
            return None;
        }
        let mut counts = [0usize; 6];
        for (i, c) in counts.iter_mut().enumerate() {
            *c = usize::try_from(be_i32(&h[20 + 4 * i..])).ok()?;
        }
        Some(counts)
    };
    let [isut, isstd, leap, time, typ, chars] = header(0)?;
    let v1_len = time * 5 + typ * 6 + chars + leap * 8 + isstd + isut;
    let version = data[4];
    // Version 2+ repeats the data with 64-bit times after the v1 block.
    let (base, counts, time_size) = if version >= b'2' {
        (44 + v1_len + 44, header(44 + v1_len)?, 8)
    } else {
        (44, [isut, isstd, leap, time, typ, chars], 4)
    };
    let [_, _, _, time, typ, _] = counts;
    let times = data.get(base..base + time * time_size)?;
    let idx = data.get(base + time * time_size..base + time * (time_size + 1))?;
    let types = data.get(base + time * (time_size + 1)..base + time * (time_size + 1) + typ * 6)?;
    let at = |i: usize| -> i64 {
        let b = &times[i * time_size..(i + 1) * time_size];
        if time_size == 8 {
            i64::from_be_bytes(b.try_into().expect("8 bytes"))
        } else {
            i64::from(be_i32(b))
        }
    };
    let offset_of = |ty: usize| -> Option<i32> { types.get(ty * 6..ty * 6 + 4).map(be_i32) };
    match (0..time).rev().find(|&i| at(i) <= t) {
        Some(i) => offset_of(usize::from(idx[i])),
        None => {
            let first_std = (0..typ).find(|&ty| types[ty * 6 + 4] == 0).unwrap_or(0);
            offset_of(first_std)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> Option<Vec<u8>> {
        std::fs::read(Path::new("/usr/share/zoneinfo").join(name)).ok()
    }

    #[test]
    fn offsets_from_the_system_zone_database() {
        // Skipped where the system has no zoneinfo.
        let Some(kolkata) = zone("Asia/Kolkata") else {
            return;
        };
        assert_eq!(tzif_offset(&kolkata, 1_795_471_559), Some(19_800));
        let paris = zone("Europe/Paris").unwrap();
        assert_eq!(tzif_offset(&paris, 1_795_471_559), Some(3600)); // November
        assert_eq!(tzif_offset(&paris, 1_783_000_000), Some(7200)); // July 2026
        let utc = zone("Etc/UTC").unwrap();
        assert_eq!(tzif_offset(&utc, 1_795_471_559), Some(0));
    }

    #[test]
    fn garbage_is_not_a_zone() {
        assert_eq!(tzif_offset(b"nope", 0), None);
        assert_eq!(tzif_offset(b"TZif2\0\0\0", 0), None);
    }
}
