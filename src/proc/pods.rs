//! Pod namespaces and names without the API server: the kubelet keeps each pod's logs in
//! `/var/log/pods/<namespace>_<pod-name>_<pod-uid>/` (since Kubernetes 1.14), which a
//! DaemonSet can mount read-only. Namespaces and pod names are DNS names, which hold no `_`,
//! so the directory name splits into its three parts without doubt.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use super::cgroup::{Container, is_pod_uid};
use super::model::Snapshot;

/// The default directory (`--pods-dir`).
pub const DEFAULT_DIR: &str = "/var/log/pods";

/// Pods by UID: (namespace, name).
#[derive(Clone, Debug, Default)]
pub struct Pods {
    by_uid: HashMap<String, (String, String)>,
}

impl Pods {
    /// Reads the pod log directories under `dir`. A missing directory is no pods (not a
    /// Kubernetes node); other errors are returned, and entries that are not
    /// `<namespace>_<name>_<uid>` are skipped.
    pub fn read(dir: &Path) -> io::Result<Pods> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Pods::default()),
            Err(e) => return Err(e),
        };
        let mut by_uid = HashMap::new();
        for entry in entries.flatten() {
            if let Some((uid, ns, name)) = entry.file_name().to_str().and_then(parse_dir_name) {
                by_uid.insert(uid.to_string(), (ns.to_string(), name.to_string()));
            }
        }
        Ok(Pods { by_uid })
    }

    /// Fills in the namespace and name of the pod a container belongs to, when known.
    pub fn name(&self, c: &mut Container) -> bool {
        let Some((ns, name)) = c.pod_uid.as_ref().and_then(|u| self.by_uid.get(u)) else {
            return false;
        };
        c.pod_namespace = Some(ns.clone());
        c.pod_name = Some(name.clone());
        true
    }

    /// Whether a pod of this UID is known.
    pub fn knows(&self, uid: &str) -> bool {
        self.by_uid.contains_key(uid)
    }
}

/// `<namespace>_<pod-name>_<pod-uid>` → (uid, namespace, name).
fn parse_dir_name(s: &str) -> Option<(&str, &str, &str)> {
    let mut parts = s.splitn(3, '_');
    let (ns, name, uid) = (parts.next()?, parts.next()?, parts.next()?);
    (!ns.is_empty() && !name.is_empty() && is_pod_uid(uid)).then_some((uid, ns, name))
}

/// Names the pods of the parents in `snap` from `dir`, reading it only when some parent is in
/// a pod. The error, when it could not be read (a missing directory is not one).
pub fn name_pods(dir: &Path, snap: &mut Snapshot) -> Option<io::Error> {
    let wanted = snap
        .parent_details
        .values()
        .any(|d| d.container.as_ref().is_some_and(|c| c.pod_uid.is_some()));
    if !wanted {
        return None;
    }
    let pods = match Pods::read(dir) {
        Ok(p) => p,
        Err(e) => return Some(e),
    };
    for d in snap.parent_details.values_mut() {
        if let Some(c) = d.container.as_mut() {
            pods.name(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names() {
        let uid = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b";
        assert_eq!(
            parse_dir_name(&format!("shop_web-0_{uid}")),
            Some((uid, "shop", "web-0"))
        );
        assert_eq!(
            parse_dir_name(&format!("kube-system_coredns-5d78c9869d-x2x7k_{uid}")),
            Some((uid, "kube-system", "coredns-5d78c9869d-x2x7k"))
        );
        assert_eq!(parse_dir_name("shop_web-0"), None);
        assert_eq!(parse_dir_name("shop_web-0_not-a-uid"), None);
        assert_eq!(parse_dir_name(&format!("_web-0_{uid}")), None);
    }

    #[test]
    fn a_missing_directory_is_no_pods() {
        let pods = Pods::read(Path::new("/nonexistent/zombies/pods")).unwrap();
        let mut c = Container {
            pod_uid: Some("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b".into()),
            ..Container::default()
        };
        assert!(!pods.name(&mut c));
        assert_eq!(c.pod_name, None);
    }
}
