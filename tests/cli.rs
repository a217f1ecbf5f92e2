//! The `gen` command as a user meets it: bad input, determinism, output.

use std::path::Path;
use std::process::{Command, Output};

fn mbnn(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mbnn")).args(args).current_dir(cwd).output().expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Each bad input: non-zero exit, exactly one line naming the value (and
/// the rule), and no output directory.
#[test]
fn bad_input_fails_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path();
    std::fs::write(files.join("malformed.json"), "{\"weights\": [\"0x12\"").unwrap();
    std::fs::write(files.join("two.json"), "{\"weights\": [\"0x12\", \"0x34\"]}").unwrap();
    std::fs::write(files.join("digits.json"), "{\"weights\": [\"0x012\"]}").unwrap();
    std::fs::write(files.join("nothex.json"), "{\"weights\": [\"0xzz\"]}").unwrap();
    std::fs::write(files.join("shape.json"), "[\"0x12\"]").unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--k", "0"], &["--k 0", "1..=64"]),
        (&["--k", "65"], &["--k 65", "1..=64"]),
        (&["--len", "0"], &["--len 0", "1..=65536"]),
        (&["--len", "65537"], &["--len 65537", "1..=65536"]),
        (&["--len", "-3"], &["--len -3", "1..=65536"]),
        (&["--cin", "4096", "--kernel", "5"], &["102400", "1..=65536"]),
        (&["--len", "9", "--cin", "1"], &["--len", "--cin"]),
        (&["--k", "3", "--lambda", "1,2"], &["2 values", "exactly 3"]),
        (&["--k", "1", "--lambda", "300"], &["--lambda 300", "[-128, 127.99609375]"]),
        (
            &["--k", "1", "--lambda", "0.9375", "--coef-bits", "4", "--frac-bits", "3"],
            &["--lambda 0.9375", "[-1, 0.875]"],
        ),
        (&["--k", "1", "--lambda", "abc"], &["\"abc\"", "real"]),
        (&["--k", "1", "--lambda", "nan"], &["\"nan\"", "real"]),
        (&["--frac-bits", "40"], &["--frac-bits 40", "0..=31"]),
        (&["--coef-bits", "1"], &["--coef-bits 1", "2..=32"]),
        (&["--pipeline", "65"], &["--pipeline 65", "0..=64"]),
        (&["--block", "convolution"], &["\"convolution\"", "groupnet", "conv, pa_conv"]),
        (&["--weights", "rom"], &["\"rom\"", "port, const"]),
        (&["--weights", "port", "--seed", "3"], &["--seed", "--weights const"]),
        (&["--block", "xnor_pe", "--k", "2"], &["--k", "groupnet"]),
        (&["--top", "module"], &["\"module\"", "reserved"]),
        (&["--top", "9lives"], &["\"9lives\"", "letter"]),
        (&["--k", "abc"], &["abc", "--k"]),
        (&["--frobnicate"], &["--frobnicate"]),
        (&["--block", "pa", "--m", "0"], &["--m 0", "1..=16"]),
        (&["--block", "pa", "--m", "17"], &["--m 17", "1..=16"]),
        (&["--block", "pa", "--n", "0"], &["--n 0", "1..=16"]),
        (&["--block", "pa", "--n", "3", "--endpoints", "1,0,2"], &["strictly increasing", "0 follows 1"]),
        (&["--block", "pa", "--n", "2", "--act-bits", "4", "--endpoints", "-9,0"], &["-9", "-8..=7"]),
        (&["--block", "pa", "--n", "5", "--act-bits", "2"], &["strictly increasing", "--act-bits 2"]),
        (&["--block", "pa", "--m", "1", "--n", "1", "--phi", "1000"], &["--phi 1000", "[-128, 127.99609375]"]),
        (&["--block", "pa", "--m", "2", "--n", "2", "--phi", "1,2,3"], &["3 values", "exactly 4"]),
        (&["--block", "pa_quantizer", "--weights", "const"], &["pa_quantizer has no weights"]),
        (&["--block", "groupnet", "--phi", "1"], &["--phi", "pa"]),
        (&["--block", "mac", "--bits", "17"], &["--bits 17", "1..=16"]),
        (&["--block", "fixedpoint", "--bits", "0"], &["--bits 0", "1..=8"]),
        (&["--block", "xnor_pe", "--bits", "2"], &["--bits", "fixedpoint or mac"]),
    ];
    std::fs::write(
        files.join("layer_bad.json"),
        "{\"scheme\": \"pa\", \"weights\": [0.1, -0.2], \"act_endpoints\": [0.5, 0.25], \"betas\": [1, 2]}",
    )
    .unwrap();
    std::fs::write(files.join("layer_incomplete.json"), "{\"scheme\": \"groupnet\", \"weights\": [[0.1, -0.2]]}")
        .unwrap();
    for (file, needles) in [
        ("layer_bad.json", &["layer_bad.json", "strictly increasing"][..]),
        ("layer_incomplete.json", &["layer_incomplete.json", "lambdas"][..]),
        ("nothing.json", &["nothing.json", "cannot read"][..]),
    ] {
        let out_dir = files.join("out");
        let path = files.join(file).display().to_string();
        let o = mbnn(&["gen", "--model", &path, "--out", &out_dir.display().to_string()], files);
        let err = stderr(&o);
        assert!(!o.status.success() && err.trim_end().lines().count() == 1, "{file}: {err}");
        needles.iter().for_each(|n| assert!(err.contains(n), "{file}: {err:?} lacks {n:?}"));
        assert!(!out_dir.exists());
    }
    let o = mbnn(&["gen", "--model", "testbench/layer_pa.json", "--k", "2"], Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(stderr(&o).contains("--k cannot be combined with --model"), "{}", stderr(&o));
    let file_cases: &[(&str, &[&str])] = &[
        ("malformed.json", &["malformed.json", "not valid JSON"]),
        ("two.json", &["2 weight vectors", "exactly 1"]),
        ("digits.json", &["3 digits", "exactly 2"]),
        ("nothex.json", &["non-hex"]),
        ("shape.json", &["{\"weights\""]),
        ("missing.json", &["missing.json", "cannot read"]),
    ];
    let mut all: Vec<Vec<String>> = cases.iter().map(|(a, _)| a.iter().map(|s| s.to_string()).collect()).collect();
    let mut expect: Vec<&[&str]> = cases.iter().map(|(_, e)| *e).collect();
    for (file, e) in file_cases {
        let path = files.join(file).display().to_string();
        all.push(["--block", "xnor_pe", "--len", "8", "--weights-file", &path].iter().map(|s| s.to_string()).collect());
        expect.push(e);
    }
    for (args, expect) in all.iter().zip(expect) {
        let out_dir = files.join("out");
        let mut full = vec!["gen".to_string()];
        full.extend(args.iter().cloned());
        full.extend(["--out".to_string(), out_dir.display().to_string()]);
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        let o = mbnn(&refs, files);
        let err = stderr(&o);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: not one line: {err}");
        for needle in expect {
            assert!(err.contains(needle), "{args:?}: {err:?} does not mention {needle:?}");
        }
        assert!(o.stdout.is_empty(), "{args:?} printed to stdout");
        assert!(!out_dir.exists(), "{args:?} wrote {}", out_dir.display());
    }
}

