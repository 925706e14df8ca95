//! What a reader may do, restricted before it reads its first byte of a document: no file writes
//! and no TCP (landlock), no sockets at all, no new programs and no tracing of other processes
//! (seccomp), and the first process the kernel kills when memory runs out. Reading files stays
//! allowed: tesseract loads its language data and poppler its fonts on first use. Where the
//! kernel lacks a mechanism the reader says so on stderr and goes on with the rest; the limits the
//! pool sets (address space) and `limit_cpu_for_next` do not depend on it.

pub fn enter() {
    // Under memory pressure the kernel should kill a reader, never the daemon.
    let _ = std::fs::write("/proc/self/oom_score_adj", "500");
    if let Err(e) = landlock() {
        eprintln!("clerk-reader: landlock is not available ({e}); files and TCP are not restricted");
    }
    if let Err(e) = seccomp() {
        eprintln!("clerk-reader: seccomp is not available ({e}); sockets and exec are not restricted");
    }
}

fn landlock() -> Result<(), String> {
    restrict(None)
}

/// For LibreOffice converting an Office file (`--libreoffice`), in folder `work`: where the
/// kernel allows namespaces, no network at all and a `/tmp` of its own (LibreOffice makes its
/// single-instance socket in `/tmp` whatever TMPDIR says), `work` then being `/tmp/work`; writes
/// only beneath `work` (and to `/dev/null`) and no TCP by landlock; the first process the kernel
/// kills when memory runs out. Without namespaces LibreOffice may also make its socket in the
/// real `/tmp`, and nothing else there. Returns the path `work` has from now on.
pub fn confine_libreoffice(work: &std::path::Path) -> std::path::PathBuf {
    let _ = std::fs::write("/proc/self/oom_score_adj", "500");
    let (work, own_tmp) = match private_tmp(work) {
        Ok(inside) => (inside, true),
        Err(e) => {
            eprintln!("clerk-reader: no namespaces for LibreOffice ({e}); it keeps the network, and its socket goes in /tmp");
            (work.to_path_buf(), false)
        }
    };
    // The `/tmp` of its own is `work/tmp`, but landlock follows the paths as mounted.
    let dirs = if own_tmp { vec![work.clone(), "/tmp".into()] } else { vec![work.clone()] };
    if let Err(e) = restrict(Some(Writable { dirs: &dirs, socket_in_tmp: !own_tmp })) {
        eprintln!("clerk-reader: landlock is not available ({e}); LibreOffice may write files and open TCP connections");
    }
    work
}

/// New mount and network namespaces (in a user namespace when this process may not make them
/// itself), `work/tmp` mounted over `/tmp` and `work` at `/tmp/work`, which it returns. `Err`
/// when there are no namespaces to have; a mount that fails once they are made ends the process
/// (its files are no longer where they were).
fn private_tmp(work: &std::path::Path) -> Result<std::path::PathBuf, String> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    let os = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    let c = |p: &str| CString::new(p).expect("no NUL in a path clerk made");
    std::fs::create_dir_all(work.join("tmp/work")).map_err(|e| e.to_string())?;
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: plain system calls on this single-threaded process, with valid C strings.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWNET) != 0 {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWNET) != 0 {
                return Err(os("unshare"));
            }
            // The same user inside as outside, so its files stay its own.
            std::fs::write("/proc/self/setgroups", "deny").map_err(|e| format!("setgroups: {e}"))?;
            std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1")).map_err(|e| format!("uid_map: {e}"))?;
            std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1")).map_err(|e| format!("gid_map: {e}"))?;
        }
        if libc::mount(c("none").as_ptr(), c("/").as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) != 0 {
            return Err(os("making mounts private"));
        }
        // Held open in the new namespace (a mount is bound only from the caller's own): `work`
        // may itself be under the `/tmp` about to be covered.
        let held = std::fs::File::open(work).map_err(|e| format!("{}: {e}", work.display()))?;
        let bind = |from: &str, to: &str| {
            if libc::mount(c(from).as_ptr(), c(to).as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()) != 0 {
                eprintln!("clerk-reader: LibreOffice's {}", os(&format!("mount of {from} on {to}")));
                std::process::exit(1);
            }
        };
        bind(&work.join("tmp").to_string_lossy(), "/tmp");
        bind(&format!("/proc/self/fd/{}", held.as_raw_fd()), "/tmp/work");
    }
    Ok("/tmp/work".into())
}

