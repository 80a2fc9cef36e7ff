//! A landed migration is never edited: every `migrations/*.sql` must equal, byte for byte, the
//! version of the commit that first added it, and every migration HEAD has must still be in the
//! working tree. sqlx keeps each applied migration's checksum and refuses a database whose
//! applied migration has changed since, so an edit would stop every deployment it already ran on.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{Result, root, step};

/// The migrations directory, relative to the workspace root.
const DIR: &str = "migrations";

/// What every failure tells the developer.
const ADVICE: &str = "a landed migration is never edited: put the change in a new migration";

/// Migrations that were changed in the session that wrote them, in later commits than the one
/// that added them, before this check existed; the version that landed (and that every
/// deployment applied) is the one with this hash, which is what they are held to.
const LANDED_AFTER_EDITS: &[(&str, &str)] = &[
    (
        "20261124000007_members.sql",
        "2723427b95d86b52f145ba7d527c1167db013b6107dfe52f11cfb9002e5e7457",
    ),
    (
        "20261130000008_stats_rollup.sql",
        "70cce1665951e6f9a34b90811463daf1d68d7d2426d2366297e14811e4c835ce",
    ),
    (
        "20261130000009_rollup_deltas.sql",
        "d6219e5559f6192212ae453ba3f7d17a385a1b2b1c59dd520ad443ec8140ef14",
    ),
];

/// The hash a landed migration must have: its first version's, unless it is listed in
/// [`LANDED_AFTER_EDITS`].
fn landed_sha256(file: &str, first_version: &[u8]) -> String {
    LANDED_AFTER_EDITS
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, hash)| (*hash).to_owned())
        .unwrap_or_else(|| sha256(first_version))
}

/// One migration as the check sees it.
#[derive(Debug)]
pub struct Migration {
    /// The file name inside `migrations/`, e.g. `20261124000001_account.sql`.
    pub file: String,
    /// The working tree's bytes; `None` when the file is not there (deleted).
    pub current: Option<Vec<u8>>,
    /// The version the file landed with; `None` when it was never committed (new).
    pub landed: Option<Landed>,
}

/// The first committed version of a migration.
#[derive(Debug)]
pub struct Landed {
    /// Full hash of the commit that first added the file.
    pub commit: String,
    /// The file's bytes in that commit.
    pub bytes: Vec<u8>,
}

/// A landed migration that is no longer what it was when it landed.
#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    /// The working tree's file differs from the version it landed with.
    Edited {
        file: String,
        commit: String,
        landed_sha256: String,
        current_sha256: String,
    },
    /// The file landed (HEAD has it) but is gone from the working tree.
    Deleted { file: String, commit: String },
}

/// What the comparison found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Landed migrations identical to the version they landed with.
    pub unchanged: usize,
    /// Migrations never committed, accepted as they are.
    pub new: Vec<String>,
    pub problems: Vec<Problem>,
}

/// Compares each migration with the version it landed with (the pure part of the check).
pub fn compare(migrations: &[Migration]) -> Outcome {
    let mut outcome = Outcome::default();
    for m in migrations {
        match (&m.current, &m.landed) {
            (Some(_), None) => outcome.new.push(m.file.clone()),
            (Some(current), Some(landed)) => {
                let (now, then) = (sha256(current), landed_sha256(&m.file, &landed.bytes));
                if now == then {
                    outcome.unchanged += 1;
                } else {
                    outcome.problems.push(Problem::Edited {
                        file: m.file.clone(),
                        commit: landed.commit.clone(),
                        landed_sha256: then,
                        current_sha256: now,
                    });
                }
            }
            (None, Some(landed)) => outcome.problems.push(Problem::Deleted {
                file: m.file.clone(),
                commit: landed.commit.clone(),
            }),
            // Neither in the working tree nor in history: nothing to check.
            (None, None) => {}
        }
    }
    outcome
}

/// Hex SHA-256 of some bytes.
fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The first `n` characters of a hash, for messages.
fn prefix(hash: &str, n: usize) -> &str {
    hash.get(..n).unwrap_or(hash)
}

/// A commit's short form for messages (enough to be unambiguous here, and accepted by git).
fn short(commit: &str) -> &str {
    prefix(commit, 10)
}