#[test]
fn gen_is_deterministic_and_says_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--k", "3", "--len", "100", "--weights", "const", "--seed", "9", "--pipeline", "2"];
    let run = |name: &str| {
        let out = dir.path().join(name);
        let mut a = vec!["gen"];
        a.extend(args);
        let out_s = out.display().to_string();
        a.extend(["--out", &out_s]);
        let o = mbnn(&a, dir.path());
        assert!(o.status.success(), "{}", stderr(&o));
        (out, String::from_utf8(o.stdout).unwrap())
    };
    let (d1, stdout) = run("one");
    let (d2, _) = run("two");
    assert!(stdout.contains("latency"), "{stdout}");
    assert!(stdout.contains(&d1.display().to_string()), "{stdout}");
    let mut names: Vec<_> = std::fs::read_dir(&d1).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    for name in names {
        let a = std::fs::read(d1.join(&name)).unwrap();
        let b = std::fs::read(d2.join(&name)).unwrap();
        assert_eq!(a, b, "{name:?} differs between runs");
    }
}

#[test]
fn default_gen_is_the_papers_layer_with_five_lanes() {
    let dir = tempfile::tempdir().unwrap();
    let o = mbnn(&["gen", "--k", "5"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let top = dir.path().join("out/groupnet_k5_n2304_p0");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(top.join("groupnet_k5_n2304_p0.json")).unwrap()).unwrap();
    assert_eq!(m["params"]["len"], 2304);
    assert_eq!(m["params"]["k"], 5);
    assert_eq!(m["params"]["weights_mode"], "port");
    assert_eq!(m["params"]["shared_input"], false);
    assert_eq!(m["params"]["frac_bits"], 8);
    assert_eq!(m["latency"], 2);
    let names: Vec<String> =
        m["ports"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    let expect =
        ["clk", "rst", "in_valid", "a0", "a1", "a2", "a3", "a4", "w0", "w1", "w2", "w3", "w4", "out_valid", "y"];
    assert_eq!(names, expect);
    for f in m["files"].as_array().unwrap() {
        assert!(top.join(f.as_str().unwrap()).exists());
    }
}

#[test]
fn speedup_reproduces_the_papers_example_layer() {
    let dir = tempfile::tempdir().unwrap();
    let o = mbnn(&["speedup", "--cin", "256", "--kernel", "3", "--side", "28", "--k", "5"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("speed-up 12.45"), "{:?}", o);
    let bad = mbnn(&["speedup", "--k", "65"], dir.path());
    assert!(!bad.status.success() && stderr(&bad).contains("1..=64"), "{}", stderr(&bad));
}

#[test]
fn cost_prints_a_table_and_rejects_bad_schemes() {
    let dir = tempfile::tempdir().unwrap();
    let o = mbnn(&["cost", "--net", "resnet18", "--scheme", "groupnet", "--k", "5"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("layer2.0.conv1") && out.contains("total"), "{out}");
    let bad = mbnn(&["cost", "--scheme", "pa", "--m", "0"], dir.path());
    assert!(!bad.status.success() && stderr(&bad).trim_end().lines().count() == 1, "{}", stderr(&bad));
}

/// A whole conv layer in real numbers (`--model` with scheme groupnet_conv
/// or pa_conv): generated with its error report, or refused with one line
/// that names the field and its range.
#[test]
fn conv_layer_files_generate_with_a_report_and_bad_ones_fail_with_one_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gn");
    let out_s = out.display().to_string();
    let o = mbnn(&["gen", "--model", "testbench/layer_conv_groupnet.json", "--out", &out_s], root);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.starts_with("groupnet_conv layer (threshold output), 28 random frames (seed 1)"), "{stdout}");
    assert!(stdout.contains("output levels differ from the float layer's"), "{stdout}");
    let top = "conv_k2_6x6x4_c4_k3_d1_2_pe1_simd4_threshold_model";
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(format!("{top}.json"))).unwrap()).unwrap();
    assert_eq!(manifest["params"]["threshold_signs"], serde_json::json!([1, -1, 1, 1]));
    assert_eq!(manifest["decomposition"]["details"]["scheme"], "groupnet_conv");
    let o = mbnn(
        &["gen", "--block", "pa_conv", "--model", "testbench/layer_conv_pa.json", "--pe", "4", "--out", &out_s],
        root,
    );
    assert!(o.status.success(), "{}", stderr(&o));

    let layer = std::fs::read_to_string(root.join("testbench/layer_conv_pa.json")).unwrap();
    let bad = |from: &str, to: &str| {
        assert!(layer.contains(from), "{from}");
        layer.replacen(from, to, 1)
    };
    let cases: Vec<(String, &[&str], &[&str])> = vec![
        (bad("\"cout\": 4", "\"cout\": 5"), &[], &["\"weights\"", "cout = 5", "got 4"]),
        (bad("\"cin\": 3, ", ""), &[], &["\"cin\" is missing"]),
        (bad("\"kernel\": 3", "\"kernel\": 16"), &[], &["\"kernel\"", "1..=15", "16"]),
        (bad("\"var\": [6.0", "\"var\": [-6.0"), &[], &["\"batch_norm.var\"[0]", ">= 0"]),
        (
            bad("\"var\": [6.0", "\"eps\": 0, \"var\": [0.0"),
            &[],
            &["\"batch_norm.var\"[0] + \"batch_norm.eps\"", "> 0"],
        ),
        (bad("[-0.5, 0.25, 1.0]", "[-0.5, 1.0, 0.25]"), &[], &["\"next_endpoints\"", "strictly increasing"]),
        (bad("[0.6, 1.5, 2.5, 3.4]", "[0.6, 1.5, 2.5]"), &[], &["\"betas\"", "(4), got 3"]),
        (bad("\"act_bits\": 4", "\"act_bits\": 17"), &[], &["\"act_bits\"", "1..=16", "17"]),
        (bad("\"m\": 4", "\"m\": 4, \"lambdas\": [1]"), &[], &["\"lambdas\" is not a field of a pa_conv layer"]),
        (bad("0.913", "1e999"), &[], &["not valid JSON"]),
        (layer.clone(), &["--block", "conv"], &["\"scheme\" must be \"groupnet_conv\" for --block conv"]),
        (layer.clone(), &["--cout", "8"], &["--cin/--cout cannot be combined with --model"]),
        (layer.clone(), &["--pe", "3"], &["--pe 3", "--cout 4"]),
    ];
    for (i, (text, flags, needles)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.json"));
        std::fs::write(&path, text).unwrap();
        let out_dir = dir.path().join("bad_out");
        let (path_s, out_s) = (path.display().to_string(), out_dir.display().to_string());
        let mut args = vec!["gen", "--model", &path_s];
        args.extend(flags.iter());
        args.extend(["--out", &out_s]);
        let o = mbnn(&args, dir.path());
        let err = stderr(&o);
        assert!(!o.status.success(), "case {i} succeeded");
        assert_eq!(err.trim_end().lines().count(), 1, "case {i}: not one line: {err}");
        for needle in needles.iter() {
            assert!(err.contains(needle), "case {i}: {err:?} lacks {needle:?}");
        }
        assert!(!out_dir.exists(), "case {i} wrote files");
    }
}

