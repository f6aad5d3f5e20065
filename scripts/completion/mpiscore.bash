# bash completion for mpiscore: subcommands, then the options the subcommand's
# own --help lists (so it never falls behind the binary), files for values.
_mpiscore() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    }
    local cmds="run model submit status cancel logs endpoint serve"
    if [ "$cword" -eq 1 ]; then
        COMPREPLY=($(compgen -W "$cmds --help --version" -- "$cur"))
        return
    fi
    local sub=${words[1]} helpargs=("${words[1]}")
    if [ "$sub" = model ] && [ "$cword" -eq 2 ]; then
        COMPREPLY=($(compgen -W "register list info import --help" -- "$cur"))
        return
    fi
    if [ "$sub" = endpoint ] && [ "$cword" -eq 2 ]; then
        COMPREPLY=($(compgen -W "create keys update show list delete --help" -- "$cur"))
        return
    fi
    [ "$sub" = model ] && [ "$cword" -gt 2 ] && helpargs=(model "${words[2]}")
    [ "$sub" = endpoint ] && [ "$cword" -gt 2 ] && helpargs=(endpoint "${words[2]}")
    case $prev in
        --on-error) COMPREPLY=($(compgen -W "abort continue" -- "$cur")); return ;;
        --format) COMPREPLY=($(compgen -W "csv hdf5 parquet json" -- "$cur")); return ;;
        --compression) COMPREPLY=($(compgen -W "snappy zstd gzip lz4 none" -- "$cur")); return ;;
        --precision) COMPREPLY=($(compgen -W "float32 float64" -- "$cur")); return ;;
        --bind) COMPREPLY=($(compgen -W "core none" -- "$cur")); return ;;
        --regenerate) COMPREPLY=($(compgen -W "primary secondary" -- "$cur")); return ;;
        --jobs-backend) COMPREPLY=($(compgen -W "local slurm" -- "$cur")); return ;;
        --backend) COMPREPLY=($(compgen -W "local slurm" -- "$cur")); return ;;
        --launcher) COMPREPLY=($(compgen -W "auto mpirun srun" -- "$cur")); return ;;
        --log-level) COMPREPLY=($(compgen -W "error warn info debug" -- "$cur")); return ;;
        --transport) COMPREPLY=($(compgen -W "auto descriptors bytes" -- "$cur")); return ;;
    esac
    if [[ $cur == -* ]]; then
        local opts
        opts=$("${words[0]}" "${helpargs[@]}" --help 2>&1 | grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' |
            tr -d ' ,' | sort -u)
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _mpiscore mpiscore