/// The error message for a non-empty list of problems: every file, its first commit, the advice.
fn failure_message(problems: &[Problem]) -> String {
    let mut message = format!(
        "{} landed migration(s) no longer match the commit that added them:",
        problems.len()
    );
    for problem in problems {
        let line = match problem {
            Problem::Edited {
                file,
                commit,
                landed_sha256,
                current_sha256,
            } => format!(
                "{DIR}/{file}: edited since it landed in {c} (sha256 {then}… then, {now}… now; \
                 the landed version: git show {c}:{DIR}/{file})",
                c = short(commit),
                then = prefix(landed_sha256, 12),
                now = prefix(current_sha256, 12),
            ),
            Problem::Deleted { file, commit } => format!(
                "{DIR}/{file}: deleted, it landed in {c} (the landed version: git show \
                 {c}:{DIR}/{file})",
                c = short(commit)
            ),
        };
        message.push_str("\n    ");
        message.push_str(&line);
    }
    message.push('\n');
    message.push_str(ADVICE);
    message
}

/// The one-line summary of a run.
fn summary(outcome: &Outcome) -> String {
    format!(
        "{} migrations unchanged since they landed ({} new)",
        outcome.unchanged,
        outcome.new.len()
    )
}

/// `cargo xtask check-migrations`, and a step of `cargo xtask test` (after the formatting check).
pub fn check_unchanged() -> Result {
    step("checking that no landed migration was edited");
    let outcome = compare(&gather(&root())?);
    for file in &outcome.new {
        eprintln!("    new: {DIR}/{file} (not committed yet)");
    }
    if !outcome.problems.is_empty() {
        return Err(failure_message(&outcome.problems));
    }
    eprintln!("    {}", summary(&outcome));
    Ok(())
}

/// Reads every migration of the working tree and of HEAD, with the version each landed with.
fn gather(root: &Path) -> Result<Vec<Migration>> {
    ensure_repository(root)?;
    if git_text(root, &["rev-parse", "--is-shallow-repository"])?.trim() == "true" {
        eprintln!(
            "    warning: this is a shallow clone, so the commit that added a migration may be \
             missing; comparing with the oldest version the clone has"
        );
    }
    // No HEAD yet (no commit at all): every migration is new.
    let head = git_text(root, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
        .ok()
        .map(|h| h.trim().to_owned());
    let present = working_tree_files(root)?;
    let landed_at_head = match &head {
        Some(head) => head_files(root, head)?,
        None => BTreeSet::new(),
    };
    let mut migrations = Vec::new();
    for file in present.union(&landed_at_head) {
        let current = if present.contains(file) {
            let path = root.join(DIR).join(file);
            Some(std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?)
        } else {
            None
        };
        let landed = match &head {
            Some(head) => first_version(
                root,
                file,
                landed_at_head.contains(file).then_some(head.as_str()),
            )?,
            None => None,
        };
        migrations.push(Migration {
            file: file.clone(),
            current,
            landed,
        });
    }
    Ok(migrations)
}

/// Fails clearly when git cannot run or `root` is not in a git work tree.
fn ensure_repository(root: &Path) -> Result {
    Command::new("git").arg("--version").output().map_err(|e| {
        format!(
            "git is not available ({e}): the migration check compares each migration with \
             the commit that added it; install git"
        )
    })?;
    match git_text(root, &["rev-parse", "--is-inside-work-tree"]) {
        Ok(inside) if inside.trim() == "true" => Ok(()),
        _ => Err(format!(
            "{} is not a git repository (or not its work tree): the migration check compares \
             each migration with the commit that added it",
            root.display()
        )),
    }
}

/// File names of the top-level `migrations/*.sql` in the working tree (subdirectories ignored).
fn working_tree_files(root: &Path) -> Result<BTreeSet<String>> {
    let dir = root.join(DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut files = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".sql") && entry.path().is_file() {
            files.insert(name);
        }
    }
    Ok(files)
}

/// File names of the top-level `migrations/*.sql` in the commit `head`.
fn head_files(root: &Path, head: &str) -> Result<BTreeSet<String>> {
    let listing = git(
        root,
        &[
            "ls-tree",
            "-r",
            "-z",
            "--name-only",
            head,
            "--",
            &format!("{DIR}/"),
        ],
    )?;
    Ok(listing
        .split(|&b| b == 0)
        .filter_map(|path| {
            let path = String::from_utf8_lossy(path);
            let name = path.strip_prefix(&format!("{DIR}/"))?.to_owned();
            (name.ends_with(".sql") && !name.contains('/')).then_some(name)
        })
        .collect())
}

