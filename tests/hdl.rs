//! hdl/ holds the generated reference configurations: regenerating them
//! must give exactly what is committed.

use std::path::Path;
use std::process::Command;

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn committed_hdl_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let configs = std::fs::read_to_string(root.join("hdl/configs.txt")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut seen = vec!["configs.txt".to_string()];
    for line in configs.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (dir, flags) = line.split_once(':').expect("<directory>: <flags>");
        let fresh = tmp.path().join(dir);
        let o = Command::new(env!("CARGO_BIN_EXE_mbnn"))
            .arg("gen")
            .args(flags.split_whitespace())
            .arg("--out")
            .arg(&fresh)
            .output()
            .unwrap();
        assert!(o.status.success(), "{line}: {}", String::from_utf8_lossy(&o.stderr));
        let committed = root.join("hdl").join(dir);
        assert_eq!(listing(&fresh), listing(&committed), "hdl/{dir}: files differ; run `make hdl`");
        for name in listing(&fresh) {
            let a = std::fs::read(fresh.join(&name)).unwrap();
            let b = std::fs::read(committed.join(&name)).unwrap();
            assert!(a == b, "hdl/{dir}/{name} is out of date; run `make hdl`");
        }
        seen.push(dir.to_string());
    }
    seen.sort();
    assert_eq!(listing(&root.join("hdl")), seen, "hdl/ holds directories that configs.txt does not list");
}
