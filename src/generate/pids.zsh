# PIDs to complete, read from /proc, never file names, each described by its name. KIND
# orders them: "zombies" offers the zombies first, then their parents; "parents" the parents
# of zombies first; "inits" PID 1 of each nested PID namespace (containers) first; every other
# process follows, in numeric order (the glob qualifier n; fish sorts globs so itself).
(( $+functions[_zombies_pids] )) ||
_zombies_pids() {
    # _arguments calls an action with its -J/-X options first: KIND is the last word.
    local kind=${argv[-1]} f line rest pid state ppid comm
    local -a zombies parents inits others ns
    local -A comms seen
    for f in /proc/<->/stat(Nn); do
        line=
        { line=$(<$f) } 2>/dev/null
        [[ -n $line ]] || continue
        pid=${line%% *}
        comm=${line#*\(}
        comm=${comm%\)*}
        rest=${line##*\) }
        state=${rest%% *}
        rest=${rest#* }
        ppid=${rest%% *}
        comms[$pid]=${comm//$'\n'/ }
        if [[ $state == Z ]]; then
            zombies+=($pid)
            parents+=($ppid)
        else
            others+=($pid)
        fi
    done
    if [[ $kind == inits ]]; then
        for f in /proc/<->/status(Nn); do
            line=
            { line=${(M)${(f)"$(<$f)"}:#NSpid:*} } 2>/dev/null
            ns=(${=line#NSpid:})
            (( $#ns > 1 )) && [[ $ns[-1] == 1 ]] && inits+=($ns[1])
        done
    fi
    case $kind in
        zombies)
            _zombies_pids_group zombies ' (zombie)' $zombies
            _zombies_pids_group parents ' (holds zombies)' $parents ;;
        parents)
            _zombies_pids_group parents ' (holds zombies)' $parents
            _zombies_pids_group zombies ' (zombie)' $zombies ;;
        *)
            _zombies_pids_group inits ' (PID 1 of a namespace)' $inits
            _zombies_pids_group parents ' (holds zombies)' $parents ;;
    esac
    _zombies_pids_group processes '' $others
}

# One group of _zombies_pids, in the order given, each PID once (uses its comms and seen).
(( $+functions[_zombies_pids_group] )) ||
_zombies_pids_group() {
    local tag=$1 what=$2 pid
    local -a entries
    shift 2
    for pid in "$@"; do
        (( ${+seen[$pid]} )) && continue
        seen[$pid]=1
        entries+=("$pid:${comms[$pid]:-?}$what")
    done
    (( $#entries )) && _describe -V -t $tag $tag entries
}
