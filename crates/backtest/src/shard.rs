//! Sweeps split over many machines (a Slurm job array, a Kubernetes Indexed Job).
//!
//! A shard is the K-th of N stable slices of a sweep's runs, by run key. What makes
//! that safe on a shared cluster:
//! - every shard file says what it is ([`ShardId`], stored in the Parquet file's
//!   key-value metadata, so pandas and DuckDB see it too), and `merge` refuses a set
//!   with a missing, duplicated or foreign shard, or one whose runs are not exactly its
//!   slice ([`check_set`]);
//! - a shard keeps a progress journal beside its output (one JSON line per finished
//!   run, synced as it is written), so a task killed at its time limit and resubmitted
//!   keeps what it finished ([`Journal`]); the database stays local to the task (SQLite
//!   must not live on NFS), and the Parquet shard is the only thing exchanged;
//! - [`plan_shards`] estimates each shard's time, to choose N and the array's limit.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exec::{Job, RunResult, shard_of};

/// The Parquet metadata key holding a shard's [`ShardId`] as JSON.
pub const METADATA_KEY: &str = "scalelab.sweep_shard";

/// What a shard file (or journal) belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardId {
    /// The sweep's name.
    pub sweep: String,
    /// FNV-1a of the sweep file's text: another spec is another sweep.
    pub spec_hash: String,
    /// The scalelab that ran it: run keys and metrics are only comparable within one.
    pub scalelab_version: String,
    pub k: u32,
    pub n: u32,
    /// Run with the literature baselines (`--baselines`).
    pub baselines: bool,
}

impl ShardId {
    /// Shard `k` of `n` of the sweep named `sweep` whose file hashes to `spec_hash`,
    /// run by this scalelab.
    pub fn for_spec(sweep: &str, spec_hash: &str, k: u32, n: u32, baselines: bool) -> Self {
        Self {
            sweep: sweep.to_string(),
            spec_hash: spec_hash.to_string(),
            scalelab_version: env!("CARGO_PKG_VERSION").to_string(),
            k,
            n,
            baselines,
        }
    }

    /// `runs-shard-K-of-N`, the stem of the shard's files.
    pub fn stem(&self) -> String {
        format!("runs-shard-{}-of-{}", self.k, self.n)
    }

    pub fn parquet_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.parquet", self.stem()))
    }

    pub fn journal_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.progress.jsonl", self.stem()))
    }

    pub fn to_metadata(&self) -> Vec<(String, String)> {
        let json = serde_json::to_string(self).expect("a shard id serializes");
        vec![(METADATA_KEY.to_string(), json)]
    }

    /// The id in a Parquet file's key-value metadata; `None` when it has none.
    pub fn from_metadata(kv: &[(String, Option<String>)]) -> Option<Result<Self, String>> {
        let (_, v) = kv.iter().find(|(k, _)| k == METADATA_KEY)?;
        Some(
            serde_json::from_str(v.as_deref().unwrap_or(""))
                .map_err(|e| format!("shard metadata is not valid: {e}")),
        )
    }

    /// Why `other` does not belong to the same sweep as `self` (K aside).
    fn mismatch(&self, other: &ShardId) -> Option<String> {
        if other.spec_hash != self.spec_hash {
            Some(format!(
                "a shard of another sweep ({:?}, spec hash {}; this spec is {:?}, {})",
                other.sweep, other.spec_hash, self.sweep, self.spec_hash
            ))
        } else if other.scalelab_version != self.scalelab_version {
            Some(format!(
                "written by scalelab {}, this is {}: run every shard with one version",
                other.scalelab_version, self.scalelab_version
            ))
        } else if other.baselines != self.baselines {
            Some(if other.baselines {
                "run with --baselines: merge with --baselines".to_string()
            } else {
                "run without --baselines: merge without it".to_string()
            })
        } else if other.n != self.n {
            Some(format!(
                "shard {}/{} of a {}-way split, the others are of {}",
                other.k, other.n, other.n, self.n
            ))
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("{path}: {detail}")]
    Io { path: PathBuf, detail: String },
    #[error("{path}: {detail}")]
    Foreign { path: PathBuf, detail: String },
    #[error("{path}: line {line}: {detail}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    #[error("{0}")]
    Set(String),
}