/// `gen --network`: byte-identical output twice, every layer's module and
/// the manifest; a bad network file or a design flag beside `--network`
/// fails with one line and writes nothing.
#[test]
fn networks_generate_deterministically_and_bad_ones_fail_with_one_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let out = dir.path().join(name).display().to_string();
        let o = mbnn(&["gen", "--network", "testbench/net_tiny.json", "--out", &out], root);
        assert!(o.status.success(), "{}", stderr(&o));
        (dir.path().join(name), String::from_utf8(o.stdout).unwrap())
    };
    let ((d1, stdout), (d2, _)) = (run("one"), run("two"));
    assert!(stdout.contains("4608 cycles per frame"), "{stdout}");
    let mut names: Vec<_> = std::fs::read_dir(&d1).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    for want in ["net_tiny.v", "net_tiny_l1.v", "net_tiny_argmax.v", "net_tiny.json"] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    assert!(!names.iter().any(|n| n.to_string_lossy().contains("fifo")), "no FIFO between layers: {names:?}");
    for name in names {
        assert_eq!(std::fs::read(d1.join(&name)).unwrap(), std::fs::read(d2.join(&name)).unwrap(), "{name:?}");
    }
    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"input": {"height": 4, "width": 4, "channels": 1, "bits": 1}, "layers": [{"kind": "dense", "cout": 0}]}"#,
    )
    .unwrap();
    let bad = dir.path().join("bad.json").display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (&["--network", &bad], "layers[0] (dense): \"cout\" 0"),
        (
            &["--network", "testbench/net_tiny.json", "--k", "3"],
            "--network testbench/net_tiny.json takes no other design flag",
        ),
        (&["--network", "missing.json"], "missing.json: cannot read it"),
    ];
    for (args, want) in cases {
        let out = dir.path().join("never").display().to_string();
        let mut a = vec!["gen"];
        a.extend(*args);
        a.extend(["--out", &out]);
        let o = mbnn(&a, root);
        let e = stderr(&o);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(e.contains(want) && e.trim().lines().count() == 1, "{args:?}: {e}");
        assert!(!dir.path().join("never").exists(), "{args:?} wrote output");
    }
}

