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
