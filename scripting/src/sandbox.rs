//! One sandboxed Lua state per mod.
//!
//! Each mod gets a Luau state of its own, so no mod can reach another's
//! globals, functions or storage; calls between mods copy plain data
//! ([`crate::value`]). In that state:
//!
//! - only the safe libraries are loaded (string, table, math, utf8, bit32,
//!   buffer, vector, coroutine and Luau's `os` with `clock`, `date` and
//!   `time`); there is no `io`, no `debug`, no `loadstring`, no `getfenv` or
//!   `setfenv`, and source is compiled as text only, never as bytecode;
//! - `require` loads `.luau` or `.lua` files from the mod's own folder only;
//! - Luau's sandbox mode makes the built-in libraries, their metatables and
//!   the global table read-only (a mod's own globals live in its own
//!   environment);
//! - memory is capped ([`Limits::memory`]), and an interrupt (the crate's
//!   `armed` module) stops any callback that runs past [`Limits::callback`].

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mlua::chunk::{ChunkMode, Compiler};
use mlua::{Lua, LuaOptions, StdLib, Table, Value};

use crate::api::{self, Links, ModCtx, Pending, STORAGE_KEY};
use crate::armed::{self, Armed};
use crate::manifest::ModSource;
use crate::value::{from_plain, Plain};

/// Limits on what one mod may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// CPU time one callback may run before it is stopped (default 5 ms).
    pub callback: Duration,
    /// Memory one mod's Lua state may hold (default 64 MiB).
    pub memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            callback: Duration::from_millis(5),
            memory: 64 << 20,
        }
    }
}

/// Globals removed before the sandbox is sealed.
const REMOVED_GLOBALS: [&str; 8] = [
    "loadstring",
    "getfenv",
    "setfenv",
    "require",
    "newproxy",
    "gcinfo",
    "debug",
    "dofile",
];

/// The name errors show for a file of `source`: "mods/doors/init.lua".
pub(crate) fn chunk_name(source: &ModSource, file: &str) -> String {
    let root = source
        .dir
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mods".into());
    format!("{root}/{}/{file}", source.manifest.name)
}

/// Makes the sandboxed state of `source`, with `storage` restored into
/// `gsp.storage`, and the [`Armed`] the host arms around calls into it.
/// Nothing of the mod has run yet.
pub(crate) fn new_state(
    source: &ModSource,
    links: Arc<Links>,
    limits: Limits,
    storage: Option<&Plain>,
) -> mlua::Result<(Lua, Arc<Armed>)> {
    let libs = StdLib::COROUTINE
        | StdLib::TABLE
        | StdLib::OS
        | StdLib::STRING
        | StdLib::UTF8
        | StdLib::BIT
        | StdLib::MATH
        | StdLib::BUFFER
        | StdLib::VECTOR;
    let lua = Lua::new_with(libs, LuaOptions::new())?;
    let globals = lua.globals();
    for name in REMOVED_GLOBALS {
        globals.raw_set(name, Value::Nil)?;
    }
    let storage = match storage {
        Some(plain @ Plain::Table(_)) => from_plain(&lua, plain)?,
        _ => Value::Table(lua.create_table()?),
    };
    lua.set_named_registry_value(STORAGE_KEY, storage)?;
    let armed = armed::install(&lua, limits.callback)?;
    lua.set_app_data(ModCtx {
        name: Arc::from(source.manifest.name.as_str()),
        source: source.clone(),
        armed: armed.clone(),
        pending: Pending::default(),
        links,
        next_timer: 0,
    });
    globals.raw_set("gsp", api::gsp_table(&lua)?)?;
    globals.raw_set("print", lua.create_function(api::log)?)?;
    globals.raw_set("require", require_function(&lua, source)?)?;
    // In sandbox mode Luau resolves global paths such as `gsp.storage.n`
    // once, when a chunk loads. `gsp.storage` and `gsp.exports` change, so
    // paths through `gsp` are looked up every time instead.
    lua.set_compiler(Compiler::new().set_mutable_globals(["gsp"]));
    lua.sandbox(true)?;
    lua.set_memory_limit(limits.memory)?;
    Ok((lua, armed))
}

/// Runs the file `file` of `source` in `lua` and returns what it returns.
pub(crate) fn run_file(lua: &Lua, source: &ModSource, file: &str) -> mlua::Result<Value> {
    let path = source.dir.join(file);
    let text = std::fs::read(&path).map_err(|e| {
        mlua::Error::runtime(format!("cannot read {}: {e}", chunk_name(source, file)))
    })?;
    lua.load(text)
        .set_name(format!("@{}", chunk_name(source, file)))
        .set_mode(ChunkMode::Text)
        .eval::<Value>()
}

/// Turns a `require` argument into a file inside the mod's folder.
fn module_file(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let trimmed = name.strip_prefix("./").unwrap_or(name);
    let well_formed = !trimmed.is_empty()
        && trimmed.len() <= 128
        && trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    let rel = Path::new(trimmed);
    if !well_formed || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!(
            "require(\"{name}\"): modules are files inside the mod's own folder, named like \"util\" or \"lib/util\""
        ));
    }
    let candidates = if trimmed.ends_with(".lua") || trimmed.ends_with(".luau") {
        vec![dir.join(rel)]
    } else {
        vec![
            dir.join(format!("{trimmed}.luau")),
            dir.join(format!("{trimmed}.lua")),
        ]
    };
    let root = dir
        .canonicalize()
        .map_err(|e| format!("require(\"{name}\"): {e}"))?;
    for candidate in candidates {
        if let Ok(real) = candidate.canonicalize() {
            // A symlink must not lead out of the folder either.
            if real.starts_with(&root) && real.is_file() {
                return Ok(real);
            }
            return Err(format!(
                "require(\"{name}\"): the file is outside the mod's folder"
            ));
        }
    }
    Err(format!(
        "require(\"{name}\"): no such module in the mod's folder"
    ))
}

fn require_function(lua: &Lua, source: &ModSource) -> mlua::Result<mlua::Function> {
    let source = source.clone();
    let cache: Table = lua.create_table()?;
    let loading: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
    lua.create_function(move |lua, name: String| {
        let path = module_file(&source.dir, &name).map_err(|e| api::api_error(lua, e))?;
        let key = path.to_string_lossy().into_owned();
        let cached: Value = cache.raw_get(key.as_str())?;
        if !cached.is_nil() {
            return Ok(cached);
        }
        if !loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.clone())
        {
            return Err(api::api_error(
                lua,
                format!("require(\"{name}\"): modules require each other in a cycle"),
            ));
        }
        let root = source
            .dir
            .canonicalize()
            .unwrap_or_else(|_| source.dir.clone());
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let result = run_file(lua, &source, &rel);
        loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&path);
        let value = match result? {
            Value::Nil => Value::Boolean(true),
            v => v,
        };
        cache.raw_set(key, value.clone())?;
        Ok(value)
    })
}

#[cfg(test)]
mod tests {
    use super::module_file;

    #[test]
    fn require_stays_inside_the_mod_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/util.lua"), "return 1").unwrap();
        assert!(module_file(dir.path(), "lib/util").is_ok());
        assert!(module_file(dir.path(), "./lib/util.lua").is_ok());
        for bad in ["../x", "/etc/passwd", "lib/../../x", "", "a b", "missing"] {
            assert!(module_file(dir.path(), bad).is_err(), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hostname", dir.path().join("escape.lua")).unwrap();
            let e = module_file(dir.path(), "escape").unwrap_err();
            assert!(e.contains("outside"), "{e}");
        }
    }
}
