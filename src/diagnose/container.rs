//! Containers and PID limits in a diagnosis: which parents `--container` and `--pod` keep,
//! and, for each cgroup limit that zombies count against, how full it is and how many of
//! its tasks are zombies. report/container.rs says them.

use super::ParentFinding;
use crate::proc::Pid;
use crate::proc::cgroup::Container;
use crate::proc::headroom::{PidLimit, is_within};

/// `--container ID-PREFIX` and `--pod NAME`: keep the zombies of parents in that container
/// or pod. Both given, both must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerFilter {
    /// A prefix of the container's ID (or an LXC container's name).
    pub container: Option<String>,
    /// A pod's name, `namespace/name`, or UID.
    pub pod: Option<String>,
}

impl ContainerFilter {
    pub fn is_empty(&self) -> bool {
        self.container.is_none() && self.pod.is_none()
    }

    /// Whether a parent in `c` passes. A parent whose cgroup could not be read passes only
    /// when nothing is asked.
    pub fn matches(&self, c: Option<&Container>) -> bool {
        if self.is_empty() {
            return true;
        }
        let Some(c) = c else { return false };
        let container = self.container.as_deref().is_none_or(|want| {
            c.id.as_deref().is_some_and(|id| {
                id.len() >= want.len() && id[..want.len()].eq_ignore_ascii_case(want)
            })
        });
        let pod = self.pod.as_deref().is_none_or(|want| {
            let full = match (&c.pod_namespace, &c.pod_name) {
                (Some(ns), Some(name)) => Some(format!("{ns}/{name}")),
                _ => None,
            };
            c.pod_name.as_deref() == Some(want)
                || full.as_deref() == Some(want)
                || c.pod_uid.as_deref() == Some(want)
        });
        container && pod
    }
}

/// A cgroup's pids.max that some parents of zombies run under: how full it is, and how many
/// of its tasks are zombies counted in this diagnosis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PidLimitUse {
    pub limit: PidLimit,
    /// Zombies of the parents at or below the limit's cgroup.
    pub zombies: usize,
    /// Those parents, in the report's order.
    pub parents: Vec<Pid>,
    /// Their containers or units, each once, in the same order.
    pub containers: Vec<Container>,
}

impl PidLimitUse {
    /// pids.current as a share of pids.max, in percent; None when current is unknown.
    pub fn used_pct(&self) -> Option<f64> {
        percent(self.limit.current?, self.limit.max)
    }
}

/// `part` of `whole`, in percent (a limit of 0 is full).
pub fn percent(part: u64, whole: u64) -> Option<f64> {
    Some(if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    })
}