fn io(path: &Path, e: std::io::Error) -> ShardError {
    ShardError::Io {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// A shard's progress: the first line is its [`ShardId`], each further line one
/// finished run. Lines are synced as they are written; a line cut short by a kill is
/// dropped (and cut off) when the journal is reopened.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Open the journal of `id` at `path`, creating it if needed; returns the runs it
    /// already holds. A journal of another sweep is refused, not overwritten.
    pub fn open(path: &Path, id: &ShardId) -> Result<(Self, Vec<RunResult>), ShardError> {
        let mut done = Vec::new();
        let mut good_len = 0u64;
        let exists = path.exists();
        if exists {
            let f = File::open(path).map_err(|e| io(path, e))?;
            let mut reader = BufReader::new(f);
            let mut line = String::new();
            let mut n = 0usize;
            loop {
                line.clear();
                let read = reader.read_line(&mut line).map_err(|e| io(path, e))?;
                if read == 0 {
                    break;
                }
                n += 1;
                if !line.ends_with('\n') {
                    // Cut short by a kill while it was being written.
                    break;
                }
                if n == 1 {
                    let theirs: ShardId =
                        serde_json::from_str(&line).map_err(|e| ShardError::Corrupt {
                            path: path.to_path_buf(),
                            line: 1,
                            detail: format!("not a shard progress header: {e}"),
                        })?;
                    if let Some(why) = id.mismatch(&theirs).or_else(|| {
                        (theirs.k != id.k).then(|| format!("the journal of shard {}", theirs.k))
                    }) {
                        return Err(ShardError::Foreign {
                            path: path.to_path_buf(),
                            detail: format!(
                                "progress journal is {why}; delete it or use another --out"
                            ),
                        });
                    }
                } else {
                    let r: RunResult =
                        serde_json::from_str(&line).map_err(|e| ShardError::Corrupt {
                            path: path.to_path_buf(),
                            line: n,
                            detail: e.to_string(),
                        })?;
                    done.push(r);
                }
                good_len += read as u64;
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        // Drop a torn last line (or an unfinished header) before appending.
        file.set_len(good_len).map_err(|e| io(path, e))?;
        file.seek(std::io::SeekFrom::End(0))
            .map_err(|e| io(path, e))?;
        let mut j = Self {
            path: path.to_path_buf(),
            file,
        };
        if good_len == 0 {
            let header = serde_json::to_string(id).expect("a shard id serializes");
            j.write_line(&header)?;
        }
        Ok((j, done))
    }

    fn write_line(&mut self, line: &str) -> Result<(), ShardError> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        self.file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io(&self.path, e))
    }

    /// Record one finished run, durably.
    pub fn append(&mut self, r: &RunResult) -> Result<(), ShardError> {
        let line = serde_json::to_string(r).expect("a run result serializes");
        self.write_line(&line)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One shard file as `merge` reads it.
#[derive(Debug, Clone)]
pub struct ShardFile {
    pub path: PathBuf,
    /// Its metadata; `None` when the file has none (not a scalelab shard).
    pub id: Option<Result<ShardId, String>>,
    pub run_keys: Vec<String>,
}

/// The keys of shard `k` of `n`, as [`crate::exec::shard`] assigns them.
pub fn shard_keys(jobs: &[Job], k: u32, n: u32) -> BTreeSet<String> {
    jobs.iter()
        .filter(|j| shard_of(&j.key, n) == k)
        .map(|j| j.key.clone())
        .collect()
}

/// Refuse a set of shard files that would not merge into exactly the unsharded sweep
/// `expected` describes (its `k` is ignored): every file a shard of this sweep, of one
/// version and split, each K once, none missing, and each holding exactly its runs.
pub fn check_set(expected: &ShardId, jobs: &[Job], files: &[ShardFile]) -> Result<(), ShardError> {
    if files.is_empty() {
        return Err(ShardError::Set("merge: no shard files given".into()));
    }
    let mut by_k: BTreeMap<u32, &Path> = BTreeMap::new();
    let mut n = None;
    for f in files {
        let foreign = |detail: String| ShardError::Foreign {
            path: f.path.clone(),
            detail,
        };
        let id = match &f.id {
            None => {
                return Err(foreign(
                    "not a scalelab sweep shard (no shard metadata)".into(),
                ));
            }
            Some(Err(e)) => return Err(foreign(e.clone())),
            Some(Ok(id)) => id,
        };
        let want = ShardId {
            n: n.unwrap_or(id.n),
            ..expected.clone()
        };
        if let Some(why) = want.mismatch(id) {
            return Err(foreign(why));
        }
        n = Some(id.n);
        if id.k == 0 || id.k > id.n {
            return Err(foreign(format!("shard {}/{} is not K/N", id.k, id.n)));
        }
        if let Some(first) = by_k.insert(id.k, &f.path) {
            return Err(foreign(format!(
                "shard {}/{} given twice (also {})",
                id.k,
                id.n,
                first.display()
            )));
        }
        let want_keys = shard_keys(jobs, id.k, id.n);
        let have: BTreeSet<String> = f.run_keys.iter().cloned().collect();
        if have.len() != f.run_keys.len() || have != want_keys {
            return Err(foreign(format!(
                "holds {} runs, not the {} runs of shard {}/{} of this sweep",
                f.run_keys.len(),
                want_keys.len(),
                id.k,
                id.n
            )));
        }
    }
    let n = n.unwrap_or(1);
    let missing: Vec<String> = (1..=n)
        .filter(|k| !by_k.contains_key(k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ShardError::Set(format!(
            "merge: shard(s) {} of {n} missing",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// One shard's share of the work.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardPlan {
    pub k: u32,
    pub runs: usize,
    /// Estimated CPU seconds of its runs.
    pub cpu_s: f64,
}

/// The work of each of `n` shards; `seconds(job)` is the estimate of one run.
pub fn plan_shards(jobs: &[Job], n: u32, seconds: impl Fn(&Job) -> f64) -> Vec<ShardPlan> {
    let mut plans: Vec<ShardPlan> = (1..=n)
        .map(|k| ShardPlan {
            k,
            runs: 0,
            cpu_s: 0.0,
        })
        .collect();
    for j in jobs {
        let p = &mut plans[shard_of(&j.key, n) as usize - 1];
        p.runs += 1;
        p.cpu_s += seconds(j);
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(k: u32, n: u32) -> ShardId {
        ShardId {
            sweep: "s".into(),
            spec_hash: "00ff".into(),
            scalelab_version: "1.0.0".into(),
            k,
            n,
            baselines: false,
        }
    }

    fn jobs(count: usize) -> Vec<Job> {
        (0..count)
            .map(|i| Job {
                config_id: i as u32,
                scenario: 0,
                seed: 1,
                key: format!("{:016x}", i * 7919),
            })
            .collect()
    }

    fn result(key: &str) -> RunResult {
        RunResult {
            key: key.into(),
            config_id: 3,
            scenario: "sc".into(),
            seed: 2,
            metrics: [("a".to_string(), Some(0.1 + 0.2)), ("b".to_string(), None)]
                .into_iter()
                .collect(),
        }
    }

    fn file(k: u32, n: u32, jobs: &[Job]) -> ShardFile {
        ShardFile {
            path: PathBuf::from(format!("runs-shard-{k}-of-{n}.parquet")),
            id: Some(Ok(id(k, n))),
            run_keys: shard_keys(jobs, k, n).into_iter().collect(),
        }
    }

    #[test]
    fn metadata_round_trips_and_its_absence_is_seen() {
        let kv: Vec<(String, Option<String>)> = id(2, 4)
            .to_metadata()
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        assert_eq!(ShardId::from_metadata(&kv), Some(Ok(id(2, 4))));
        assert_eq!(ShardId::from_metadata(&[]), None);
    }

    #[test]
    fn a_complete_set_passes_and_every_flaw_is_named() {
        let js = jobs(40);
        let all: Vec<ShardFile> = (1..=4).map(|k| file(k, 4, &js)).collect();
        let want = id(0, 4);
        assert!(check_set(&want, &js, &all).is_ok());
        // The shards partition the runs.
        let total: usize = all.iter().map(|f| f.run_keys.len()).sum();
        assert_eq!(total, 40);

        let err = |files: &[ShardFile]| check_set(&want, &js, files).unwrap_err().to_string();
        assert!(err(&all[..3]).contains("shard(s) 4 of 4 missing"));
        let mut twice = all.clone();
        twice.push(all[1].clone());
        assert!(
            err(&twice).contains("shard 2/4 given twice"),
            "{}",
            err(&twice)
        );
        let mut foreign = all.clone();
        foreign[2].id = Some(Ok(ShardId {
            spec_hash: "beef".into(),
            ..id(3, 4)
        }));
        let e = err(&foreign);
        assert!(
            e.starts_with("runs-shard-3-of-4.parquet: a shard of another sweep"),
            "{e}"
        );
        let mut version = all.clone();
        version[0].id = Some(Ok(ShardId {
            scalelab_version: "0.9.0".into(),
            ..id(1, 4)
        }));
        assert!(err(&version).contains("written by scalelab 0.9.0"));
        let mut split = all.clone();
        split[3] = file(1, 5, &js);
        assert!(err(&split).contains("5-way split"), "{}", err(&split));
        let mut bare = all.clone();
        bare[0].id = None;
        assert!(err(&bare).contains("not a scalelab sweep shard"));
        let mut short = all.clone();
        short[1].run_keys.pop();
        assert!(err(&short).contains("not the"), "{}", err(&short));
        let mut baselines = all;
        baselines[0].id = Some(Ok(ShardId {
            baselines: true,
            ..id(1, 4)
        }));
        assert!(err(&baselines).contains("merge with --baselines"));
    }

    #[test]
    fn a_journal_keeps_finished_runs_and_drops_a_torn_line() {
        let dir = std::env::temp_dir().join(format!("scalelab-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = id(1, 2).journal_path(&dir);
        let _ = std::fs::remove_file(&path);
        {
            let (mut j, done) = Journal::open(&path, &id(1, 2)).unwrap();
            assert!(done.is_empty());
            j.append(&result("a")).unwrap();
            j.append(&result("b")).unwrap();
        }
        // A kill in the middle of the third line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"key\":\"c\",\"con").unwrap();
        drop(f);
        let (mut j, done) = Journal::open(&path, &id(1, 2)).unwrap();
        assert_eq!(done, vec![result("a"), result("b")]);
        j.append(&result("c")).unwrap();
        drop(j);
        let (_, done) = Journal::open(&path, &id(1, 2)).unwrap();
        assert_eq!(done.len(), 3);
        assert_eq!(done[2], result("c"), "floats and missing values survive");
        // Another shard's or another sweep's journal is refused, and left alone.
        let before = std::fs::read(&path).unwrap();
        let e = Journal::open(&path, &id(2, 2)).unwrap_err().to_string();
        assert!(e.contains("journal of shard 1"), "{e}");
        let other = ShardId {
            spec_hash: "1234".into(),
            ..id(1, 2)
        };
        let e = Journal::open(&path, &other).unwrap_err().to_string();
        assert!(e.contains("another sweep"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shard_plans_cover_every_run_once() {
        let js = jobs(37);
        let plans = plan_shards(&js, 5, |j| 1.0 + j.config_id as f64);
        assert_eq!(plans.iter().map(|p| p.runs).sum::<usize>(), 37);
        let total: f64 = (0..37).map(|i| 1.0 + i as f64).sum();
        let planned: f64 = plans.iter().map(|p| p.cpu_s).sum();
        assert!((planned - total).abs() < 1e-9);
        assert_eq!(
            plans.iter().map(|p| p.k).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
    }
}
