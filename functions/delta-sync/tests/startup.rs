//! The binary refuses to start on bad configuration and says which setting is wrong.

use std::process::Command;

fn start_with(env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_delta-sync"))
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run delta-sync");
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_missing_setting_is_named() {
    let stderr = start_with(&[
        ("TWENTY_API_URL", "http://127.0.0.1:1"),
        ("LEADS_TABLE", "leads"),
    ]);
    assert!(stderr.contains("TWENTY_API_KEY"), "{stderr}");
}

#[test]
fn a_malformed_setting_is_named() {
    let stderr = start_with(&[
        ("TWENTY_API_URL", "http://127.0.0.1:1"),
        ("TWENTY_API_KEY", "k"),
        ("LEADS_TABLE", "leads"),
        ("SYNC_LOOKBACK_SECONDS", "soon"),
    ]);
    assert!(stderr.contains("SYNC_LOOKBACK_SECONDS"), "{stderr}");
}
