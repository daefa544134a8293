//! Containers, pods and PID limits in words and as JSON: the compact form the table, tree,
//! check and watch show (`shop/web-0 (containerd 4f4f3a2b1c0d…)`, `nginx.service`), the
//! longer one explain shows, and the JSON objects.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::printable;
use crate::diagnose::{PidLimitUse, percent};
use crate::proc::cgroup::{Container, Runtime};
use crate::proc::cgroupns::{NsRoot, Unplaced};
use crate::proc::headroom::PidLimit;

/// How many digits of a container ID people see, as `docker ps` shows them.
const SHORT_ID: usize = 12;

/// A container ID shortened for people: its first 12 digits and `…`; a name (LXC) whole.
pub fn short_id(id: &str) -> String {
    if id.len() > SHORT_ID && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("{}…", &id[..SHORT_ID])
    } else {
        id.to_string()
    }
}

/// A unit name with any container ID in it shortened (`libpod-conmon-4f4f3a2b1c0d….scope`).
fn short_unit(unit: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() == 64 {
            out.push_str(&short_id(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in unit.chars() {
        if ch.is_ascii_hexdigit() {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The pod for people: `namespace/name`, or `pod 1f2e3d4c…` when its name is not known.
pub fn pod_text(c: &Container) -> Option<String> {
    match (&c.pod_namespace, &c.pod_name, &c.pod_uid) {
        (Some(ns), Some(name), _) => Some(format!("{ns}/{name}")),
        (_, _, Some(uid)) => Some(format!("pod {}…", &uid[..uid.len().min(8)])),
        _ => None,
    }
}

/// `containerd 4f4f3a2b1c0d…`, or the short ID alone when the runtime is not known.
fn container_text(c: &Container) -> Option<String> {
    let id = short_id(c.id.as_deref()?);
    Some(match c.runtime {
        Some(r) => format!("{} {id}", r.as_str()),
        None => id,
    })
}

/// The compact form, made safe for a terminal: `shop/web-0 (containerd 4f4f3a2b1c0d…)`,
/// `docker 4f4f3a2b1c0d…`, `lxc web1, nginx.service`, `nginx.service`. None when the cgroup
/// names nothing.
pub fn compact(c: &Container) -> Option<String> {
    let unit = c.unit.as_deref().map(short_unit);
    let inner: Vec<String> = container_text(c).into_iter().chain(unit).collect();
    let text = match (pod_text(c), inner.is_empty()) {
        (Some(pod), true) => pod,
        (Some(pod), false) => format!("{pod} ({})", inner.join(", ")),
        (None, false) => inner.join(", "),
        (None, true) => return None,
    };
    Some(printable(&text))
}

/// What explain says the cgroup means.
pub fn describe(c: Option<&Container>) -> String {
    let Some(c) = c else {
        return "the service or container it belongs to (not read)".to_string();
    };
    let mut parts = Vec::new();
    if let Some(id) = &c.id {
        let runtime = c.runtime.map_or("unknown runtime", Runtime::as_str);
        parts.push(format!("container {} ({runtime})", short_id(id)));
    }
    match (&c.pod_namespace, &c.pod_name, &c.pod_uid) {
        (Some(ns), Some(name), _) => parts.push(format!("of pod {ns}/{name}")),
        (_, _, Some(uid)) => parts.push(format!(
            "of pod UID {uid} (no directory of it in --pods-dir names it)"
        )),
        _ => {}
    }
    if let Some(unit) = &c.unit {
        parts.push(if c.id.is_some() {
            format!("in its systemd unit {unit}")
        } else {
            format!("systemd unit {unit}")
        });
    }
    if parts.is_empty() {
        return "no container, pod or systemd service in its path".to_string();
    }
    printable(&parts.join(" "))
}

/// The containers of a limit, compact, joined: `shop/web-0 (containerd …), nginx.service`.
pub fn compact_list(containers: &[Container]) -> String {
    containers
        .iter()
        .filter_map(compact)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `80%`, `0.4%`, `<0.1%`: a share for people.
pub fn pct(part: u64, whole: u64) -> String {
    pct_text(percent(part, whole).unwrap_or(0.0))
}

/// A percentage for people: whole above 10, one decimal below, `<0.1%` for a trace.
pub fn pct_text(p: f64) -> String {
    if p > 0.0 && p < 0.1 {
        "<0.1%".to_string()
    } else if p < 10.0 && p.fract() != 0.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// One limit for people, who first and the cgroup last (Kubernetes' are long):
/// `shop/web-0 (containerd 4f4f3a2b1c0d…): 412 of 512 PIDs in use (80%), 40 of them zombies
/// (8%); pids.max of /kubepods.slice/…`.
pub fn limit_line(u: &PidLimitUse) -> String {
    let who = compact_list(&u.containers);
    let who = if who.is_empty() {
        "cgroup".to_string()
    } else {
        who
    };
    let used = match u.limit.current {
        Some(cur) => format!(
            "{cur} of {} PIDs in use ({})",
            u.limit.max,
            pct(cur, u.limit.max)
        ),
        None => format!("a limit of {} PIDs (pids.current unreadable)", u.limit.max),
    };
    format!(
        "{who}: {used}, {} of them zombie{} ({}); pids.max of {}",
        u.zombies,
        if u.zombies == 1 { "" } else { "s" },
        pct(u.zombies as u64, u.limit.max),
        printable(&u.limit.cgroup),
    )
}

/// --pods-dir names a directory that cannot be read.
pub fn pods_dir_unreadable(dir: &std::path::Path, e: &std::io::Error) -> String {
    format!(
        "warning: cannot read --pods-dir {}: {e}; pods are shown by UID only (mount the kubelet's /var/log/pods, read-only, and pass its path)",
        dir.display()
    )
}

/// The `problem` word of the JSON for why our cgroup namespace's root was not found.
pub fn unplaced_word(why: &Unplaced) -> &'static str {
    match why {
        Unplaced::NoMountTable => "no-mount-table",
        Unplaced::NoMount => "no-mount",
        Unplaced::Covered { .. } => "covered",
        Unplaced::OtherHierarchy { .. } => "other-hierarchy",
        Unplaced::NotFound { .. } => "not-found",
    }
}

/// Why our cgroup namespace's root was not found under --sys, and what to mount.
pub fn unplaced(why: &Unplaced) -> String {
    // What every DaemonSet needs: its own cgroupfs where the runtime put it, the host's whole
    // /sys beside it.
    const MOUNT: &str = "keep the container's own /sys/fs/cgroup (runtimes mount it) and mount the host's /sys read-only elsewhere, passing --sys /host/sys";
    match why {
        Unplaced::NoMountTable => format!(
            "the mount table (/proc/self/mountinfo, or self/mountinfo in a copied --proc tree), which shows where this cgroup namespace is, cannot be read; mount /proc in the container and {MOUNT}"
        ),
        Unplaced::NoMount => format!(
            "no cgroup filesystem is mounted at this cgroup namespace's root (a cgroup mount whose root is / in /proc/self/mountinfo), which would show where it is; {MOUNT}"
        ),
        Unplaced::Covered { mount_point } => format!(
            "the cgroup filesystem of this cgroup namespace on {} is covered by another mount or cannot be opened; do not mount the host's cgroupfs over it: {MOUNT}",
            printable(mount_point)
        ),
        Unplaced::OtherHierarchy { mount_point } => format!(
            "the cgroup hierarchy under --sys is not the one mounted on {} (another device): --sys must be the host's /sys, mounted whole",
            printable(mount_point)
        ),
        Unplaced::NotFound { mount_point, depth } => format!(
            "the directory mounted on {} (this cgroup namespace's root) is not under --sys within {depth} levels: --sys must show the host's whole cgroup hierarchy (mount the host's /sys, not a part of /sys/fs/cgroup)",
            printable(mount_point)
        ),
    }
}

/// Why the PID limits of the parents `pids` are unknown: their cgroup paths are relative to
/// our cgroup namespace's root, which `ns` says was not found (or, found, that they climb
/// above the hierarchy's root from there).
pub fn limits_unknown(pids: &[crate::proc::Pid], ns: Option<&NsRoot>) -> String {
    let who = format!(
        "{} ({})",
        super::plural(pids.len(), "parent of zombies", "parents of zombies"),
        pids.iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    match ns {
        Some(NsRoot::Unplaced(why)) => format!(
            "zombies runs in a cgroup namespace of its own (cgroup paths start with /..) whose root was not found under --sys: {}; so the PID limits of {who} are unknown",
            unplaced(why)
        ),
        Some(NsRoot::Found(root)) => format!(
            "the cgroup paths of {who} climb above the hierarchy's root from this cgroup namespace's root {}; their PID limits are unknown",
            printable(root)
        ),
        None => format!("the PID limits of {who} are unknown"),
    }
}

// JSON. The field order is the documented one (README, "JSON output").

impl Serialize for NsRoot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("NsRoot", 3)?;
        match self {
            NsRoot::Found(root) => {
                m.serialize_field("root", root)?;
                m.serialize_field("problem", &None::<&str>)?;
                m.serialize_field("message", &None::<&str>)?;
            }
            NsRoot::Unplaced(why) => {
                m.serialize_field("root", &None::<&str>)?;
                m.serialize_field("problem", unplaced_word(why))?;
                m.serialize_field("message", &unplaced(why))?;
            }
        }
        m.end()
    }
}

impl Serialize for Container {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Container", 6)?;
        m.serialize_field("runtime", &self.runtime.map(Runtime::as_str))?;
        m.serialize_field("id", &self.id)?;
        m.serialize_field("pod_uid", &self.pod_uid)?;
        m.serialize_field("pod_namespace", &self.pod_namespace)?;
        m.serialize_field("pod_name", &self.pod_name)?;
        m.serialize_field("unit", &self.unit)?;
        m.end()
    }
}

impl Serialize for PidLimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("PidLimit", 3)?;
        m.serialize_field("cgroup", &self.cgroup)?;
        m.serialize_field("current", &self.current)?;
        m.serialize_field("max", &self.max)?;
        m.end()
    }
}

impl Serialize for PidLimitUse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("PidLimitUse", 6)?;
        m.serialize_field("cgroup", &self.limit.cgroup)?;
        m.serialize_field("current", &self.limit.current)?;
        m.serialize_field("max", &self.limit.max)?;
        m.serialize_field("zombies", &self.zombies)?;
        m.serialize_field("parents", &self.parents)?;
        m.serialize_field("containers", &self.containers)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f";

    fn c(runtime: Option<Runtime>, id: Option<&str>, unit: Option<&str>) -> Container {
        Container {
            runtime,
            id: id.map(str::to_string),
            unit: unit.map(str::to_string),
            ..Container::default()
        }
    }

    #[test]
    fn compact_forms() {
        let mut k = c(Some(Runtime::Containerd), Some(ID), None);
        k.pod_uid = Some("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b".into());
        assert_eq!(
            compact(&k).unwrap(),
            "pod 1f2e3d4c… (containerd 4f4f3a2b1c0d…)"
        );
        k.pod_namespace = Some("shop".into());
        k.pod_name = Some("web-0".into());
        assert_eq!(
            compact(&k).unwrap(),
            "shop/web-0 (containerd 4f4f3a2b1c0d…)"
        );
        assert_eq!(compact(&c(None, Some(ID), None)).unwrap(), "4f4f3a2b1c0d…");
        assert_eq!(
            compact(&c(Some(Runtime::Lxc), Some("web1"), Some("nginx.service"))).unwrap(),
            "lxc web1, nginx.service"
        );
        assert_eq!(
            compact(&c(None, None, Some("nginx.service"))).unwrap(),
            "nginx.service"
        );
        assert_eq!(
            compact(&c(None, None, Some(&format!("libpod-conmon-{ID}.scope")))).unwrap(),
            "libpod-conmon-4f4f3a2b1c0d….scope"
        );
        assert_eq!(compact(&Container::default()), None);
        // A unit name cannot forge a line.
        assert_eq!(
            compact(&c(None, None, Some("a\nb.service"))).unwrap(),
            "a\\nb.service"
        );
    }

    #[test]
    fn shares() {
        assert_eq!(pct(412, 512), "80%");
        assert_eq!(pct(2, 512), "0.4%");
        assert_eq!(pct(1, 4194304), "<0.1%");
        assert_eq!(pct(0, 10), "0%");
        assert_eq!(pct(5, 0), "100%");
    }

    #[test]
    fn json_carries_every_field() {
        let v = serde_json::to_value(c(Some(Runtime::Crio), Some(ID), None)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"runtime": "cri-o", "id": ID, "pod_uid": null,
                "pod_namespace": null, "pod_name": null, "unit": null})
        );
    }
}
