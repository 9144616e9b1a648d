//! What the host arms around each call into a mod: the world pointer, the
//! callback's CPU deadline, and whether the call registered anything.
//!
//! [`Armed`] is shared, without locking the Lua state, by the host (which
//! arms and disarms it around every call), the `gsp` API (which reaches the
//! world through it and marks registrations) and the CPU-budget interrupt.
//!
//! The interrupt is a raw Luau callback ([`install`]). Luau calls it at
//! every loop back-edge, call and return; it only bumps a counter, and reads
//! the clock on one call in [`CLOCK_EVERY`]. Only once the deadline has
//! passed does it hand over to mlua's own interrupt, which raises "the
//! callback ran past its CPU budget" the way any Rust callback raises an
//! error. From then on every interrupt raises until the host disarms, so
//! `pcall` cannot swallow the stop.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bevy_ecs::world::World;
use mlua::{ffi, Lua};

/// The clock is read on one interrupt in this many: a hot loop pays a
/// counter bump per iteration and a clock read every 64th.
pub(crate) const CLOCK_EVERY: u32 = 64;

/// A deadline that never passes: no callback is running.
const UNARMED: u64 = u64::MAX;

type Interrupt = unsafe extern "C-unwind" fn(*mut ffi::lua_State, c_int);

/// Nanoseconds since the first call, the time base of deadlines.
fn nanos(at: Instant) -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(at.saturating_duration_since(epoch).as_nanos()).unwrap_or(UNARMED - 1)
}

/// One mod's call state (see the module docs).
pub(crate) struct Armed {
    /// The world while a callback runs, null otherwise.
    world: AtomicPtr<World>,
    /// When the running callback's budget ends ([`nanos`]), or [`UNARMED`].
    deadline: AtomicU64,
    /// Interrupts seen, to read the clock on one in [`CLOCK_EVERY`].
    checks: AtomicU32,
    /// Set once the deadline has passed: every interrupt raises from then on.
    tripped: AtomicBool,
    /// Set when the mod's code queued a registration for the host.
    registered: AtomicBool,
    /// The CPU budget of one callback.
    limit: Duration,
    /// mlua's interrupt for this state, which raises the budget error.
    stop: Interrupt,
}

impl Armed {
    /// Makes the world reachable and starts a budget that ends `limit`
    /// after `start`.
    pub(crate) fn arm(&self, world: &mut World, start: Instant) {
        self.world.store(world, Relaxed);
        self.deadline
            .store(nanos(start).saturating_add(self.limit_nanos()), Relaxed);
        self.tripped.store(false, Relaxed);
    }

    /// Ends the callback: the world is unreachable and no budget runs.
    pub(crate) fn disarm(&self) {
        self.world.store(std::ptr::null_mut(), Relaxed);
        self.deadline.store(UNARMED, Relaxed);
        self.tripped.store(false, Relaxed);
    }

    /// The world pointer, null outside a callback.
    pub(crate) fn world(&self) -> *mut World {
        self.world.load(Relaxed)
    }

    /// Lends the world and deadline of a running callback to this mod, for
    /// a call between mods; returns what it had, for [`Armed::restore`].
    pub(crate) fn lend(&self, from: &Armed) -> (*mut World, u64) {
        let world = self.world.swap(from.world(), Relaxed);
        let deadline = self.deadline.swap(from.deadline.load(Relaxed), Relaxed);
        (world, deadline)
    }

    /// Undoes [`Armed::lend`].
    pub(crate) fn restore(&self, (world, deadline): (*mut World, u64)) {
        self.world.store(world, Relaxed);
        self.deadline.store(deadline, Relaxed);
    }

    /// Marks that the mod's code queued a registration.
    pub(crate) fn note_registration(&self) {
        self.registered.store(true, Relaxed);
    }

    /// Whether a registration was queued since the last time this was asked.
    pub(crate) fn take_registered(&self) -> bool {
        // Load first: the common answer, "no", costs no write.
        self.registered.load(Relaxed) && self.registered.swap(false, Relaxed)
    }

