// Digibench: Firefox speaks the system's language (nl_BE -> the Dutch language pack).
pref("intl.locale.requested", "");
