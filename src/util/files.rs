//! Files written all or nothing.

use std::fs;
use std::path::{Path, PathBuf};

/// Writes every file into `dir`, or none: each goes to a temporary name
/// first and is renamed only when all were written.
pub fn write_files(dir: &Path, files: &[(String, String)]) -> Result<Vec<PathBuf>, String> {
    let created_dir = !dir.exists();
    fs::create_dir_all(dir).map_err(|e| format!("--out {}: cannot create the directory: {e}", dir.display()))?;
    let tmp_name = |name: &str| dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut written = vec![];
    let result = (|| {
        for (name, text) in files {
            let tmp = tmp_name(name);
            written.push(tmp.clone());
            fs::write(&tmp, text).map_err(|e| format!("--out {}: cannot write {name}: {e}", dir.display()))?;
        }
        let mut finals = vec![];
        for (name, _) in files {
            let dest = dir.join(name);
            fs::rename(tmp_name(name), &dest)
                .map_err(|e| format!("--out {}: cannot write {name}: {e}", dir.display()))?;
            finals.push(dest);
        }
        Ok(finals)
    })();
    if result.is_err() {
        for tmp in written {
            let _ = fs::remove_file(tmp);
        }
        if created_dir {
            let _ = fs::remove_dir_all(dir);
        }
    }
    result
}
