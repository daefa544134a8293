//! The fleet kit in deploy/ is tested like code: the DaemonSet is parsed and held to its
//! promise (read-only, no privilege, the host's paths passed to the binary), then run for
//! real the way a kubelet would (its mounts, no capability, its own PID namespace); the alert
//! rules pass promtool's own unit tests and name only metrics that `check` writes.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use yaml_rust2::{Yaml, YamlLoader};

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(rel)
}

/// Every document of deploy/kubernetes/zombies.yaml.
fn manifests() -> Vec<Yaml> {
    let text = std::fs::read_to_string(deploy("kubernetes/zombies.yaml")).unwrap();
    YamlLoader::load_from_str(&text).expect("deploy/kubernetes/zombies.yaml is not YAML")
}

fn of_kind(docs: &[Yaml], kind: &str) -> Yaml {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} in zombies.yaml"))
        .clone()
}

/// One container mount: where it is seen, where it comes from on the node, read-only or not.
#[derive(Debug)]
struct Mount {
    container: String,
    host: String,
    read_only: bool,
}

/// The DaemonSet's only container: its arguments and its mounts, resolved to host paths.
struct Container {
    args: Vec<String>,
    mounts: Vec<Mount>,
    spec: Yaml,
    pod: Yaml,
}

fn container() -> Container {
    let ds = of_kind(&manifests(), "DaemonSet");
    let pod = ds["spec"]["template"]["spec"].clone();
    let containers = pod["containers"].as_vec().expect("containers");
    assert_eq!(containers.len(), 1, "one container, no sidecar");
    let c = containers[0].clone();
    let args = c["args"]
        .as_vec()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("args are strings").to_string())
        .collect();
    let volumes = pod["volumes"].as_vec().expect("volumes");
    let mounts = c["volumeMounts"]
        .as_vec()
        .expect("volumeMounts")
        .iter()
        .map(|m| {
            let name = m["name"].as_str().unwrap();
            let v = volumes
                .iter()
                .find(|v| v["name"].as_str() == Some(name))
                .unwrap_or_else(|| panic!("no volume {name}"));
            Mount {
                container: m["mountPath"].as_str().unwrap().to_string(),
                host: v["hostPath"]["path"]
                    .as_str()
                    .unwrap_or_else(|| panic!("volume {name} is not a hostPath"))
                    .to_string(),
                read_only: m["readOnly"].as_bool().unwrap_or(false),
            }
        })
        .collect();
    Container {
        args,
        mounts,
        spec: c,
        pod,
    }
}

impl Container {
    /// The value of `--name=VALUE` in the arguments.
    fn arg(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}=");
        self.args.iter().find_map(|a| a.strip_prefix(&prefix))
    }

    fn mount_at(&self, container_path: &str) -> &Mount {
        self.mounts
            .iter()
            .find(|m| m.container == container_path)
            .unwrap_or_else(|| panic!("nothing mounted at {container_path}: {:?}", self.mounts))
    }
}

#[test]
fn the_daemonset_reads_the_host_read_only_and_holds_no_privilege() {
    let c = container();
    // The host's /proc, cgroups and pod logs: mounted read-only, and passed to the binary.
    let proc = c.arg("--proc").expect("--proc");
    assert_eq!(c.mount_at(proc).host, "/proc");
    let sys = c.arg("--sys").expect("--sys");
    let cgroup = c.mount_at(&format!("{sys}/fs/cgroup"));
    assert_eq!(cgroup.host, "/sys/fs/cgroup");
    let pods = c.arg("--pods-dir").expect("--pods-dir");
    assert_eq!(c.mount_at(pods).host, "/var/log/pods");
    for path in [proc, &format!("{sys}/fs/cgroup"), pods] {
        assert!(c.mount_at(path).read_only, "{path} must be read-only");
    }
    // Only the textfile and the state are written, each into its own directory.
    let output = Path::new(c.arg("--output").expect("--output"));
    let textfile = c.mount_at(output.parent().unwrap().to_str().unwrap());
    assert_eq!(textfile.host, "/var/lib/node_exporter/textfile_collector");
    let state = Path::new(c.arg("--state").expect("--state"));
    c.mount_at(state.parent().unwrap().to_str().unwrap());
    for m in &c.mounts {
        assert!(
            m.read_only
                || m.container == textfile.container
                || Path::new(&m.container) == state.parent().unwrap(),
            "{m:?} is writable"
        );
    }
    // It checks, for Prometheus, on its own cadence.
    assert!(c.args.contains(&"check".to_string()), "{:?}", c.args);
    assert_eq!(c.arg("--format"), Some("prometheus"));
    assert!(c.arg("--every").is_some(), "{:?}", c.args);
    // No privilege: not the host's PID namespace, no capability, no escalation, no token.
    for flag in ["hostPID", "hostNetwork", "hostIPC"] {
        assert_ne!(c.pod[flag].as_bool(), Some(true), "{flag}");
    }
    assert_eq!(c.pod["automountServiceAccountToken"].as_bool(), Some(false));
    let sc = &c.spec["securityContext"];
    assert_ne!(sc["privileged"].as_bool(), Some(true));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert!(sc["capabilities"]["add"].is_badvalue(), "adds capabilities");
    let dropped: Vec<&str> = sc["capabilities"]["drop"]
        .as_vec()
        .expect("capabilities.drop")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(dropped, ["ALL"]);
}

