//! Which container, which pod, which service: every zombie parent attributed through its
//! cgroup, and the PID limits its zombies count against. Container hosts are what this
//! machine is not, so most cases are fixture trees (`--proc`, `--sys`, `--pods-dir`) for each
//! cgroup form a runtime makes, and for bad input; as root, a real cgroup with a real
//! pids.max holds a real parent and its zombies.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const NONE: &str = NO_SIGNALS;

const ID: &str = "4f4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f";
const ID2: &str = "9c9c000011112222333344445555666677778888999900001111222233334444";
const UID1: &str = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b";
const UID2: &str = "2a2a2a2a-0000-4000-8000-000000000002";
const UID3: &str = "3b3b3b3b-0000-4000-8000-000000000003";
const UID4: &str = "4c4c4c4c-0000-4000-8000-000000000004";
const UID5: &str = "5d5d5d5d-0000-4000-8000-000000000005";

fn slice(uid: &str) -> String {
    uid.replace('-', "_")
}

/// The pod slice of pod 1 (systemd driver, burstable).
fn pod1() -> String {
    format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice",
        slice(UID1)
    )
}

/// One parent per cgroup form, each holding one zombie (its PID + 1): the cgroup file's
/// text, and the container object the JSON must carry.
fn forms() -> Vec<(i32, String, Value)> {
    let c = |runtime: Value, id: Value, uid: Value, ns: Value, name: Value, unit: Value| {
        json!({"runtime": runtime, "id": id, "pod_uid": uid, "pod_namespace": ns,
               "pod_name": name, "unit": unit})
    };
    let n = Value::Null;
    vec![
        // Kubernetes, systemd driver, burstable, containerd; named by the pods directory.
        (
            100,
            format!("0::{}/cri-containerd-{ID}.scope\n", pod1()),
            c(
                json!("containerd"),
                json!(ID),
                json!(UID1),
                json!("shop"),
                json!("web-0"),
                n.clone(),
            ),
        ),
        // Besteffort, CRI-O, with its `/container` leaf.
        (
            110,
            format!(
                "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/crio-{ID2}.scope/container\n",
                slice(UID2)
            ),
            c(
                json!("cri-o"),
                json!(ID2),
                json!(UID2),
                json!("kube-system"),
                json!("coredns-5d78c9869d-x2x7k"),
                n.clone(),
            ),
        ),
        // Guaranteed (no QoS level), dockershim; not in the pods directory: unnamed.
        (
            120,
            format!(
                "0::/kubepods.slice/kubepods-pod{}.slice/docker-{ID}.scope\n",
                slice(UID3)
            ),
            c(
                json!("docker"),
                json!(ID),
                json!(UID3),
                n.clone(),
                n.clone(),
                n.clone(),
            ),
        ),
        // kind: the kubelet's own slice nests the pods.
        (
            130,
            format!(
                "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod{}.slice/cri-containerd-{ID2}.scope\n",
                slice(UID4)
            ),
            c(
                json!("containerd"),
                json!(ID2),
                json!(UID4),
                n.clone(),
                n.clone(),
                n.clone(),
            ),
        ),
        // Kubernetes, cgroupfs driver: the runtime is not in the path.
        (
            140,
            format!("0::/kubepods/burstable/pod{UID5}/{ID}\n"),
            c(
                n.clone(),
                json!(ID),
                json!(UID5),
                n.clone(),
                n.clone(),
                n.clone(),
            ),
        ),
        // Docker, systemd and cgroupfs drivers.
        (
            150,
            format!("0::/system.slice/docker-{ID}.scope\n"),
            c(
                json!("docker"),
                json!(ID),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
            ),
        ),
        (
            160,
            format!("0::/docker/{ID2}\n"),
            c(
                json!("docker"),
                json!(ID2),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
            ),
        ),
        // Podman, and its conmon beside it, which is no container.
        (
            170,
            format!("0::/machine.slice/libpod-{ID}.scope/container\n"),
            c(
                json!("podman"),
                json!(ID),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
            ),
        ),
        (
            180,
            format!("0::/machine.slice/libpod-conmon-{ID}.scope\n"),
            c(
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                json!(format!("libpod-conmon-{ID}.scope")),
            ),
        ),
        // nerdctl, LXC.
        (
            190,
            format!("0::/system.slice/nerdctl-{ID2}.scope\n"),
            c(
                json!("nerdctl"),
                json!(ID2),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
            ),
        ),
        (
            200,
            "0::/lxc.payload.web1/system.slice/nginx.service\n".to_string(),
            c(
                json!("lxc"),
                json!("web1"),
                n.clone(),
                n.clone(),
                n.clone(),
                json!("nginx.service"),
            ),
        ),
        // A plain service.
        (
            210,
            "0::/system.slice/nginx.service\n".to_string(),
            c(
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                json!("nginx.service"),
            ),
        ),
        // A v1-only host: no 0:: line; the pids and name=systemd hierarchies name it.
        (
            220,
            format!(
                "12:pids:/docker/{ID}\n11:cpu,cpuacct:/docker/{ID}\n4:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n"
            ),
            c(
                json!("docker"),
                json!(ID),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
            ),
        ),
    ]
}

/// Bad input: what the cgroup file holds, and the container object (or null) it must give.
fn bad_forms() -> Vec<(i32, Vec<u8>, Value)> {
    let unit_only = |u: &str| {
        json!({"runtime": null, "id": null, "pod_uid": null, "pod_namespace": null,
               "pod_name": null, "unit": u})
    };
    vec![
        // Truncated lines: nothing usable, so no container at all.
        (300, b"0:".to_vec(), Value::Null),
        (310, b"12:pids\n1:name=syst".to_vec(), Value::Null),
        (320, Vec::new(), Value::Null),
        // A container ID of the wrong length is a scope like any other.
        (
            330,
            b"0::/system.slice/docker-4f4f3a2b.scope\n".to_vec(),
            unit_only("docker-4f4f3a2b.scope"),
        ),
        // Not UTF-8: read lossily, never dropped.
        (
            340,
            b"0::/system.slice/\xff\xfe.service\n".to_vec(),
            unit_only("\u{fffd}\u{fffd}.service"),
        ),
        // CRI-O's conmon in a pod: the pod, no container.
        (
            350,
            format!("0::{}/crio-conmon-{ID}.scope\n", pod1()).into_bytes(),
            json!({"runtime": null, "id": null, "pod_uid": UID1, "pod_namespace": "shop",
                   "pod_name": "web-0", "unit": format!("crio-conmon-{ID}.scope")}),
        ),
    ]
}

