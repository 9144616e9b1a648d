//! Mods in a world stepped by hand: the sandbox, limits, quarantine, hot
//! reload, commands, events and calls between mods.

use std::path::Path;
use std::time::{Duration, Instant};

use gsp_engine::{GameWorld, GatewayKind, Outbound, Session, TextEvent, WorldConfig, WorldMap};
use gsp_scripting::{discover, install, ModState, Plain, ScriptConfig, ScriptHost};

struct Harness {
    world: GameWorld,
    _dir: Option<tempfile::TempDir>,
}

/// Writes `mods` (name, [(file, text)]) into a temporary mods folder.
fn mods_dir(mods: &[(&str, &[(&str, &str)])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mods");
    for (name, files) in mods {
        let m = root.join(name);
        std::fs::create_dir_all(&m).unwrap();
        let has_manifest = files.iter().any(|(f, _)| *f == "mod.toml");
        if !has_manifest {
            std::fs::write(
                m.join("mod.toml"),
                format!(
                    "name = \"{name}\"\nversion = \"0.1.0\"\npermissions = [\"commands\", \"entities\", \"broadcast\"]\n"
                ),
            )
            .unwrap();
        }
        for (file, text) in *files {
            let path = m.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    dir
}

impl Harness {
    fn with_dir(root: &Path, config: ScriptConfig, dir: Option<tempfile::TempDir>) -> Harness {
        let mut world = GameWorld::new(WorldConfig::default(), WorldMap::default_world());
        install(&mut world, discover(root).unwrap(), config);
        Harness { world, _dir: dir }
    }

    fn new(mods: &[(&str, &[(&str, &str)])]) -> Harness {
        Harness::with_config(mods, ScriptConfig::default())
    }

    fn with_config(mods: &[(&str, &[(&str, &str)])], config: ScriptConfig) -> Harness {
        let dir = mods_dir(mods);
        let root = dir.path().join("mods");
        Harness::with_dir(&root, config, Some(dir))
    }

    fn root(&self) -> std::path::PathBuf {
        self._dir.as_ref().unwrap().path().join("mods")
    }

    fn host(&self) -> &ScriptHost {
        self.world.world().resource::<ScriptHost>()
    }

    fn storage(&self, name: &str, key: &str) -> Plain {
        match self.host().storage(name) {
            Some(Plain::Table(pairs)) => pairs
                .into_iter()
                .find(|(k, _)| *k == Plain::String(key.as_bytes().to_vec()))
                .map(|(_, v)| v)
                .unwrap_or(Plain::Nil),
            other => panic!("storage of {name}: {other:?}"),
        }
    }

    fn last_error(&self, name: &str) -> String {
        self.host()
            .reports()
            .into_iter()
            .find(|r| r.name == name)
            .and_then(|r| r.last_error)
            .unwrap_or_default()
    }

    fn join(&mut self, name: &str) -> Session {
        self.world
            .join_stepping(name, GatewayKind::Telnet)
            .expect("join")
    }

    fn steps(&mut self, n: usize) {
        for _ in 0..n {
            self.world.step();
        }
    }

    /// Types `line` and returns the text read over the next few ticks.
    fn type_line(&mut self, who: &mut Session, line: &str) -> String {
        who.sender.command(line).unwrap();
        self.steps(3);
        read(who)
    }
}

fn read(who: &mut Session) -> String {
    let mut out = String::new();
    while let Ok(m) = who.receiver.try_recv() {
        if let Outbound::Text(e) = m {
            out.push_str(&gsp_engine::text::render_plain(&e));
            out.push('\n');
        }
    }
    out
}

fn text(s: &str) -> Plain {
    Plain::String(s.as_bytes().to_vec())
}

/// Each attempt runs in `pcall` at load and stores whether it failed and why.
const PROBE: &str = r#"
local function probe(name, f)
    local ok, err = pcall(f)
    gsp.storage[name] = if ok then "escaped" else tostring(err)
end
"#;

#[test]
fn sandbox_escapes_fail_safely() {
    let escapes = format!(
        "{PROBE}
probe('io', function() return io.open('/etc/passwd') end)
probe('os_execute', function() return os.execute('touch /tmp/gsp-escaped') end)
probe('os_getenv', function() return os.getenv('HOME') end)
probe('debug', function() return debug.getinfo(1) end)
probe('loadstring', function() return loadstring('return 1')() end)
probe('bytecode', function() return require('evil') end)
probe('getfenv', function() return getfenv(1) end)
probe('setfenv', function() return setfenv(1, {{}}) end)
probe('string_lib', function() string.upper = function() return 'pwned' end end)
probe('string_meta', function() getmetatable('').__index = {{}} end)
probe('gsp_table', function() gsp.on = nil end)
probe('require_up', function() return require('../other/init') end)
probe('require_abs', function() return require('/etc/passwd') end)
probe('other_mod_env', function() assert(secret == nil and _G.secret == nil) error('not visible') end)
probe('other_mod_storage', function() return gsp.mod('victim').storage() end)
probe('pass_function', function() return gsp.call('victim', 'echo', print) end)
probe('rep_bomb', function() return string.rep('x', 2^30) end)
"
    );
    // A file of Luau bytecode (version byte, then garbage) offered to require.
    let bytecode = "\u{6}\u{3}\u{1}\u{0}evil bytecode";
    let mut h = Harness::new(&[
        (
            "victim",
            &[(
                "init.lua",
                "secret = 42\ngsp.storage.secret = 'hidden'\ngsp.exports.echo = function(x) return x end",
            )],
        ),
        (
            "attacker",
            &[
                (
                    "mod.toml",
                    "name = \"attacker\"\nversion = \"1\"\ndependencies = [\"victim\"]\n",
                ),
                ("init.lua", escapes.as_str()),
                ("evil.lua", bytecode),
            ],
        ),
    ]);
    h.steps(2);
    assert_eq!(
        h.host().state("attacker"),
        Some(ModState::Running),
        "{}",
        h.last_error("attacker")
    );
    let expect = [
        ("io", "attempt to index nil"),
        ("os_execute", "attempt to call a nil value"),
        ("os_getenv", "attempt to call a nil value"),
        ("debug", "attempt to index nil"),
        ("loadstring", "attempt to call a nil value"),
        ("bytecode", "attempt to load a binary chunk"),
        ("getfenv", "attempt to call a nil value"),
        ("setfenv", "attempt to call a nil value"),
        ("string_lib", "readonly"),
        ("string_meta", "readonly"),
        ("gsp_table", "readonly"),
        ("require_up", "inside the mod's own folder"),
        ("require_abs", "inside the mod's own folder"),
        ("other_mod_env", "not visible"),
        ("other_mod_storage", "exports no function `storage`"),
        ("pass_function", "cannot be copied"),
        ("rep_bomb", ""),
    ];
    for (probe, needle) in expect {
        let Plain::String(got) = h.storage("attacker", probe) else {
            panic!("{probe}: no result");
        };
        let got = String::from_utf8_lossy(&got).into_owned();
        assert_ne!(got, "escaped", "{probe} escaped the sandbox");
        assert!(got.contains(needle), "{probe}: {got}");
    }
    assert!(!Path::new("/tmp/gsp-escaped").exists());
    // The library the attacker tried to change is intact for it and the victim.
    assert_eq!(h.storage("victim", "secret"), text("hidden"));
}

#[test]
fn runaway_callbacks_are_stopped_and_the_world_keeps_ticking() {
    let mut h = Harness::new(&[
        (
            "loop",
            &[(
                "init.lua",
                "gsp.command('spin', 'spin', function() while true do end end)\n\
                 gsp.command('sneaky', 'sneaky', function() while true do pcall(function() while true do end end) end end)",
            )],
        ),
        (
            "bomb",
            &[(
                "init.lua",
                "gsp.command('bomb', 'bomb', function() local s = 'x' while true do s = s .. s end end)",
            )],
        ),
        (
            "deep",
            &[(
                "init.lua",
                "local function f(n) return f(n + 1) + 1 end\ngsp.command('recurse', 'recurse', function() f(1) end)",
            )],
        ),
        (
            "witness",
            &[(
                "init.lua",
                "gsp.storage.ticks = 0\ngsp.on('tick', function() gsp.storage.ticks += 1 end)",
            )],
        ),
    ]);
    let mut ada = h.join("ada");
    for (command, owner, needle) in [
        ("spin", "loop", "CPU budget of 5 ms"),
        ("sneaky", "loop", "CPU budget of 5 ms"),
        ("bomb", "bomb", "out of memory"),
        // Whichever comes first: the stack limit or the CPU budget.
        ("recurse", "deep", "st"),
    ] {
        let started = Instant::now();
        let out = h.type_line(&mut ada, command);
        let took = started.elapsed();
        assert!(out.contains("Something went wrong"), "{command}: {out}");
        let error = h.last_error(owner);
        assert!(error.contains(needle), "{command}: {error}");
        if command == "recurse" {
            assert!(
                error.contains("stack overflow") || error.contains("CPU budget"),
                "{error}"
            );
        }
        assert!(
            error.contains(&format!("`{command}` command")),
            "{command}: {error}"
        );
        // Generous: the point is that it ends, not how fast.
        assert!(took < Duration::from_secs(5), "{command} took {took:?}");
    }
    let Plain::Number(before) = h.storage("witness", "ticks") else {
        panic!()
    };
    h.steps(10);
    let Plain::Number(after) = h.storage("witness", "ticks") else {
        panic!()
    };
    assert_eq!(after - before, 10.0, "the other mods kept running");
    assert_eq!(h.host().state("witness"), Some(ModState::Running));
}

#[test]
fn tight_loops_and_loops_of_calls_are_both_interrupted() {
    let config = ScriptConfig {
        quarantine_errors: 100,
        ..ScriptConfig::default()
    };
    let mut h = Harness::with_config(&[
        (
            "spinner",
            &[(
                "init.lua",
                "local function nothing() return 1 end\n\
                 gsp.command('numeric', 'numeric', function() local x = 0 for i = 1, math.huge do x += i end end)\n\
                 gsp.command('calls', 'calls', function() while true do nothing() end end)\n\
                 gsp.command('api', 'api', function() while true do gsp.tick() end end)\n\
                 gsp.command('coroutine', 'coroutine', function() coroutine.wrap(function() while true do end end)() end)\n\
                 gsp.command('across', 'across', function() gsp.call('looper', 'spin') end)\n\
                 gsp.command('swallow', 'swallow', function()\n\
                   for i = 1, 1000 do pcall(gsp.call, 'looper', 'spin') end\n\
                   gsp.storage.after = 'reached'\n\
                 end)",
            )],
        ),
        (
            "looper",
            &[(
                "init.lua",
                "gsp.exports.spin = function() while true do end end",
            )],
        ),
        (
            "witness",
            &[(
                "init.lua",
                "gsp.storage.ticks = 0\ngsp.on('tick', function() gsp.storage.ticks += 1 end)",
            )],
        ),
    ], config);
    let mut ada = h.join("ada");
    for command in ["numeric", "calls", "api", "coroutine", "across", "swallow"] {
        let started = Instant::now();
        let out = h.type_line(&mut ada, command);
        let took = started.elapsed();
        assert!(out.contains("Something went wrong"), "{command}: {out}");
        let error = h.last_error("spinner");
        assert!(error.contains("CPU budget of 5 ms"), "{command}: {error}");
        assert!(
            error.contains(&format!("`{command}` command")),
            "{command}: {error}"
        );
        // Generous: the point is that it ends, not how fast.
        assert!(took < Duration::from_secs(5), "{command} took {took:?}");
    }
    // The caller's budget ran out inside the callee, and the caller, which
    // kept calling under `pcall`, was stopped too.
    assert_eq!(h.storage("spinner", "after"), Plain::Nil);
    // The errors are the caller's: the mod it called is unharmed.
    assert_eq!(h.host().state("looper"), Some(ModState::Running));
    assert_eq!(h.last_error("looper"), "");
    let Plain::Number(before) = h.storage("witness", "ticks") else {
        panic!()
    };
    h.steps(10);
    let Plain::Number(after) = h.storage("witness", "ticks") else {
        panic!()
    };
    assert_eq!(after - before, 10.0, "the other mods kept running");
}

#[test]
fn a_runaway_event_handler_is_stopped_every_tick_until_quarantined() {
    let mut h = Harness::new(&[
        (
            "hog",
            &[(
                "init.lua",
                "gsp.on('tick', function() local t = {} while true do t[1] = gsp.tick() end end)",
            )],
        ),
        (
            "witness",
            &[(
                "init.lua",
                "gsp.storage.ticks = 0\ngsp.on('tick', function() gsp.storage.ticks += 1 end)",
            )],
        ),
    ]);
    let Plain::Number(before) = h.storage("witness", "ticks") else {
        panic!()
    };
    h.steps(8);
    let Plain::Number(after) = h.storage("witness", "ticks") else {
        panic!()
    };
    assert_eq!(after - before, 8.0, "the witness ran every tick");
    assert_eq!(h.host().state("hog"), Some(ModState::Quarantined));
    let error = h.last_error("hog");
    assert!(error.contains("CPU budget of 5 ms"), "{error}");
    assert!(error.contains("`tick` handler"), "{error}");
}

#[test]
fn errors_name_mod_file_and_line_and_a_failing_mod_is_quarantined() {
    let mut h = Harness::with_config(
        &[(
            "flaky",
            &[
                (
                    "init.lua",
                    "local helper = require('lib/helper')\n\
                     gsp.command('flaky', 'flaky', function() end)\n\
                     gsp.on('tick', function(t) helper.fail(t) end)",
                ),
                (
                    "lib/helper.lua",
                    "local m = {}\nfunction m.fail(t)\n  error('broken at tick ' .. t)\nend\nreturn m",
                ),
            ],
        )],
        ScriptConfig {
            quarantine_errors: 3,
            ..ScriptConfig::default()
        },
    );
    h.steps(1);
    let error = h.last_error("flaky");
    assert!(
        error.contains(
            "mod `flaky`, in the `tick` handler: mods/flaky/lib/helper.lua:3: broken at tick"
        ),
        "{error}"
    );
    h.steps(5);
    assert_eq!(h.host().state("flaky"), Some(ModState::Quarantined));
    let errors = h.host().reports()[0].errors;
    h.steps(5);
    assert_eq!(
        h.host().reports()[0].errors,
        errors,
        "no more calls once quarantined"
    );
    let status = h.world.stats().mods();
    assert_eq!(status[0].state, "quarantined");
    assert!(status[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("helper.lua:3"));
    let mut ada = h.join("ada");
    let out = h.type_line(&mut ada, "flaky");
    assert!(
        out.contains("'flaky' is unavailable: its mod `flaky` is quarantined"),
        "{out}"
    );
}

#[test]
fn a_mod_that_fails_to_load_is_reported_and_its_dependents_skipped() {
    let h = Harness::new(&[
        ("broken", &[("init.lua", "local x = = 1")]),
        (
            "needs",
            &[
                (
                    "mod.toml",
                    "name = \"needs\"\nversion = \"1\"\ndependencies = [\"broken\"]\n",
                ),
                ("init.lua", ""),
            ],
        ),
        ("fine", &[("init.lua", "gsp.storage.ok = true")]),
    ]);
    assert_eq!(h.host().state("broken"), Some(ModState::Failed));
    assert!(
        h.last_error("broken").contains("mods/broken/init.lua:1"),
        "{}",
        h.last_error("broken")
    );
    assert_eq!(h.host().state("needs"), Some(ModState::Failed));
    assert!(h.last_error("needs").contains("dependency `broken`"));
    assert_eq!(h.host().state("fine"), Some(ModState::Running));
}

#[test]
fn hot_reload_keeps_storage_and_replaces_commands_and_entities() {
    let v1 = "gsp.storage.n = gsp.storage.n or 0\n\
              gsp.spawn('crate', {x = 2, y = 0.5, z = 2})\n\
              gsp.command('version', 'version', function(ctx) ctx:reply('version v1') end)\n\
              gsp.command('count', 'count', function(ctx) gsp.storage.n += 1 ctx:reply('v1 n=' .. gsp.storage.n) end)";
    let mut h = Harness::new(&[("counter", &[("init.lua", v1)])]);
    let root = h.root();
    let changes =
        gsp_scripting::watch::spawn(vec![("counter".into(), root.join("counter"))]).unwrap();
    h.world
        .world_mut()
        .resource_mut::<ScriptHost>()
        .watch(changes);
    let mut ada = h.join("ada");
    let entities = h.world.entity_count();
    for i in 1..=3 {
        assert!(h
            .type_line(&mut ada, "count")
            .contains(&format!("v1 n={i}")));
    }
    let v2 = v1.replace("v1", "v2");
    std::fs::write(root.join("counter/init.lua"), v2).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !h.type_line(&mut ada, "version").contains("v2") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let reply = h.type_line(&mut ada, "count");
    assert!(
        reply.contains("v2 n=4"),
        "storage survived the reload: {reply:?}"
    );
    assert_eq!(
        h.world.entity_count(),
        entities,
        "the old crate went with the old version"
    );

    // A broken save leaves the mod failed, and the next good one brings it back.
    std::fs::write(root.join("counter/init.lua"), "this is not lua").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.host().state("counter") != Some(ModState::Failed) && Instant::now() < deadline {
        h.steps(1);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(h.host().state("counter"), Some(ModState::Failed));
    let out = h.type_line(&mut ada, "count");
    assert!(out.contains("Unknown command 'count'"), "{out}");
    std::fs::write(root.join("counter/init.lua"), v1).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.host().state("counter") != Some(ModState::Running) && Instant::now() < deadline {
        h.steps(1);
        std::thread::sleep(Duration::from_millis(20));
    }
    let reply = h.type_line(&mut ada, "count");
    assert!(reply.contains("v1 n=5"), "{reply}");
}

#[test]
fn events_timers_commands_and_calls_between_mods() {
    let recorder = "gsp.storage.log = {}\n\
        local function note(s) table.insert(gsp.storage.log, s) end\n\
        gsp.on('player_join', function(p) note('join ' .. p.name) end)\n\
        gsp.on('enter_room', function(p, room, from) note('enter ' .. p.name .. ' ' .. room .. ' ' .. tostring(from)) end)\n\
        gsp.on('leave_room', function(p, room, to) note('leave ' .. p.name .. ' ' .. room .. ' ' .. tostring(to)) end)\n\
        gsp.on('say', function(p, text, room) note('say ' .. p.name .. ' ' .. text .. ' ' .. room) end)\n\
        gsp.on('player_leave', function(p, name) note('quit ' .. name) end)\n\
        gsp.storage.every = 0\n\
        gsp.every(2, function() gsp.storage.every += 1 end)\n\
        gsp.after(0.1, function() gsp.storage.after = gsp.tick() end)\n\
        gsp.exports.double = function(x) return x * 2, {nested = {x}} end\n\
        gsp.command('where', 'where                 say where you are', function(ctx, args)\n\
          local p = ctx.player:position()\n\
          ctx:reply(ctx.player.name .. ' is in ' .. ctx.player:room() .. ' at y=' .. p.y .. ' args=[' .. args .. ']')\n\
        end)";
    let caller = "gsp.command('double', 'double <n>', function(ctx, args)\n\
          local n, t = gsp.mod('recorder').double(tonumber(args))\n\
          ctx:reply('double=' .. n .. ' nested=' .. t.nested[1])\n\
        end)";
    let mut h = Harness::new(&[
        ("recorder", &[("init.lua", recorder)]),
        (
            "caller",
            &[
                (
                    "mod.toml",
                    "name = \"caller\"\nversion = \"1\"\ndependencies = [\"recorder\"]\npermissions = [\"commands\"]\n",
                ),
                ("init.lua", caller),
            ],
        ),
    ]);
    let mut ada = h.join("ada");
    h.steps(1);
    let out = h.type_line(&mut ada, "where   now ");
    assert!(out.contains("ada is in plaza at y=0 args=[now]"), "{out}");
    let out = h.type_line(&mut ada, "double 21");
    assert!(out.contains("double=42 nested=21"), "{out}");
    let help = h.type_line(&mut ada, "help");
    assert!(
        help.contains("where                 say where you are"),
        "{help}"
    );
    h.type_line(&mut ada, "say hello there");
    h.type_line(&mut ada, "north");
    h.type_line(&mut ada, "quit");
    h.steps(3);
    let Plain::Table(log) = h.storage("recorder", "log") else {
        panic!()
    };
    let mut lines: Vec<(f64, String)> = log
        .into_iter()
        .map(|(k, v)| match (k, v) {
            (Plain::Number(i), Plain::String(s)) => (i, String::from_utf8(s).unwrap()),
            other => panic!("{other:?}"),
        })
        .collect();
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let lines: Vec<String> = lines.into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        lines,
        [
            "join ada",
            "enter ada plaza nil",
            "say ada hello there plaza",
            "leave ada plaza tavern",
            "enter ada tavern plaza",
            "quit ada",
        ]
    );
    let Plain::Number(every) = h.storage("recorder", "every") else {
        panic!()
    };
    let ticks = h.world.tick() as f64;
    assert!(
        (every - (ticks / 2.0).floor()).abs() <= 1.0,
        "every={every} ticks={ticks}"
    );
    assert_eq!(
        h.storage("recorder", "after"),
        Plain::Number(3.0),
        "0.1 s at 30 Hz"
    );
}

#[test]
fn permissions_are_enforced_and_builtins_cannot_be_replaced() {
    let h = Harness::new(&[
        (
            "meek",
            &[
                ("mod.toml", "name = \"meek\"\nversion = \"1\"\n"),
                (
                    "init.lua",
                    &format!(
                        "{PROBE}\nprobe('spawn', function() gsp.spawn('ball', {{x=0,y=1,z=0}}) end)\n\
                         probe('command', function() gsp.command('x', 'x', function() end) end)\n\
                         probe('broadcast', function() gsp.broadcast('hi') end)"
                    ),
                ),
            ],
        ),
        (
            "bold",
            &[(
                "init.lua",
                &format!("{PROBE}\nprobe('look', function() gsp.command('look', 'mine', function() end) end)"),
            )],
        ),
    ]);
    for (probe, needle) in [
        ("spawn", "lacks the `entities` permission"),
        ("command", "lacks the `commands` permission"),
        ("broadcast", "lacks the `broadcast` permission"),
    ] {
        let Plain::String(got) = h.storage("meek", probe) else {
            panic!()
        };
        let got = String::from_utf8_lossy(&got).into_owned();
        assert!(got.contains(needle), "{probe}: {got}");
        assert!(
            got.contains("mods/meek/init.lua:"),
            "errors name file and line: {got}"
        );
    }
    let Plain::String(got) = h.storage("bold", "look") else {
        panic!()
    };
    assert!(String::from_utf8_lossy(&got).contains("built-in command"));
}

#[test]
fn the_shipped_mods_load_and_greet() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mods");
    let mut h = Harness::with_dir(&root, ScriptConfig::default(), None);
    for report in h.host().reports() {
        assert_eq!(report.state, "running", "{report:?}");
    }
    let names: Vec<String> = h.host().reports().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["core", "doors", "football"]);
    let mut ada = h.join("ada");
    h.steps(30);
    let out = read(&mut ada);
    assert!(
        out.contains("Old Tom says, \"Welcome to town, ada!"),
        "{out}"
    );
    let out = h.type_line(&mut ada, "score");
    assert!(out.contains("No goals yet"), "{out}");
    let out = h.type_line(&mut ada, "use");
    assert!(out.contains("There is nothing here to use."), "{out}");
    h.type_line(&mut ada, "east");
    let out = h.type_line(&mut ada, "use door");
    assert!(out.contains("You open the shed door."), "{out}");
    let out = h.type_line(&mut ada, "rooms");
    assert!(
        out.contains("tavern") && out.contains("The Prancing Pony"),
        "{out}"
    );
    let _ = TextEvent::Info(String::new());
}

#[test]
fn persistent_props_attributes_and_storage_survive_a_restart() {
    use gsp_engine::components::{Persistent, Position};
    use gsp_engine::{Persist, PersistSink, SavedWorld};

    let dir = mods_dir(&[(
        "keeper",
        &[(
            "init.lua",
            r#"
            gsp.storage.boots = (gsp.storage.boots or 0) + 1
            gsp.storage.log = gsp.storage.log or {}
            table.insert(gsp.storage.log, "boot " .. gsp.storage.boots)
            local box = gsp.spawn("crate", { x = 2, y = 0.5, z = 2 }, { key = "box" })
            if box:get("colour") == nil then box:set("colour", "red") end
            gsp.exports.box = function() return box end
            gsp.command("paint", "paint <colour>", function(ctx, args)
                box:set("colour", args)
                ctx.player:set("painted", (ctx.player:get("painted") or 0) + 1)
            end)
            "#,
        )],
    )]);
    let root = dir.path().join("mods");
    let boot = |saved: &SavedWorld| {
        let mut world = GameWorld::new(WorldConfig::default(), WorldMap::default_world());
        let (tx, rx) = crossbeam_channel::bounded(16);
        world.enable_saves(PersistSink { tx }, 0);
        world.restore(saved);
        install(
            &mut world,
            discover(&root).unwrap(),
            ScriptConfig::default(),
        );
        (world, rx)
    };

    // First life: the box is spawned, painted blue and moved; the world saves.
    let (mut world, rx) = boot(&SavedWorld::default());
    let ada = world.join_stepping("ada", GatewayKind::Telnet).unwrap();
    ada.sender.command("paint blue").unwrap();
    // Typed in one tick's rules, run by the mod in the next tick's scripts.
    world.step();
    world.step();
    let painted: Vec<serde_json::Value> = world
        .world_mut()
        .query::<(
            &gsp_engine::components::Avatar,
            &gsp_engine::components::Attributes,
        )>()
        .iter(world.world())
        .filter(|(a, _)| a.name == "ada")
        .filter_map(|(_, attrs)| attrs.0.get("painted").cloned())
        .collect();
    assert_eq!(
        painted,
        vec![serde_json::json!(1)],
        "the player's own attribute"
    );
    let (entity, _) = world
        .world_mut()
        .query::<(bevy_ecs::entity::Entity, &Persistent)>()
        .iter(world.world())
        .find(|(_, p)| &*p.key == "keeper:box")
        .expect("the box is persistent under the mod's key");
    world.world_mut().get_mut::<Position>(entity).unwrap().0.x = 7.0;
    assert!(world.save_now(true));
    let save = rx
        .try_iter()
        .find_map(|m| match m {
            Persist::World(s) => Some(s),
            _ => None,
        })
        .unwrap();
    let record = save
        .upserts
        .iter()
        .find(|r| &*r.key == "keeper:box")
        .unwrap();
    assert_eq!(record.attributes["colour"], "blue");
    assert_eq!(record.position.x, 7.0);
    let storage = &save
        .mod_storage
        .iter()
        .find(|(m, _)| m == "keeper")
        .unwrap()
        .1;
    assert_eq!(*storage, serde_json::json!({"boots": 1, "log": ["boot 1"]}));
    drop(ada);

    // Second life, from that save: the same box where it was, still blue,
    // and the mod's storage goes on counting.
    let (mut world, _rx) = boot(&SavedWorld {
        generation: 1,
        tick: save.tick,
        entities: save.upserts.clone(),
        mod_storage: save.mod_storage.clone(),
    });
    world.step();
    let boxes: Vec<(f32, Option<serde_json::Value>)> = world
        .world_mut()
        .query::<(
            &Persistent,
            &Position,
            Option<&gsp_engine::components::Attributes>,
        )>()
        .iter(world.world())
        .map(|(_, p, a)| (p.0.x, a.and_then(|a| a.0.get("colour").cloned())))
        .collect();
    assert_eq!(boxes, vec![(7.0, Some(serde_json::json!("blue")))]);
    let host = world.world().resource::<ScriptHost>();
    let storage = gsp_scripting::value::to_json(&host.storage("keeper").unwrap());
    assert_eq!(
        storage,
        serde_json::json!({"boots": 2, "log": ["boot 1", "boot 2"]})
    );
}

#[test]
fn gsp_gmcp_sends_structured_data_to_one_player() {
    let vitals = "gsp.command('vitals', 'vitals', function(ctx, args)\n\
          gsp.gmcp(ctx.player, 'Char.Vitals', {hp = 10, maxhp = 12, name = ctx.player.name})\n\
          local ok, err = pcall(gsp.gmcp, ctx.player, 'Core.Hello', {})\n\
          ctx:reply('core: ' .. tostring(err))\n\
          ok, err = pcall(gsp.gmcp, ctx.player, 'nodot', {})\n\
          ctx:reply('bad: ' .. tostring(err))\n\
          ok, err = pcall(gsp.gmcp, ctx.player, 'Big.Data', string.rep('x', 20000))\n\
          ctx:reply('big: ' .. tostring(err))\n\
        end)";
    let mut h = Harness::new(&[("vitals", &[("init.lua", vitals)])]);
    let mut ada = h.join("ada");
    let mut bob = h.join("bob");
    h.steps(1);
    read(&mut ada);
    read(&mut bob);
    ada.sender.command("vitals").unwrap();
    h.steps(3);
    let mut gmcp = Vec::new();
    let mut text = String::new();
    while let Ok(m) = ada.receiver.try_recv() {
        match m {
            Outbound::Gmcp { package, json } => gmcp.push((package, json)),
            Outbound::Text(e) => text.push_str(&gsp_engine::text::render_plain(&e)),
            _ => {}
        }
    }
    assert_eq!(gmcp.len(), 1, "{gmcp:?} {text}");
    assert_eq!(gmcp[0].0, "Char.Vitals");
    let data: serde_json::Value = serde_json::from_str(&gmcp[0].1).unwrap();
    assert_eq!(
        data,
        serde_json::json!({"hp": 10, "maxhp": 12, "name": "ada"})
    );
    assert!(
        text.contains("core: ") && text.contains("Core package"),
        "{text}"
    );
    assert!(
        text.contains("bad: ") && text.contains("not a GMCP package"),
        "{text}"
    );
    assert!(
        text.contains("big: ") && text.contains("16384 bytes"),
        "{text}"
    );
    // Nobody else got it.
    while let Ok(m) = bob.receiver.try_recv() {
        assert!(!matches!(m, Outbound::Gmcp { .. }), "{m:?}");
    }
}

#[test]
fn mods_add_help_topics_that_go_when_they_unload() {
    let v1 = "gsp.help('fishing', 'Fish with \\'cast\\' at the pond.')\n\
              gsp.command('version', 'version', function(ctx) ctx:reply('version v1') end)\n\
              local ok, err = pcall(gsp.help, 'Bad Name', 'x')\n\
              gsp.storage.bad = tostring(err)";
    let mut h = Harness::new(&[("fish", &[("init.lua", v1)])]);
    assert!(
        matches!(h.storage("fish", "bad"), Plain::String(s) if String::from_utf8_lossy(&s).contains("must be 1 to 24 lowercase")),
        "{:?}",
        h.storage("fish", "bad")
    );
    let root = h.root();
    let changes = gsp_scripting::watch::spawn(vec![("fish".into(), root.join("fish"))]).unwrap();
    h.world
        .world_mut()
        .resource_mut::<ScriptHost>()
        .watch(changes);
    let mut ada = h.join("ada");
    h.steps(1);
    read(&mut ada);
    let topic = h.type_line(&mut ada, "help fishing");
    assert!(topic.contains("Fish with 'cast' at the pond."), "{topic}");
    let topics = h.type_line(&mut ada, "help topics");
    assert!(
        topics.contains("fishing") && topics.contains("movement"),
        "{topics}"
    );
    let builtin = h.type_line(&mut ada, "help movement");
    assert!(builtin.contains("Rooms are joined by exits"), "{builtin}");

    // The new version adds no topic: the old one is gone with the old version.
    let v2 = "gsp.command('version', 'version', function(ctx) ctx:reply('version v2') end)";
    std::fs::write(root.join("fish/init.lua"), v2).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !h.type_line(&mut ada, "version").contains("v2") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let gone = h.type_line(&mut ada, "help fishing");
    assert!(gone.contains("There is no help on 'fishing'"), "{gone}");
}
