# bash completion for stockctl, stock-collect, stock-alert and stock-notify.
# Options, subcommands and the values an option allows (--mode MODE:{edge,level})
# are read from each program's --help, so they never drift from the program.
_stockwatch_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]} sub=() w i help prev choices
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    # Only words the program lists as subcommands extend the path.
    if "$prog" "${sub[@]}" --help 2>/dev/null | sed -n '/^Subcommands:/,/^$/p' | awk 'NR>1{print $1}' | grep -qx -- "$w"; then
      sub+=("$w")
    fi
  done
  help=$("$prog" "${sub[@]}" --help 2>/dev/null)
  prev=${COMP_WORDS[COMP_CWORD - 1]}
  if [[ $COMP_CWORD -gt 1 && $prev == -* && $cur != -* ]]; then
    # The value of an option that allows only some: those.
    choices=$(grep -E -- "^ +(-[A-Za-z],)?${prev}[ ,]" <<<"$help" | head -1 | grep -oE ':\{[^}]*\}' | tr -d ':{}' | tr ',' ' ')
    if [ -n "$choices" ]; then
      COMPREPLY=($(compgen -W "$choices" -- "$cur"))
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(grep -oE -- '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' <<<"$help" | tr -d ' ,' | sort -u)" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(sed -n '/^Subcommands:/,/^$/p' <<<"$help" | awk 'NR>1 && NF{print $1}')" -- "$cur"))
    [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _stockwatch_complete stockctl stock-collect stock-alert stock-notify
