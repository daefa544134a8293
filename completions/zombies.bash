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

_zombies() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="zombies"
                ;;
            zombies,check)
                cmd="zombies__subcmd__check"
                ;;
            zombies,demo)
                cmd="zombies__subcmd__demo"
                ;;
            zombies,explain)
                cmd="zombies__subcmd__explain"
                ;;
            zombies,fix)
                cmd="zombies__subcmd__fix"
                ;;
            zombies,generate)
                cmd="zombies__subcmd__generate"
                ;;
            zombies,help)
                cmd="zombies__subcmd__help"
                ;;
            zombies,ignore)
                cmd="zombies__subcmd__ignore"
                ;;
            zombies,ipc)
                cmd="zombies__subcmd__ipc"
                ;;
            zombies,list)
                cmd="zombies__subcmd__list"
                ;;
            zombies,probe-init)
                cmd="zombies__subcmd__probe__subcmd__init"
                ;;
            zombies,tree)
                cmd="zombies__subcmd__tree"
                ;;
            zombies,watch)
                cmd="zombies__subcmd__watch"
                ;;
            zombies__subcmd__help,check)
                cmd="zombies__subcmd__help__subcmd__check"
                ;;
            zombies__subcmd__help,demo)
                cmd="zombies__subcmd__help__subcmd__demo"
                ;;
            zombies__subcmd__help,explain)
                cmd="zombies__subcmd__help__subcmd__explain"
                ;;
            zombies__subcmd__help,fix)
                cmd="zombies__subcmd__help__subcmd__fix"
                ;;
            zombies__subcmd__help,generate)
                cmd="zombies__subcmd__help__subcmd__generate"
                ;;
            zombies__subcmd__help,help)
                cmd="zombies__subcmd__help__subcmd__help"
                ;;
            zombies__subcmd__help,ignore)
                cmd="zombies__subcmd__help__subcmd__ignore"
                ;;
            zombies__subcmd__help,ipc)
                cmd="zombies__subcmd__help__subcmd__ipc"
                ;;
            zombies__subcmd__help,list)
                cmd="zombies__subcmd__help__subcmd__list"
                ;;
            zombies__subcmd__help,probe-init)
                cmd="zombies__subcmd__help__subcmd__probe__subcmd__init"
                ;;
            zombies__subcmd__help,tree)
                cmd="zombies__subcmd__help__subcmd__tree"
                ;;
            zombies__subcmd__help,watch)
                cmd="zombies__subcmd__help__subcmd__watch"
                ;;
            zombies__subcmd__help__subcmd__ignore,list)
                cmd="zombies__subcmd__help__subcmd__ignore__subcmd__list"
                ;;
            zombies__subcmd__help__subcmd__ignore,remove)
                cmd="zombies__subcmd__help__subcmd__ignore__subcmd__remove"
                ;;
            zombies__subcmd__help__subcmd__ipc,demo)
                cmd="zombies__subcmd__help__subcmd__ipc__subcmd__demo"
                ;;
            zombies__subcmd__help__subcmd__ipc,list)
                cmd="zombies__subcmd__help__subcmd__ipc__subcmd__list"
                ;;
            zombies__subcmd__ignore,help)
                cmd="zombies__subcmd__ignore__subcmd__help"
                ;;
            zombies__subcmd__ignore,list)
                cmd="zombies__subcmd__ignore__subcmd__list"
                ;;
            zombies__subcmd__ignore,remove)
                cmd="zombies__subcmd__ignore__subcmd__remove"
                ;;
            zombies__subcmd__ignore__subcmd__help,help)
                cmd="zombies__subcmd__ignore__subcmd__help__subcmd__help"
                ;;
            zombies__subcmd__ignore__subcmd__help,list)
                cmd="zombies__subcmd__ignore__subcmd__help__subcmd__list"
                ;;
            zombies__subcmd__ignore__subcmd__help,remove)
                cmd="zombies__subcmd__ignore__subcmd__help__subcmd__remove"
                ;;
            zombies__subcmd__ipc,demo)
                cmd="zombies__subcmd__ipc__subcmd__demo"
                ;;
            zombies__subcmd__ipc,help)
                cmd="zombies__subcmd__ipc__subcmd__help"
                ;;
            zombies__subcmd__ipc,list)
                cmd="zombies__subcmd__ipc__subcmd__list"
                ;;
            zombies__subcmd__ipc__subcmd__help,demo)
                cmd="zombies__subcmd__ipc__subcmd__help__subcmd__demo"
                ;;
            zombies__subcmd__ipc__subcmd__help,help)
                cmd="zombies__subcmd__ipc__subcmd__help__subcmd__help"
                ;;
            zombies__subcmd__ipc__subcmd__help,list)
                cmd="zombies__subcmd__ipc__subcmd__help__subcmd__list"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        zombies)
            opts="-h -V --proc --color --ignore-file --sys --pods-dir --help --version list tree explain fix ignore check watch probe-init demo ipc generate help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__check)
            opts="-w -c -o -q -h -V --warn --crit --max-age --warn-per-parent --warn-pids --crit-pids --state --parent --user --container --pod --format --output --quiet --every --proc --color --ignore-file --sys --pods-dir --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --warn)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -w)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --crit)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --warn-per-parent)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --warn-pids)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --crit-pids)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --state)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --parent)
                    compopt +o default +o bashdefault 2>/dev/null
                    COMPREPLY=( $(compgen -W "$(_zombies_pids parents)" -- "${cur}") )
                    return 0
                    ;;
                --user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --container)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pod)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W "nagios prometheus json" -- "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --every)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__demo)
            opts="-h -V --step --format --hold --code --trace --proc --color --ignore-file --sys --pods-dir --help --version fork vfork clone exec sched exit zombie autoreap orphan all"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                --hold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --code)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__explain)
            opts="-h -V --format --proc --color --ignore-file --sys --pods-dir --help --version"
            if [[ ${cur} == -* ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            compopt +o default +o bashdefault 2>/dev/null
            COMPREPLY=( $(compgen -W "$(_zombies_pids zombies)" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__fix)
            opts="-y -n -h -V --signal-parent --kill-parent --ignore --reap --auto --prefer-reap --min-age --parent --pid --all --force --yes --dry-run --grace --timeout --settle --same-user --note --format --proc --color --ignore-file --sys --pods-dir --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --min-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --parent)
                    compopt +o default +o bashdefault 2>/dev/null
                    COMPREPLY=( $(compgen -W "$(_zombies_pids parents)" -- "${cur}") )
                    return 0
                    ;;
                --pid)
                    compopt +o default +o bashdefault 2>/dev/null
                    COMPREPLY=( $(compgen -W "$(_zombies_pids zombies)" -- "${cur}") )
                    return 0
                    ;;
                --grace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --settle)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --note)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__generate)
            opts="-h -V --proc --color --ignore-file --sys --pods-dir --help --version man completions"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help)
            opts="list tree explain fix ignore check watch probe-init demo ipc generate help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__check)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__demo)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__explain)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__fix)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__generate)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__ignore)
            opts="list remove"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__ignore__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__ignore__subcmd__remove)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__ipc)
            opts="demo list"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__ipc__subcmd__demo)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__ipc__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__probe__subcmd__init)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__tree)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__help__subcmd__watch)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ignore)
            opts="-h -V --proc --color --ignore-file --sys --pods-dir --help --version list remove help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ignore__subcmd__help)
            opts="list remove help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ignore__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ignore__subcmd__help__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ignore__subcmd__help__subcmd__remove)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ignore__subcmd__list)
            opts="-h -V --format --proc --color --ignore-file --sys --pods-dir --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ignore__subcmd__remove)
            opts="-h -V --cmdline --proc --color --ignore-file --sys --pods-dir --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --cmdline)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ipc)
            opts="-h -V --proc --color --ignore-file --sys --pods-dir --help --version demo list help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ipc__subcmd__demo)
            opts="-h -V --step --format --posix --trace --path --proc --color --ignore-file --sys --pods-dir --help --version signal pipe fifo mqueue sem shm"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                --path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ipc__subcmd__help)
            opts="demo list help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ipc__subcmd__help__subcmd__demo)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ipc__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ipc__subcmd__help__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__ipc__subcmd__list)
            opts="-h -V --orphaned --format --proc --color --ignore-file --sys --pods-dir --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__list)
            opts="-h -V --parent --user --container --pod --all --pids --format --proc --color --ignore-file --sys --pods-dir --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --parent)
                    compopt +o default +o bashdefault 2>/dev/null
                    COMPREPLY=( $(compgen -W "$(_zombies_pids parents)" -- "${cur}") )
                    return 0
                    ;;
                --user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --container)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pod)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__probe__subcmd__init)
            opts="-h -V --timeout --format --proc --color --ignore-file --sys --pods-dir --help --version"
            if [[ ${cur} == -* ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            compopt +o default +o bashdefault 2>/dev/null
            COMPREPLY=( $(compgen -W "$(_zombies_pids inits)" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__tree)
            opts="-z -h -V --zombies-only --proc --color --ignore-file --sys --pods-dir --help --version"
            if [[ ${cur} == -* ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            compopt +o default +o bashdefault 2>/dev/null
            COMPREPLY=( $(compgen -W "$(_zombies_pids parents)" -- "${cur}") )
            return 0
            ;;
        zombies__subcmd__watch)
            opts="-h -V --user --container --pod --min-age --for --all-exits --scan --interval --state --format --parent --proc --color --ignore-file --sys --pods-dir --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --container)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pod)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --min-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --for)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --state)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                --parent)
                    compopt +o default +o bashdefault 2>/dev/null
                    COMPREPLY=( $(compgen -W "$(_zombies_pids parents)" -- "${cur}") )
                    return 0
                    ;;
                --proc)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --color)
                    COMPREPLY=($(compgen -W "auto always never" -- "${cur}"))
                    return 0
                    ;;
                --ignore-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _zombies -o nosort -o bashdefault -o default zombies
else
    complete -F _zombies -o bashdefault -o default zombies
fi