/// `gen --uart` writes the network with the UART top; a test set goes
/// through `sim --images`; bad uses of either fail with one line and
/// write nothing.
#[test]
fn uart_tops_and_image_files_check_their_input() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("uart").display().to_string();
    let o = mbnn(&["gen", "--network", "testbench/net_models.json", "--uart", "115200", "--out", &out], root);
    assert!(o.status.success(), "{}", stderr(&o));
    let top = std::fs::read_to_string(dir.path().join("uart/uart_top.v")).unwrap();
    assert!(top.contains("module uart_top") && top.contains("net_models network ("), "{top}");
    let pins = std::fs::read_to_string(dir.path().join("uart/icebreaker.pcf")).unwrap();
    assert!(pins.contains("set_io rx 6") && pins.contains("set_io tx 9"), "{pins}");

    std::fs::write(dir.path().join("images.json"), r#"{"images": [[1, 2]]}"#).unwrap();
    let images = dir.path().join("images.json").display().to_string();
    let work = dir.path().join("work").display().to_string();
    let never = dir.path().join("never").display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (
            &["gen", "--network", "testbench/net_models.json", "--uart", "2500000", "--out", &never],
            "gives 2400000 baud",
        ),
        (
            &["gen", "--network", "testbench/net_models.json", "--uart", "0", "--out", &never],
            "--uart 0 is out of range",
        ),
        (&["gen", "--k", "3", "--uart", "115200", "--out", &never], "--uart puts a network behind the board's UART"),
        (
            &[
                "pnr",
                "--board",
                "ulx3s",
                "--network",
                "testbench/net_models.json",
                "--uart",
                "115200",
                "--work",
                &never,
            ],
            "the UART top has pins for icebreaker only",
        ),
        (
            &["sim", "--network", "testbench/net_models.json", "--images", &images, "--work", &work],
            "\"images\"[0] must be a list of 36 integers",
        ),
        (&["sim", "--k", "3", "--images", &images, "--work", &work], "--images runs a test set through a network"),
        (
            &["sim", "--network", "testbench/net_models.json", "--frames", "0", "--work", &work],
            "--frames 0 is out of range",
        ),
        (&["sim", "--network", "testbench/net_models.json", "--frames", "1001", "--work", &work], "1..=1000"),
        (&["sim", "--k", "3", "--frames", "2", "--work", &work], "a unit takes --cycles"),
        (
            &["sim", "--network", "testbench/net_models.json", "--jobs", "0", "--work", &work],
            "--jobs 0 is out of range",
        ),
        (&["sweep", "--jobs", "65", "--work", &work], "must be 1..=64"),
        (&["pnr", "--network", "testbench/net_tiny.json", "--work", &never], "pnr needs --board"),
        (
            &["pnr", "--board", "icebreaker", "--k", "2", "--target-fps", "100", "--work", &never],
            "fold a network: give --network",
        ),
        (
            &["sim", "--network", "testbench/net_models.json", "--images", &images, "--frames", "2", "--work", &work],
            "give one of them",
        ),
    ];
    for (args, want) in cases {
        let o = mbnn(args, root);
        let e = stderr(&o);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(e.contains(want) && e.trim().lines().count() == 1, "{args:?}: {e}");
        assert!(!dir.path().join("never").exists(), "{args:?} wrote output");
        assert!(!dir.path().join("work").exists(), "{args:?} wrote into --work");
    }
}

