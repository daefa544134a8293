# PIDs to complete, read from /proc, never file names. KIND orders them: "zombies" offers the
# zombies first, then their parents; "parents" the parents of zombies first; "inits" PID 1 of
# each nested PID namespace (containers) first; every other process follows. Each group is in
# numeric order: the arrays are indexed by PID, and bash lists indices in order.
_zombies_pids() {
    local kind=$1 f line rest pid state ppid k v
    local -a zombies=() parents=() inits=() others=()
    for f in /proc/[0-9]*/stat; do
        line=
        { read -r -d '' line < "$f"; } 2>/dev/null
        [[ -n $line ]] || continue
        pid=${line%% *}
        rest=${line##*) }
        state=${rest%% *}
        rest=${rest#* }
        ppid=${rest%% *}
        if [[ $state == Z ]]; then
            zombies[pid]=$pid
            parents[ppid]=$ppid
        else
            others[pid]=$pid
        fi
    done
    if [[ $kind == inits ]]; then
        for f in /proc/[0-9]*/status; do
            while read -r k v; do
                if [[ $k == NSpid: ]]; then
                    [[ $v == *[[:space:]]1 ]] && pid=${f//[!0-9]/} && inits[pid]=$pid
                    break
                fi
            done < "$f" 2>/dev/null
        done
    fi
    local -a ordered
    case $kind in
        zombies) ordered=("${zombies[@]}" "${parents[@]}" "${others[@]}") ;;
        parents) ordered=("${parents[@]}" "${zombies[@]}" "${others[@]}") ;;
        *) ordered=("${inits[@]}" "${parents[@]}" "${zombies[@]}" "${others[@]}") ;;
    esac
    local -A seen=()
    for pid in "${ordered[@]}"; do
        [[ -n ${seen[$pid]} ]] && continue
        seen[$pid]=1
        printf '%s\n' "$pid"
    done
}
