# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_zombies_global_optspecs
    string join \n proc= color= ignore-file= sys= pods-dir= h/help V/version
end

function __fish_zombies_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_zombies_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_zombies_using_subcommand
    set -l cmd (__fish_zombies_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c zombies -n "__fish_zombies_needs_command" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_needs_command" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_needs_command" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_needs_command" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_needs_command" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_needs_command" -s h -l help -d 'Print help'
complete -c zombies -n "__fish_zombies_needs_command" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "list" -d 'List zombies grouped by the parent that is not reaping them (the default command)'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "tree" -d 'Show the process tree with zombies and their parents marked'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "explain" -d 'Explain why a zombie has not been reaped, citing /proc, and how to fix it'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "fix" -d 'Fix zombies: nudge their parent, kill it, make it reap them (--reap), or ignore it'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "ignore" -d 'Show or edit the ignore list: parents whose zombies list and check do not report'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "check" -d 'Check for zombies from cron or monitoring: a Nagios/Icinga plugin, a Prometheus textfile, or JSON'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "watch" -d 'Watch zombies live: when each became one (its exact death time), who adopted it when its parent died, and when it was reaped; a summary at the end'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "probe-init" -d 'Test whether a container\'s PID 1 reaps orphans, by giving it one and watching'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "demo" -d 'Learn how processes are born, scheduled and die: demos that make the real system calls on this machine and show the evidence from /proc'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "ipc" -d 'Learn inter-process communication with live demos, and find leaked IPC objects'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "generate" -d 'Write the man pages or shell completions (for packagers and this repository)'
complete -c zombies -n "__fish_zombies_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c zombies -n "__fish_zombies_using_subcommand list" -l parent -d 'Only the zombies of this parent' -r -k -f -a "(__fish_zombies_pids parents)"
complete -c zombies -n "__fish_zombies_using_subcommand list" -l user -d 'Only zombies owned by this user (name or uid)' -r
complete -c zombies -n "__fish_zombies_using_subcommand list" -l container -d 'Only zombies whose parent runs in the container whose ID starts with this (as `docker ps` or `crictl ps` shows it; an LXC container\'s name)' -r
complete -c zombies -n "__fish_zombies_using_subcommand list" -l pod -d 'Only zombies whose parent runs in this Kubernetes pod: its name, NAMESPACE/NAME or UID (names come from --pods-dir)' -r
complete -c zombies -n "__fish_zombies_using_subcommand list" -l format -d 'Output format' -r -f -a "text\t'For people'
json\t'One JSON object (the documented, stable contract)'"
complete -c zombies -n "__fish_zombies_using_subcommand list" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand list" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand list" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand list" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand list" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand list" -l all -d 'Also show the parents on the ignore list'
complete -c zombies -n "__fish_zombies_using_subcommand list" -l pids -d 'Print only the zombie PIDs, one per line'
complete -c zombies -n "__fish_zombies_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand list" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand tree" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand tree" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand tree" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand tree" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand tree" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand tree" -s z -l zombies-only -d 'Keep only the branches that lead to zombies'
complete -c zombies -n "__fish_zombies_using_subcommand tree" -s h -l help -d 'Print help'
complete -c zombies -n "__fish_zombies_using_subcommand tree" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand explain" -l format -d 'Output format' -r -f -a "text\t'For people'
json\t'One JSON object (the documented, stable contract)'"
complete -c zombies -n "__fish_zombies_using_subcommand explain" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand explain" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand explain" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand explain" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand explain" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand explain" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l min-age -d 'With --reap: leave zombies younger than this alone (their parent may yet wait for them): 0s to reap all. Ages come from check\'s state file (exact with `zombies watch --state`), else from when the zombie started, an upper bound' -r
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l parent -d 'Target: this parent of zombies' -r -k -f -a "(__fish_zombies_pids parents)"
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l pid -d 'Target: the parent of this zombie (all of that parent\'s zombies are targeted)' -r -k -f -a "(__fish_zombies_pids zombies)"
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l grace -d 'With --kill-parent: how long to wait after SIGTERM before SIGKILL (e.g. 500ms, 5s, 1m)' -r
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l timeout -d 'How long to wait for the zombies to be reaped before reporting failure' -r
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l settle -d 'Before sending anything, give the parents this long to reap on their own: a parent whose zombies go away meanwhile was about to wait() and is left alone (0s to skip)' -r
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l note -d 'With --ignore: why, for the next person reading the list' -r
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l format -d 'Output format' -r -f -a "text\t'For people'
json\t'One JSON object (the documented, stable contract)'"
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l signal-parent -d 'Remedy: send SIGCHLD to the parent (SIGCONT first when it is stopped), so a handler that reaps runs. Works when `explain` says the parent catches SIGCHLD unblocked'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l kill-parent -d 'Remedy: SIGTERM the parent, SIGKILL it after --grace; its zombies are adopted by PID 1 of its namespace or the nearest subreaper, which should reap them. Reports the adopter'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l ignore -d 'Remedy: add the parent to the ignore list (by executable, else by name) so list and check stop reporting it. Sends no signal'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l reap -d 'Remedy: make the parent itself call wait4() for its zombies (through ptrace, paused for about a millisecond), and let it carry on: no signal, no restart; also for PID 1 of a container. Its own later waitpid() of those children gets ECHILD, so only zombies older than --min-age are reaped. Needs CAP_SYS_PTRACE (root) and an x86_64 parent'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l auto -d 'Remedy: each parent\'s recommended remedy, as `list` shows it. fix-init and ignore recommendations are reported with the command to apply them, never acted on'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l prefer-reap -d 'With --auto: reap instead of killing a parent or advising fix-init'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l all -d 'Target: every parent with zombies that is not on the ignore list'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l force -d 'Also act on critical services (systemd, sshd, dockerd, cron, ...). Never unlocks PID 1, kernel threads, or this tool\'s ancestors and session leader'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -s y -l yes -d 'Act without asking. Needed when stdin is not a terminal (cron, scripts)'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -s n -l dry-run -d 'Print the plan and change nothing'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -l same-user -d 'With --ignore: only when the parent runs as the same user (records its uid)'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand fix" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and not __fish_seen_subcommand_from list remove help" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and not __fish_seen_subcommand_from list remove help" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and not __fish_seen_subcommand_from list remove help" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and not __fish_seen_subcommand_from list remove help" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and not __fish_seen_subcommand_from list remove help" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and not __fish_seen_subcommand_from list remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and not __fish_seen_subcommand_from list remove help" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and not __fish_seen_subcommand_from list remove help" -f -a "list" -d 'Show the entries and the file they live in'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and not __fish_seen_subcommand_from list remove help" -f -a "remove" -d 'Remove the entries whose executable path or command name is ENTRY'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and not __fish_seen_subcommand_from list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "text\t'For people'
json\t'One JSON object (the documented, stable contract)'"
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from list" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from list" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from list" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from list" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from list" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from remove" -l cmdline -d 'Only the entry for this command line, as `zombies ignore list` shows it after "running"' -r
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from remove" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from remove" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from remove" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from remove" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from remove" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from help" -f -a "list" -d 'Show the entries and the file they live in'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove the entries whose executable path or command name is ENTRY'
complete -c zombies -n "__fish_zombies_using_subcommand ignore; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c zombies -n "__fish_zombies_using_subcommand check" -s w -l warn -d 'WARNING when the zombie count is in this alert range; the default 5 means more than 5' -r
complete -c zombies -n "__fish_zombies_using_subcommand check" -s c -l crit -d 'CRITICAL when the zombie count is in this alert range; the default 20 means more than 20' -r
complete -c zombies -n "__fish_zombies_using_subcommand check" -l max-age -d 'CRITICAL when a zombie has been seen for longer than this: 500ms, 30s, 10m, 2h, 1d. The kernel does not record when a process died, so ages are measured from the first check that saw the zombie (see --state); run the check at least this often' -r
complete -c zombies -n "__fish_zombies_using_subcommand check" -l warn-per-parent -d 'WARNING when one parent holds more than N zombies' -r
complete -c zombies -n "__fish_zombies_using_subcommand check" -l warn-pids -d 'WARNING when a PID limit that counted zombies take part of is at least PCT percent full: the pids.max of a cgroup they run under, kernel.pid_max or kernel.threads-max. A fork fails with "Resource temporarily unavailable" when one is full' -r
complete -c zombies -n "__fish_zombies_using_subcommand check" -l crit-pids -d 'CRITICAL when such a limit is at least PCT percent full' -r
complete -c zombies -n "__fish_zombies_using_subcommand check" -l state -d 'Where to remember when each zombie was first seen [default: $XDG_STATE_HOME/zombies/check-state.json (~/.local/state/...), or /var/lib/zombies/check-state.json for root]. Written only when it changes. Only a state file of zombies check is ever replaced: any other file, a symbolic link or a FIFO there makes the check UNKNOWN. The directory of a path given here is never created' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand check" -l parent -d 'Only the zombies of this parent' -r -k -f -a "(__fish_zombies_pids parents)"
complete -c zombies -n "__fish_zombies_using_subcommand check" -l user -d 'Only zombies owned by this user (name or uid)' -r
complete -c zombies -n "__fish_zombies_using_subcommand check" -l container -d 'Only zombies whose parent runs in the container whose ID starts with this (as `docker ps` or `crictl ps` shows it; an LXC container\'s name)' -r
complete -c zombies -n "__fish_zombies_using_subcommand check" -l pod -d 'Only zombies whose parent runs in this Kubernetes pod: its name, NAMESPACE/NAME or UID (names come from --pods-dir)' -r
complete -c zombies -n "__fish_zombies_using_subcommand check" -l format -d 'Output format' -r -f -a "nagios\t'One line for Nagios, Icinga and NRPE: status, text and performance data'
prometheus\t'Prometheus text exposition format, for the node_exporter textfile collector'
json\t'One JSON object: status, counts, thresholds and the per-parent detail of list'"
complete -c zombies -n "__fish_zombies_using_subcommand check" -s o -l output -d 'Write the report to FILE instead of stdout, atomically (a temporary file in the same directory, then rename), as the node_exporter textfile collector needs' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand check" -l every -d 'With --output: check again every DURATION and rewrite the file, until SIGTERM or SIGINT (then exit 0): a textfile exporter in one process, for a container with no cron and no shell (the Kubernetes DaemonSet). A failed check writes UNKNOWN and goes on' -r
complete -c zombies -n "__fish_zombies_using_subcommand check" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand check" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand check" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand check" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand check" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand check" -s q -l quiet -d 'Print nothing when the status is OK (cron mails only problems); the exit code still tells'
complete -c zombies -n "__fish_zombies_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand check" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l user -d 'Only zombies owned by this user (name or uid)' -r
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l container -d 'Only zombies whose parent runs in the container whose ID starts with this (as `docker ps` or `crictl ps` shows it; an LXC container\'s name)' -r
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l pod -d 'Only zombies whose parent runs in this Kubernetes pod: its name, NAMESPACE/NAME or UID (names come from --pods-dir)' -r
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l min-age -d 'Report a zombie only once it has been one this long (its event then says how long): 500ms, 30s, 10m, 2h. Zombies reaped sooner make no event' -r
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l for -d 'Stop after this long, with the summary' -r
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l interval -d 'How often to scan /proc when scanning' -r
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l state -d 'Keep each zombie\'s death time in this state file of `zombies check` (the one its --state names), so that `check --max-age` measures from the death instead of from its first sighting. Both may write it: the earlier time always wins' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l format -d 'Output format: text for people, json for one JSON object per line (JSON Lines)' -r -f -a "text\t'For people'
json\t'One JSON object (the documented, stable contract)'"
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l parent -d 'Only the zombies of this parent (as it was when they died)' -r -k -f -a "(__fish_zombies_pids parents)"
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l all-exits -d 'Also report every process reaped at once (the normal case), not only zombies'
complete -c zombies -n "__fish_zombies_using_subcommand watch" -l scan -d 'Scan /proc every --interval instead of listening to the kernel\'s exit events (what runs anyway where those cannot be had)'
complete -c zombies -n "__fish_zombies_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand watch" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand probe-init" -l timeout -d 'How long PID 1 has to reap the orphan after it exits: 500ms, 5s, 1m' -r
complete -c zombies -n "__fish_zombies_using_subcommand probe-init" -l format -d 'Output format' -r -f -a "text\t'For people'
json\t'One JSON object (the documented, stable contract)'"
complete -c zombies -n "__fish_zombies_using_subcommand probe-init" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand probe-init" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand probe-init" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand probe-init" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand probe-init" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand probe-init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand probe-init" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand demo" -l format -d 'Output format' -r -f -a "text\t'Numbered steps for people'
json\t'JSON Lines: one event object per line (start, step, object, say, end, interrupted), each step with its syscall, result and evidence rows; one schema for `zombies demo` and `zombies ipc demo`'"
complete -c zombies -n "__fish_zombies_using_subcommand demo" -l hold -d 'How long `demo zombie` keeps its zombie for you to inspect: 500ms, 3s, 2m' -r
complete -c zombies -n "__fish_zombies_using_subcommand demo" -l code -d 'The exit code of the dying child in `demo exit` and `demo zombie`' -r
complete -c zombies -n "__fish_zombies_using_subcommand demo" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand demo" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand demo" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand demo" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand demo" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand demo" -l step -d 'Pause after each step until Enter is pressed (to read, or to inspect from another shell)'
complete -c zombies -n "__fish_zombies_using_subcommand demo" -l trace -d 'Show the system calls each step made, with their arguments and results, as `strace -f` prints them (recorded by the demo where it makes each call; its own plumbing, such as reading /proc for the evidence, is left out)'
complete -c zombies -n "__fish_zombies_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand demo" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and not __fish_seen_subcommand_from demo list help" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and not __fish_seen_subcommand_from demo list help" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and not __fish_seen_subcommand_from demo list help" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and not __fish_seen_subcommand_from demo list help" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and not __fish_seen_subcommand_from demo list help" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and not __fish_seen_subcommand_from demo list help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and not __fish_seen_subcommand_from demo list help" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and not __fish_seen_subcommand_from demo list help" -f -a "demo" -d 'Run a demo: real processes use one IPC primitive while the kernel\'s view of it (/proc, /dev/shm, /dev/mqueue) is shown step by step'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and not __fish_seen_subcommand_from demo list help" -f -a "list" -d 'List System V message queues, semaphore sets and shared memory segments (/proc/sysvipc) and POSIX queues, shared memory and named semaphores (/dev/mqueue, /dev/shm), with their owners and whether the processes that used them still live'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and not __fish_seen_subcommand_from demo list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -l format -d 'Output format: text, or json for one event per line (start, step, object, say, end, interrupted), in the same schema as `zombies demo --format json`' -r -f -a "text\t'Numbered steps for people'
json\t'JSON Lines: one event object per line (start, step, object, say, end, interrupted), each step with its syscall, result and evidence rows; one schema for `zombies demo` and `zombies ipc demo`'"
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -l path -d 'fifo: create the FIFO at PATH (which must not exist) and wait for a writer from another shell, e.g. `echo hi > PATH`. It is removed at the end' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -l step -d 'Pause after each step until Enter is pressed, to look around in /proc meanwhile'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -l posix -d 'mqueue, sem, shm: the POSIX variant (mq_open, sem_open, shm_open) instead of System V'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -l trace -d 'Show the system calls each step made, with their arguments and results, as `strace -f` prints them (recorded by the demo where it makes each call; its own plumbing, such as reading /proc for the evidence, is left out)'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from demo" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "text\t'For people'
json\t'One JSON object (the documented, stable contract)'"
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from list" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from list" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from list" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from list" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from list" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from list" -l orphaned -d 'Only objects whose creator and last users are all gone (an unreaped zombie counts as gone: it will never remove them) and that nobody has attached or open: the leaks that survive until reboot'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from help" -f -a "demo" -d 'Run a demo: real processes use one IPC primitive while the kernel\'s view of it (/proc, /dev/shm, /dev/mqueue) is shown step by step'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from help" -f -a "list" -d 'List System V message queues, semaphore sets and shared memory segments (/proc/sysvipc) and POSIX queues, shared memory and named semaphores (/dev/mqueue, /dev/shm), with their owners and whether the processes that used them still live'
complete -c zombies -n "__fish_zombies_using_subcommand ipc; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c zombies -n "__fish_zombies_using_subcommand generate" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand generate" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c zombies -n "__fish_zombies_using_subcommand generate" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand generate" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand generate" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c zombies -n "__fish_zombies_using_subcommand generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c zombies -n "__fish_zombies_using_subcommand generate" -s V -l version -d 'Print version'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "list" -d 'List zombies grouped by the parent that is not reaping them (the default command)'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "tree" -d 'Show the process tree with zombies and their parents marked'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "explain" -d 'Explain why a zombie has not been reaped, citing /proc, and how to fix it'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "fix" -d 'Fix zombies: nudge their parent, kill it, make it reap them (--reap), or ignore it'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "ignore" -d 'Show or edit the ignore list: parents whose zombies list and check do not report'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "check" -d 'Check for zombies from cron or monitoring: a Nagios/Icinga plugin, a Prometheus textfile, or JSON'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "watch" -d 'Watch zombies live: when each became one (its exact death time), who adopted it when its parent died, and when it was reaped; a summary at the end'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "probe-init" -d 'Test whether a container\'s PID 1 reaps orphans, by giving it one and watching'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "demo" -d 'Learn how processes are born, scheduled and die: demos that make the real system calls on this machine and show the evidence from /proc'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "ipc" -d 'Learn inter-process communication with live demos, and find leaked IPC objects'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "generate" -d 'Write the man pages or shell completions (for packagers and this repository)'
complete -c zombies -n "__fish_zombies_using_subcommand help; and not __fish_seen_subcommand_from list tree explain fix ignore check watch probe-init demo ipc generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c zombies -n "__fish_zombies_using_subcommand help; and __fish_seen_subcommand_from ignore" -f -a "list" -d 'Show the entries and the file they live in'
complete -c zombies -n "__fish_zombies_using_subcommand help; and __fish_seen_subcommand_from ignore" -f -a "remove" -d 'Remove the entries whose executable path or command name is ENTRY'
complete -c zombies -n "__fish_zombies_using_subcommand help; and __fish_seen_subcommand_from ipc" -f -a "demo" -d 'Run a demo: real processes use one IPC primitive while the kernel\'s view of it (/proc, /dev/shm, /dev/mqueue) is shown step by step'
complete -c zombies -n "__fish_zombies_using_subcommand help; and __fish_seen_subcommand_from ipc" -f -a "list" -d 'List System V message queues, semaphore sets and shared memory segments (/proc/sysvipc) and POSIX queues, shared memory and named semaphores (/dev/mqueue, /dev/shm), with their owners and whether the processes that used them still live'

# PIDs to complete, read from /proc, never file names, each described by its name. KIND
# orders them: "zombies" offers the zombies first, then their parents; "parents" the parents
# of zombies first; "inits" PID 1 of each nested PID namespace (containers) first; every other
# process follows.
function __fish_zombies_pids --argument-names kind
    set -l zombies
    set -l parents
    set -l others
    set -l inits
    set -l pids
    set -l comms
    # (fish globs have no [0-9]: the numeric directories are picked by name)
    for f in /proc/*/stat
        string match -qr '^/proc/\d+/stat$' -- $f
        or continue
        set -l line (string collect < $f 2>/dev/null)
        or continue
        set -l m (string match -r '^(\d+) \((.*)\) (\S) (\d+) ' -- $line)
        or continue
        set -a pids $m[2]
        set -a comms (string replace -a \n ' ' -- $m[3])
        if test $m[4] = Z
            set -a zombies $m[2]
            set -a parents $m[5]
        else
            set -a others $m[2]
        end
    end
    if test "$kind" = inits
        for f in /proc/*/status
            string match -qr '^/proc/\d+/status$' -- $f
            or continue
            set -l ns (string match -r '^NSpid:\s+(.*)' < $f 2>/dev/null)[2]
            set -l ns (string split -n \t -- $ns)
            if test (count $ns) -gt 1 -a "$ns[-1]" = 1
                set -a inits $ns[1]
            end
        end
    end
    set -l groups
    switch $kind
        case zombies
            set groups zombies parents
        case parents
            set groups parents zombies
        case '*'
            set groups inits parents
    end
    set -a groups others
    set -l seen
    for group in $groups
        set -l what
        switch $group
            case zombies
                set what ' (zombie)'
            case parents
                set what ' (holds zombies)'
            case inits
                set what ' (PID 1 of a namespace)'
        end
        for pid in $$group
            contains -- $pid $seen
            and continue
            set -a seen $pid
            set -l i (contains -i -- $pid $pids)
            and printf '%s\t%s%s\n' $pid $comms[$i] $what
        end
    end
end
complete -c zombies -n "__fish_zombies_using_subcommand tree" -k -f -a "(__fish_zombies_pids parents)"
complete -c zombies -n "__fish_zombies_using_subcommand explain" -k -f -a "(__fish_zombies_pids zombies)"
complete -c zombies -n "__fish_zombies_using_subcommand probe-init" -k -f -a "(__fish_zombies_pids inits)"
