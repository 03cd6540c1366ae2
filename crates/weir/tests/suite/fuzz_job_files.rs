//! A mutation fuzzer over job files: the corpus in `crates/pipeline/tests/corpus` (HOCON, JSON
//! and SQL jobs) is mutated (bytes swapped for syntax that matters, spans cut, duplicated or
//! spliced from other files, numbers made huge) and every result goes through the whole path a
//! submission takes: parsing, option validation, the job graph and preparing every operator
//! (schemas, SQL plans, generator bounds). None may panic or take long; a bad file must come
//! back as problems. A failing input is written to `target/fuzz-failures/`.
//!
//! `WEIR_FUZZ_ITERATIONS` (default 2000, a few seconds) and `WEIR_FUZZ_SEED` run it longer or
//! elsewhere: `WEIR_FUZZ_ITERATIONS=200000 cargo test --release -p weir --test fuzz_job_files`.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use weir::embedded::{load_text, LoadOptions};
use weir_pipeline::Format;

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "=",
    ":",
    ",",
    "\n",
    "#",
    "//",
    "${",
    "${?X}",
    "${X:d}",
    "}}",
    "\"\"\"",
    "\\",
    ".",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "true",
    "null",
    "array<",
    "map<string, ",
    ">",
    "row<",
    "decimal(38, 40)",
    "string",
    "bigint",
    "row.num = 1000000000",
    "array.size = 1024",
    "string.length = 65536",
    "batch.size = 1048576",
    "parallelism = 100000",
    "split.num = 0",
    "plugin_input = nope",
    "plugin_output = a",
    "query = \"select * from\"",
    "GROUP BY",
    "include \"x\"",
    "é",
    "\u{0}",
    ";",
    "CREATE TABLE ",
    " WITH (",
    "'type' = 'source'",
    "INSERT INTO ",
    " SELECT * FROM ",
    "*/",
    "/* config",
];

fn corpus() -> Vec<(String, Format)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the fuzz corpus")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("corpus file");
            (text, Format::from_path(&p.to_string_lossy()))
        })
        .collect()
}

/// A char boundary at or before `i`.
fn boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn mutate(text: &str, others: &[(String, Format)], rng: &mut SmallRng) -> String {
    let mut s = text.to_string();
    for _ in 0..rng.random_range(1..6) {
        let at = boundary(&s, rng.random_range(0..=s.len()));
        match rng.random_range(0..6) {
            0 => s.insert_str(at, TOKENS[rng.random_range(0..TOKENS.len())]),
            1 => {
                let end = boundary(&s, at + rng.random_range(0..40));
                s.replace_range(at..end.max(at), "");
            }
            2 => {
                let end = boundary(&s, at + rng.random_range(0..80));
                let span = s[at..end.max(at)].to_string();
                s.insert_str(at, &span);
            }
            3 => {
                let other = &others[rng.random_range(0..others.len())].0;
                let from = boundary(other, rng.random_range(0..=other.len()));
                let to = boundary(other, from + rng.random_range(0..120));
                s.insert_str(at, &other[from..to.max(from)]);
            }
            4 => {
                // A number made extreme.
                if let Some(pos) = s[at..].find(|c: char| c.is_ascii_digit()) {
                    let p = at + pos;
                    s.insert_str(p, ["9999999999", "-", "0."][rng.random_range(0..3)]);
                }
            }
            _ => {
                let end = boundary(&s, at + 1);
                s.replace_range(at..end, TOKENS[rng.random_range(0..TOKENS.len())]);
            }
        }
    }
    s
}

#[test]
fn mutated_job_files_come_back_as_problems_never_as_panics() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 8,
        "the corpus is in crates/pipeline/tests/corpus"
    );
    let iterations: usize = std::env::var("WEIR_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let seed: u64 = std::env::var("WEIR_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261201);
    let mut rng = SmallRng::seed_from_u64(seed);
    // The corpus itself loads (it is a corpus of working jobs).
    for (text, format) in &corpus {
        if let Err(e) = load_text(text, *format, &LoadOptions::default()) {
            panic!("corpus file does not load: {e}\n{text}");
        }
    }
    let started = Instant::now();
    let mut accepted = 0;
    let mut slowest = Duration::ZERO;
    for i in 0..iterations {
        let (text, format) = &corpus[rng.random_range(0..corpus.len())];
        let input = mutate(text, &corpus, &mut rng);
        let t = Instant::now();
        let outcome =
            std::panic::catch_unwind(|| load_text(&input, *format, &LoadOptions::default()));
        let took = t.elapsed();
        slowest = slowest.max(took);
        match outcome {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(e)) => assert!(!e.to_string().is_empty(), "an empty problem list"),
            Err(_) => {
                let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
                let _ = std::fs::create_dir_all(&dir);
                let file = dir.join(format!("panic-{seed}-{i}.txt"));
                let _ = std::fs::write(&file, &input);
                panic!("iteration {i} panicked on the input in {}", file.display());
            }
        }
        assert!(
            took < Duration::from_secs(5),
            "iteration {i} took {took:?} on:\n{input}"
        );
    }
    println!(
        "{iterations} mutated job files in {:?} ({accepted} still valid), slowest {slowest:?}",
        started.elapsed()
    );
}
