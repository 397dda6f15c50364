"""What every messaging page calls the channels and the languages messages are written in
(translated when shown). Each part's own codes are named in its own module (mailing_labels,
consent_labels)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHANNEL_TITLES = {"email": _l("E-mail"), "sms": _l("SMS")}
# The languages messages are written in ("" : none recorded, Russian is used).
LANGUAGE_TITLES = {"ru": _l("Russian"), "en": _l("English")}
