//! Shared by the benchmarks: pin this process (and so every child) to one core, so clerk and the
//! tool it is compared with get the same machine.

pub fn to_one_core() {
    // SAFETY: a zeroed cpu_set_t with CPU 0 set, for this process (children inherit it).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