#[test]
fn a_closed_pipe_ends_the_program_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out").display().to_string();
    // The pipe's reader is gone before the program starts, as with `| head -0`.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mbnn"))
        .args(["gen", "--k", "2", "--len", "8", "--out", &out])
        .stdout(writer)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked") && err.is_empty(), "{err}");
    assert_eq!(o.status.signal(), Some(libc::SIGPIPE), "{:?}", o.status);
}

/// A test set cut into shares simulated at once gives every image's answer
/// in order: the RTL's classes equal the golden model's image by image
/// (which `sim` computes on its own, image by image), and equal those of
/// one thread.
#[test]
fn a_test_set_in_shares_keeps_its_images_in_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    // Seven 6 x 6 images of 3-bit pixels, each a different pattern.
    let images: Vec<Vec<u32>> = (0..7u32).map(|i| (0..36u32).map(|x| (x * (i + 1) + i * i) % 8).collect()).collect();
    std::fs::write(dir.path().join("images.json"), serde_json::json!({ "images": images }).to_string()).unwrap();
    let images = dir.path().join("images.json").display().to_string();
    let mut answers = vec![];
    for jobs in ["1", "3"] {
        let work = dir.path().join(format!("work{jobs}")).display().to_string();
        let o = mbnn(
            &[
                "sim",
                "--network",
                "testbench/net_models.json",
                "--images",
                &images,
                "--jobs",
                jobs,
                "--no-yosys",
                "--work",
                &work,
            ],
            root,
        );
        assert!(o.status.success(), "--jobs {jobs}: {}", stderr(&o));
        let text = std::fs::read_to_string(dir.path().join(format!("work{jobs}/net_models/classify.json"))).unwrap();
        let c: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(c["rtl_equals_golden"], true, "--jobs {jobs}: {text}");
        assert_eq!(c["verilator_threads"], if jobs == "1" { 1 } else { 3 }, "--jobs {jobs}");
        assert_eq!(c["rtl"].as_array().unwrap().len(), 7, "--jobs {jobs}: {text}");
        answers.push(c["rtl"].clone());
    }
    assert_eq!(answers[0], answers[1]);
    let distinct: std::collections::BTreeSet<String> =
        answers[0].as_array().unwrap().iter().map(|v| v.to_string()).collect();
    assert!(distinct.len() > 1, "every image gave the same class, so order would not show: {:?}", answers[0]);
}