/// A fixture with every form and every bad input, each parent holding one zombie, and the
/// pods directory naming pods 1 and 2.
fn fixture(tag: &str) -> (TestEnv, FakePods) {
    let env = TestEnv::new(tag).with_fake_proc();
    let p = env.proc();
    p.process(1, b"systemd", 'S', 0, 0, 1)
        .file("sys/kernel/threads-max", "1000\n");
    let texts: Vec<(i32, Vec<u8>)> = forms()
        .into_iter()
        .map(|(pid, text, _)| (pid, text.into_bytes()))
        .chain(bad_forms().into_iter().map(|(pid, text, _)| (pid, text)))
        .collect();
    for (pid, text) in texts {
        p.process(pid, b"worker", 'S', 1, 0, 1)
            .status(pid, NONE, NONE, &pid.to_string(), 0)
            .cgroup(pid, text)
            .process(pid + 1, b"job", 'Z', pid, 0x4, 1);
    }
    let pods = FakePods::new(env.path("pods"));
    pods.pod("shop", "web-0", UID1)
        .pod("kube-system", "coredns-5d78c9869d-x2x7k", UID2)
        // Not a pod directory: skipped.
        .pod("junk", "no-uid", "x");
    (env, pods)
}

fn parent(v: &Value, pid: i64) -> Value {
    v["parents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
        .cloned()
        .unwrap_or_else(|| panic!("parent {pid} missing: {v}"))
}

fn arg(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn every_cgroup_form_names_its_container_pod_or_unit() {
    let (env, pods) = fixture("forms");
    let v = env
        .zombies(&["list", "--format", "json", "--pods-dir", &arg(pods.root())])
        .assert_json(Exit::SUCCESS);
    for (pid, text, want) in forms() {
        let p = parent(&v, i64::from(pid));
        assert_eq!(p["container"], want, "{pid}: {text}");
        // The raw first line stays as it was.
        let first = text.lines().next().unwrap();
        assert_eq!(p["cgroup"], first.splitn(3, ':').nth(2).unwrap(), "{pid}");
    }
    for (pid, text, want) in bad_forms() {
        let p = parent(&v, i64::from(pid));
        assert_eq!(
            p["container"],
            want,
            "{pid}: {}",
            String::from_utf8_lossy(&text)
        );
    }
    // A fixture procfs names cgroups of another machine: no limit is read without --sys.
    assert!(
        v["parents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["pid_limit"].is_null())
    );
    assert_eq!(v["pid_limits"], json!([]));
    assert_eq!(v["summary"]["threads_max"], 1000);
}

#[test]
fn list_tree_and_explain_show_the_container_compactly() {
    let (env, pods) = fixture("text");
    let dir = arg(pods.root());
    let out = env.zombies(&["list", "--pods-dir", &dir]).assert_success();
    let text = out.stdout();
    let header = text.lines().next().unwrap();
    assert!(
        header.trim_end().ends_with("REMEDY        CONTAINER"),
        "{header}"
    );
    let row = |pid: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{pid} ")))
            .unwrap_or_else(|| panic!("no row {pid}:\n{text}"))
            .to_string()
    };
    assert!(
        row("100").ends_with("shop/web-0 (containerd 4f4f3a2b1c0d…)"),
        "{text}"
    );
    assert!(
        row("120").ends_with("pod 3b3b3b3b… (docker 4f4f3a2b1c0d…)"),
        "{text}"
    );
    assert!(
        row("140").ends_with("pod 5d5d5d5d… (4f4f3a2b1c0d…)"),
        "{text}"
    );
    assert!(row("200").ends_with("lxc web1, nginx.service"), "{text}");
    assert!(row("210").ends_with("nginx.service"), "{text}");
    assert!(
        row("180").ends_with("libpod-conmon-4f4f3a2b1c0d….scope"),
        "{text}"
    );
    // Bad input shows nothing rather than something wrong.
    assert!(row("300").ends_with("kill-parent"), "{text}");

    let tree = env
        .zombies(&["tree", "--pods-dir", &dir])
        .assert_success()
        .stdout();
    assert!(
        tree.contains("100 worker [1 zombie not reaped, SIGCHLD default → kill-parent] in shop/web-0 (containerd 4f4f3a2b1c0d…)"),
        "{tree}"
    );
    assert!(tree.contains("→ kill-parent] in nginx.service\n"), "{tree}");

    let explain = env
        .zombies(&["explain", "101", "--pods-dir", &dir])
        .assert_success()
        .stdout();
    assert!(
        explain.contains("container 4f4f3a2b1c0d… (containerd) of pod shop/web-0"),
        "{explain}"
    );
    let explain = env
        .zombies(&["explain", "210", "--pods-dir", &dir])
        .assert_success()
        .stdout();
    assert!(explain.contains("systemd unit nginx.service"), "{explain}");
}

#[test]
fn pods_stay_unnamed_without_their_directory_and_say_why_when_it_cannot_be_read() {
    let (env, _pods) = fixture("nopods");
    // Missing: not a Kubernetes node, or not mounted. Nothing to say.
    let out = env
        .zombies(&[
            "list",
            "--format",
            "json",
            "--pods-dir",
            &env.arg("nowhere"),
        ])
        .assert_success();
    assert_eq!(out.stderr(), "", "{}", out.report());
    let p = parent(&out.json(), 100);
    assert_eq!(p["container"]["pod_uid"], UID1);
    assert_eq!(p["container"]["pod_name"], Value::Null);
    // A file where the directory should be: said, and the list still runs.
    std::fs::write(env.path("afile"), "").unwrap();
    let out = env
        .zombies(&["list", "--format", "json", "--pods-dir", &env.arg("afile")])
        .assert_success();
    assert!(
        out.stderr().contains("cannot read --pods-dir"),
        "{}",
        out.report()
    );
    assert_eq!(
        parent(&out.json(), 100)["container"]["pod_name"],
        Value::Null
    );
}

#[test]
fn container_and_pod_filter_list_and_check() {
    let (env, pods) = fixture("filter");
    let dir = arg(pods.root());
    let pids_of = |v: &Value| -> Vec<i64> {
        let mut p: Vec<i64> = v["parents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pid"].as_i64().unwrap())
            .collect();
        p.sort_unstable();
        p
    };
    let list = |extra: &[&str]| {
        let mut args = vec!["list", "--format", "json", "--pods-dir", &dir];
        args.extend_from_slice(extra);
        env.zombies(&args).assert_json(Exit::SUCCESS)
    };
    let all = list(&[]).clone();
    let total = all["summary"]["zombies"].as_u64().unwrap();
    // A prefix of the ID, any case: every parent in a container with that ID.
    let v = list(&["--container", "4F4F3a2b"]);
    assert_eq!(pids_of(&v), vec![100, 120, 140, 150, 170, 220]);
    assert_eq!(v["summary"]["filtered_out"].as_u64().unwrap(), total - 6);
    assert_eq!(
        pids_of(&list(&["--container", &ID2[..20]])),
        vec![110, 130, 160, 190]
    );
    assert_eq!(pids_of(&list(&["--container", "web1"])), vec![200]);
    // A pod by name, by namespace/name, by UID (when its name is unknown).
    assert_eq!(pids_of(&list(&["--pod", "web-0"])), vec![100, 350]);
    assert_eq!(pids_of(&list(&["--pod", "shop/web-0"])), vec![100, 350]);
    assert_eq!(pids_of(&list(&["--pod", "other/web-0"])), Vec::<i64>::new());
    assert_eq!(pids_of(&list(&["--pod", UID3])), vec![120]);
    assert_eq!(
        pids_of(&list(&["--pod", "web-0", "--container", "4f4f"])),
        vec![100]
    );
    // check counts only those.
    let state = env.arg("state.json");
    let out = env
        .zombies(&[
            "check",
            "--state",
            &state,
            "--pods-dir",
            &dir,
            "--pod",
            "web-0",
            "--warn",
            "1",
        ])
        .assert_exit(Exit::CHECK_WARNING);
    assert!(
        out.stdout().starts_with(
            "ZOMBIES WARNING: 2 zombie processes: 1 zombie under worker (100) in shop/web-0 (containerd 4f4f3a2b1c0d…), 1 zombie under worker (350) in shop/web-0 (crio-conmon-4f4f3a2b1c0d….scope)"
        ),
        "{}",
        out.stdout()
    );
    env.zombies(&["check", "--state", &state, "--container", "ffff"])
        .assert_exit(Exit::CHECK_OK)
        .assert_stdout_contains(&["ZOMBIES OK: 0 zombie processes"]);
    // Empty values are usage errors: UNKNOWN for check, 2 for list.
    env.zombies(&["check", "--state", &state, "--pod", ""])
        .assert_exit(Exit::CHECK_UNKNOWN)
        .assert_stdout_contains(&["--pod is empty"]);
    env.zombies(&["list", "--container", " "])
        .assert_exit(Exit::USAGE);
}

/// A v2 host: pod 1 has pids.max 20 at its slice (its container's scope says max); Docker's
/// container 150 has its own limit; the service 210 has none.
/// `zombies check` against the fake sysfs and pods, with zombie thresholds far out of the
/// way so that only the PID limits decide.
fn check_limits(env: &TestEnv, state: &str, sys: &FakeSys, pods: &FakePods, extra: &[&str]) -> Run {
    let (sys, pods) = (arg(sys.root()), arg(pods.root()));
    let args = [
        "check",
        "--state",
        state,
        "--sys",
        &sys,
        "--pods-dir",
        &pods,
    ];
    let thresholds = ["--warn", "100", "--crit", "200"];
    env.zombies(&[&args[..], &thresholds, extra].concat())
}

fn v2_sys(env: &TestEnv) -> FakeSys {
    let sys = FakeSys::v2(env.path("sys"));
    sys.limit(&pod1(), "20", Some(17))
        .limit(
            &format!("{}/cri-containerd-{ID}.scope", pod1()),
            "max",
            Some(4),
        )
        .limit(&format!("/system.slice/docker-{ID}.scope"), "100", Some(3))
        .limit("/system.slice/nginx.service", "max", Some(2));
    sys
}

#[test]
fn pid_limits_walk_up_to_the_nearest_and_count_the_zombies_below() {
    let (env, pods) = fixture("limits");
    let sys = v2_sys(&env);
    let v = env
        .zombies(&[
            "list",
            "--format",
            "json",
            "--sys",
            &arg(sys.root()),
            "--pods-dir",
            &arg(pods.root()),
        ])
        .assert_json(Exit::SUCCESS);
    assert_eq!(
        parent(&v, 100)["pid_limit"],
        json!({"cgroup": pod1(), "current": 17, "max": 20})
    );
    // The conmon in the same pod slice runs under the same limit.
    assert_eq!(parent(&v, 350)["pid_limit"]["cgroup"], pod1());
    assert_eq!(
        parent(&v, 150)["pid_limit"],
        json!({"cgroup": format!("/system.slice/docker-{ID}.scope"), "current": 3, "max": 100})
    );
    assert_eq!(parent(&v, 210)["pid_limit"], Value::Null);
    let limits = v["pid_limits"].as_array().unwrap();
    assert_eq!(limits.len(), 2, "{limits:#?}");
    // Fullest first: 17 of 20.
    assert_eq!(limits[0]["cgroup"], pod1());
    assert_eq!(limits[0]["zombies"], 2);
    assert_eq!(limits[0]["parents"], json!([100, 350]));
    assert_eq!(limits[0]["containers"][0]["pod_name"], "web-0");
    assert_eq!(limits[1]["zombies"], 1);

    let text = env
        .zombies(&[
            "list",
            "--sys",
            &arg(sys.root()),
            "--pods-dir",
            &arg(pods.root()),
        ])
        .assert_success()
        .stdout();
    assert!(
        text.contains(&format!(
            "  shop/web-0 (containerd 4f4f3a2b1c0d…), shop/web-0 (crio-conmon-4f4f3a2b1c0d….scope): 17 of 20 PIDs in use (85%), 2 of them zombies (10%); pids.max of {}",
            pod1()
        )),
        "{text}"
    );

    let explain = env
        .zombies(&[
            "explain",
            "101",
            "--sys",
            &arg(sys.root()),
            "--pods-dir",
            &arg(pods.root()),
        ])
        .assert_success()
        .stdout();
    for want in [
        "PID limits (a fork fails with EAGAIN, \"Resource temporarily unavailable\", when one is full)",
        "  cgroup pids.max    17/20            85%",
        "  kernel.threads-max ",
        "The fullest is the pids.max of cgroup /kubepods.slice/",
        "at 85%",
    ] {
        assert!(explain.contains(want), "{want:?} not in:\n{explain}");
    }
    let e = env
        .zombies(&[
            "explain",
            "101",
            "--format",
            "json",
            "--sys",
            &arg(sys.root()),
        ])
        .assert_json(Exit::SUCCESS);
    assert_eq!(e["pid_limits"][0]["cgroup"], pod1());
    assert_eq!(e["parent"]["pid_limit"]["max"], 20);
}

#[test]
fn check_alerts_on_a_full_pid_limit_that_zombies_take_part_of() {
    let (env, pods) = fixture("warnpids");
    let sys = v2_sys(&env);
    let state = env.arg("state.json");
    let check = |extra: &[&str]| check_limits(&env, &state, &sys, &pods, extra);
    let out = check(&["--warn-pids", "80", "--crit-pids", "90"]).assert_exit(Exit::CHECK_WARNING);
    let line = out.stdout();
    assert!(
        line.contains(&format!(
            "; cgroup {} (shop/web-0 (containerd 4f4f3a2b1c0d…), shop/web-0 (crio-conmon-4f4f3a2b1c0d….scope)) is 85% full (17 of its pids.max 20), 2 of them zombies: reaching --warn-pids 80%",
            pod1()
        )),
        "{line}"
    );
    assert!(
        line.trim_end().ends_with("pids_used=85%;80;90;0;100"),
        "{line}"
    );
    check(&["--crit-pids", "85"]).assert_exit(Exit::CHECK_CRITICAL);
    // Not that full; not asked; a full limit nobody's zombies are under.
    check(&["--warn-pids", "86"]).assert_exit(Exit::CHECK_OK);
    let out = check(&[]).assert_exit(Exit::CHECK_OK);
    assert!(!out.stdout().contains("pids_used"), "{}", out.stdout());
    check(&["--warn-pids", "80", "--container", ID2]).assert_exit(Exit::CHECK_OK);
    // Inverted thresholds are a usage error.
    check(&["--warn-pids", "90", "--crit-pids", "80"]).assert_exit(Exit::CHECK_UNKNOWN);
    let v = check(&["--format", "json", "--warn-pids", "80"]).assert_json(Exit::CHECK_WARNING);
    assert_eq!(v["pids_used_pct"], 85.0);
    assert_eq!(v["thresholds"]["warn_pids_pct"], 80.0);
    assert_eq!(v["list"]["pid_limits"][0]["max"], 20);
    // The same limit, for alert rules: its fill ratio and its zombies, labelled by what the
    // parents below it share (one pod; two containers, so no container_id).
    let prom = check(&["--format", "prometheus"])
        .assert_exit(Exit::CHECK_OK)
        .stdout();
    let labels = format!(
        "limit=\"cgroup\",cgroup=\"{}\",runtime=\"\",container_id=\"\",pod_namespace=\"shop\",pod_name=\"web-0\",unit=\"\"",
        pod1()
    );
    for want in [
        format!("zombies_pid_limit_used_ratio{{{labels}}} 0.85\n"),
        format!("zombies_pid_limit_zombies{{{labels}}} 2\n"),
    ] {
        assert!(prom.contains(&want), "{want:?} not in:\n{prom}");
    }
    // The host's limits hold every counted zombie.
    let zombies: u64 = prom
        .lines()
        .find_map(|l| l.strip_prefix("zombies_processes "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        prom.contains(&format!(
            "zombies_pid_limit_zombies{{limit=\"pid_max\",cgroup=\"\",runtime=\"\",container_id=\"\",pod_namespace=\"\",pod_name=\"\",unit=\"\"}} {zombies}\n"
        )),
        "{prom}"
    );
}

#[test]
fn a_v1_host_reads_its_limits_from_the_pids_hierarchy() {
    let (env, _pods) = fixture("v1");
    let sys = FakeSys::v1(env.path("sys"));
    sys.limit(&format!("/docker/{ID}"), "50", Some(49));
    // The unified paths of the other parents name nothing in a v1 hierarchy.
    let v = env
        .zombies(&["list", "--format", "json", "--sys", &arg(sys.root())])
        .assert_json(Exit::SUCCESS);
    assert_eq!(
        parent(&v, 220)["pid_limit"],
        json!({"cgroup": format!("/docker/{ID}"), "current": 49, "max": 50})
    );
    assert_eq!(parent(&v, 160)["pid_limit"], Value::Null);
}

#[test]
fn cgroup_paths_never_lead_out_of_the_hierarchy() {
    let env = TestEnv::new("escape").with_fake_proc();
    let sys = FakeSys::v2(env.path("sys"));
    // Traps: a pids.max beside the hierarchy, and one behind a symbolic link.
    let trap = env.path("sys/outside");
    std::fs::create_dir_all(&trap).unwrap();
    std::fs::write(trap.join("pids.max"), "7\n").unwrap();
    std::fs::write(trap.join("pids.current"), "6\n").unwrap();
    let linked = sys.root().join("fs/cgroup/linked.scope");
    std::fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink(trap.join("pids.max"), linked.join("pids.max")).unwrap();
    env.proc()
        .process(1, b"init", 'S', 0, 0, 1)
        .process(10, b"a", 'S', 1, 0, 1)
        .status(10, NONE, NONE, "10", 0)
        .cgroup(10, "0::/../../outside\n")
        .process(11, b"z", 'Z', 10, 0x4, 1)
        .process(20, b"b", 'S', 1, 0, 1)
        .status(20, NONE, NONE, "20", 0)
        .cgroup(20, "0::/linked.scope\n")
        .process(21, b"z", 'Z', 20, 0x4, 1);
    let v = env
        .zombies(&["list", "--format", "json", "--sys", &arg(sys.root())])
        .assert_json(Exit::SUCCESS);
    assert_eq!(parent(&v, 10)["pid_limit"], Value::Null, "{v:#}");
    assert_eq!(parent(&v, 20)["pid_limit"], Value::Null, "{v:#}");
}

/// Our DaemonSet pod and container, and the pause container beside it.
const DS_UID: &str = "6e6e6e6e-0000-4000-8000-000000000006";
const DS_ID: &str = "d5d5000011112222333344445555666677778888999900001111222233334444";
const PAUSE_ID: &str = "9a9a000011112222333344445555666677778888999900001111222233334444";

/// The cgroup of our DaemonSet's container: the root of the cgroup namespace it reads in.
fn ds_scope() -> String {
    format!(
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/cri-containerd-{DS_ID}.scope",
        slice(DS_UID)
    )
}

/// A node seen from inside our DaemonSet's container, which has a cgroup namespace of its
/// own: every parent's path is relative to `ds_scope()`. Our pod's slice has pids.max 50,
/// pod 1's 20, nginx.service 100. `mountinfo` is the reader's mount table the copied tree
/// carries (`self/mountinfo`), None for none.
fn namespaced(
    tag: &str,
    mountinfo: impl FnOnce(&FakeSys) -> Option<String>,
) -> (TestEnv, FakeSys, FakePods) {
    let env = TestEnv::new(tag).with_fake_proc();
    let sys = FakeSys::v2(env.path("sys"));
    let ours = ds_scope();
    let our_pod = ours.rsplit_once('/').unwrap().0.to_string();
    sys.limit(&our_pod, "50", Some(9))
        .limit(&ours, "max", Some(2))
        .limit(&pod1(), "20", Some(17))
        .limit("/system.slice/nginx.service", "100", Some(3));
    sys.cgroup(&format!("{our_pod}/cri-containerd-{PAUSE_ID}.scope"));
    sys.cgroup(&format!("{}/cri-containerd-{ID}.scope", pod1()));
    let p = env.proc();
    p.process(1, b"systemd", 'S', 0, 0, 1)
        .file("sys/kernel/threads-max", "1000\n");
    for (pid, cgroup) in [
        // The pause container of our own pod: only its tail is visible.
        (10, format!("0::/../cri-containerd-{PAUSE_ID}.scope\n")),
        // A container of another pod.
        (
            20,
            format!(
                "0::/../../../kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{ID}.scope\n",
                slice(UID1)
            ),
        ),
        // A host service.
        (30, "0::/../../../../system.slice/nginx.service\n".into()),
        // One level too many: above the hierarchy's root.
        (40, "0::/../../../../../etc\n".into()),
        // Our own container: its root.
        (50, "0::/\n".into()),
    ] {
        p.process(pid, b"worker", 'S', 1, 0, 1)
            .status(pid, NONE, NONE, &pid.to_string(), 0)
            .cgroup(pid, cgroup)
            .process(pid + 1, b"job", 'Z', pid, 0x4, 1);
    }
    if let Some(info) = mountinfo(&sys) {
        p.file("self/mountinfo", &info);
    }
    let pods = FakePods::new(env.path("pods"));
    pods.pod("shop", "web-0", UID1)
        .pod("monitoring", "zombies-x7k2p", DS_UID);
    (env, sys, pods)
}

/// The mount table of a container: its own cgroup2 at /sys/fs/cgroup, rooted at its
/// namespace's root (the line `FakeSys::root_mount_line` makes, standing for it), and the
/// host's, mounted elsewhere, whose root lies above.
fn container_mountinfo(sys: &FakeSys) -> String {
    format!(
        "20 1 0:50 / / rw,relatime - overlay overlay rw\n\
         21 20 0:22 / /proc rw - proc proc rw\n\
         22 20 0:26 /../../../.. /host/sys/fs/cgroup ro,relatime - cgroup2 cgroup2 rw\n\
         {}",
        sys.root_mount_line(&ds_scope())
    )
}

/// Inside a DaemonSet's container on a cgroup v2 node every cgroup path is relative to the
/// container's cgroup namespace: the tool finds that namespace's root under --sys by the
/// inode of its own cgroup mount and reads each limit where it is, and the pause container
/// of its own pod keeps its pod.
#[test]
fn paths_from_a_cgroup_namespace_are_placed_under_sys() {
    let (env, sys, pods) = namespaced("cgroupns", |s| Some(container_mountinfo(s)));
    let ours = ds_scope();
    let our_pod = ours.rsplit_once('/').unwrap().0.to_string();
    let list = |extra: &[&str]| {
        let mut args = vec![
            "list",
            "--sys",
            sys.root().to_str().unwrap(),
            "--pods-dir",
            pods.root().to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        env.zombies(&args)
    };
    let run = list(&["--format", "json"]).assert_exit(Exit::SUCCESS);
    let v = run.json();
    assert_eq!(
        v["cgroup_namespace"],
        json!({"root": ours, "problem": null, "message": null})
    );
    let pause = parent(&v, 10);
    assert_eq!(
        pause["container"],
        json!({"runtime": "containerd", "id": PAUSE_ID, "pod_uid": DS_UID,
               "pod_namespace": "monitoring", "pod_name": "zombies-x7k2p", "unit": null})
    );
    assert_eq!(
        pause["pid_limit"],
        json!({"cgroup": our_pod, "current": 9, "max": 50})
    );
    // The raw line is kept as the kernel wrote it.
    assert_eq!(
        pause["cgroup"],
        format!("/../cri-containerd-{PAUSE_ID}.scope")
    );
    let other = parent(&v, 20);
    assert_eq!(other["container"]["pod_name"], "web-0");
    assert_eq!(
        other["pid_limit"],
        json!({"cgroup": pod1(), "current": 17, "max": 20})
    );
    assert_eq!(
        parent(&v, 30)["pid_limit"],
        json!({"cgroup": "/system.slice/nginx.service", "current": 3, "max": 100})
    );
    assert_eq!(parent(&v, 30)["container"]["unit"], "nginx.service");
    // Our own container's processes read `/`: that is the namespace's root, in our pod.
    let own = parent(&v, 50);
    assert_eq!(own["container"]["id"], DS_ID);
    assert_eq!(own["container"]["pod_name"], "zombies-x7k2p");
    assert_eq!(own["pid_limit"]["cgroup"], our_pod);
    for pid in [10, 20, 30, 50] {
        assert_eq!(parent(&v, pid)["pid_limit_unknown"], false, "{pid}");
    }
    // The path that climbs above the hierarchy's root is followed nowhere, and said so.
    let escape = parent(&v, 40);
    assert_eq!(escape["pid_limit"], Value::Null);
    assert_eq!(escape["pid_limit_unknown"], true);
    assert!(
        run.stderr().contains(&format!(
            "zombies: warning: the cgroup paths of 1 parent of zombies (40) climb above the hierarchy's root from this cgroup namespace's root {ours}; their PID limits are unknown"
        )),
        "{}",
        run.stderr()
    );
    // Said once, whatever the output.
    let text = list(&[]).assert_exit(Exit::SUCCESS);
    assert_eq!(
        text.stderr().matches("warning:").count(),
        1,
        "{}",
        text.stderr()
    );
    assert!(
        text.stdout().contains(&format!(
            "monitoring/zombies-x7k2p (containerd 9a9a00001111…), monitoring/zombies-x7k2p (containerd d5d500001111…): 9 of 50 PIDs in use (18%), 2 of them zombies (4%); pids.max of {our_pod}"
        )),
        "{}",
        text.stdout()
    );
    let explain = env
        .zombies(&[
            "explain",
            "21",
            "--sys",
            sys.root().to_str().unwrap(),
            "--pods-dir",
            pods.root().to_str().unwrap(),
        ])
        .assert_exit(Exit::SUCCESS)
        .stdout();
    assert!(
        explain.contains(
            "  cgroup pids.max    17/20            85%    /kubepods.slice/kubepods-burstable.slice/"
        ),
        "{explain}"
    );
    // check: the limits found count; the unknown one is said, and with --warn-pids it
    // cannot be judged.
    let state = env.arg("state.json");
    let check = |extra: &[&str]| check_limits(&env, &state, &sys, &pods, extra);
    let c = check(&["--format", "json", "--parent", "20", "--warn-pids", "80"])
        .assert_json(Exit::CHECK_WARNING);
    assert_eq!(c["pids_used_pct"], 85.0);
    assert_eq!(c["pid_limits_unknown"], Value::Null);
    let c = check(&["--format", "json", "--warn-pids", "80"]).assert_json(Exit::CHECK_WARNING);
    assert_eq!(c["pid_limits_unknown"]["parents"], json!([40]));
    assert_eq!(c["pid_limits_unknown"]["problem"], "outside-hierarchy");
    let prom = check(&["--format", "prometheus"])
        .assert_exit(Exit::CHECK_OK)
        .stdout();
    for want in [
        format!(
            "zombies_pid_limit_used_ratio{{limit=\"cgroup\",cgroup=\"{}\",runtime=\"containerd\",container_id=\"{ID}\",pod_namespace=\"shop\",pod_name=\"web-0\",unit=\"\"}} 0.85\n",
            pod1()
        ),
        "zombies_pid_limit_unknown_parents 1\n".to_string(),
    ] {
        assert!(prom.contains(&want), "{want:?} not in:\n{prom}");
    }
}

/// Makes the mount table a fixture's reader had, from its --sys tree.
type MountTable = Box<dyn FnOnce(&FakeSys) -> Option<String>>;

/// When the namespace's root cannot be found the limits are unknown, not absent: a warning on
/// stderr says why and what to mount, check cannot judge --warn-pids (UNKNOWN), the JSON and
/// the metrics say which parents; attribution still reads the paths' tails.
#[test]
fn a_cgroup_namespace_that_cannot_be_placed_leaves_the_limits_unknown() {
    let mut cases: Vec<(&str, MountTable, &str, &str)> = vec![
        (
            "nomount",
            Box::new(|_| {
                Some("21 20 0:22 / /proc rw - proc proc rw\n22 20 0:26 /../../../.. /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n".into())
            }),
            "no-mount",
            "no cgroup filesystem is mounted at this cgroup namespace's root",
        ),
        (
            "notable",
            Box::new(|_| None),
            "no-mount-table",
            "the mount table",
        ),
        (
            // The mount ID of another mount: what a mount covering it would give.
            "covered",
            Box::new(|s| {
                let line = s.root_mount_line(&ds_scope());
                let (id, rest) = line.split_once(' ').unwrap();
                Some(format!("{} {rest}", id.parse::<u64>().unwrap() + 100_000))
            }),
            "covered",
            "is covered by another mount or cannot be opened",
        ),
        (
            // A directory beside --sys, on the same filesystem: --sys holds a part only.
            "elsewhere",
            Box::new(|s| {
                let beside = s.root().join("../elsewhere");
                std::fs::create_dir_all(&beside).unwrap();
                let line = s.root_mount_line(&ds_scope());
                let fields: Vec<&str> = line.split(' ').collect();
                let mut f: Vec<String> = fields.iter().map(|x| x.to_string()).collect();
                f[4] = beside.canonicalize().unwrap().to_str().unwrap().to_string();
                Some(f.join(" "))
            }),
            "not-found",
            "is not under --sys within 13 levels",
        ),
    ];
    for (tag, info, problem, words) in cases.drain(..) {
        let (env, sys, pods) = namespaced(tag, info);
        let base = [
            "--sys",
            sys.root().to_str().unwrap(),
            "--pods-dir",
            pods.root().to_str().unwrap(),
        ];
        let run = env
            .zombies(&[&["list", "--format", "json"][..], &base].concat())
            .assert_exit(Exit::SUCCESS);
        let v = run.json();
        assert_eq!(v["cgroup_namespace"]["root"], Value::Null, "{tag}");
        assert_eq!(v["cgroup_namespace"]["problem"], problem, "{tag}");
        // Every path is relative to the unknown root, `/` included: every limit unknown.
        for pid in [10, 20, 30, 40, 50] {
            let p = parent(&v, pid);
            assert_eq!(p["pid_limit"], Value::Null, "{tag} {pid}");
            assert_eq!(p["pid_limit_unknown"], true, "{tag} {pid}");
        }
        // The tail still names the container, not the pod.
        assert_eq!(parent(&v, 10)["container"]["id"], PAUSE_ID);
        assert_eq!(parent(&v, 10)["container"]["pod_uid"], Value::Null);
        assert_eq!(parent(&v, 30)["container"]["unit"], "nginx.service");
        let err = run.stderr();
        assert_eq!(err.matches("zombies: warning: zombies runs in a cgroup namespace of its own (cgroup paths start with /..) whose root was not found under --sys: ").count(), 1, "{tag}: {err}");
        assert!(err.contains(words), "{tag}: {err}");
        assert!(
            err.contains(
                "so the PID limits of 5 parents of zombies (10, 20, 30, 40, 50) are unknown"
            ),
            "{tag}: {err}"
        );
        let explain = env
            .zombies(&[&["explain", "21"][..], &base].concat())
            .assert_exit(Exit::SUCCESS)
            .stdout();
        assert!(
            explain.contains("  cgroup pids.max    ?                ?      unknown: its cgroup path is relative to this cgroup namespace, which could not be placed under --sys"),
            "{tag}: {explain}"
        );
        let state = env.arg("state.json");
        let check = |extra: &[&str]| {
            env.zombies(&[&["check", "--state", &state][..], &base, extra].concat())
        };
        let out = check(&["--warn-pids", "80"]).assert_exit(Exit::CHECK_UNKNOWN);
        assert!(
            out.stdout().contains(
                "; PID limits cannot be checked: zombies runs in a cgroup namespace of its own"
            ),
            "{tag}: {}",
            out.stdout()
        );
        // Not asked to judge limits: OK, and still said.
        let out = check(&[]).assert_exit(Exit::CHECK_OK);
        assert!(out.stdout().contains(words), "{tag}: {}", out.stdout());
        let c = check(&["--format", "json"]).assert_json(Exit::CHECK_OK);
        assert_eq!(
            c["pid_limits_unknown"]["parents"],
            json!([10, 20, 30, 40, 50]),
            "{tag}"
        );
        assert_eq!(c["pid_limits_unknown"]["problem"], problem, "{tag}");
        assert_eq!(c["list"]["cgroup_namespace"]["problem"], problem, "{tag}");
        let prom = check(&["--format", "prometheus"])
            .assert_exit(Exit::CHECK_OK)
            .stdout();
        assert!(
            prom.contains("zombies_pid_limit_unknown_parents 5\n"),
            "{tag}: {prom}"
        );
        assert!(!prom.contains("limit=\"cgroup\""), "{tag}: {prom}");
    }
}

#[test]
fn prometheus_has_one_series_per_container_and_passes_promtool() {
    let (env, pods) = fixture("prom");
    let out = env
        .zombies(&[
            "check",
            "--state",
            &env.arg("state.json"),
            "--format",
            "prometheus",
            "--pods-dir",
            &arg(pods.root()),
            "--warn",
            "100",
            "--crit",
            "200",
        ])
        .assert_success();
    let text = out.stdout();
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("zombies_by_container{"))
        .collect();
    assert!(
        series.contains(&format!("zombies_by_container{{runtime=\"containerd\",container_id=\"{ID}\",pod_namespace=\"shop\",pod_name=\"web-0\",unit=\"\"}} 1").as_str()),
        "{text}"
    );
    // Three Docker parents with one container ID (150 and 220, v2 and v1 forms, and 120, in
    // a pod whose name is unknown, so that nothing in the labels tells it apart): one series.
    assert!(
        series.contains(&format!("zombies_by_container{{runtime=\"docker\",container_id=\"{ID}\",pod_namespace=\"\",pod_name=\"\",unit=\"\"}} 3").as_str()),
        "{text}"
    );
    // Bounded: one series per place that holds zombies, and every zombie in one of them.
    let total: u64 = series
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(
        text.contains(&format!("zombies_processes {total}\n")),
        "{text}"
    );
    let mut labels: Vec<&str> = series
        .iter()
        .map(|l| l.rsplit_once(' ').unwrap().0)
        .collect();
    labels.sort_unstable();
    let n = labels.len();
    labels.dedup();
    assert_eq!(labels.len(), n, "a label set twice: {text}");
    // The exposition format's own linter, where it is installed (Debian: prometheus).
    if let Ok(promtool) = which("promtool") {
        let file = env.path("zombies.prom");
        std::fs::write(&file, &text).unwrap();
        let out = std::process::Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::fs::File::open(&file).unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        println!("promtool not installed: the format was checked by these assertions only");
    }
}

/// The path of a program on PATH.
fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// watch names each zombie's container as it reports it, and --container keeps only those
/// whose parent runs in it. Live: the test's own parent and zombie, reported as existing at
/// the start of a short watch.
#[test]
fn watch_names_the_container_and_filters_by_it() {
    let env = TestEnv::new("watchc").with_parent(Spec::default());
    let zombie = i64::from(env.parent().zombies[0]);
    let run = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["watch", "--scan", "--for", "300ms", "--format", "json"];
        args.extend_from_slice(extra);
        let out = env.zombies(&args).assert_success();
        out.stdout()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let events = run(&[]);
    let ours = events
        .iter()
        .find(|e| e["event"] == "zombie" && e["pid"] == zombie)
        .unwrap_or_else(|| panic!("no event for {zombie}: {events:#?}"));
    // Its parent's cgroup is readable here: an object, whatever it names.
    assert!(ours["container"].is_object(), "{ours}");
    let filtered = run(&["--container", "0123456789ab"]);
    assert!(
        !filtered.iter().any(|e| e["pid"] == zombie),
        "{filtered:#?}"
    );
}

/// A real cgroup with a real pids.max: created, the parent moved in before it forks its
/// zombies, and removed after, also when an assertion fails.
struct Cgroup {
    /// The cgroup's directory.
    dir: PathBuf,
    /// The root of its hierarchy.
    base: PathBuf,
    /// What --sys must name for the tool to find it.
    sys: PathBuf,
    /// A cgroup2 this test mounted (where nothing was mounted), to unmount.
    mounted: Option<PathBuf>,
    /// Whether the test enabled pids in the root's subtree_control, to undo.
    enabled: bool,
    /// The path /proc/PID/cgroup shows for it.
    path: String,
}

impl Cgroup {
    /// A cgroup named `name` with pids.max `max`: in the unified hierarchy when it offers the
    /// pids controller, in the v1 pids hierarchy on a v1 or hybrid host, or in a cgroup2
    /// mounted for the test where none is (a bare VM).
    fn create(env: &TestEnv, name: &str, max: u64) -> Cgroup {
        let has_pids = |dir: &Path| {
            std::fs::read_to_string(dir.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|w| w == "pids"))
        };
        let host = Path::new("/sys/fs/cgroup");
        let (base, sys, mounted) = if has_pids(host) {
            (host.to_path_buf(), PathBuf::from("/sys"), None)
        } else if host.join("pids/cgroup.procs").exists() {
            (host.join("pids"), PathBuf::from("/sys"), None)
        } else if !host.join("cgroup.procs").exists() && !host.join("unified").exists() {
            let sys = env.path("sys");
            let mnt = sys.join("fs/cgroup");
            std::fs::create_dir_all(&mnt).unwrap();
            let ok = std::process::Command::new("mount")
                .args(["-t", "cgroup2", "none"])
                .arg(&mnt)
                .status()
                .unwrap()
                .success();
            assert!(ok, "cannot mount cgroup2 on {}", mnt.display());
            (mnt.clone(), sys, Some(mnt))
        } else {
            panic!("no cgroup hierarchy with the pids controller on this machine");
        };
        let mut cg = Cgroup {
            dir: base.join(name),
            path: format!("/{name}"),
            base,
            sys,
            mounted,
            enabled: false,
        };
        let unified = cg.base.join("cgroup.subtree_control").exists();
        if unified {
            assert!(
                has_pids(&cg.base),
                "cgroup2 without pids at {}",
                cg.base.display()
            );
            let control = cg.base.join("cgroup.subtree_control");
            let on = std::fs::read_to_string(&control).unwrap();
            if !on.split_whitespace().any(|w| w == "pids") {
                std::fs::write(&control, "+pids").unwrap();
                cg.enabled = true;
            }
        }
        std::fs::create_dir(&cg.dir).unwrap();
        std::fs::write(cg.dir.join("pids.max"), max.to_string()).unwrap();
        println!(
            "cgroup {} ({})",
            cg.dir.display(),
            if unified { "v2" } else { "v1 pids" }
        );
        cg
    }

    /// Another cgroup beside this one, in the same hierarchy, with no limit of its own;
    /// removed on Drop (before this one, when declared after it).
    fn sibling(&self, name: &str) -> Cgroup {
        let dir = self.base.join(name);
        std::fs::create_dir(&dir).unwrap();
        Cgroup {
            dir,
            base: self.base.clone(),
            sys: self.sys.clone(),
            mounted: None,
            enabled: false,
            path: format!("/{name}"),
        }
    }

    /// Whether it is in the unified (v2) hierarchy.
    fn unified(&self) -> bool {
        self.base.join("cgroup.subtree_control").exists()
    }

    fn current(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("pids.current"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Anything still inside goes back to the root, so the directory can go.
        if let Ok(procs) = std::fs::read_to_string(self.dir.join("cgroup.procs")) {
            for pid in procs.split_whitespace() {
                let _ = std::fs::write(self.base.join("cgroup.procs"), pid);
            }
        }
        // A cgroup whose last task was just reaped may still be busy for a moment.
        let gone = wait_until(Duration::from_secs(5), || {
            std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists()
        });
        if !gone {
            eprintln!("could not remove cgroup {}", self.dir.display());
        }
        if self.enabled {
            let _ = std::fs::write(self.base.join("cgroup.subtree_control"), "-pids");
        }
        if let Some(m) = &self.mounted {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(m)
                .status();
        }
    }
}

/// The kernel charges zombies to their cgroup's pids.current until they are reaped, and the
/// tool reads that limit for their parent, names the cgroup's scope as its unit, and alerts
/// when it is full enough.
#[test]
#[ignore = "needs root"]
fn a_real_cgroup_limit_counts_the_zombies_in_it() {
    needs_root();
    let env = TestEnv::new("cgroup");
    let name = format!("zombies-test-{}.scope", std::process::id());
    let cg = Cgroup::create(&env, &name, 5);
    let procs = cg.dir.join("cgroup.procs");
    // Declared after the cgroup: dropped (killed and reaped) before it is removed.
    let parent = ShParent::spawn(
        &format!(
            "echo $$ > {} && {{ /bin/true & /bin/true & exec sleep 60; }}",
            procs.display()
        ),
        2,
    );
    // sleep and its two zombies: zombies hold their PIDs in the limit until reaped.
    assert_eq!(cg.current(), 3, "pids.current of {}", cg.dir.display());
    let sys = arg(&cg.sys);
    let v = env
        .zombies(&[
            "list",
            "--format",
            "json",
            "--sys",
            &sys,
            "--parent",
            &parent.pid.to_string(),
        ])
        .assert_json(Exit::SUCCESS);
    let p = parent_of(&v, parent.pid);
    assert_eq!(p["container"]["unit"], name, "{p:#}");
    assert_eq!(
        p["pid_limit"],
        json!({"cgroup": cg.path, "current": 3, "max": 5}),
        "{p:#}"
    );
    assert_eq!(v["pid_limits"][0]["zombies"], 2, "{v:#}");
    // 3 of 5: 60%.
    let state = env.arg("state.json");
    let pid = parent.pid.to_string();
    let check = |pct: &str| {
        env.zombies(&[
            "check",
            "--state",
            &state,
            "--sys",
            &sys,
            "--parent",
            &pid,
            "--warn-pids",
            pct,
        ])
    };
    let out = check("60").assert_exit(Exit::CHECK_WARNING);
    assert!(
        out.stdout().contains(&format!(
            "cgroup {} ({name}) is 60% full (3 of its pids.max 5), 2 of them zombies: reaching --warn-pids 60%",
            cg.path
        )),
        "{}",
        out.stdout()
    );
    check("61").assert_exit(Exit::CHECK_OK);
    let explain = env
        .zombies(&["explain", &parent.zombies[0].to_string(), "--sys", &sys])
        .assert_success()
        .stdout();
    assert!(explain.contains("  cgroup pids.max    3/5 "), "{explain}");
    drop(parent);
    drop(cg);
}

/// What a DaemonSet's container sees, for real: `zombies` runs in cgroup B with a cgroup
/// namespace of its own rooted there and its own cgroup mount (as a runtime gives a
/// container), the parent of zombies in cgroup A beside it, whose path it reads as `/../A`.
/// With --sys naming a bind of the whole hierarchy it finds its namespace's root by inode and
/// reads A's limit; without its own mount it says the limit is unknown. Runs on a cgroup v2
/// hierarchy with the pids controller (the VM's 6.1) and on a v1 pids hierarchy (a hybrid
/// host), where a cgroup filesystem cannot be mounted again from inside the namespace and a
/// bind of B stands for it: mountinfo shows both as rooted at the namespace's root.
#[test]
#[ignore = "needs root"]
fn a_limit_outside_our_cgroup_namespace_is_read_from_inside_it() {
    needs_root();
    let env = TestEnv::new("cgroupns-live");
    let tag = std::process::id();
    let a_name = format!("zombies-test-{tag}-a.scope");
    let a = Cgroup::create(&env, &a_name, 5);
    let b = a.sibling(&format!("zombies-test-{tag}-b.scope"));
    // Declared after the cgroups: killed and reaped before they are removed.
    let parent = ShParent::spawn(
        &format!(
            "echo $$ > {} && {{ /bin/true & /bin/true & exec sleep 60; }}",
            a.dir.join("cgroup.procs").display()
        ),
        2,
    );
    assert_eq!(a.current(), 3, "pids.current of {}", a.dir.display());
    let unified = a.unified();
    println!(
        "{} hierarchy at {}",
        if unified { "v2" } else { "v1 pids" },
        a.base.display()
    );
    // Inside the new mount namespace (private: nothing leaks out, and all of it ends with
    // the last process in it): the whole hierarchy bound where --sys will look, our own mount
    // as a runtime makes it, then the command.
    let inner = env.path("inner.sh");
    std::fs::write(
        &inner,
        "set -e\n\
         mkdir -p \"$ZT_SYS/$ZT_HIER\"\n\
         mount -o bind \"$ZT_BASE\" \"$ZT_SYS/$ZT_HIER\"\n\
         case $ZT_OWN in\n\
           cgroup2) mount -t cgroup2 none /sys/fs/cgroup ;;\n\
           bind) mount -o bind \"$ZT_B\" /sys/fs/cgroup/pids ;;\n\
         esac\n\
         exec \"$@\"\n",
    )
    .unwrap();
    let hostsys = env.path("hostsys");
    let own = if unified { "cgroup2" } else { "bind" };
    // Moves itself into B, enters a new cgroup namespace (rooted at B) and mount namespace,
    // and runs inner.sh there with the command.
    const OUTER: &str =
        "echo $$ > \"$ZT_B/cgroup.procs\" && exec unshare --cgroup --mount sh \"$ZT_INNER\" \"$@\"";
    let in_ns = |own: &str, cmd: Cmd| {
        cmd.wrapper(&["sh", "-c", OUTER, "sh"])
            .env("ZT_B", &b.dir)
            .env("ZT_INNER", &inner)
            .env("ZT_SYS", &hostsys)
            .env(
                "ZT_HIER",
                if unified {
                    "fs/cgroup"
                } else {
                    "fs/cgroup/pids"
                },
            )
            .env("ZT_BASE", &a.base)
            .env("ZT_OWN", own)
    };
    let sys = arg(&hostsys);
    let pid = parent.pid.to_string();

    // The kernel shows the parent's cgroup from inside as above the namespace's root.
    let mut cat = std::process::Command::new("sh");
    cat.args(["-c", OUTER, "sh", "cat", &format!("/proc/{pid}/cgroup")])
        .env_clear();
    for (k, v) in in_ns(own, env.command()).envs() {
        cat.env(k, v);
    }
    let out = run(&mut cat);
    let seen = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = seen
        .lines()
        .find(|l| {
            if unified {
                l.starts_with("0::")
            } else {
                l.split(':')
                    .nth(1)
                    .is_some_and(|c| c.split(',').any(|c| c == "pids"))
            }
        })
        .unwrap_or_else(|| panic!("no line of the hierarchy in {seen:?}: {}", stderr(&out)));
    assert!(line.ends_with(&format!(":/../{a_name}")), "{seen}");

    let v = in_ns(own, env.command())
        .args(["list", "--format", "json", "--sys", &sys, "--parent", &pid])
        .run()
        .assert_json(Exit::SUCCESS);
    assert_eq!(
        v["cgroup_namespace"],
        json!({"root": b.path, "problem": null, "message": null}),
        "{v:#}"
    );
    let p = parent_of(&v, parent.pid);
    assert_eq!(
        p["pid_limit"],
        json!({"cgroup": a.path, "current": 3, "max": 5}),
        "{p:#}"
    );
    assert_eq!(p["pid_limit_unknown"], false);
    assert_eq!(p["container"]["unit"], a_name, "{p:#}");
    let state = env.arg("state.json");
    let out = in_ns(own, env.command())
        .args([
            "check",
            "--state",
            &state,
            "--sys",
            &sys,
            "--parent",
            &pid,
            "--warn-pids",
            "60",
        ])
        .run()
        .assert_exit(Exit::CHECK_WARNING);
    assert!(
        out.stdout().contains(&format!(
            "cgroup {} ({a_name}) is 60% full (3 of its pids.max 5), 2 of them zombies: reaching --warn-pids 60%",
            a.path
        )),
        "{}",
        out.stdout()
    );

    // No cgroup mount of its own: the root cannot be found, and the limit is unknown.
    let run = in_ns("", env.command())
        .args(["list", "--format", "json", "--sys", &sys, "--parent", &pid])
        .run()
        .assert_exit(Exit::SUCCESS);
    let v = run.json();
    assert_eq!(v["cgroup_namespace"]["problem"], "no-mount", "{v:#}");
    let p = parent_of(&v, parent.pid);
    assert_eq!(p["pid_limit"], Value::Null);
    assert_eq!(p["pid_limit_unknown"], true);
    assert!(
        run.stderr()
            .contains("no cgroup filesystem is mounted at this cgroup namespace's root"),
        "{}",
        run.stderr()
    );
    in_ns("", env.command())
        .args([
            "check",
            "--state",
            &state,
            "--sys",
            &sys,
            "--parent",
            &pid,
            "--warn-pids",
            "60",
        ])
        .run()
        .assert_exit(Exit::CHECK_UNKNOWN);
    drop(parent);
    drop(b);
    drop(a);
}

fn parent_of(v: &Value, pid: i32) -> Value {
    parent(v, i64::from(pid))
}