/// Every limit that is the nearest one of some parent, with the zombies below it: a parent's
/// cgroup lies below a limit exactly when its own nearest limit is that one or a deeper one.
/// Fullest first.
pub fn pid_limits(parents: &[ParentFinding]) -> Vec<PidLimitUse> {
    let mut limits: Vec<PidLimit> = parents.iter().filter_map(|p| p.pid_limit.clone()).collect();
    limits.sort_by(|a, b| a.cgroup.cmp(&b.cgroup));
    limits.dedup_by(|a, b| a.cgroup == b.cgroup);
    let mut out: Vec<PidLimitUse> = limits
        .into_iter()
        .map(|limit| {
            let below: Vec<&ParentFinding> = parents
                .iter()
                .filter(|p| {
                    p.pid_limit
                        .as_ref()
                        .is_some_and(|own| is_within(&own.cgroup, &limit.cgroup))
                })
                .collect();
            let mut containers: Vec<Container> = Vec::new();
            for c in below.iter().filter_map(|p| p.container.as_ref()) {
                if c.is_known() && !containers.contains(c) {
                    containers.push(c.clone());
                }
            }
            PidLimitUse {
                zombies: below.iter().map(|p| p.zombies.len()).sum(),
                parents: below.iter().map(|p| p.pid).collect(),
                containers,
                limit,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.used_pct()
            .unwrap_or(-1.0)
            .total_cmp(&a.used_pct().unwrap_or(-1.0))
            .then_with(|| a.limit.cgroup.cmp(&b.limit.cgroup))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Zombie;

    fn limit(cgroup: &str, current: u64, max: u64) -> PidLimit {
        PidLimit {
            cgroup: cgroup.into(),
            current: Some(current),
            max,
        }
    }

    fn parent(
        pid: Pid,
        zombies: usize,
        l: Option<PidLimit>,
        c: Option<Container>,
    ) -> ParentFinding {
        let mut p = ParentFinding::for_test(pid, "p");
        p.zombies = (0..zombies)
            .map(|i| Zombie::for_test(pid * 10 + i as Pid, pid))
            .collect();
        p.pid_limit = l;
        p.container = c;
        p
    }

    fn pod(id: &str, ns: &str, name: &str) -> Container {
        Container {
            id: Some(id.into()),
            pod_uid: Some("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b".into()),
            pod_namespace: Some(ns.into()),
            pod_name: Some(name.into()),
            ..Container::default()
        }
    }

    #[test]
    fn filters_by_id_prefix_and_pod() {
        let c = pod("4F4f3a2b", "shop", "web-0");
        let f = |container: Option<&str>, pod: Option<&str>| ContainerFilter {
            container: container.map(str::to_string),
            pod: pod.map(str::to_string),
        };
        assert!(f(None, None).matches(None));
        assert!(f(Some("4f4f"), None).matches(Some(&c)));
        assert!(f(Some("4f4f3a2b"), None).matches(Some(&c)));
        assert!(!f(Some("4f4f3a2b0"), None).matches(Some(&c)));
        assert!(!f(Some("5f"), None).matches(Some(&c)));
        assert!(f(None, Some("web-0")).matches(Some(&c)));
        assert!(f(None, Some("shop/web-0")).matches(Some(&c)));
        assert!(f(None, Some("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b")).matches(Some(&c)));
        assert!(!f(None, Some("web")).matches(Some(&c)));
        assert!(!f(None, Some("other/web-0")).matches(Some(&c)));
        assert!(f(Some("4f"), Some("web-0")).matches(Some(&c)));
        assert!(!f(Some("4f"), Some("web-1")).matches(Some(&c)));
        // A parent whose cgroup is unknown is in no container.
        assert!(!f(Some("4f"), None).matches(None));
        assert!(!f(Some("4f"), None).matches(Some(&Container::default())));
    }

    #[test]
    fn each_limit_counts_the_zombies_below_it() {
        let a = pod(&"a".repeat(64), "shop", "web-0");
        let b = pod(&"b".repeat(64), "shop", "web-0");
        let parents = vec![
            // Two containers of one pod, under the pod's limit.
            parent(
                1,
                3,
                Some(limit("/kubepods/pod1", 90, 100)),
                Some(a.clone()),
            ),
            parent(
                2,
                2,
                Some(limit("/kubepods/pod1", 90, 100)),
                Some(b.clone()),
            ),
            // A container with a limit of its own inside that pod: in both.
            parent(
                3,
                1,
                Some(limit("/kubepods/pod1/c", 5, 50)),
                Some(a.clone()),
            ),
            // Elsewhere, and nowhere.
            parent(4, 4, Some(limit("/system.slice/x.service", 1, 1000)), None),
            parent(5, 7, None, None),
        ];
        let l = pid_limits(&parents);
        let got: Vec<(&str, usize, Vec<Pid>)> = l
            .iter()
            .map(|u| (u.limit.cgroup.as_str(), u.zombies, u.parents.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/kubepods/pod1", 6, vec![1, 2, 3]),
                ("/kubepods/pod1/c", 1, vec![3]),
                ("/system.slice/x.service", 4, vec![4]),
            ]
        );
        assert_eq!(l[0].containers, vec![a, b]);
        assert_eq!(l[0].used_pct(), Some(90.0));
        assert!(l[2].containers.is_empty());
    }
}
