# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ipc_global_optspecs
    string join \n proc= color= ignore-file= sys= pods-dir= h/help
end

function __fish_ipc_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ipc_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ipc_using_subcommand
    set -l cmd (__fish_ipc_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ipc -n "__fish_ipc_needs_command" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c ipc -n "__fish_ipc_needs_command" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ipc -n "__fish_ipc_needs_command" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c ipc -n "__fish_ipc_needs_command" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c ipc -n "__fish_ipc_needs_command" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c ipc -n "__fish_ipc_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ipc -n "__fish_ipc_needs_command" -f -a "demo" -d 'Run a demo: real processes use one IPC primitive while the kernel\'s view of it (/proc, /dev/shm, /dev/mqueue) is shown step by step'
complete -c ipc -n "__fish_ipc_needs_command" -f -a "list" -d 'List System V message queues, semaphore sets and shared memory segments (/proc/sysvipc) and POSIX queues, shared memory and named semaphores (/dev/mqueue, /dev/shm), with their owners and whether the processes that used them still live'
complete -c ipc -n "__fish_ipc_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ipc -n "__fish_ipc_using_subcommand demo" -l format -d 'Output format: text, or json for one event per line (start, step, object, say, end, interrupted), in the same schema as `zombies demo --format json`' -r -f -a "text\t'Numbered steps for people'
json\t'JSON Lines: one event object per line (start, step, object, say, end, interrupted), each step with its syscall, result and evidence rows; one schema for `zombies demo` and `zombies ipc demo`'"
complete -c ipc -n "__fish_ipc_using_subcommand demo" -l path -d 'fifo: create the FIFO at PATH (which must not exist) and wait for a writer from another shell, e.g. `echo hi > PATH`. It is removed at the end' -r -F
complete -c ipc -n "__fish_ipc_using_subcommand demo" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c ipc -n "__fish_ipc_using_subcommand demo" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ipc -n "__fish_ipc_using_subcommand demo" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c ipc -n "__fish_ipc_using_subcommand demo" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c ipc -n "__fish_ipc_using_subcommand demo" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c ipc -n "__fish_ipc_using_subcommand demo" -l step -d 'Pause after each step until Enter is pressed, to look around in /proc meanwhile'
complete -c ipc -n "__fish_ipc_using_subcommand demo" -l posix -d 'mqueue, sem, shm: the POSIX variant (mq_open, sem_open, shm_open) instead of System V'
complete -c ipc -n "__fish_ipc_using_subcommand demo" -l trace -d 'Show the system calls each step made, with their arguments and results, as `strace -f` prints them (recorded by the demo where it makes each call; its own plumbing, such as reading /proc for the evidence, is left out)'
complete -c ipc -n "__fish_ipc_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ipc -n "__fish_ipc_using_subcommand list" -l format -d 'Output format' -r -f -a "text\t'For people'
json\t'One JSON object (the documented, stable contract)'"
complete -c ipc -n "__fish_ipc_using_subcommand list" -l proc -d 'Read another procfs, e.g. the host\'s /proc mounted in a container' -r -F
complete -c ipc -n "__fish_ipc_using_subcommand list" -l color -d 'When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty' -r -f -a "auto\t''
always\t''
never\t''"
complete -c ipc -n "__fish_ipc_using_subcommand list" -l ignore-file -d 'The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or /etc/zombies/ignore.toml for root)' -r -F
complete -c ipc -n "__fish_ipc_using_subcommand list" -l sys -d 'Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs, e.g. the host\'s /sys mounted in a container [default: /sys, when --proc is a mounted procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole hierarchy, where the container\'s own /sys/fs/cgroup is found to place those paths' -r -F
complete -c ipc -n "__fish_ipc_using_subcommand list" -l pods-dir -d 'Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing directory leaves pods unnamed]' -r -F
complete -c ipc -n "__fish_ipc_using_subcommand list" -l orphaned -d 'Only objects whose creator and last users are all gone (an unreaped zombie counts as gone: it will never remove them) and that nobody has attached or open: the leaks that survive until reboot'
complete -c ipc -n "__fish_ipc_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ipc -n "__fish_ipc_using_subcommand help; and not __fish_seen_subcommand_from demo list help" -f -a "demo" -d 'Run a demo: real processes use one IPC primitive while the kernel\'s view of it (/proc, /dev/shm, /dev/mqueue) is shown step by step'
complete -c ipc -n "__fish_ipc_using_subcommand help; and not __fish_seen_subcommand_from demo list help" -f -a "list" -d 'List System V message queues, semaphore sets and shared memory segments (/proc/sysvipc) and POSIX queues, shared memory and named semaphores (/dev/mqueue, /dev/shm), with their owners and whether the processes that used them still live'
complete -c ipc -n "__fish_ipc_using_subcommand help; and not __fish_seen_subcommand_from demo list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
