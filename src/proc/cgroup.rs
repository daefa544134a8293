//! Which container, pod or systemd unit a process belongs to, from the paths in
//! /proc/PID/cgroup. Only parents of zombies are read: on cgroup v1 the kernel moves an
//! exiting task to the root of every v1 hierarchy (cgroup_exit), so a zombie's own v1 lines
//! say `/`; its parent still lives where the container put it. No I/O here.
//!
//! Every runtime names the cgroup it makes after the container, in a handful of forms:
//!
//! - Kubernetes, systemd driver: `/kubepods.slice/kubepods-burstable.slice/
//!   kubepods-burstable-pod<UID, - as _>.slice/cri-containerd-<64 hex>.scope` (QoS class
//!   burstable or besteffort; a Guaranteed pod has none: `kubepods-pod<UID>.slice`); CRI-O
//!   names its scope `crio-<id>.scope` and may add a `/container` leaf; kind nests it all
//!   under `kubelet.slice/kubelet-kubepods…`.
//! - Kubernetes, cgroupfs driver: `/kubepods/<qos>/pod<UID>/<64 hex>` (or `crio-<64 hex>`).
//! - Docker: `/system.slice/docker-<id>.scope` (systemd driver) or `/docker/<id>`.
//! - Podman: `machine.slice/libpod-<id>.scope`; its `libpod-conmon-<id>.scope` holds the
//!   conmon monitor, not the container. Rootless, the same below `user@UID.service`.
//! - nerdctl: `nerdctl-<id>.scope`. LXC 4.0+: `/lxc.payload.<name>` (`lxc.monitor.<name>` is
//!   the monitor); before, `/lxc/<name>`.
//! - Anything else under systemd: the innermost `.service` or `.scope` is its unit.

/// The container runtime a cgroup name points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    /// `cri-containerd-<id>.scope`: containerd's CRI plugin (Kubernetes).
    Containerd,
    /// `crio-<id>.scope`: CRI-O (Kubernetes, OpenShift).
    Crio,
    /// `docker-<id>.scope`, `/docker/<id>`.
    Docker,
    /// `libpod-<id>.scope`.
    Podman,
    /// `nerdctl-<id>.scope`.
    Nerdctl,
    /// `lxc.payload.<name>`, `/lxc/<name>`.
    Lxc,
}

impl Runtime {
    /// The name as the JSON and the metrics' `runtime` label carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Containerd => "containerd",
            Runtime::Crio => "cri-o",
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Nerdctl => "nerdctl",
            Runtime::Lxc => "lxc",
        }
    }
}

/// Where a process runs, as far as its cgroup path tells; a field is None when the path does
/// not say. `pod_namespace` and `pod_name` are not in the path: proc/pods.rs fills them in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Container {
    pub runtime: Option<Runtime>,
    /// The container's ID (64 hex digits; an LXC container's name).
    pub id: Option<String>,
    /// The Kubernetes pod's UID, in its usual form with dashes.
    pub pod_uid: Option<String>,
    pub pod_namespace: Option<String>,
    pub pod_name: Option<String>,
    /// The innermost systemd service or scope (`nginx.service`, `session-3.scope`): inside
    /// the container when there is one (a container that runs systemd), never the
    /// container's own scope.
    pub unit: Option<String>,
}

impl Container {
    /// Whether the path said anything at all.
    pub fn is_known(&self) -> bool {
        self.id.is_some() || self.pod_uid.is_some() || self.unit.is_some()
    }
}

/// The lines of /proc/PID/cgroup that can say where a process belongs: the v2 line (`0::`),
/// and on a v1 or hybrid host the `pids` and `name=systemd` hierarchies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupLines {
    /// The `0::PATH` line: the unified (v2) hierarchy.
    pub unified: Option<String>,
    /// The v1 hierarchy with the pids controller.
    pub pids: Option<String>,
    /// The v1 `name=systemd` hierarchy (systemd's own on a v1 or hybrid host).
    pub systemd: Option<String>,
}

/// Parses /proc/PID/cgroup: `hierarchy-ID:controller-list:path` lines. A line without three
/// fields, or whose path is not absolute, is skipped (a truncated file says less, never
/// something wrong). A removed v2 cgroup's path ends in ` (deleted)`, which is dropped.
pub fn parse_lines(text: &str) -> CgroupLines {
    let mut out = CgroupLines::default();
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        if !path.starts_with('/') {
            continue;
        }
        let slot = if id == "0" && controllers.is_empty() {
            &mut out.unified
        } else if controllers.split(',').any(|c| c == "pids") {
            &mut out.pids
        } else if controllers.split(',').any(|c| c == "name=systemd") {
            &mut out.systemd
        } else {
            continue;
        };
        slot.get_or_insert_with(|| path.to_string());
    }
    out
}