    fn limit_nanos(&self) -> u64 {
        u64::try_from(self.limit.as_nanos()).unwrap_or(UNARMED - 1)
    }

    /// The interrupt's test: whether the running callback must stop.
    fn must_stop(&self) -> bool {
        let checks = self.checks.load(Relaxed).wrapping_add(1);
        self.checks.store(checks, Relaxed);
        let tripped = self.tripped.load(Relaxed);
        if !tripped && !checks.is_multiple_of(CLOCK_EVERY) {
            return false;
        }
        let deadline = self.deadline.load(Relaxed);
        if deadline == UNARMED {
            return false;
        }
        if tripped || nanos(Instant::now()) >= deadline {
            self.tripped.store(true, Relaxed);
            return true;
        }
        false
    }
}

/// Holds the state's [`Armed`] in its app data, so that the pointer the
/// interrupt reads lives exactly as long as the state.
struct KeepAlive {
    _armed: Arc<Armed>,
}

/// Installs the CPU-budget interrupt on `lua`, stopping callbacks that run
/// past `limit`, and returns the state's [`Armed`]. Call once per state.
pub(crate) fn install(lua: &Lua, limit: Duration) -> mlua::Result<Arc<Armed>> {
    let ms = limit.as_secs_f64() * 1000.0;
    let message = format!("stopped: the callback ran past its CPU budget of {ms} ms");
    // Only `budget_interrupt` calls this, and only to stop the callback.
    lua.set_interrupt(move |_| Err(mlua::Error::runtime(message.clone())));
    let mut stop = None;
    // SAFETY: the closure only reads the callback table of the live state
    // mlua hands it.
    unsafe {
        lua.exec_raw::<()>((), |state| {
            stop = (*ffi::lua_callbacks(state)).interrupt;
        })?;
    }
    let stop = stop.ok_or_else(|| mlua::Error::runtime("the Luau interrupt was not set"))?;
    let armed = Arc::new(Armed {
        world: AtomicPtr::new(std::ptr::null_mut()),
        deadline: AtomicU64::new(UNARMED),
        checks: AtomicU32::new(0),
        tripped: AtomicBool::new(false),
        registered: AtomicBool::new(false),
        limit,
        stop,
    });
    lua.set_app_data(KeepAlive {
        _armed: armed.clone(),
    });
    let data = Arc::as_ptr(&armed).cast_mut().cast::<c_void>();
    // SAFETY: `data` points to the `Armed` kept alive by the state's app
    // data (dropped only after mlua has cleared the interrupt and closed
    // the state). mlua does not use thread data itself; the main thread's
    // is ours. Replacing the interrupt pointer is what `Lua::set_interrupt`
    // does; mlua's callback stays registered, and `budget_interrupt` calls
    // it to raise.
    unsafe {
        lua.exec_raw::<()>((), |state| {
            ffi::lua_setthreaddata(ffi::lua_mainthread(state), data);
            (*ffi::lua_callbacks(state)).interrupt = Some(budget_interrupt);
        })?;
    }
    Ok(armed)
}

/// The raw Luau interrupt (see the module docs).
unsafe extern "C-unwind" fn budget_interrupt(state: *mut ffi::lua_State, gc: c_int) {
    if gc >= 0 {
        // A GC step, not a safepoint of the mod's code (mlua ignores these too).
        return;
    }
    // SAFETY: Luau passes a live thread of the state this interrupt was
    // installed on; its main thread's data is that state's `Armed` (set in
    // `install`, alive as long as the state), or null.
    let armed = unsafe { ffi::lua_getthreaddata(ffi::lua_mainthread(state)) }.cast::<Armed>();
    // SAFETY: see above; only shared access, through atomics.
    let Some(armed) = (unsafe { armed.as_ref() }) else {
        return;
    };
    if armed.must_stop() {
        // SAFETY: `stop` is the interrupt mlua installed on this very state,
        // called as Luau would call it (a live thread, gc < 0); it raises a
        // Lua error, and this frame holds nothing that needs dropping.
        unsafe { (armed.stop)(state, gc) }
    }
}