/// The container as a kubelet would start it: the manifest's hostPath mounts (read-only
/// where it says), no capability, no_new_privs, a PID namespace of its own. It sees the
/// host's zombies through /host/proc, writes the textfile, and ends with 0 on SIGTERM.
#[test]
#[ignore = "needs root: mounts and a PID namespace"]
fn the_daemonset_container_works_as_the_manifest_describes_it() {
    needs_root();
    let c = container();
    let env = TestEnv::new("deploy");
    let root = env.path("root");
    // The node's read-only paths are the real ones (an empty stand-in where this machine
    // has none, as a kubelet's DirectoryOrCreate would make); the writable ones are the
    // test's own, so the node's textfile directory is left alone.
    let host_of = |m: &Mount| -> PathBuf {
        let real = PathBuf::from(&m.host);
        if m.read_only && real.exists() {
            return real;
        }
        let p = env.path(&format!("host{}", m.host));
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    let mut script = String::from("set -e\n");
    for m in &c.mounts {
        let at = root.join(m.container.trim_start_matches('/'));
        std::fs::create_dir_all(&at).unwrap();
        script.push_str(&format!(
            "mount --bind '{}' '{}'\n",
            host_of(m).display(),
            at.display()
        ));
        if m.read_only {
            script.push_str(&format!("mount -o remount,bind,ro '{}'\n", at.display()));
        }
    }
    // The container's absolute paths, under the test's root (no chroot: the binary and its
    // libraries are not in that root).
    let args: Vec<String> = c
        .args
        .iter()
        .map(|a| match a.split_once("=/") {
            Some((flag, path)) => format!("{flag}={}/{path}", root.display()),
            None => a.clone(),
        })
        .map(|a| {
            // A second a tick instead of the manifest's cadence, for the test's sake.
            if a.starts_with("--every=") {
                "--every=1s".to_string()
            } else {
                a
            }
        })
        .collect();
    script.push_str(&format!(
        "exec setpriv --inh-caps=-all --bounding-set=-all --no-new-privs '{}' {}\n",
        bin().display(),
        args.iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let zp = ZombieParent::spawn(Spec::default());
    let mut ctr = Background(
        std::process::Command::new("unshare")
            .args(["--mount", "--pid", "--fork", "--kill-child", "sh", "-c"])
            .arg(&script)
            .spawn()
            .expect("unshare"),
    );
    let output = root.join(c.arg("--output").unwrap().trim_start_matches('/'));
    let textfile = env.path(&format!(
        "host{}",
        c.mount_at(
            Path::new(c.arg("--output").unwrap())
                .parent()
                .unwrap()
                .to_str()
                .unwrap()
        )
        .host
    ));
    let written = textfile.join(output.file_name().unwrap());
    let series = format!("zombies_by_parent{{parent_pid=\"{}\"", zp.pid);
    assert!(
        wait_until(Duration::from_secs(15), || std::fs::read_to_string(
            &written
        )
        .is_ok_and(|t| t.contains(&series))),
        "the container did not see parent {} of the host: {:?}",
        zp.pid,
        std::fs::read_to_string(&written)
    );
    // Its PID 1 is zombies itself: SIGTERM to it, as `kubectl delete pod` sends.
    let init = children_of(ctr.0.id() as i32);
    assert_eq!(init.len(), 1, "{init:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(init[0]),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = ctr.wait(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "SIGTERM must end it with 0");
    // The state kept its sighting of the host's zombie.
    let state = env.path(&format!(
        "host{}",
        c.mount_at(
            Path::new(c.arg("--state").unwrap())
                .parent()
                .unwrap()
                .to_str()
                .unwrap()
        )
        .host
    ));
    assert!(
        state.join("check-state.json").exists(),
        "no state written in {}",
        state.display()
    );
}

/// A process of the test, killed and reaped if the test fails.
struct Background(std::process::Child);

impl Background {
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let asked = std::time::Instant::now();
        loop {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s;
            }
            assert!(asked.elapsed() < limit, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every metric the rules name is one `zombies check --format prometheus` declares (a
/// renamed metric would leave an alert silently without data).
#[test]
fn the_alert_rules_name_only_metrics_check_writes() {
    let rules = std::fs::read_to_string(deploy("prometheus/zombies.rules.yml")).unwrap();
    let env = TestEnv::new("deploy");
    let out = env
        .command()
        .args(["check", "--format", "prometheus", "--state"])
        .arg(env.path("state.json"))
        .run();
    let text = out.stdout();
    let declared: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut named = Vec::new();
    for (i, _) in rules.match_indices("zombies_") {
        let word: String = rules[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // `zombies.prom` (the file) and the group's name are not metrics.
        if rules[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        named.push(word);
    }
    assert!(named.len() >= 5, "{named:?}");
    for m in &named {
        assert!(
            declared.contains(&m.as_str()),
            "the rules use {m}, which check does not write: {declared:?}"
        );
    }
}

/// The rules' own unit tests, with promtool where it is installed (Debian: prometheus).
#[test]
fn the_alert_rules_pass_promtool() {
    let Some(promtool) = which("promtool") else {
        println!(
            "skipped: promtool is not installed (apt-get install prometheus); .ci/run installs it"
        );
        return;
    };
    let dir = deploy("prometheus");
    for args in [
        ["check", "rules", "zombies.rules.yml"],
        ["test", "rules", "zombies.rules.test.yml"],
    ] {
        let out = std::process::Command::new(&promtool)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `kubectl kustomize` (offline) renders the kit with the image the kustomization names.
#[test]
fn the_kustomization_renders() {
    let Some(kubectl) = which("kubectl") else {
        println!("skipped: kubectl is not installed");
        return;
    };
    let out = std::process::Command::new(kubectl)
        .arg("kustomize")
        .arg(deploy("kubernetes"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = YamlLoader::load_from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let ds = of_kind(&docs, "DaemonSet");
    let image = ds["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(image.ends_with("/zombies:0.1.0"), "{image}");
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}
