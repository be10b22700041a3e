//! Embeds every `rules/*.toml` into the binary. Each file is parsed here, at build time, and
//! embedded as JSON: `$OUT_DIR/builtin_rules.rs` lists `(file name, JSON)` pairs, so adding a
//! rule file needs no code change and start-up reads JSON (about ten times cheaper than
//! parsing the TOML; an empty staged scan is mostly start-up). A built-in file that is not
//! valid TOML fails the build, naming the file.

use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("rules");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("rules/ directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("&[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let value: serde_json::Value =
            toml::from_str(&text).unwrap_or_else(|e| panic!("rules/{name}: invalid TOML: {e}"));
        let json_path = out_dir.join(format!("{name}.json"));
        fs::write(&json_path, serde_json::to_string(&value).unwrap()).unwrap();
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            json_path.display().to_string()
        ));
    }
    out.push_str("]\n");
    fs::write(out_dir.join("builtin_rules.rs"), out).unwrap();
}