impl CgroupLines {
    /// Whether no line was usable.
    pub fn is_empty(&self) -> bool {
        self.unified.is_none() && self.pids.is_none() && self.systemd.is_none()
    }

    /// The container of the line that says most: a container beats a pod, a pod beats a
    /// unit; on a tie a whole path beats one that starts above our cgroup namespace (`/..`,
    /// whose head is missing: a pod's slice, say), then the v2 line, then pids, then
    /// name=systemd. (On a hybrid host a container's v2 line may be `/` while its v1 lines
    /// name it.) None when no line was usable.
    pub fn container(&self) -> Option<Container> {
        let score = |c: &Container| {
            if c.id.is_some() {
                3
            } else if c.pod_uid.is_some() {
                2
            } else if c.unit.is_some() {
                1
            } else {
                0
            }
        };
        let mut best: Option<(Container, (u8, bool))> = None;
        for path in [&self.unified, &self.pids, &self.systemd]
            .into_iter()
            .flatten()
        {
            let c = parse_path(path);
            let rank = (score(&c), super::cgroupns::leading_ups(path).is_none());
            if best.as_ref().is_none_or(|(_, b)| rank > *b) {
                best = Some((c, rank));
            }
        }
        best.map(|(c, _)| c)
    }
}

/// What one cgroup path says.
pub fn parse_path(path: &str) -> Container {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut out = Container::default();
    // Where the innermost container was found: only units below it are its processes' own.
    let mut container_at = None;
    for (i, part) in parts.iter().enumerate() {
        let before = &parts[..i];
        if let Some(uid) = pod_uid(part, before) {
            out.pod_uid = Some(uid);
        }
        if let Some((runtime, id)) = container_of(part, before) {
            out.runtime = runtime;
            out.id = Some(id);
            container_at = Some(i);
        }
    }
    let below = container_at.map_or(0, |i| i + 1);
    out.unit = parts[below..]
        .iter()
        .rev()
        .find(|p| p.ends_with(".service") || p.ends_with(".scope"))
        .map(|p| p.to_string());
    out
}

/// The pod UID a path component names: `kubepods[-qos]-pod<UID with _>.slice` (systemd
/// driver, also `kubelet-kubepods-…` under kind), or `pod<UID>` below `kubepods` (cgroupfs).
fn pod_uid(part: &str, before: &[&str]) -> Option<String> {
    let candidate = match part.strip_suffix(".slice") {
        Some(stem) => {
            let words: Vec<&str> = stem.split('-').collect();
            if !words.contains(&"kubepods") {
                return None;
            }
            words.last()?.strip_prefix("pod")?.replace('_', "-")
        }
        None => {
            if !before.contains(&"kubepods") {
                return None;
            }
            part.strip_prefix("pod")?.to_string()
        }
    };
    is_pod_uid(&candidate).then_some(candidate)
}

/// A pod UID: a UUID (8-4-4-4-12 hex digits), or the 32 hex digits of a static pod's hash.
pub fn is_pod_uid(s: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    if s.len() == 32 {
        return hex(s);
    }
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && hex(g))
}