/// Where a confined LibreOffice may write.
struct Writable<'a> {
    dirs: &'a [std::path::PathBuf],
    /// Its single-instance socket in the real `/tmp` (no file contents, no removal).
    socket_in_tmp: bool,
}

/// Landlock: no file writes but where `writable` says, no TCP.
fn restrict(writable: Option<Writable>) -> Result<(), String> {
    use landlock::{
        path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
        RulesetCreatedAttr, RulesetStatus, ABI,
    };
    let abi = ABI::V5;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_write(abi))
        .and_then(|r| r.handle_access(AccessNet::from_all(abi)))
        .and_then(|r| r.create())
        .map_err(|e| e.to_string())?;
    if let Some(w) = writable {
        ruleset = ruleset
            .add_rules(path_beneath_rules(w.dirs, AccessFs::from_write(abi)))
            .and_then(|r| r.add_rules(path_beneath_rules(["/dev/null"], AccessFs::from_write(abi) & AccessFs::from_file(abi))))
            .map_err(|e| e.to_string())?;
        if w.socket_in_tmp {
            ruleset = ruleset.add_rules(path_beneath_rules(["/tmp"], AccessFs::MakeSock)).map_err(|e| e.to_string())?;
        }
    }
    let status = ruleset.restrict_self().map_err(|e| e.to_string())?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err("the kernel does not enforce it".into());
    }
    Ok(())
}

/// A classic BPF filter: the listed system calls fail with EPERM, everything else is allowed.
fn seccomp() -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    return Err("no filter for this architecture".into());

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let denied =
            [libc::SYS_socket, libc::SYS_execve, libc::SYS_execveat, libc::SYS_ptrace, libc::SYS_process_vm_writev];
        let stmt = |code: u32, k: u32| libc::sock_filter { code: code as u16, jt: 0, jf: 0, k };
        let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter { code: (BPF_JMP | BPF_JEQ | BPF_K) as u16, jt, jf, k };
        let mut prog = vec![
            stmt(BPF_LD | BPF_W | BPF_ABS, 4), // seccomp_data.arch
            jeq(ARCH, 1, 0),
            stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
            stmt(BPF_LD | BPF_W | BPF_ABS, 0), // seccomp_data.nr
            // x32 system calls on x86_64 would bypass the numbers below.
            libc::sock_filter { code: (BPF_JMP | BPF_JGE | BPF_K) as u16, jt: 0, jf: 1, k: 0x4000_0000 },
            stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | libc::EPERM as u32),
        ];
        for nr in denied {
            prog.push(jeq(nr as u32, 0, 1));
            prog.push(stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | libc::EPERM as u32));
        }
        prog.push(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
        let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_mut_ptr() };
        // SAFETY: a valid filter program that outlives the call; no_new_privs first, as the
        // kernel requires of a process without CAP_SYS_ADMIN.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error().to_string());
            }
            if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog as *const libc::sock_fprog) != 0 {
                return Err(std::io::Error::last_os_error().to_string());
            }
        }
        Ok(())
    }
}

const BPF_LD: u32 = 0x00;
const BPF_W: u32 = 0x00;
const BPF_ABS: u32 = 0x20;
const BPF_JMP: u32 = 0x05;
const BPF_JEQ: u32 = 0x10;
const BPF_JGE: u32 = 0x30;
const BPF_K: u32 = 0x00;
const BPF_RET: u32 = 0x06;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

/// The reader is reused across documents, and RLIMIT_CPU counts the process's whole life: before
/// each document the soft limit is set to the CPU time used so far plus `seconds`. Past it the
/// kernel sends SIGXCPU, which ends the reader; the pool reports the document as too slow.
pub fn limit_cpu_for_next(seconds: u64) {
    // SAFETY: plain system calls on this process with valid pointers.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return;
        }
        let used = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1;
        let mut current: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CPU, &mut current) != 0 {
            return;
        }
        let soft = (used as u64).saturating_add(seconds.max(1));
        let soft = if current.rlim_max == libc::RLIM_INFINITY { soft } else { soft.min(current.rlim_max) };
        let l = libc::rlimit { rlim_cur: soft as libc::rlim_t, rlim_max: current.rlim_max };
        libc::setrlimit(libc::RLIMIT_CPU, &l);
    }
}
