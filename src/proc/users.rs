//! User names for uids, looked up once each.

use std::collections::HashMap;

/// Caches uid -> name lookups (NSS is slow and we ask about few uids).
#[derive(Default)]
pub struct Users(HashMap<u32, Option<String>>);

impl Users {
    /// The user name, or None when the uid has no entry.
    pub fn name(&mut self, uid: u32) -> Option<String> {
        self.0
            .entry(uid)
            .or_insert_with(|| {
                nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                    .ok()
                    .flatten()
                    .map(|u| u.name)
            })
            .clone()
    }
}

/// Resolves a --user argument (a name or a numeric uid) to a uid.
pub fn resolve(user: &str) -> Option<u32> {
    if let Ok(uid) = user.parse::<u32>() {
        return Some(uid);
    }
    nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .map(|u| u.uid.as_raw())
}