/// `pnr --network --target-fps`: the folding is chosen for the rate, and
/// the report gives the cycles per frame, the frames/s at the Fmax reached
/// and whether the target is met there.
#[test]
fn pnr_folds_a_network_for_a_target_and_reports_its_frames_per_second() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("pnr").display().to_string();
    let args = [
        "pnr",
        "--board",
        "icebreaker",
        "--network",
        "testbench/net_tiny.json",
        "--target-fps",
        "20000",
        "--work",
        &work,
    ];
    let o = mbnn(&args, root);
    let stdout = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(o.status.success(), "{}{stdout}", stderr(&o));
    // 2600 cycles allowed at 52 MHz; the slowest layer chosen is the conv
    // on 8 x 8 pixels: 8 channels at pe 2, a 3 x 3 x 8 window at simd 8,
    // 64 x 4 x 9 = 2304 cycles (README, "Folding for a target").
    assert!(stdout.contains("predicted: 2304 cycles per frame"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("pnr/fpga_report.json")).unwrap()).unwrap();
    let fmax = report["fmax_mhz"].as_f64().unwrap();
    assert_eq!(report["stream"]["cycles_per_frame"], 2304, "{report}");
    let fps = report["stream"]["frames_per_second"].as_f64().unwrap();
    assert!((fps - fmax * 1e6 / 2304.0).abs() < 1e-6 * fps, "{fps} frames/s at {fmax} MHz");
    let verdict = if fps >= 20000.0 { "met" } else { "MISSED" };
    let line = stdout.lines().find(|l| l.starts_with("target 20000 frames/s: ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.ends_with(verdict) || line.contains(&format!(", {verdict}")), "{line}");
}
