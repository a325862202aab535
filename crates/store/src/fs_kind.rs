//! Refusing network file systems. The store runs SQLite in WAL mode, whose shared-memory
//! index and locks do not work across machines: on NFS and its kin two writers can
//! corrupt the database (SQLite's own documentation says WAL does not work over a
//! network file system). Sweeps on clusters keep each task's database on node-local
//! disk and exchange Parquet shards instead.

use std::path::Path;

/// The network or cluster file system `path` would live on, if any (Linux `statfs`
/// magic numbers; elsewhere nothing is detected).
pub(crate) fn network_fs_of(path: &Path) -> Option<&'static str> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    magic(dir).and_then(network_fs_name)
}

#[cfg(target_os = "linux")]
fn magic(dir: &Path) -> Option<u64> {
    // f_type is a C long; the magic numbers are 32-bit.
    rustix::fs::statfs(dir)
        .ok()
        .map(|s| (s.f_type as u64) & 0xFFFF_FFFF)
}

#[cfg(not(target_os = "linux"))]
fn magic(_dir: &Path) -> Option<u64> {
    None
}

/// Names of the file systems whose locking SQLite's WAL mode cannot rely on
/// (magic numbers from linux/magic.h and the file systems' sources).
fn network_fs_name(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0x6969 => "NFS",
        0x517B => "SMB",
        0xFF53_4D42 => "CIFS",
        0xFE53_4D42 => "SMB2",
        0x0BD0_0BD0 => "Lustre",
        0x4750_4653 => "GPFS",
        0x1983_0326 => "BeeGFS",
        0x00C3_6400 => "CephFS",
        0x0102_1997 => "9p",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_file_systems_are_named_and_local_ones_are_not() {
        assert_eq!(network_fs_name(0x6969), Some("NFS"));
        assert_eq!(network_fs_name(0xFF53_4D42), Some("CIFS"));
        assert_eq!(network_fs_name(0x0BD0_0BD0), Some("Lustre"));
        // ext4, xfs, btrfs, tmpfs, overlayfs.
        for local in [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0x794C_7630] {
            assert_eq!(network_fs_name(local), None, "{local:x}");
        }
        // The test's own temporary directory is local.
        assert_eq!(network_fs_of(&std::env::temp_dir().join("x.db")), None);
        assert_eq!(network_fs_of(Path::new("x.db")), None);
    }
}
