# Runs inside the live chroot after the packages are installed (cached with them).
set -eu
printf 'XKBMODEL="pc105"\nXKBLAYOUT="be"\nXKBVARIANT=""\nXKBOPTIONS=""\nBACKSPACE="guess"\n' >/etc/default/keyboard
printf 'ACTIVE_CONSOLES="/dev/tty[1-6]"\nCHARMAP="UTF-8"\nCODESET="Lat15"\nFONTFACE="Fixed"\nFONTSIZE="8x16"\n' >/etc/default/console-setup
setupcon --save-only || echo "setupcon --save-only failed; the keymap is compiled at boot instead"
