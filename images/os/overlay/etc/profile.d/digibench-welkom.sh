# First login on a text console: show the welcome text once (the desktop shows it in a
# window instead, digibench-welkom). Only in an interactive shell of a real user.
if [ -n "${PS1:-}" ] && [ -t 1 ] && [ "$(id -u)" -ge 1000 ] && [ -r /etc/digibench/welkom.txt ] \
    && [ ! -e "$HOME/.config/digibench/welkom-gezien" ]; then
    echo
    cat /etc/digibench/welkom.txt
    echo
    mkdir -p "$HOME/.config/digibench" && : >"$HOME/.config/digibench/welkom-gezien"
fi
