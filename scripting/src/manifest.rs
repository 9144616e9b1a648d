//! `mod.toml`: what a mod is called, what it needs and what it may do, and
//! the order a folder of mods loads in.
//!
//! ```toml
//! name = "doors"
//! version = "1.0.0"
//! description = "Doors that open when used."
//! dependencies = ["core"]
//! permissions = ["commands", "entities"]
//! ```
//!
//! A mod that provides the world's map names its file: `map = "map.toml"`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a mod may do beyond reading the world and talking to players.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// Register commands players can type (`gsp.command`).
    Commands,
    /// Spawn, despawn and move entities, players included (`gsp.spawn`,
    /// `set_position`, `set_velocity`, `gsp.sensor`).
    Entities,
    /// Send text to everyone in the world (`gsp.broadcast`).
    Broadcast,
}

impl Permission {
    /// The word used in `mod.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Commands => "commands",
            Permission::Entities => "entities",
            Permission::Broadcast => "broadcast",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed `mod.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The mod's name: lowercase letters, digits, `_` and `-`; the same as its folder.
    pub name: String,
    /// Its version, free-form ("1.2.0").
    pub version: String,
    /// One line about it.
    #[serde(default)]
    pub description: String,
    /// Mods that must load before this one.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// What it may do.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// The world map this mod provides, a file in its folder.
    #[serde(default)]
    pub map: Option<String>,
}

/// A mod found on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct ModSource {
    /// Its manifest.
    pub manifest: Manifest,
    /// Its folder.
    pub dir: PathBuf,
}

impl ModSource {
    /// Whether the manifest grants `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.manifest.permissions.contains(&permission)
    }
}

/// Why a folder of mods cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The folder or a file in it could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A `mod.toml` is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The manifest.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// Two mods have the same name.
    #[error("two mods are named `{0}`")]
    Duplicate(String),
    /// A dependency is not in the folder.
    #[error("mod `{0}` depends on `{1}`, which is not installed")]
    MissingDependency(String, String),
    /// Dependencies go round in a circle.
    #[error("mods depend on each other in a cycle: {0}")]
    Cycle(String),
}

fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Parses the `mod.toml` in `dir`.
pub fn read_manifest(dir: &Path) -> Result<ModSource, ManifestError> {
    let path = dir.join("mod.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Io {
        path: path.clone(),
        source,
    })?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| ManifestError::Invalid {
        path: path.clone(),
        message: e.to_string().trim().to_owned(),
    })?;
    let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if !valid_name(&manifest.name) {
        return Err(ManifestError::Invalid {
            path,
            message: format!(
                "name `{}` must be 1 to 32 lowercase letters, digits, `_` or `-`",
                manifest.name
            ),
        });
    }
    if manifest.name != folder {
        return Err(ManifestError::Invalid {
            path,
            message: format!(
                "name `{}` differs from its folder `{folder}`",
                manifest.name
            ),
        });
    }
    Ok(ModSource {
        manifest,
        dir: dir.to_path_buf(),
    })
}

/// Finds every mod in `root` (each subfolder with a `mod.toml`) and returns
/// them in load order: every mod after its dependencies, ties by name.
pub fn discover(root: &Path) -> Result<Vec<ModSource>, ManifestError> {
    let entries = std::fs::read_dir(root).map_err(|source| ManifestError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let mut mods = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|source| ManifestError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        let dir = entry.path();
        if !dir.join("mod.toml").is_file() {
            continue;
        }
        let source = read_manifest(&dir)?;
        let name = source.manifest.name.clone();
        if mods.insert(name.clone(), source).is_some() {
            return Err(ManifestError::Duplicate(name));
        }
    }
    load_order(mods.into_values().collect())
}

/// Sorts `mods` so that each comes after its dependencies (ties by name).
pub fn load_order(mods: Vec<ModSource>) -> Result<Vec<ModSource>, ManifestError> {
    let names: HashSet<&str> = mods.iter().map(|m| m.manifest.name.as_str()).collect();
    for m in &mods {
        for dep in &m.manifest.dependencies {
            if !names.contains(dep.as_str()) {
                return Err(ManifestError::MissingDependency(
                    m.manifest.name.clone(),
                    dep.clone(),
                ));
            }
        }
    }
    let mut remaining: BTreeMap<String, ModSource> = mods
        .into_iter()
        .map(|m| (m.manifest.name.clone(), m))
        .collect();
    let mut ordered: Vec<ModSource> = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        let ready = remaining
            .values()
            .find(|m| {
                m.manifest
                    .dependencies
                    .iter()
                    .all(|d| ordered.iter().any(|o| &o.manifest.name == d))
            })
            .map(|m| m.manifest.name.clone());
        match ready {
            Some(name) => ordered.extend(remaining.remove(&name)),
            None => {
                let stuck: Vec<&str> = remaining.keys().map(String::as_str).collect();
                return Err(ManifestError::Cycle(stuck.join(", ")));
            }
        }
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, deps: &[&str]) -> ModSource {
        ModSource {
            manifest: Manifest {
                name: name.into(),
                version: "1".into(),
                description: String::new(),
                dependencies: deps.iter().map(|d| d.to_string()).collect(),
                permissions: vec![],
                map: None,
            },
            dir: PathBuf::from(name),
        }
    }

    #[test]
    fn dependencies_load_first() {
        let order = load_order(vec![
            source("ball", &["core"]),
            source("doors", &["core"]),
            source("core", &[]),
            source("arena", &["ball", "doors"]),
        ])
        .unwrap();
        let names: Vec<&str> = order.iter().map(|m| m.manifest.name.as_str()).collect();
        assert_eq!(names, ["core", "ball", "doors", "arena"]);
    }

    #[test]
    fn missing_and_circular_dependencies_are_refused() {
        let e = load_order(vec![source("a", &["nope"])]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mod `a` depends on `nope`, which is not installed"
        );
        let e = load_order(vec![source("a", &["b"]), source("b", &["a"])]).unwrap_err();
        assert!(
            matches!(e, ManifestError::Cycle(ref s) if s == "a, b"),
            "{e}"
        );
    }

    #[test]
    fn manifests_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("good");
        std::fs::create_dir(&m).unwrap();
        std::fs::write(
            m.join("mod.toml"),
            "name = \"good\"\nversion = \"1.0\"\npermissions = [\"commands\"]\n",
        )
        .unwrap();
        let found = discover(dir.path()).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].may(Permission::Commands));
        assert!(!found[0].may(Permission::Entities));

        std::fs::write(
            m.join("mod.toml"),
            "name = \"good\"\nversion = \"1.0\"\npermissions = [\"root\"]\n",
        )
        .unwrap();
        let e = discover(dir.path()).unwrap_err().to_string();
        assert!(e.contains("mod.toml") && e.contains("root"), "{e}");

        std::fs::write(m.join("mod.toml"), "name = \"other\"\nversion = \"1\"\n").unwrap();
        let e = discover(dir.path()).unwrap_err().to_string();
        assert!(e.contains("differs from its folder"), "{e}");
    }
}
