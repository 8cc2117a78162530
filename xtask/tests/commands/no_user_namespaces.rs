//! The whole course runs where user namespaces are refused: stock Ubuntu
//! 24.04 (AppArmor's `apparmor_restrict_unprivileged_userns`), Docker's
//! default seccomp profile, GitHub's runners. Exercises 04 and 05 make a peer
//! vanish with a socket filter (`grader::fixtures::vanish`), which needs no
//! privilege; this test proves it by taking user namespaces away the way
//! Docker does and checking that nothing is skipped.

use std::process::Command;

/// Installs, in the calling (freshly forked) process, a seccomp filter that
/// refuses what Docker's default profile refuses an unprivileged container:
/// `unshare` and `clone` with `CLONE_NEWUSER` fail with EPERM, and `clone3`
/// (whose flags seccomp cannot read) fails with ENOSYS, so that libc falls
/// back to `clone`. Inherited by every thread and child from then on.
#[cfg(target_os = "linux")]
fn refuse_user_namespaces() -> std::io::Result<()> {
    use nix::libc;
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    // struct seccomp_data: nr at offset 0, args[0] at 16 (its low 32 bits on
    // little-endian machines, where CLONE_NEWUSER = 0x10000000 lives).
    let mut program = [
        op(LD_W_ABS, 0, 0, 0),
        op(JEQ, 3, 0, libc::SYS_unshare as u32),
        op(JEQ, 2, 0, libc::SYS_clone as u32),
        op(JEQ, 5, 0, libc::SYS_clone3 as u32),
        op(RET, 0, 0, libc::SECCOMP_RET_ALLOW),
        op(LD_W_ABS, 0, 0, 16),
        op(JSET, 0, 1, libc::CLONE_NEWUSER as u32),
        op(RET, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        op(RET, 0, 0, libc::SECCOMP_RET_ALLOW),
        op(RET, 0, 0, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
    ];
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: plain prctl calls; `fprog` outlives them.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog as *const libc::sock_fprog) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn without_user_namespaces(mut command: Command) -> Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure only makes two prctl calls.
    unsafe {
        command.pre_exec(refuse_user_namespaces);
    }
    command
}

/// With user namespaces refused (checked: `unshare -Urn true` fails), the
/// reference answers of 04 and 05 pass every hidden test: none is skipped.
#[cfg(target_os = "linux")]
#[test]
fn exercises_04_and_05_need_no_user_namespaces() {
    let mut probe = Command::new("unshare");
    probe.args(["-Urn", "true"]);
    let probe = without_user_namespaces(probe).output().expect("unshare runs");
    assert!(
        !probe.status.success(),
        "the seccomp filter should make `unshare -Urn` fail, as Docker's profile does"
    );

    // The grade tests' target directory: its builds are shared, not repeated.
    let target = "xtask-tests";
    let xtask = super::util::xtask(target);
    let mut command = Command::new(xtask.get_program());
    command.args(["check", "--solutions", "04", "05"]);
    command.env("CARGO_TARGET_DIR", super::util::root().join("target").join(target));
    command.env("NO_COLOR", "1");
    command.current_dir(super::util::root());
    let output = without_user_namespaces(command).output().expect("xtask runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "check --solutions 04 05 failed without user namespaces:\n{text}"
    );
    assert!(
        !text.contains("skipped"),
        "without user namespaces some tests of 04 or 05 were skipped:\n{text}"
    );
}
