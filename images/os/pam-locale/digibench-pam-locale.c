/* Digibench: PAM's messages in the borrower's language on LightDM's greeter.
 *
 * LightDM never calls setlocale(), so its session child (the process that runs PAM) stays
 * in the "C" locale, and gettext returns PAM's English text ("You are required to change
 * your password immediately") whatever LANG says. Preloaded into lightdm.service only
 * (overlay-desktop/etc/systemd/system/lightdm.service.d/), this sets the message locale
 * from the environment (LANG from /etc/default/locale) when the process starts, and has
 * PAM's messages converted to UTF-8 (what the greeter shows): nothing else. LightDM builds
 * the greeter's and the user's session environments itself, so the preload stays in
 * LightDM's own processes. GPL-3.0-or-later. */
#include <libintl.h>
#include <locale.h>

__attribute__((constructor)) static void digibench_pam_locale(void)
{
    setlocale(LC_MESSAGES, "");
    bind_textdomain_codeset("Linux-PAM", "UTF-8");
}