/// A container ID as runtimes make them: 64 hex digits (SHA-256).
fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The container a path component names, with its runtime when the name tells it.
fn container_of(part: &str, before: &[&str]) -> Option<(Option<Runtime>, String)> {
    // LXC names its containers, not with hex IDs.
    if let Some(name) = part.strip_prefix("lxc.payload.") {
        return (!name.is_empty()).then(|| (Some(Runtime::Lxc), name.to_string()));
    }
    if before.last() == Some(&"lxc") {
        return Some((Some(Runtime::Lxc), part.to_string()));
    }
    let stem = part.strip_suffix(".scope").unwrap_or(part);
    // The monitors beside a container (conmon of Podman and CRI-O) are not containers.
    if stem.starts_with("libpod-conmon-") || stem.starts_with("crio-conmon-") {
        return None;
    }
    const PREFIXES: [(&str, Runtime); 5] = [
        ("cri-containerd-", Runtime::Containerd),
        ("crio-", Runtime::Crio),
        ("docker-", Runtime::Docker),
        ("libpod-", Runtime::Podman),
        ("nerdctl-", Runtime::Nerdctl),
    ];
    for (prefix, runtime) in PREFIXES {
        if let Some(id) = stem.strip_prefix(prefix) {
            return is_container_id(id).then(|| (Some(runtime), id.to_string()));
        }
    }
    // A bare ID: Docker's cgroupfs driver (`/docker/<id>`), Kubernetes' cgroupfs driver
    // (`/kubepods/<qos>/pod<UID>/<id>`, where the runtime is not named).
    if is_container_id(part) {
        let runtime = (before.last() == Some(&"docker")).then_some(Runtime::Docker);
        return Some((runtime, part.to_string()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f";
    const UID: &str = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b";

    fn c(
        runtime: Option<Runtime>,
        id: Option<&str>,
        pod: Option<&str>,
        unit: Option<&str>,
    ) -> Container {
        Container {
            runtime,
            id: id.map(str::to_string),
            pod_uid: pod.map(str::to_string),
            unit: unit.map(str::to_string),
            ..Container::default()
        }
    }

    fn underscored(uid: &str) -> String {
        uid.replace('-', "_")
    }

    #[test]
    fn kubernetes_systemd_driver_each_qos_class() {
        let u = underscored(UID);
        for (qos, runtime, prefix) in [
            ("burstable", Runtime::Containerd, "cri-containerd"),
            ("besteffort", Runtime::Crio, "crio"),
            ("burstable", Runtime::Docker, "docker"),
        ] {
            let path = format!(
                "/kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{u}.slice/{prefix}-{ID}.scope"
            );
            assert_eq!(
                parse_path(&path),
                c(Some(runtime), Some(ID), Some(UID), None),
                "{path}"
            );
        }
        // Guaranteed pods have no QoS level.
        let path = format!("/kubepods.slice/kubepods-pod{u}.slice/cri-containerd-{ID}.scope");
        assert_eq!(
            parse_path(&path),
            c(Some(Runtime::Containerd), Some(ID), Some(UID), None)
        );
    }

    #[test]
    fn crio_container_leaf_and_kind_prefix() {
        let u = underscored(UID);
        let path = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{u}.slice/crio-{ID}.scope/container"
        );
        assert_eq!(
            parse_path(&path),
            c(Some(Runtime::Crio), Some(ID), Some(UID), None)
        );
        let kind = format!(
            "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{u}.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(
            parse_path(&kind),
            c(Some(Runtime::Containerd), Some(ID), Some(UID), None)
        );
        // kind's node is itself a Docker container: the innermost container is the pod's.
        let nested = format!("/system.slice/docker-{}.scope{kind}", "a".repeat(64));
        assert_eq!(
            parse_path(&nested),
            c(Some(Runtime::Containerd), Some(ID), Some(UID), None)
        );
        // CRI-O's monitor in the pod's slice: the pod, but no container.
        let conmon = format!("/kubepods.slice/kubepods-pod{u}.slice/crio-conmon-{ID}.scope");
        assert_eq!(
            parse_path(&conmon),
            c(
                None,
                None,
                Some(UID),
                Some(&format!("crio-conmon-{ID}.scope"))
            )
        );
    }

    #[test]
    fn kubernetes_cgroupfs_driver() {
        for path in [
            format!("/kubepods/burstable/pod{UID}/{ID}"),
            format!("/kubepods/besteffort/pod{UID}/{ID}"),
            format!("/kubepods/pod{UID}/{ID}"),
        ] {
            assert_eq!(
                parse_path(&path),
                c(None, Some(ID), Some(UID), None),
                "{path}"
            );
        }
        let crio = format!("/kubepods/burstable/pod{UID}/crio-{ID}");
        assert_eq!(
            parse_path(&crio),
            c(Some(Runtime::Crio), Some(ID), Some(UID), None)
        );
        // A static pod's UID is a 32-digit hash.
        let hash = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            parse_path(&format!("/kubepods/pod{hash}/{ID}"))
                .pod_uid
                .as_deref(),
            Some(hash)
        );
    }

    #[test]
    fn docker_podman_nerdctl_lxc() {
        let docker = c(Some(Runtime::Docker), Some(ID), None, None);
        assert_eq!(
            parse_path(&format!("/system.slice/docker-{ID}.scope")),
            docker
        );
        assert_eq!(parse_path(&format!("/docker/{ID}")), docker);
        assert_eq!(
            parse_path(&format!("/machine.slice/libpod-{ID}.scope")),
            c(Some(Runtime::Podman), Some(ID), None, None)
        );
        // Rootless Podman: the container, not the user's manager, and what runs in it.
        assert_eq!(
            parse_path(&format!(
                "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container"
            )),
            c(Some(Runtime::Podman), Some(ID), None, None)
        );
        assert_eq!(
            parse_path(&format!("/machine.slice/libpod-conmon-{ID}.scope")),
            c(None, None, None, Some(&format!("libpod-conmon-{ID}.scope")))
        );
        assert_eq!(
            parse_path(&format!("/nerdctl.slice/nerdctl-{ID}.scope")),
            c(Some(Runtime::Nerdctl), Some(ID), None, None)
        );
        assert_eq!(
            parse_path("/lxc.payload.web1"),
            c(Some(Runtime::Lxc), Some("web1"), None, None)
        );
        assert_eq!(
            parse_path("/lxc.payload.web1/system.slice/nginx.service"),
            c(
                Some(Runtime::Lxc),
                Some("web1"),
                None,
                Some("nginx.service")
            )
        );
        assert_eq!(
            parse_path("/lxc/old1"),
            c(Some(Runtime::Lxc), Some("old1"), None, None)
        );
        assert_eq!(parse_path("/lxc.monitor.web1"), Container::default());
    }

    #[test]
    fn systemd_units() {
        assert_eq!(
            parse_path("/system.slice/nginx.service"),
            c(None, None, None, Some("nginx.service"))
        );
        assert_eq!(
            parse_path("/user.slice/user-1000.slice/session-3.scope"),
            c(None, None, None, Some("session-3.scope"))
        );
        assert_eq!(
            parse_path("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service"),
            c(None, None, None, Some("foo.service"))
        );
        assert_eq!(parse_path("/"), Container::default());
        assert_eq!(parse_path("/user.slice"), Container::default());
    }

    #[test]
    fn bad_names_are_not_containers() {
        // Too short, too long, not hex: a scope like any other.
        for id in ["abc123", &format!("{ID}0"), &"g".repeat(64)] {
            let unit = format!("docker-{id}.scope");
            assert_eq!(
                parse_path(&format!("/system.slice/{unit}")),
                c(None, None, None, Some(&unit))
            );
        }
        assert_eq!(parse_path("/docker/abc123"), Container::default());
        // A pod UID of the wrong shape is no pod.
        assert_eq!(
            parse_path("/kubepods.slice/kubepods-podnot_a_uid.slice"),
            Container::default()
        );
        assert_eq!(
            parse_path(&format!("/elsewhere/pod{UID}")),
            Container::default()
        );
    }

    #[test]
    fn lines_of_v2_v1_and_hybrid_hosts() {
        let v2 = parse_lines(&format!("0::/system.slice/docker-{ID}.scope\n"));
        assert_eq!(
            v2.unified.as_deref(),
            Some(&*format!("/system.slice/docker-{ID}.scope"))
        );
        assert_eq!(v2.container().unwrap().runtime, Some(Runtime::Docker));
        // A v1-only host: no 0:: line; the pids and name=systemd lines name the container.
        let v1 = parse_lines(&format!(
            "12:pids:/docker/{ID}\n11:cpu,cpuacct:/docker/{ID}\n1:name=systemd:/docker/{ID}\n"
        ));
        assert_eq!(v1.unified, None);
        assert_eq!(v1.pids.as_deref(), Some(&*format!("/docker/{ID}")));
        assert_eq!(
            v1.container(),
            Some(c(Some(Runtime::Docker), Some(ID), None, None))
        );
        // Hybrid: the v2 line says `/`, the v1 lines know better.
        let hybrid = parse_lines(&format!(
            "1:name=systemd:/system.slice/docker-{ID}.scope\n0::/\n"
        ));
        assert_eq!(hybrid.container().unwrap().id.as_deref(), Some(ID));
        // Truncated lines and relative paths say nothing; an empty file has no container.
        let bad = parse_lines("0:\n12:pids\n3:memory:relative\n");
        assert!(bad.is_empty());
        assert_eq!(bad.container(), None);
        assert_eq!(parse_lines("").container(), None);
        // Seen from a cgroup namespace: a whole path beats a tail on a tie, never a better
        // score.
        let u = underscored(UID);
        let nested = parse_lines(&format!(
            "8:pids:/kubepods.slice/kubepods-pod{u}.slice/cri-containerd-{ID}.scope\n0::/../cri-containerd-{ID}.scope\n"
        ));
        assert_eq!(nested.container().unwrap().pod_uid.as_deref(), Some(UID));
        let tail = parse_lines(&format!(
            "8:pids:/../../system.slice\n0::/../cri-containerd-{ID}.scope\n"
        ));
        assert_eq!(tail.container().unwrap().id.as_deref(), Some(ID));
        // A removed v2 cgroup.
        let gone = parse_lines("0::/system.slice/gone.service (deleted)\n");
        assert_eq!(gone.unified.as_deref(), Some("/system.slice/gone.service"));
        // A path holding ':' is whole.
        assert_eq!(
            parse_lines("0::/a:b.service\n").unified.as_deref(),
            Some("/a:b.service")
        );
    }

    #[test]
    fn pod_uids() {
        assert!(is_pod_uid(UID));
        assert!(is_pod_uid("0123456789abcdef0123456789abcdef"));
        assert!(!is_pod_uid("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1"));
        assert!(!is_pod_uid("1f2e3d4c_5b6a_4798_8a7b_6c5d4e3f2a1b"));
        assert!(!is_pod_uid(""));
    }
}