/// The version of `file` from the oldest commit that added it on the current history, or `None`
/// when it was never committed. `at_head` is HEAD when HEAD has the file: the fallback when no
/// adding commit is found (a shallow clone), so a landed file is never taken for a new one.
fn first_version(root: &Path, file: &str, at_head: Option<&str>) -> Result<Option<Landed>> {
    let path = format!("{DIR}/{file}");
    // --no-renames: a migration renamed from another file counts as added by the rename.
    let adds = git_text(
        root,
        &[
            "log",
            "--no-renames",
            "--diff-filter=A",
            "--format=%H",
            "--",
            &path,
        ],
    )?;
    // The last line is the oldest adding commit.
    let commit = match adds.lines().map(str::trim).rfind(|l| !l.is_empty()) {
        Some(commit) => commit.to_owned(),
        None => match at_head {
            Some(head) => head.to_owned(),
            None => return Ok(None),
        },
    };
    // `./`: relative to the workspace root even if the repository's top is above it.
    let bytes = git(root, &["show", &format!("{commit}:./{path}")])?;
    Ok(Some(Landed { commit, bytes }))
}

/// Runs git in `dir` and returns its standard output, failing with git's own message.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run git {}: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(format!(
            "git {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// [`git`], with the output as text.
fn git_text(dir: &Path, args: &[&str]) -> Result<String> {
    git(dir, args).map(|out| String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn migration(file: &str, current: Option<&[u8]>, landed: Option<&[u8]>) -> Migration {
        Migration {
            file: file.to_owned(),
            current: current.map(<[u8]>::to_vec),
            landed: landed.map(|bytes| Landed {
                commit: COMMIT.to_owned(),
                bytes: bytes.to_vec(),
            }),
        }
    }

    #[test]
    fn an_unchanged_migration_passes() {
        let sql: &[u8] = b"create table account (id bigint primary key);\n";
        let outcome = compare(&[migration("1_account.sql", Some(sql), Some(sql))]);
        assert_eq!(
            outcome,
            Outcome {
                unchanged: 1,
                new: vec![],
                problems: vec![],
            }
        );
        assert_eq!(
            summary(&outcome),
            "1 migrations unchanged since they landed (0 new)"
        );
    }

    #[test]
    fn one_changed_byte_fails_naming_the_file_and_its_commit() {
        let landed: &[u8] = b"create table account (id bigint primary key);\n";
        let edited: &[u8] = b"create table account (id bigint primary key);\r\n";
        let outcome = compare(&[
            migration("1_account.sql", Some(landed), Some(landed)),
            migration("2_event.sql", Some(edited), Some(landed)),
        ]);
        assert_eq!(outcome.unchanged, 1);
        assert_eq!(outcome.problems.len(), 1);
        let Problem::Edited {
            file,
            commit,
            landed_sha256,
            current_sha256,
        } = &outcome.problems[0]
        else {
            panic!("expected an edit, got {:?}", outcome.problems);
        };
        assert_eq!(file, "2_event.sql");
        assert_eq!(commit, COMMIT);
        assert_eq!(landed_sha256, &sha256(landed));
        assert_ne!(landed_sha256, current_sha256);

        let message = failure_message(&outcome.problems);
        assert!(
            message.contains("migrations/2_event.sql: edited"),
            "{message}"
        );
        assert!(message.contains("landed in 0123456789 "), "{message}");
        assert!(!message.contains("1_account.sql"), "{message}");
        assert!(message.ends_with(ADVICE), "{message}");
    }

    #[test]
    fn a_migration_listed_as_landed_after_edits_is_held_to_its_listed_version() {
        let (file, hash) = LANDED_AFTER_EDITS[0];
        let first = b"create table t ();".as_slice();
        let mut unrelated = migration(file, Some(b"anything else"), Some(first));
        let outcome = compare(std::slice::from_ref(&unrelated));
        assert!(
            matches!(&outcome.problems[..], [Problem::Edited { landed_sha256, .. }] if landed_sha256 == hash),
            "{outcome:?}"
        );
        // The first version itself no longer passes either: only the listed one does.
        unrelated.current = Some(first.to_vec());
        assert_eq!(compare(&[unrelated]).problems.len(), 1);
        // Each listed file as it is in the tree is the listed version.
        for (file, _) in LANDED_AFTER_EDITS {
            let bytes = std::fs::read(root().join(DIR).join(file)).unwrap();
            let outcome = compare(&[migration(file, Some(&bytes), Some(first))]);
            assert_eq!(
                (outcome.unchanged, outcome.problems.len()),
                (1, 0),
                "{file}"
            );
        }
    }

    #[test]
    fn a_new_migration_passes() {
        let outcome = compare(&[
            migration("1_account.sql", Some(b"a"), Some(b"a")),
            migration("2_new.sql", Some(b"create table x ();"), None),
        ]);
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
        assert_eq!(outcome.unchanged, 1);
        assert_eq!(outcome.new, vec!["2_new.sql".to_owned()]);
        assert_eq!(
            summary(&outcome),
            "1 migrations unchanged since they landed (1 new)"
        );
    }

    #[test]
    fn a_deleted_landed_migration_fails() {
        let outcome = compare(&[
            migration("1_account.sql", None, Some(b"a")),
            migration("2_event.sql", Some(b"b"), Some(b"b")),
        ]);
        assert_eq!(
            outcome.problems,
            vec![Problem::Deleted {
                file: "1_account.sql".to_owned(),
                commit: COMMIT.to_owned(),
            }]
        );
        let message = failure_message(&outcome.problems);
        assert!(
            message.contains("migrations/1_account.sql: deleted"),
            "{message}"
        );
        assert!(message.contains("0123456789"), "{message}");
        assert!(message.ends_with(ADVICE), "{message}");
    }

    #[test]
    fn every_problem_is_named() {
        let outcome = compare(&[
            migration("1_a.sql", Some(b"x"), Some(b"y")),
            migration("2_b.sql", None, Some(b"z")),
            migration("3_c.sql", Some(b"w"), Some(b"v")),
        ]);
        assert_eq!(outcome.problems.len(), 3);
        let message = failure_message(&outcome.problems);
        for file in ["1_a.sql", "2_b.sql", "3_c.sql"] {
            assert!(message.contains(&format!("migrations/{file}")), "{message}");
        }
    }

    #[test]
    fn a_directory_outside_git_fails_clearly() {
        let dir = std::env::temp_dir().join(format!("xtask-no-git-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let result = gather(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let error = result.unwrap_err();
        assert!(error.contains("is not a git repository"), "{error}");
    }

    /// The git side, on a throw-away repository: first version found, later commits and
    /// subdirectories ignored, deletions seen.
    #[test]
    fn gather_reads_the_first_version_from_git() {
        let dir = std::env::temp_dir().join(format!("xtask-migrations-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("migrations/old")).unwrap();
        let run = |args: &[&str]| {
            let mut all = vec![
                "-c",
                "user.name=xtask",
                "-c",
                "user.email=xtask@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ];
            all.extend_from_slice(args);
            git(&dir, &all).unwrap();
        };
        let write = |file: &str, text: &str| std::fs::write(dir.join(file), text).unwrap();
        run(&["init", "-q"]);
        write("migrations/1_a.sql", "first");
        write("migrations/2_b.sql", "b");
        write("migrations/old/x.sql", "ignored");
        run(&["add", "."]);
        run(&["commit", "-q", "-m", "one"]);
        let first = git_text(&dir, &["rev-parse", "HEAD"]).unwrap();
        write("migrations/1_a.sql", "second");
        run(&["commit", "-q", "-am", "edit a landed migration"]);
        std::fs::remove_file(dir.join("migrations/2_b.sql")).unwrap();
        write("migrations/3_c.sql", "new");

        let outcome = compare(&gather(&dir).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(outcome.new, vec!["3_c.sql".to_owned()]);
        assert_eq!(outcome.unchanged, 0);
        assert_eq!(outcome.problems.len(), 2, "{:?}", outcome.problems);
        assert!(matches!(
            &outcome.problems[0],
            Problem::Edited { file, commit, .. } if file == "1_a.sql" && commit == first.trim()
        ));
        assert_eq!(
            outcome.problems[1],
            Problem::Deleted {
                file: "2_b.sql".to_owned(),
                commit: first.trim().to_owned(),
            }
        );
    }
}
