//! Where per-user files live (XDG base directories), with the home directory taken from the
//! password database when $HOME is unset, as under cron, NRPE or `env -i`.

use std::path::PathBuf;

/// $HOME, else the home directory of the real uid from the password database.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.dir)
        })
}

/// `$VAR` when set and not empty, else `~/<fallback>` (e.g. XDG_CONFIG_HOME, ".config").
pub fn xdg_dir(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home_dir().map(|h| h.join(fallback)))
        .unwrap_or_else(|| PathBuf::from(fallback))
}
