"""Write the message template and bring every catalog up to date with it.

Run: .venv/bin/python scripts/extract_messages.py
New ids arrive untranslated in each catalog; the docs test fails until they are translated.
"""

from __future__ import annotations

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from puerta.i18n import LOCALES_DIR, REVIEWED
from puerta.web.messages import all_messages


def main() -> None:
    template = Catalog(project="puerta", msgid_bugs_address="", fuzzy=False)
    for message in all_messages():
        template.add(message)
    with (LOCALES_DIR / "messages.pot").open("wb") as out:
        write_po(out, template, omit_header=False, sort_output=True, width=0)
    for path in sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")):
        with path.open("rb") as po:
            catalog = read_po(po)
        catalog.update(template, no_fuzzy_matching=True)
        if not REVIEWED.search(catalog.header_comment):
            # Until a fluent speaker signs it off: "Reviewed by a fluent speaker: yes (who, when)".
            catalog.header_comment = catalog.header_comment.rstrip("\n#") + (
                "\n# Reviewed by a fluent speaker: no\n#"
            )
        with path.open("wb") as out:
            write_po(out, catalog, sort_output=True, width=0, ignore_obsolete=True)
        print(f"updated {path.relative_to(LOCALES_DIR)}")


if __name__ == "__main__":
    main()
