"""Envelope encryption of personal data at rest: data keys wrapped by a key kept outside the
database, and the column types that seal and open fields with them (docs/encryption.md).

Two tiers. Key-encryption keys (KEKs, ``keks``) never enter the database: they are in
PUERTA_DATA_KEY_FILE and/or PUERTA_DATA_KEY. Data keys (DEKs, ``ring``), random 256-bit AES
keys, are in the table ``data_keys``, each only wrapped by a KEK with AES-256-GCM; so a dump,
a backup or a copied disk opens nothing without the KEK. ``columns`` holds the column types
(``SealedText``, ``SealedDate``) that seal values as SQLAlchemy writes them and open them as
it reads them, and ``rotation`` the use cases that rewrap, rotate, re-encrypt and retire.
"""

from puerta.datakeys.columns import VAULT_PURPOSE, SealedDate, SealedText, bind
from puerta.datakeys.keks import DataKeysMissing, load_keks, require_data_keys
from puerta.datakeys.ring import DataKey, DataKeys

__all__ = [
    "VAULT_PURPOSE",
    "DataKey",
    "DataKeys",
    "DataKeysMissing",
    "SealedDate",
    "SealedText",
    "bind",
    "load_keks",
    "require_data_keys",
]
